/**
 * @reelay/core — one typed interface over resold Veo 3.1 / Sora 2 video APIs.
 *
 * @since 0.1.0
 */

/** Where a finished video can be fetched from. */
export * as AssetSource from "./AssetSource.js"
/** Charge policies and what a failure costs under each. */
export * as Billing from "./Billing.js"
/** Spending limits: reserve the worst case before a billable call, settle after. */
export * as Budget from "./Budget.js"
/** Compares a delivered video with what was asked. */
export * as Delivery from "./Delivery.js"
/** Streaming, resumable, verified downloads that keep credentials on the provider's origin. */
export * as Download from "./Download.js"
/** The engine: `generate`, `generateTo`, `generateMany`, `resume`. */
export * as Engine from "./Engine.js"
/** What each error class allows (retry, proof that nothing was created, end of the task) and its exit code. */
export * as ErrorTraits from "./ErrorTraits.js"
/** The request for one video. */
export * as GenerateRequest from "./GenerateRequest.js"
/** The typed events of a generation. */
export * as GenerationEvent from "./GenerationEvent.js"
/** Server hints and transport failure classification for HTTP providers. */
export * as Http from "./Http.js"
/** Where a batch keeps its state (in memory, or a durable journal). */
export * as JobStore from "./JobStore.js"
/** A model's capabilities, price, charge policy and generation time. */
export * as ModelSpec from "./ModelSpec.js"
/** Exact dollar amounts. */
export * as Money from "./Money.js"
/** Where a provider's video links may take a download: no loopback, private or metadata address unless allowed. */
export * as NetworkPolicy from "./NetworkPolicy.js"
/** Whether a video can be written at a path, checked before anything is sent. */
export * as OutputPath from "./OutputPath.js"
/** What ties a download's `.part` file to its task, length and server validator. */
export * as PartRecord from "./PartRecord.js"
/** Adaptive polling with a deadline. */
export * as Polling from "./Polling.js"
/** MP4 probing. */
export * as Probe from "./Probe.js"
/** The constructors every provider package exports: layers, and the key and base URL from the environment. */
export * as ProviderConfig from "./ProviderConfig.js"
/** What a provider package tells the tools that load it: id, variables, catalog, how to build it. */
export * as ProviderDescriptor from "./ProviderDescriptor.js"
/** Providers by id. */
export * as ProviderRegistry from "./ProviderRegistry.js"
/** Reading an API answer's body: a cap on decoded bytes, Content-Encoding, a minimum pace. */
export * as ResponseBody from "./ResponseBody.js"
/** What may be retried or regenerated, and the backoff schedule. */
export * as RetryPolicy from "./RetryPolicy.js"
/** Keeps every spelling of a key out of quoted vendor text, span attributes and headers. */
export * as Sanitize from "./Sanitize.js"
/** A verified video on disk. */
export * as SavedVideo from "./SavedVideo.js"
export * as Stepper from "./Stepper.js"
/** The handle of an accepted task. */
export * as TaskHandle from "./TaskHandle.js"
/** What a provider says about a task. */
export * as TaskStatus from "./TaskStatus.js"
/** Checks a request against a model before anything is sent. */
export * as Validation from "./Validation.js"
/** The error family. */
export * as VideoError from "./VideoError.js"
/** The provider contract. */
export * as VideoProvider from "./VideoProvider.js"
