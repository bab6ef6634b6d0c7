/**
 * The engine: every provider wrapped in the same policy. It validates before spending, reserves
 * budget, submits with billing-aware retries, polls adaptively (or follows a provider's stream),
 * fetches the video with a verified streaming download, and reports each step as a typed event.
 *
 * Entry points:
 * - `generate(request)`: a stream of `GenerationEvent`s for one video;
 * - `generateTo(request, path)`: the same, run to a verified file on disk;
 * - `generateMany(items, options)`: a batch, with separate concurrency for submits, status polls
 *   and downloads, resumable when a durable `JobStore` (the journal) is provided;
 * - `resume(handle)`: collects a task that outlived an earlier wait (`PollTimeout`).
 *
 * @since 0.1.0
 */
import { randomUUID } from "node:crypto"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import { IllegalArgumentException } from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Billing from "./Billing.js"
import * as Budget from "./Budget.js"
import type * as Download from "./Download.js"
import * as Gate from "./Gate.js"
import type { GenerateRequest } from "./GenerateRequest.js"
import type { GenerationEvent } from "./GenerationEvent.js"
import * as Batch from "./internal/engine/Batch.js"
import { type Emit, limitOf, type Outcome } from "./internal/engine/Item.js"
import * as Resumption from "./internal/engine/Resumption.js"
import * as Run from "./internal/engine/Run.js"
import type { Shared } from "./internal/engine/Shared.js"
import * as Steps from "./internal/engine/Steps.js"
import * as JobStore from "./JobStore.js"
import * as NetworkPolicy from "./NetworkPolicy.js"
import * as OutputPath from "./OutputPath.js"
import * as Polling from "./Polling.js"
import { ProviderRegistry } from "./ProviderRegistry.js"
import * as ResponseBody from "./ResponseBody.js"
import * as RetryPolicy from "./RetryPolicy.js"
import type { SavedVideo } from "./SavedVideo.js"
import type * as Stepper from "./Stepper.js"
import type { TaskHandle } from "./TaskHandle.js"
import type { VideoError } from "./VideoError.js"

export interface EngineOptions {
  readonly polling?: Partial<Polling.PollingOptions> | undefined
  readonly retry?: Partial<RetryPolicy.RetryOptions> | undefined
  readonly regeneration?: Partial<RetryPolicy.RegenerationOptions> | undefined
  /** Concurrent status calls per provider, across everything the engine runs (default 10). */
  readonly statusConcurrency?: number | undefined
  /**
   * Limit on one status or content call, headers and body (default 60 s); a read that hangs is
   * retried. The polling deadline cuts a status call still running when it passes.
   */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /** Limit on one create call (default 120 s); a create that hangs is an uncertain submission. */
  readonly submitTimeout?: Duration.DurationInput | undefined
  /**
   * The pace an API answer's body must keep (create, status, content, image fetches): under
   * `minBytesPerSecond` (default 1024) over a `window` (default 10 s) the read fails like a broken
   * connection (see `ResponseBody`).
   */
  readonly answers?: Partial<ResponseBody.Pace> | undefined
  readonly download?:
    | (Partial<
        Pick<Download.DownloadOptions, "maxBytes" | "maxRedirects" | "idleTimeout" | "minBytesPerSecond" | "retry">
      > & {
        /**
         * Local addresses a video link may reach besides those of the provider's own base URL class
         * (`NetworkPolicy`): `true` for all (cloud metadata included), or addresses and ranges.
         */
        readonly allowPrivateNetworks?: boolean | ReadonlyArray<string> | undefined
      })
    | undefined
}

export interface GenerateOptions {
  /** The key events carry (default: a fresh id). */
  readonly key?: string | undefined
  /** Save the video here; without it the stream ends at `Succeeded`, which carries the asset. */
  readonly output?: string | undefined
  /**
   * Replace a file already at `output` (default `false`: refused before anything is sent, and a
   * file that appears there meanwhile is kept, the video saved beside it; see `OutputPath.place`).
   */
  readonly overwrite?: boolean | undefined
  readonly polling?: Partial<Polling.PollingOptions> | undefined
}

export interface BatchItem {
  /** Unique within the batch (default: `item-<n>`, its 1-based position). */
  readonly key?: string | undefined
  readonly request: GenerateRequest
  /** Default: `<outputDir>/<key>.mp4`. */
  readonly output?: string | undefined
  /** Replace a file already at the output (default: the batch's `overwrite`, else `false`). */
  readonly overwrite?: boolean | undefined
}

export interface BatchConcurrency {
  /** Items validating, reserving and submitting at once (default 10). */
  readonly submit?: number | undefined
  /** Status calls in flight for this batch (default 10). */
  readonly status?: number | undefined
  /** Downloads at once (default 5). */
  readonly download?: number | undefined
}

export interface BatchOptions {
  /** The batch id a journal files the items under (default: a fresh id). */
  readonly batch?: string | undefined
  /** Where videos go when an item names no output (default: the working directory). */
  readonly outputDir?: string | undefined
  readonly concurrency?: BatchConcurrency | undefined
  /** Re-create items whose earlier create is uncertain, accepting a possible second charge (default false). */
  readonly recreateUncertain?: boolean | undefined
  /**
   * Generate again items that ended with a generation failure that cost nothing (a failed or
   * content-refused generation, or an unfinished task that expired, under an on-success price), as
   * new submissions within the budget (`RetryPolicy.retriableOnRequest`). Refusals before sending
   * and failures that were or may have been charged stand (default false).
   */
  readonly retryFailed?: boolean | undefined
  /** Replace files already at the items' outputs, for items that do not say (default `false`). */
  readonly overwrite?: boolean | undefined
  readonly polling?: Partial<Polling.PollingOptions> | undefined
}

/** How each item of a batch ended. */
export interface BatchReport {
  readonly batch: string
  readonly saved: ReadonlyMap<string, SavedVideo>
  readonly failed: ReadonlyMap<string, VideoError>
  /** Items that repeated another item's key or request, and the item they repeated. */
  readonly duplicates: ReadonlyMap<string, string>
}

export interface Service {
  readonly generate: (request: GenerateRequest, options?: GenerateOptions) => Stream.Stream<GenerationEvent, VideoError>
  readonly generateTo: (
    request: GenerateRequest,
    output: string,
    options?: Omit<GenerateOptions, "output">
  ) => Effect.Effect<SavedVideo, VideoError>
  /**
   * Runs a batch. Item failures are `Failed` events, not stream failures: one bad item stops nothing.
   * The stream fails only when the `JobStore` cannot record (a full disk under the journal): then
   * nothing billable may go on, and the whole batch stops.
   */
  readonly generateMany: (
    items: Iterable<BatchItem>,
    options?: BatchOptions
  ) => Stream.Stream<GenerationEvent, JobStore.JobStoreError>
  /** `generateMany`, run to its report. */
  readonly runMany: (
    items: Iterable<BatchItem>,
    options?: BatchOptions
  ) => Effect.Effect<BatchReport, JobStore.JobStoreError>
  /**
   * Polls and collects a task created earlier (after a `PollTimeout`, say). Never submits. `billed`
   * is how its charge was counted before (the `PollTimeout`'s `billing`); by default the charge
   * policy decides, which is right for a `PollTimeout` from this engine.
   */
  readonly resume: (
    handle: TaskHandle,
    options?: GenerateOptions & { readonly billed?: Billing.BillingOutcome | undefined }
  ) => Stream.Stream<GenerationEvent, VideoError>
  /**
   * A stepper: journaled items carried on one stage at a time, for a scheduler that waits between
   * stages itself (see `Stepper`). Its concurrency limits hold across every item it advances.
   */
  readonly stepper: (options?: Stepper.StepperOptions) => Effect.Effect<Stepper.Stepper>
}

export class Engine extends Context.Tag("@reelay/core/Engine")<Engine, Service>() {}

/** Builds the engine from the registry and platform services in the context. */
export const make = (
  options: EngineOptions = {}
): Effect.Effect<Service, never, ProviderRegistry | HttpClient.HttpClient | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const registry = yield* ProviderRegistry
    const budget = yield* Effect.serviceOption(Budget.Budget).pipe(
      Effect.flatMap(Option.match({ onNone: () => Budget.make(), onSome: Effect.succeed }))
    )
    const store = Option.getOrElse(yield* Effect.serviceOption(JobStore.JobStore), () => JobStore.memory)
    const badRanges = NetworkPolicy.invalidRanges(options.download?.allowPrivateNetworks)
    if (badRanges.length > 0) {
      return yield* Effect.die(
        new IllegalArgumentException(
          `download.allowPrivateNetworks: ${badRanges.map((entry) => JSON.stringify(entry)).join(", ")} is not an IP address or range (such as "10.1.2.0/24" or "fd00::/8")`
        )
      )
    }
    const statusGates = new Map<string, Gate.Gate>()
    for (const provider of registry.providers) {
      statusGates.set(provider.id, yield* Gate.make(yield* limitOf(options.statusConcurrency, "statusConcurrency", 10)))
    }
    const shared: Shared = {
      registry,
      budget,
      store,
      platform: yield* Effect.context<HttpClient.HttpClient | FileSystem.FileSystem>(),
      fs: yield* FileSystem.FileSystem,
      retry: options.retry,
      regeneration: { ...RetryPolicy.defaultRegeneration, ...options.regeneration },
      requestTimeout: Duration.decode(options.requestTimeout ?? "60 seconds"),
      submitTimeout: Duration.decode(options.submitTimeout ?? "120 seconds"),
      answerPace: { ...ResponseBody.defaultPace, ...options.answers },
      download: options.download ?? {},
      statusGates,
      provenDirectories: new OutputPath.ProvenDirectories()
    }
    const pollingFor = (override?: Partial<Polling.PollingOptions>): Polling.PollingOptions => ({
      ...Polling.defaultPollingOptions,
      ...options.polling,
      ...override
    })

    /** Runs `body` with an emitter feeding a stream; the stream ends when `body` does. */
    const streamed = <E>(body: (emit: Emit) => Effect.Effect<unknown, E>): Stream.Stream<GenerationEvent, E> =>
      Stream.unwrapScoped(
        Effect.gen(function* () {
          const mailbox = yield* Mailbox.make<GenerationEvent, E>()
          const emit: Emit = (event) => Effect.asVoid(mailbox.offer(event))
          yield* body(emit).pipe(Mailbox.into(mailbox), Effect.forkScoped)
          return Mailbox.toStream(mailbox)
        })
      )

    /** One item run on its own (no batch, no store, no slots), to its end. */
    const single = (
      emit: Emit,
      generateOptions: GenerateOptions | undefined,
      request: GenerateRequest | undefined,
      resumption: JobStore.Resumption
    ) =>
      Effect.gen(function* () {
        const done = yield* Deferred.make<Outcome, VideoError>()
        const run = yield* Run.make(shared, {
          emit,
          note: () => Effect.void,
          journal: (_, effect) => Effect.orDie(effect),
          gates: {},
          polling: pollingFor(generateOptions?.polling),
          end: (_, exit) => Deferred.done(done, exit)
        })
        const item = run.item(
          generateOptions?.key ?? `video-${randomUUID().slice(0, 8)}`,
          generateOptions?.output,
          generateOptions?.overwrite === true
        )
        item.resume(Resumption.run(shared, run.follower, item, request, resumption))
        return yield* Deferred.await(done)
      }).pipe(Effect.scoped)

    const generate: Service["generate"] = (request, generateOptions) =>
      streamed((emit) => single(emit, generateOptions, request, { _tag: "Fresh" })).pipe(
        Stream.withSpan("Engine.generate")
      )

    const resume: Service["resume"] = (handle, generateOptions) =>
      streamed((emit) =>
        single(emit, generateOptions, undefined, { _tag: "Poll", handle, billed: generateOptions?.billed })
      ).pipe(Stream.withSpan("Engine.resume"))

    const generateTo: Service["generateTo"] = Effect.fn("Engine.generateTo")(
      function* (request, output, generateOptions) {
        let video: SavedVideo | undefined
        yield* Stream.runForEach(generate(request, { ...generateOptions, output }), (event) =>
          Effect.sync(() => {
            if (event._tag === "Saved") video = event.video
          })
        )
        if (video === undefined) return yield* Effect.dieMessage("the generation ended without saving a video")
        return video
      }
    )

    const generateMany: Service["generateMany"] = (items, batchOptions = {}) =>
      streamed<JobStore.JobStoreError>((emit) =>
        Batch.run(shared, emit, Array.from(items), {
          batch: batchOptions.batch ?? `batch-${randomUUID().slice(0, 8)}`,
          outputDir: batchOptions.outputDir ?? ".",
          concurrency: batchOptions.concurrency ?? {},
          recreateUncertain: batchOptions.recreateUncertain === true,
          retryFailed: batchOptions.retryFailed === true,
          overwrite: batchOptions.overwrite === true,
          polling: pollingFor(batchOptions.polling)
        }).pipe(Effect.scoped)
      ).pipe(Stream.withSpan("Engine.generateMany"))

    const runMany: Service["runMany"] = Effect.fn("Engine.runMany")(function* (items, batchOptions = {}) {
      const batch = batchOptions.batch ?? `batch-${randomUUID().slice(0, 8)}`
      const saved = new Map<string, SavedVideo>()
      const failed = new Map<string, VideoError>()
      const duplicates = new Map<string, string>()
      yield* Stream.runForEach(generateMany(items, { ...batchOptions, batch }), (event) =>
        Effect.sync(() => {
          if (event._tag === "Saved") saved.set(event.key, event.video)
          if (event._tag === "Failed") failed.set(event.key, event.error)
          if (event._tag === "Warning" && event.code === "duplicate" && event.relatedKey !== undefined) {
            duplicates.set(event.key, event.relatedKey)
          }
        })
      )
      return { batch, saved, failed, duplicates } satisfies BatchReport
    })

    const stepper: Service["stepper"] = (stepperOptions = {}) =>
      Steps.make(shared, stepperOptions, pollingFor(stepperOptions.polling))

    return { generate, generateTo, generateMany, runMany, resume, stepper }
  })

/** The engine as a layer. Provide a `ProviderRegistry`, an `HttpClient` and a `FileSystem`; optionally a `Budget` and a `JobStore`. */
export const layer = (
  options: EngineOptions = {}
): Layer.Layer<Engine, never, ProviderRegistry | HttpClient.HttpClient | FileSystem.FileSystem> =>
  Layer.effect(Engine, make(options))

/** Generates one video as a stream of events (see `Service.generate`). */
export const generate = (request: GenerateRequest, options?: GenerateOptions) =>
  Stream.unwrap(Effect.map(Engine, (engine) => engine.generate(request, options)))

/** Generates one video into `output` (see `Service.generateTo`). */
export const generateTo = (request: GenerateRequest, output: string, options?: Omit<GenerateOptions, "output">) =>
  Effect.flatMap(Engine, (engine) => engine.generateTo(request, output, options))

/** Runs a batch as a stream of events (see `Service.generateMany`). */
export const generateMany = (items: Iterable<BatchItem>, options?: BatchOptions) =>
  Stream.unwrap(Effect.map(Engine, (engine) => engine.generateMany(items, options)))

/** Runs a batch to its report (see `Service.runMany`). */
export const runMany = (items: Iterable<BatchItem>, options?: BatchOptions) =>
  Effect.flatMap(Engine, (engine) => engine.runMany(items, options))

/** Collects a task created earlier (see `Service.resume`). */
export const resume = (
  handle: TaskHandle,
  options?: GenerateOptions & { readonly billed?: Billing.BillingOutcome | undefined }
) => Stream.unwrap(Effect.map(Engine, (engine) => engine.resume(handle, options)))
