/**
 * Sora 2 through laozhang's synchronous chat completions API: one `POST /chat/completions` with
 * `stream: true` whose Server-Sent Events carry the queue, the progress and finally a Markdown link
 * to the video. A `streaming` provider: `submit` returns the events of that one response.
 *
 * Billing is `on-response`: the vendor charges every HTTP 200, even when the generation then fails
 * (or is refused under the content policy), which the text of the answer says. A stream cut after
 * the 200 and before the link leaves the charge unknown and is never repeated.
 *
 * @example
 * ```ts
 * import { LaozhangSora } from "@reelay/provider-laozhang-sora"
 *
 * // LAOZHANG_API_KEY (and optionally LAOZHANG_BASE_URL) from the environment:
 * const providers = ProviderRegistry.layer([LaozhangSora.make()])
 * // or explicitly:
 * const sora = LaozhangSora.layer({ apiKey: Redacted.make("sk-..."), baseUrl: "https://api.laozhang.ai/v1" })
 * ```
 *
 * @since 0.1.0
 */
import type * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Http from "@reelay/core/Http"
import type { ModelSpec } from "@reelay/core/ModelSpec"
import * as ProviderConfig from "@reelay/core/ProviderConfig"
import * as ResponseBody from "@reelay/core/ResponseBody"
import * as Sanitize from "@reelay/core/Sanitize"
import {
  AuthenticationFailed,
  ContentRejected,
  InsufficientBalance,
  InvalidRequest,
  MalformedResponse,
  ProviderUnavailable,
  RateLimited,
  type VideoError
} from "@reelay/core/VideoError"
import * as VideoProvider from "@reelay/core/VideoProvider"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Answer from "./Answer.js"
import * as Models from "./Models.js"
import * as Sse from "./Sse.js"

/** The reference page's base URL. */
export const defaultBaseUrl = "https://api.laozhang.ai/v1"

/** The registry id. */
export const defaultId = "laozhang-sora"

/** The environment variable holding the API key. */
export const apiKeyVariable = "LAOZHANG_API_KEY"

/** The environment variable overriding the base URL. */
export const baseUrlVariable = "LAOZHANG_BASE_URL"

/** Settings of the provider; every one has a default. */
export interface Options {
  /** The laozhang API key. When absent, `submit` fails with `AuthenticationFailed` before sending anything. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** Default `https://api.laozhang.ai/v1` (with `/v1`, as on the page). */
  readonly baseUrl?: string | undefined
  /** The registry id (default `laozhang-sora`). */
  readonly id?: string | undefined
  /** Replaces the catalog (say, a new model name); default `Models.models`. */
  readonly models?: ReadonlyArray<ModelSpec> | undefined
  /** Default `sora_video2`. */
  readonly defaultModel?: string | undefined
  /** How long a video link stays valid (default 24 hours: "Video valid for 1 day"). */
  readonly linkTtl?: Duration.DurationInput | undefined
  /**
   * The longest line the stream may send, in characters (default 256 Ki, or the line that echoes
   * the longest prompt the catalog allows if that is longer: `echoLineChars`).
   */
  readonly maxLineChars?: number | undefined
  /** The most text one answer may carry, in characters (default 4 Mi; a real answer is a few KB). */
  readonly maxAnswerChars?: number | undefined
}

// ---------------------------------------------------------------------------------------------
// Wire shapes
// ---------------------------------------------------------------------------------------------

const TextPart = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })
const ImagePart = Schema.Struct({
  type: Schema.Literal("image_url"),
  image_url: Schema.Struct({ url: Schema.String })
})

/** The request body: the page's chat completion, streamed, plus `seconds` for 15 s videos. */
export const ChatRequest = Schema.Struct({
  model: Schema.String,
  stream: Schema.Literal(true),
  messages: Schema.Tuple(
    Schema.Struct({
      role: Schema.Literal("user"),
      content: Schema.Array(Schema.Union(TextPart, ImagePart))
    })
  ),
  /** Not on the page (it prices "10s or 15s" alike without naming a parameter); sent only for 15 s. */
  seconds: Schema.optional(Schema.Int)
})
export type ChatRequest = typeof ChatRequest.Type

const decodeErrorBody = Schema.decodeUnknownEither(Schema.parseJson(Answer.ErrorBody))

const defaultSeconds = 10
const errorBodyLimit = 64 * 1024

/** The body of one submission. A local file arrives as bytes and travels as a base64 `data:` URL. */
export const requestBody = (input: VideoProvider.SubmitInput): ChatRequest => {
  const images = input.request.images.map((image) => ({
    type: "image_url" as const,
    image_url: {
      url:
        image.source._tag === "Url"
          ? image.source.url
          : `data:${image.source.mimeType ?? "image/png"};base64,${Buffer.from(image.source.bytes).toString("base64")}`
    }
  }))
  const seconds = input.request.seconds ?? input.model.capabilities.durations[0]
  return {
    model: input.model.id,
    stream: true,
    messages: [{ role: "user", content: [{ type: "text", text: input.request.prompt }, ...images] }],
    ...(seconds === defaultSeconds ? {} : { seconds })
  }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/**
 * The error an HTTP answer other than 2xx means. The vendor itself created nothing in these cases
 * (it bills only a 200), which is what makes 429 and its own 5xx safe to retry — except a gateway's
 * 502 / 504: the proxy in front of the vendor may have forwarded the request and lost (or stopped
 * waiting for) a 200 the vendor bills, so it is `exchange`, an uncertain create. What the vendor said is
 * quoted scrubbed: `secrets` (the key) removed, key-like strings masked, URLs cut to their origin —
 * a server may echo the key back in its error body.
 */
export const statusError = (
  provider: string,
  status: number,
  headers: Headers.Headers,
  body: string,
  now: number = Date.now(),
  secrets: ReadonlyArray<Redacted.Redacted<string>> = []
): VideoError => {
  const decoded = decodeErrorBody(body)
  const parsed = Either.isRight(decoded)
    ? Answer.vendorError(decoded.right.error, decoded.right)
    : { code: undefined, message: undefined }
  const code = parsed.code === undefined ? undefined : Sanitize.scrub(parsed.code, secrets).slice(0, 100)
  const raw = parsed.message ?? (Either.isLeft(decoded) && body.trim() !== "" ? body.trim() : undefined)
  const said = raw === undefined ? undefined : Sanitize.scrub(raw, secrets).slice(0, 300)
  const detail = `HTTP ${status}${code === undefined ? "" : ` ${code}`}${said === undefined ? "" : `: ${said}`}`
  const common = { provider, httpStatus: status }
  const vendorCode = code === undefined ? {} : { vendorCode: code }
  const retryAfterMillis = Http.retryAfterMillis(headers, now)
  const hint = retryAfterMillis === undefined ? {} : { retryAfterMillis }
  if (status === 401 || status === 403) {
    return new AuthenticationFailed({ ...common, message: `${provider} refused the API key (${detail})` })
  }
  if (status === 402 || code === "insufficient_quota" || code === "insufficient_balance" || code === "quota_exceeded") {
    return new InsufficientBalance({
      ...common,
      ...vendorCode,
      message: `${provider}: the balance cannot pay (${detail})`
    })
  }
  if (status === 429)
    return new RateLimited({ ...common, ...hint, message: `${provider} is rate limiting (${detail})` })
  if (status === 502 || status === 504) {
    return new ProviderUnavailable({
      ...common,
      ...hint,
      stage: "exchange",
      message: `a gateway in front of ${provider} answered ${detail}; the request may have reached ${provider}, which bills every answered request`
    })
  }
  if (status >= 500 || status === 408 || status === 425) {
    return new ProviderUnavailable({
      ...common,
      ...hint,
      stage: "response",
      message: `${provider} answered with a server error (${detail})`
    })
  }
  if (status >= 400 && Answer.contentPolicyPattern.test(`${code ?? ""} ${said ?? ""}`)) {
    return new ContentRejected({ ...common, ...vendorCode, message: `${provider} refused the content (${detail})` })
  }
  if (status === 404 || status === 405) {
    return new InvalidRequest({
      ...common,
      message: `${provider} has no chat completions endpoint at this address (${detail}); check the base URL (${baseUrlVariable})`
    })
  }
  if (status >= 400) return new InvalidRequest({ ...common, message: `${provider} refused the request (${detail})` })
  return new MalformedResponse({
    ...common,
    message: `${provider} answered HTTP ${status}, which the chat completions API does not use; check the base URL (${baseUrlVariable})`
  })
}

/**
 * The longest SSE line a prompt within `model`'s limit can make: the answer echoes the prompt in a
 * JSON block inside one chunk's JSON, escaped twice, so one character of it takes up to 7 (`\u001f`
 * escaped again: `\\u001f`); 64 Ki more for the rest of the line.
 */
export const echoLineChars = (model: ModelSpec): number => 7 * model.capabilities.maxPromptChars + 64 * 1024

/**
 * A whole body as text, at most `limit` bytes of it once decoded (`ResponseBody`: a compressed body
 * is decoded, under the cap); "" when it cannot be read. `paced`: at the engine's minimum pace.
 */
const readCapped = (
  response: HttpClientResponse.HttpClientResponse,
  limit: number,
  paced: boolean
): Effect.Effect<string> =>
  ResponseBody.readText(response, { maxBytes: limit, paced }).pipe(
    Effect.map((read) => read.text),
    Effect.orElseSucceed(() => "")
  )

// ---------------------------------------------------------------------------------------------
// The provider
// ---------------------------------------------------------------------------------------------

type Piece =
  | { readonly _tag: "Text"; readonly text: string }
  | { readonly _tag: "End" }
  | { readonly _tag: "Cut"; readonly detail: string }
  | { readonly _tag: "Malformed"; readonly detail: string }

const cutDetail = (error: HttpClientError.ResponseError): string =>
  Http.errorCodes(error.cause)[0] ?? error.description ?? error.reason

/**
 * Builds the provider. It needs only an `HttpClient`; nothing is sent until `submit`.
 */
export const make = (
  options: Options = {}
): Effect.Effect<VideoProvider.StreamingVideoProvider, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const id = options.id ?? defaultId
    const baseUrl = (options.baseUrl ?? defaultBaseUrl).replace(/\/+$/, "")
    const endpoint = `${baseUrl}/chat/completions`
    const apiKey =
      options.apiKey !== undefined && Redacted.value(options.apiKey).trim() !== "" ? options.apiKey : undefined
    const authValue = apiKey === undefined ? undefined : Redacted.make(`Bearer ${Redacted.value(apiKey)}`)
    // Everything quoted from the server is scrubbed of every spelling of these (`Sanitize`).
    const secrets = apiKey === undefined || authValue === undefined ? [] : [apiKey, authValue]
    const client = (yield* HttpClient.HttpClient).pipe(
      HttpClient.withScope,
      // Headers about the key (a 401's `WWW-Authenticate` may quote it) stay redacted on the client's
      // spans, and a key echoed in any other header is removed from them.
      Sanitize.guardClient({ secrets })
    )
    const models = options.models ?? Models.models
    const linkTtlMillis = Duration.toMillis(options.linkTtl ?? "24 hours")
    const limits = {
      // Never below the line that echoes the longest prompt the catalog allows (`echoLineChars`).
      maxLineChars: options.maxLineChars ?? Math.max(256 * 1024, ...models.map(echoLineChars)),
      maxTotalChars: options.maxAnswerChars ?? 4 * 1024 * 1024
    }

    const open = Effect.fn("LaozhangSora.open")(function* (input: VideoProvider.SubmitInput) {
      yield* Effect.annotateCurrentSpan({
        "reelay.model": input.model.id,
        "reelay.images": input.request.images.length
      })
      if (apiKey === undefined) {
        return yield* new AuthenticationFailed({
          provider: id,
          message: `no API key for ${id}: set ${apiKeyVariable} or pass apiKey; nothing was sent`
        })
      }
      const request = yield* HttpClientRequest.post(endpoint).pipe(
        HttpClientRequest.bearerToken(apiKey),
        HttpClientRequest.setHeader("idempotency-key", input.idempotencyKey),
        HttpClientRequest.accept("text/event-stream"),
        HttpClientRequest.schemaBodyJson(ChatRequest)(requestBody(input)),
        Effect.orDie
      )
      const response = yield* client.execute(request).pipe(
        Effect.catchAll(
          (error): Effect.Effect<never, VideoError> =>
            error._tag === "RequestError"
              ? Effect.fail(Http.unavailableFromRequestError(error, { provider: id, operation: "create" }))
              : Effect.fail(
                  new ProviderUnavailable({
                    provider: id,
                    stage: "exchange",
                    message: `create: the answer from ${id} could not be read (${cutDetail(error)})`
                  })
                )
        )
      )
      if (response.status < 200 || response.status >= 300) {
        const body = yield* readCapped(response, errorBodyLimit, true)
        return yield* Effect.fail(
          statusError(id, response.status, response.headers, body, yield* Clock.currentTimeMillis, secrets)
        )
      }
      return response
    })

    /** The events of an answer that arrived (HTTP 2xx), ending at the video link or an error. */
    const answer = (response: HttpClientResponse.HttpClientResponse, input: VideoProvider.SubmitInput) =>
      Stream.suspend(() => {
        const reader = Answer.make({
          provider: id,
          secrets,
          fallbackTaskId: `${id}-${input.idempotencyKey}`,
          linkTtlMillis,
          ...limits
        })
        const emit = (step: Answer.Step): Stream.Stream<VideoProvider.ProviderEvent, VideoError> =>
          step.error === undefined
            ? Stream.fromIterable(step.events)
            : Stream.concat(Stream.fromIterable(step.events), Stream.fail(step.error))
        const contentType = response.headers["content-type"] ?? ""
        if (/json/i.test(contentType) && !/event-stream/i.test(contentType)) {
          // A whole chat.completion (a gateway that ignored `stream: true`): same reading, one piece.
          return Stream.unwrap(
            Effect.gen(function* () {
              // Not paced: a gateway holding the whole answer until the video is made has only the deadline.
              const body = yield* readCapped(response, limits.maxTotalChars, false)
              const now = yield* Clock.currentTimeMillis
              const step = reader.whole(body, now)
              return step.error !== undefined || step.events.some((event) => event._tag === "Completed")
                ? emit(step)
                : Stream.concat(Stream.fromIterable(step.events), emit(reader.end({ _tag: "Clean" }, now)))
            })
          )
        }
        const decoder = Sse.makeDecoder(limits)
        // Decoded if the server compressed it (the cap counts decoded bytes: three per character at
        // most, so the decoder's character limit comes first); no pace: the stream's own rules apply.
        const pieces: Stream.Stream<Piece> = ResponseBody.decoded(response, 3 * limits.maxTotalChars).pipe(
          Stream.decodeText(),
          Stream.map((text): Piece => ({ _tag: "Text", text })),
          Stream.concat(Stream.succeed<Piece>({ _tag: "End" })),
          Stream.catchAll((error) =>
            Stream.succeed<Piece>(
              error.reason === "Transport"
                ? { _tag: "Cut", detail: error.detail }
                : { _tag: "Malformed", detail: error.detail }
            )
          )
        )
        return pieces.pipe(
          Stream.mapEffect((piece) => Effect.map(Clock.currentTimeMillis, (now) => [piece, now] as const)),
          Stream.flatMap(([piece, now]) => {
            if (piece._tag === "Cut" || piece._tag === "Malformed") return emit(reader.end(piece, now))
            const decoded = piece._tag === "Text" ? decoder.feed(piece.text) : Either.right(decoder.end())
            if (Either.isLeft(decoded)) {
              return emit(reader.end({ _tag: "Malformed", detail: decoded.left.message }, now))
            }
            const events: Array<VideoProvider.ProviderEvent> = []
            for (const event of decoded.right) {
              const step = reader.data(event.data, now)
              events.push(...step.events)
              if (step.error !== undefined) return emit({ events, error: step.error })
            }
            if (piece._tag === "Text") return Stream.fromIterable(events)
            const ending = reader.end({ _tag: "Clean" }, now)
            return emit({ events: [...events, ...ending.events], error: ending.error })
          }),
          // The link is all we came for: stop reading (and close the connection) as soon as it arrives.
          Stream.takeUntil((event) => event._tag === "Completed")
        )
      })

    const submit = (input: VideoProvider.SubmitInput): Stream.Stream<VideoProvider.ProviderEvent, VideoError> =>
      Stream.unwrapScoped(Effect.map(open(input), (response) => answer(response, input))).pipe(
        Stream.withSpan("LaozhangSora.submit", { attributes: { "reelay.model": input.model.id } })
      )

    const check = (input: VideoProvider.CheckInput): Effect.Effect<ReadonlyArray<string>, InvalidRequest> => {
      if (input.request.images.length > 1) {
        return Effect.fail(
          new InvalidRequest({
            provider: id,
            field: "images",
            billing: "not-charged",
            supported: ["one image (first-frame or reference)"],
            message: `model ${JSON.stringify(input.model.id)} takes at most one image in total (the page: "up to 1 image"), got ${input.request.images.length}`
          })
        )
      }
      const warnings: Array<string> = []
      const seconds = input.request.seconds ?? input.model.capabilities.durations[0]
      if (seconds !== defaultSeconds) {
        warnings.push(
          `${seconds} s is asked for with a top-level "seconds" field that laozhang's page does not document; the video may come back ${defaultSeconds} s long`
        )
      }
      if (input.request.providerOptions?.[id] !== undefined) {
        warnings.push(`providerOptions.${id} is not used: the chat completions request has no other documented fields`)
      }
      return Effect.succeed(warnings)
    }

    const provider: VideoProvider.StreamingVideoProvider = {
      specificationVersion: VideoProvider.specificationVersion,
      mode: "streaming",
      id,
      models,
      defaultModel: options.defaultModel ?? models[0]?.id ?? Models.defaultModel,
      baseUrl: VideoProvider.publicUrl(baseUrl),
      // The key goes only to the API's own origin; the video links are on a CDN and get none.
      credentials:
        authValue === undefined
          ? undefined
          : { origin: new URL(baseUrl).origin, headers: [["authorization", authValue]] },
      check,
      submit
    }
    return provider
  })

/**
 * `layer`, and `makeConfig` / `layerConfig`: the key from `LAOZHANG_API_KEY` and the base URL
 * from `LAOZHANG_BASE_URL` unless `options` give them. A missing key does not fail construction.
 *
 * @example
 * ```ts
 * LaozhangSora.layerConfig() // LAOZHANG_API_KEY, LAOZHANG_BASE_URL
 * ```
 */
export const { layer, makeConfig, layerConfig } = ProviderConfig.constructors(make, {
  apiKey: [apiKeyVariable],
  baseUrl: baseUrlVariable
})
