/**
 * The provider contract. A provider maps one wire protocol onto these few operations and nothing
 * else: validation beyond the catalog, retries, polling, billing, budgets and downloads are the
 * engine's, so every provider behaves the same.
 *
 * Two shapes exist:
 * - `async`: `submit` creates a task and returns its handle; `status` and `content` are called on it.
 * - `streaming`: `submit` returns a stream of provider events that ends with the video's location
 *   (a synchronous API that streams progress, such as chat completions with SSE).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type * as Stream from "effect/Stream"
import type { AssetSource } from "./AssetSource.js"
import type { BytesSource, GenerateRequest, ImageRole, UrlSource } from "./GenerateRequest.js"
import type { ModelSpec } from "./ModelSpec.js"
import type { TaskHandle } from "./TaskHandle.js"
import type { TaskStatus } from "./TaskStatus.js"
import type { InvalidRequest, VideoError } from "./VideoError.js"

/** The version of this contract. A provider built for another version is refused at registration. */
export const specificationVersion = "v1" as const
export type SpecificationVersion = typeof specificationVersion

/** An image after the engine read and checked it: local paths have become bytes. */
export interface ResolvedImage {
  readonly role: ImageRole
  readonly source: BytesSource | UrlSource
}

/** The request as a provider receives it: validated against `model`, images resolved. */
export interface ResolvedRequest extends Omit<GenerateRequest, "images" | "provider" | "model"> {
  readonly images: ReadonlyArray<ResolvedImage>
}

/** A validated request for one model. */
export interface CheckInput {
  readonly request: ResolvedRequest
  readonly model: ModelSpec
}

export interface SubmitInput extends CheckInput {
  /**
   * Minted once per logical submission and identical on every attempt; send it as the
   * `Idempotency-Key` header so a provider that honours it can drop duplicates.
   */
  readonly idempotencyKey: string
}

/**
 * Credentials the engine may attach when it downloads from the provider's own `origin`
 * (scheme://host:port). They are never sent anywhere else, redirects included.
 */
export interface Credentials {
  readonly origin: string
  readonly headers: ReadonlyArray<readonly [name: string, value: Redacted.Redacted<string>]>
}

/** What a streaming provider reports while its response is open. */
export type ProviderEvent =
  /** The provider answered (HTTP 200): under `on-response` billing, the charge is now certain. */
  | { readonly _tag: "Accepted"; readonly taskId: string }
  | { readonly _tag: "Queued" }
  | { readonly _tag: "Progress"; readonly percent: number }
  | { readonly _tag: "Completed"; readonly asset: AssetSource }

interface Common {
  readonly specificationVersion: SpecificationVersion
  /** The registry id, such as `"laozhang"`. */
  readonly id: string
  readonly models: ReadonlyArray<ModelSpec>
  readonly defaultModel: string
  /**
   * Where the provider sends its requests (`https://api.laozhang.ai/v1`). Journaled with every
   * create, so a resume can tell which host holds the task; never holds a key.
   */
  readonly baseUrl?: string | undefined
  readonly credentials?: Credentials | undefined
  /**
   * Whether the provider drops a repeated create carrying the same `Idempotency-Key` (answering with
   * the first task). Then an ambiguous create is as safe to repeat as a read, and the engine does.
   * None of the vendors documents this; declare it only for a provider that guarantees it.
   */
  readonly idempotentCreates?: boolean | undefined
  /**
   * Protocol rules the catalog cannot express (say, "4k needs 8 seconds"). Runs after the catalog
   * check, before anything is sent; returns warnings for options the protocol will ignore.
   */
  readonly check?: ((input: CheckInput) => Effect.Effect<ReadonlyArray<string>, InvalidRequest>) | undefined
}

export interface AsyncVideoProvider extends Common {
  readonly mode: "async"
  readonly submit: (input: SubmitInput) => Effect.Effect<TaskHandle, VideoError>
  readonly status: (handle: TaskHandle) => Effect.Effect<TaskStatus, VideoError>
  readonly content: (handle: TaskHandle) => Effect.Effect<AssetSource, VideoError>
}

export interface StreamingVideoProvider extends Common {
  readonly mode: "streaming"
  readonly submit: (input: SubmitInput) => Stream.Stream<ProviderEvent, VideoError>
}

export type Service = AsyncVideoProvider | StreamingVideoProvider

/**
 * One provider in the context. Applications with several providers use `ProviderRegistry`;
 * this tag is for code that works with exactly one.
 */
export class VideoProvider extends Context.Tag("@reelay/core/VideoProvider")<VideoProvider, Service>() {}

/**
 * A URL as it may be written down (journal, events): without a user name or password, which a
 * base URL can carry. Anything that does not parse is kept as it is.
 */
export const publicUrl = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.username === "" && parsed.password === "") return url
    parsed.username = ""
    parsed.password = ""
    return parsed.toString().replace(/\/$/, url.endsWith("/") ? "/" : "")
  } catch {
    return url
  }
}

/** Finds a model in a provider's catalog. */
export const findModel = (provider: Service, modelId: string): ModelSpec | undefined =>
  provider.models.find((model) => model.id === modelId)
