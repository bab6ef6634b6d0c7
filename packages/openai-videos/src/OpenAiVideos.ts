/**
 * The `/v1/videos` protocol as a configurable reelay provider: create (`POST /videos`), poll
 * (`GET /videos/{id}` or the compatibility path), fetch (`GET /videos/{id}/content`). A reseller
 * package is a `Config` — base URL, key, auth style, dialect, model catalog — plus, at most, a
 * `check` for rules its catalog cannot express and `extraFields` for fields of its own.
 *
 * The provider does the wire and nothing else: the engine validates against the catalog, retries,
 * polls, bills and downloads (see `@reelay/core/Engine`).
 *
 * @example
 * ```ts
 * import * as OpenAiVideos from "@reelay/openai-videos/OpenAiVideos"
 * import * as Redacted from "effect/Redacted"
 *
 * const provider = OpenAiVideos.make({
 *   id: "acme",
 *   baseUrl: "https://api.acme.example/v1",
 *   apiKey: Redacted.make(process.env.ACME_API_KEY ?? ""),
 *   apiKeyHint: "set ACME_API_KEY",
 *   auth: "bearer",
 *   models: [acmeModel]
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { UrlAsset } from "@reelay/core/AssetSource"
import * as Http from "@reelay/core/Http"
import type { ModelSpec } from "@reelay/core/ModelSpec"
import { TaskHandle } from "@reelay/core/TaskHandle"
import * as TaskStatus from "@reelay/core/TaskStatus"
import * as Validation from "@reelay/core/Validation"
import { InvalidRequest, MalformedResponse, type VideoError } from "@reelay/core/VideoError"
import * as VideoProvider from "@reelay/core/VideoProvider"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as CreateRequest from "./CreateRequest.js"
import * as ErrorMapping from "./ErrorMapping.js"
import * as Exchange from "./Exchange.js"
import * as ImageFetch from "./ImageFetch.js"
import {
  type AuthStyle,
  asyncDialect,
  contentPathOf,
  isUsableTaskId,
  maxTaskIdLength,
  statusPathOf,
  type WireOptions
} from "./Protocol.js"
import * as Sanitize from "./Sanitize.js"
import { ContentObject, CreatedTask, percentOf, TaskObject, taskIdOf, videoLinkOf } from "./WireSchemas.js"

/** How the key is sent: a style (`bearer` or `raw`), optionally in a header other than `Authorization`. */
export type AuthOption = AuthStyle | { readonly style: AuthStyle; readonly header?: string | undefined }

/** A `/v1/videos` provider, fully described. */
export interface Config {
  /** The registry id (`"laozhang"`). Errors and handles carry it. */
  readonly id: string
  /** The API base, including `/v1` (`"https://api.laozhang.ai/v1"`). */
  readonly baseUrl: string
  /**
   * The API key. Absent (or empty) is allowed: the provider is built, lists its models, and every
   * call fails with `AuthenticationFailed` before anything is sent.
   */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** How to supply a key, for error messages: `"set LAOZHANG_API_KEY"`. */
  readonly apiKeyHint?: string | undefined
  readonly auth: AuthOption
  /** The dialect; default: the async one apiyi speaks (`Protocol.asyncDialect`). */
  readonly wire?: WireOptions | undefined
  readonly models: ReadonlyArray<ModelSpec>
  /** Default: the first model. */
  readonly defaultModel?: string | undefined
  /** Models that refuse a request without a first-frame image (frame-to-video models). */
  readonly imageRequired?: ReadonlyArray<string> | undefined
  /** Fields of the provider's own added to every create (after the protocol parameters). */
  readonly extraFields?:
    | ((input: VideoProvider.SubmitInput) => ReadonlyArray<readonly [name: string, value: string]>)
    | undefined
  /** Protocol rules the catalog cannot express; runs after the built-in checks. */
  readonly check?: VideoProvider.AsyncVideoProvider["check"]
  /** How long the vendor keeps a task and its video (default 24 hours, as every reference page says). */
  readonly retention?: Duration.DurationInput | undefined
  /** The span name prefix (`"Laozhang"` gives `Laozhang.submit`); default `"OpenAiVideos"`. */
  readonly spanPrefix?: string | undefined
  /** Limits on downloading an image URL, for a dialect that uploads them (`urlImages: "upload"`). */
  readonly imageFetch?: ImageFetch.Options | undefined
  /**
   * The most bytes read of one JSON answer, counted decoded (default 1 MiB, or more when a model's
   * prompt limit needs it: `Validation.largestAnswerBytes`; real answers are a few hundred bytes). A
   * longer one, or one that never ends, is not read further: a 2xx is then a `MalformedResponse`,
   * an error status is mapped from its status and the part read.
   */
  readonly maxBodyBytes?: number | undefined
}

/** Default `Config.maxBodyBytes`. */
export const defaultMaxBodyBytes = 1024 * 1024

const normalizeAuth = (auth: AuthOption) =>
  typeof auth === "string"
    ? { style: auth, header: "authorization" }
    : { style: auth.style, header: (auth.header ?? "authorization").toLowerCase() }

/** Builds the provider. Needs only an `HttpClient`; never fails (a bad key or URL fails the calls instead). */
export const make = (config: Config): Effect.Effect<VideoProvider.AsyncVideoProvider, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const id = config.id
    const wire = config.wire ?? asyncDialect
    const baseUrl = config.baseUrl.trim().replace(/\/+$/, "")
    const auth = normalizeAuth(config.auth)
    const retentionMillis = Duration.toMillis(config.retention ?? "24 hours")
    const imageRequired = new Set(config.imageRequired ?? [])
    const span = config.spanPrefix ?? "OpenAiVideos"
    // Never below the largest answer a prompt within the catalog's limits can make (the status
    // echoes it): a task paid for must stay readable.
    const maxBodyBytes =
      config.maxBodyBytes ?? Math.max(defaultMaxBodyBytes, ...config.models.map(Validation.largestAnswerBytes))

    const bareClient = yield* HttpClient.HttpClient
    const exchange = yield* Exchange.make({
      id,
      baseUrl,
      apiKey: config.apiKey,
      keyHint: config.apiKeyHint,
      auth: auth.style,
      authHeader: auth.header,
      maxBodyBytes
    })
    const { secrets, context: contextOf, ready, send, readJson } = exchange

    /**
     * Image URLs of a dialect that uploads them, downloaded once: at `check`, when the engine
     * validates, so a bad link is a plain refusal long before a billable create exists. The result is
     * handed to `submit` by the identity of the image object the engine passes on (it lives as long as
     * the validated request); a submit that was never checked downloads them itself, still before
     * the POST.
     */
    const downloaded = new WeakMap<VideoProvider.ResolvedImage, VideoProvider.ResolvedImage>()
    const uploadable = (
      model: ModelSpec,
      images: ReadonlyArray<VideoProvider.ResolvedImage>
    ): Effect.Effect<ReadonlyArray<VideoProvider.ResolvedImage>, InvalidRequest> =>
      wire.urlImages !== "upload" || !images.some(ImageFetch.isUrlImage)
        ? Effect.succeed(images)
        : Effect.forEach(images, (image) => {
            if (!ImageFetch.isUrlImage(image)) return Effect.succeed(image)
            const known = downloaded.get(image)
            if (known !== undefined) return Effect.succeed(known)
            return ImageFetch.fetchImage(bareClient, id, model, image, config.imageFetch).pipe(
              Effect.tap((file) => Effect.sync(() => downloaded.set(image, file)))
            )
          })

    const submit = Effect.fn(`${span}.submit`)(function* (input: VideoProvider.SubmitInput) {
      yield* Effect.annotateCurrentSpan({ provider: id, model: input.model.id })
      const context = yield* contextOf("create")
      yield* ready(context)
      const images = yield* uploadable(input.model, input.request.images)
      const sent = images === input.request.images ? input : { ...input, request: { ...input.request, images } }
      const extra = config.extraFields === undefined ? [] : config.extraFields(sent)
      const request = yield* CreateRequest.encode(id, sent, wire, extra)
      const response = yield* send(context, request)
      const { value, body } = yield* readJson(context, response, CreatedTask)
      const taskId = taskIdOf(value, wire.idField)
      if (taskId !== undefined && !isUsableTaskId(taskId)) {
        // The vendor answered 200 (a task may exist), with an id no request can address safely.
        return yield* Effect.fail(
          ErrorMapping.toVideoError(context, {
            _tag: "Undecodable",
            status: response.status,
            body,
            problem: `the task id ${JSON.stringify(Sanitize.scrub(taskId, secrets).slice(0, 40))} cannot name a task in a URL path (".", "..", empty or over ${maxTaskIdLength} characters)`
          })
        )
      }
      if (taskId === undefined) {
        const vendor = ErrorMapping.parseErrorBody(body)
        return yield* Effect.fail(
          ErrorMapping.toVideoError(
            context,
            vendor.code !== undefined || vendor.message !== undefined
              ? { _tag: "Answer", status: response.status, headers: response.headers, body }
              : { _tag: "Undecodable", status: response.status, body, problem: `no task id (${wire.idField})` }
          )
        )
      }
      yield* Effect.annotateCurrentSpan({ taskId })
      const createdAt = yield* Clock.currentTimeMillis
      return new TaskHandle({
        provider: id,
        model: input.model.id,
        taskId,
        mode: "async",
        createdAt: new Date(createdAt),
        expiresAt: new Date(createdAt + retentionMillis)
      })
    })

    /** A handle read back from a journal is not trusted more than the vendor's answer was. */
    const addressable = (handle: TaskHandle): Effect.Effect<void, VideoError> =>
      isUsableTaskId(handle.taskId)
        ? Effect.void
        : Effect.fail(
            new InvalidRequest({
              provider: id,
              taskId: handle.taskId,
              field: "taskId",
              message: `${id}: the task id ${JSON.stringify(Sanitize.scrub(handle.taskId, secrets).slice(0, 40))} cannot name a task in a URL path; nothing was sent`
            })
          )

    const status = Effect.fn(`${span}.status`)(function* (handle: TaskHandle) {
      yield* Effect.annotateCurrentSpan({ provider: id, taskId: handle.taskId })
      const context = yield* contextOf("status", handle.taskId)
      yield* ready(context)
      yield* addressable(handle)
      const response = yield* send(context, HttpClientRequest.get(statusPathOf(wire, handle.taskId)))
      const { value, body } = yield* readJson(context, response, TaskObject)
      const now = yield* Clock.currentTimeMillis
      const pollAfterMillis = Http.pollAfterMillis(response.headers, now)
      const progress = percentOf(value.progress)
      const pacing = {
        ...(progress === undefined ? {} : { progress }),
        ...(pollAfterMillis === undefined ? {} : { pollAfterMillis })
      }
      const word = value.status.trim().toLowerCase()
      if (word === "queued") return new TaskStatus.Queued(pacing)
      if (word === wire.runningStatus) return new TaskStatus.Running(pacing)
      if (word === "completed") {
        // Some answers already carry the video's link (laozhang's examples read `video_url`, else
        // `url`): then `/content` need not be asked.
        const link = videoLinkOf(value)
        if (link === undefined) return new TaskStatus.Succeeded({})
        const expiresAt =
          typeof value.expires_at === "number" && value.expires_at > 0
            ? new Date(value.expires_at * 1000)
            : handle.expiresAt
        return new TaskStatus.Succeeded({
          asset: new UrlAsset({ url: link, ...(expiresAt === undefined ? {} : { expiresAt }) })
        })
      }
      if (word === "failed") return new TaskStatus.Failed({ error: ErrorMapping.failedTask(context, value.error) })
      return yield* new MalformedResponse({
        provider: id,
        taskId: handle.taskId,
        httpStatus: response.status,
        excerpt: Sanitize.excerpt(body, secrets),
        message: `status of ${handle.taskId}: ${id} reported the status ${JSON.stringify(Sanitize.scrub(value.status, secrets).slice(0, 40))}, which its protocol does not define (queued, ${wire.runningStatus}, completed, failed)`
      })
    })

    const content = Effect.fn(`${span}.content`)(function* (handle: TaskHandle) {
      yield* Effect.annotateCurrentSpan({ provider: id, taskId: handle.taskId })
      const context = yield* contextOf("content", handle.taskId)
      yield* ready(context)
      yield* addressable(handle)
      const expiry = handle.expiresAt === undefined ? {} : { expiresAt: handle.expiresAt }
      if (wire.content === "bytes") {
        // The bytes are served on the API origin with the key: the engine downloads them with our
        // credentials (same origin), streaming and resuming with Range, instead of us buffering them.
        return new UrlAsset({ url: `${baseUrl}${contentPathOf(handle.taskId)}`, ...expiry })
      }
      const response = yield* send(context, HttpClientRequest.get(contentPathOf(handle.taskId)))
      const { value } = yield* readJson(context, response, ContentObject)
      const expiresAt =
        typeof value.expires_at === "number" && value.expires_at > 0
          ? new Date(value.expires_at * 1000)
          : handle.expiresAt
      return new UrlAsset({ url: value.url, ...(expiresAt === undefined ? {} : { expiresAt }) })
    })

    const check: VideoProvider.AsyncVideoProvider["check"] = (input) =>
      Effect.gen(function* () {
        const { model, request } = input
        if (imageRequired.has(model.id) && !request.images.some((image) => image.role === "first-frame")) {
          const textModels = config.models
            .filter((other) => !imageRequired.has(other.id))
            .filter((other) =>
              other.capabilities.aspectRatios.some((ratio) => model.capabilities.aspectRatios.includes(ratio))
            )
            .map((other) => other.id)
          return yield* new InvalidRequest({
            provider: id,
            field: "images",
            billing: "not-charged",
            message: `model ${JSON.stringify(model.id)} makes video from a first-frame image and needs one${textModels.length === 0 ? "" : `; for text to video use ${textModels.join(", ")}`}`
          })
        }
        const images = yield* uploadable(model, request.images)
        yield* CreateRequest.planImages(id, wire.createEncoding, images)
        return config.check === undefined ? [] : yield* config.check(input)
      })

    return {
      specificationVersion: VideoProvider.specificationVersion,
      id,
      mode: "async",
      models: config.models,
      defaultModel: config.defaultModel ?? config.models[0]?.id ?? "",
      baseUrl: VideoProvider.publicUrl(baseUrl),
      credentials: exchange.credentials,
      check,
      submit,
      status,
      content
    } satisfies VideoProvider.AsyncVideoProvider
  })

/** The provider as the `VideoProvider` service. */
export const layer = (config: Config): Layer.Layer<VideoProvider.VideoProvider, never, HttpClient.HttpClient> =>
  Layer.effect(VideoProvider.VideoProvider, make(config))
