/**
 * A fal-style queue API as a reelay provider: `POST /<model path>` answers `{request_id, status_url,
 * response_url}`; `GET status_url` answers `IN_QUEUE` (with `queue_position`), `IN_PROGRESS` or
 * `COMPLETED` (with `error` when the request failed); `GET response_url` answers `{video: {url,
 * content_type, file_size}}`. The key travels as `Authorization: Key <key>`; errors read `{detail}`.
 *
 * Wire mapping only: the engine validates, retries, polls, bills and downloads; `Exchange` and
 * `ErrorMapping` (`@reelay/openai-videos`) send, read and map failures as for every provider.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { UrlAsset } from "@reelay/core/AssetSource"
import * as ProviderConfig from "@reelay/core/ProviderConfig"
import { TaskHandle } from "@reelay/core/TaskHandle"
import * as TaskStatus from "@reelay/core/TaskStatus"
import { InvalidRequest } from "@reelay/core/VideoError"
import * as VideoProvider from "@reelay/core/VideoProvider"
import * as ErrorMapping from "@reelay/openai-videos/ErrorMapping"
import * as Exchange from "@reelay/openai-videos/Exchange"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Catalog from "./Catalog.js"

export const providerId = "fal-queue"
export const defaultBaseUrl = "https://queue.fal.run"
export const env = { apiKey: "FAL_QUEUE_API_KEY", baseUrl: "FAL_QUEUE_BASE_URL" } as const
export const models = Catalog.models

/**
 * The most bytes of one answer read. Answers are a few hundred bytes and never echo the prompt; a
 * body past this is a broken or hostile server, not a slow one.
 */
export const maxBodyBytes = 64 * 1024

/** How long the queue keeps a request and its video: its pages do not say, so a day, like the other vendors. */
const retentionMillis = 24 * 60 * 60 * 1000

const Submitted = Schema.Struct({
  request_id: Schema.NonEmptyString,
  status_url: Schema.String,
  response_url: Schema.String
})
const QueueStatus = Schema.Struct({
  status: Schema.String,
  error: Schema.optional(Schema.NullOr(Schema.String)),
  error_type: Schema.optional(Schema.NullOr(Schema.String))
})
const Result = Schema.Struct({
  video: Schema.Struct({ url: Schema.String, file_size: Schema.optional(Schema.NullOr(Schema.Number)) })
})

/** `{"detail": "..."}` or a validation list `{"detail": [{"msg", "type"}]}`: the queue's error body. */
export const errorDetail = (body: string): ErrorMapping.Detail => {
  const none = { code: undefined, message: undefined, type: undefined }
  try {
    const detail = (JSON.parse(body) as { detail?: unknown }).detail
    if (typeof detail === "string") return { ...none, message: detail }
    if (Array.isArray(detail) && typeof detail[0] === "object" && detail[0] !== null) {
      const first = detail[0] as { msg?: unknown; type?: unknown }
      return {
        code: typeof first.type === "string" ? first.type : undefined,
        message: typeof first.msg === "string" ? first.msg : undefined,
        type: undefined
      }
    }
  } catch {}
  return none
}

export interface Options {
  /** Absent: the provider builds, and each call fails with `AuthenticationFailed` naming `FAL_QUEUE_API_KEY`. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly baseUrl?: string | undefined
  readonly id?: string | undefined
}

export const make = (
  options: Options = {}
): Effect.Effect<VideoProvider.AsyncVideoProvider, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const id = options.id ?? providerId
    const exchange = yield* Exchange.make({
      id,
      baseUrl: options.baseUrl ?? defaultBaseUrl,
      apiKey: options.apiKey,
      keyHint: `set ${env.apiKey}`,
      auth: { prefix: "Key" },
      maxBodyBytes,
      errorDetail
    })
    const { baseUrl } = exchange

    /**
     * A status or response URL as a path under the base URL. The key goes to the base URL's origin
     * only: a URL elsewhere is an answer reelay cannot follow without sending the key to a stranger.
     */
    const pathOf = (url: string): string | undefined => {
      if (!URL.canParse(url) || !URL.canParse(baseUrl)) return undefined
      // Parsed, so "HOST:443" and "host" are one origin, and "." and ".." segments are resolved.
      const parsed = new URL(url)
      const prefix = new URL(baseUrl).pathname.replace(/\/$/, "")
      return parsed.origin === exchange.origin && parsed.pathname.startsWith(`${prefix}/`)
        ? `${parsed.pathname.slice(prefix.length)}${parsed.search}`
        : undefined
    }

    const submit = Effect.fn("FalQueue.submit")(function* (input: VideoProvider.SubmitInput) {
      const context = yield* exchange.context("create")
      yield* exchange.ready(context)
      const { request, model } = input
      const size = request.size ?? model.capabilities.sizes.find((s) => sizeFits(s, request)) ?? model.defaultSize
      const body = {
        prompt: request.prompt,
        aspect_ratio: ratioOf(size),
        resolution: resolutionOf(size),
        duration: `${request.seconds ?? model.capabilities.durations[0]}s`,
        generate_audio: true,
        ...(request.negativePrompt === undefined ? {} : { negative_prompt: request.negativePrompt }),
        ...(request.seed === undefined ? {} : { seed: request.seed })
      }
      const call = HttpClientRequest.post(`/${Catalog.paths[model.id]}`).pipe(
        HttpClientRequest.setHeader("idempotency-key", input.idempotencyKey),
        HttpClientRequest.bodyUnsafeJson(body)
      )
      const response = yield* exchange.send(context, call)
      const { value, body: text } = yield* exchange.readJson(context, response, Submitted)
      const statusPath = pathOf(value.status_url)
      const responsePath = pathOf(value.response_url)
      if (statusPath === undefined || responsePath === undefined) {
        // Answered 200: the request may exist. It cannot be followed, so the engine reports it uncertain.
        const problem = `status and response URLs outside ${baseUrl}, where the key is never sent`
        return yield* ErrorMapping.toVideoError(context, { _tag: "Undecodable", status: 200, body: text, problem })
      }
      const createdAt = yield* Clock.currentTimeMillis
      return new TaskHandle({
        provider: id,
        model: model.id,
        taskId: value.request_id,
        mode: "async",
        createdAt: new Date(createdAt),
        expiresAt: new Date(createdAt + retentionMillis),
        metadata: { status: statusPath, response: responsePath }
      })
    })

    /** GETs the handle's `status` or `response` path; a handle read back from a journal is checked like an answer. */
    const read = <A, I>(handle: TaskHandle, operation: "status" | "content", schema: Schema.Schema<A, I>) =>
      Effect.gen(function* () {
        const context = yield* exchange.context(operation, handle.taskId)
        yield* exchange.ready(context)
        const path = handle.metadata[operation === "status" ? "status" : "response"]
        if (path === undefined || pathOf(`${baseUrl}${path}`) === undefined) {
          const message = `${id}: the handle of ${handle.taskId} has no ${operation} path under ${baseUrl}; nothing was sent`
          return yield* new InvalidRequest({ provider: id, taskId: handle.taskId, field: "taskId", message })
        }
        const response = yield* exchange.send(context, HttpClientRequest.get(path))
        return { context, ...(yield* exchange.readJson(context, response, schema)) }
      })

    const status = Effect.fn("FalQueue.status")(function* (handle: TaskHandle) {
      const { context, value, body } = yield* read(handle, "status", QueueStatus)
      if (value.status === "IN_QUEUE") return new TaskStatus.Queued({})
      if (value.status === "IN_PROGRESS") return new TaskStatus.Running({})
      if (value.status === "COMPLETED") {
        if (value.error === undefined || value.error === null) return new TaskStatus.Succeeded({})
        const failure = { code: value.error_type ?? undefined, message: value.error }
        return new TaskStatus.Failed({ error: ErrorMapping.failedTask(context, failure) })
      }
      const problem = `a status the queue does not define (IN_QUEUE, IN_PROGRESS, COMPLETED)`
      return yield* ErrorMapping.toVideoError(context, { _tag: "Undecodable", status: 200, body, problem })
    })

    const content = Effect.fn("FalQueue.content")(function* (handle: TaskHandle) {
      const { value } = yield* read(handle, "content", Result)
      const size = value.video.file_size
      return new UrlAsset({
        url: value.video.url,
        ...(handle.expiresAt === undefined ? {} : { expiresAt: handle.expiresAt }),
        ...(typeof size === "number" && Number.isSafeInteger(size) && size >= 0 ? { size } : {})
      })
    })

    return {
      specificationVersion: VideoProvider.specificationVersion,
      id,
      mode: "async",
      models,
      defaultModel: models[0]!.id,
      baseUrl: VideoProvider.publicUrl(baseUrl),
      credentials: exchange.credentials,
      submit,
      status,
      content
    } satisfies VideoProvider.AsyncVideoProvider
  })

/** The queue takes an aspect ratio and a resolution, not a frame size: "1920x1080" is 16:9 at 1080p. */
const sides = (size: string) => size.split("x").map(Number) as [number, number]
const ratioOf = (size: string) => (sides(size)[0] >= sides(size)[1] ? "16:9" : "9:16")
const resolutionOf = (size: string) => (Math.min(...sides(size)) >= 1080 ? "1080p" : "720p")
const sizeFits = (size: string, request: VideoProvider.ResolvedRequest) =>
  (request.aspectRatio === undefined || ratioOf(size) === request.aspectRatio) &&
  (request.resolution === undefined || resolutionOf(size) === request.resolution)

/** `layer`, and `makeConfig` / `layerConfig` reading `FAL_QUEUE_API_KEY` and `FAL_QUEUE_BASE_URL`. */
export const { layer, makeConfig, layerConfig } = ProviderConfig.constructors(make, {
  apiKey: [env.apiKey],
  baseUrl: env.baseUrl
})
