/**
 * One JSON exchange with a vendor's HTTP API, for any protocol: the key sent only to the base URL's
 * origin, a call that fails before sending when there is no key or no usable base URL, every
 * transport failure and error answer mapped by `ErrorMapping`, the answer's body read under a size
 * cap at the engine's minimum pace, and a 2xx decoded with a Schema (or reported as the
 * `MalformedResponse` it is). The `/v1/videos` provider and hand-written providers of other
 * protocols (`examples/fal-queue`) share it; a protocol says only how its error bodies read.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as ResponseBody from "@reelay/core/ResponseBody"
import { AuthenticationFailed, InvalidRequest, type VideoError } from "@reelay/core/VideoError"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as ErrorMapping from "./ErrorMapping.js"
import * as Sanitize from "./Sanitize.js"

/** How the key travels: `Bearer <key>`, the key alone (`raw`), or `<prefix> <key>` (fal's `Key <key>`). */
export type AuthStyle = "bearer" | "raw" | { readonly prefix: string }

export interface Options {
  /** The registry id, for errors. */
  readonly id: string
  /** The API base; requests are paths under it. */
  readonly baseUrl: string
  /** Absent or blank: every call fails with `AuthenticationFailed` before sending. */
  readonly apiKey: Redacted.Redacted<string> | undefined
  /** How to supply a key, for error messages: `"set ACME_API_KEY"`. */
  readonly keyHint?: string | undefined
  readonly auth: AuthStyle
  /** The header carrying the key (default `authorization`). */
  readonly authHeader?: string | undefined
  /** The most bytes of one answer read, counted decoded. */
  readonly maxBodyBytes: number
  /** The vendor's code and message in an error body (default: `/v1/videos`'s `{"error": {...}}`). */
  readonly errorDetail?: ((body: string) => ErrorMapping.Detail) | undefined
}

export interface Exchange {
  /** The base URL without a trailing `/`. */
  readonly baseUrl: string
  /** The base URL's origin, `undefined` when it is not an absolute http(s) URL. */
  readonly origin: string | undefined
  /** The key and every header value made from it: what `Sanitize` removes from quoted text. */
  readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
  /** The key's header on the API's origin, for downloads the engine makes from it. */
  readonly credentials: VideoProvider.Credentials | undefined
  /** The context of a call, for errors. */
  readonly context: (
    operation: ErrorMapping.Operation,
    taskId?: string | undefined
  ) => Effect.Effect<ErrorMapping.Context>
  /** Fails when there is nothing to send with: no key, or a base URL that is not one. */
  readonly ready: (context: ErrorMapping.Context) => Effect.Effect<void, VideoError>
  /** Sends `request` (a path under the base URL) with the key; transport failures mapped. */
  readonly send: (
    context: ErrorMapping.Context,
    request: HttpClientRequest.HttpClientRequest
  ) => Effect.Effect<HttpClientResponse.HttpClientResponse, VideoError>
  /** Reads an answer: error statuses and error bodies are mapped, a 2xx body is decoded with `schema`. */
  readonly readJson: <A, I>(
    context: ErrorMapping.Context,
    response: HttpClientResponse.HttpClientResponse,
    schema: Schema.Schema<A, I>
  ) => Effect.Effect<{ readonly value: A; readonly body: string }, VideoError>
}

/**
 * One JSON decoder per wire schema, built once: `Schema.parseJson(schema)` makes a new schema each
 * time, whose parser is then compiled again, on every status poll of every task.
 */
const jsonDecoders = new WeakMap<object, (body: string) => Either.Either<unknown, ParseResult.ParseError>>()
const jsonDecoder = <A, I>(schema: Schema.Schema<A, I>) => {
  let decoder = jsonDecoders.get(schema)
  if (decoder === undefined) {
    decoder = Schema.decodeUnknownEither(Schema.parseJson(schema))
    jsonDecoders.set(schema, decoder)
  }
  return decoder as (body: string) => Either.Either<A, ParseResult.ParseError>
}

const originOf = (url: string): string | undefined => {
  if (!URL.canParse(url)) return undefined
  const parsed = new URL(url)
  return /^https?:$/.test(parsed.protocol) ? parsed.origin : undefined
}

/** The exchange for `options`. Needs only an `HttpClient`; never fails (a bad key or URL fails the calls). */
export const make = (options: Options): Effect.Effect<Exchange, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const { id, keyHint, maxBodyBytes } = options
    const baseUrl = options.baseUrl.trim().replace(/\/+$/, "")
    const origin = originOf(baseUrl)
    const header = (options.authHeader ?? "authorization").toLowerCase()
    // An unset variable is often exported as "": that is no key.
    const apiKey =
      options.apiKey === undefined || Redacted.value(options.apiKey).trim() === "" ? undefined : options.apiKey
    const prefix = options.auth === "bearer" ? "Bearer" : options.auth === "raw" ? undefined : options.auth.prefix
    const authValue =
      apiKey === undefined || prefix === undefined ? apiKey : Redacted.make(`${prefix} ${Redacted.value(apiKey)}`)
    const secrets = apiKey === undefined || authValue === undefined ? [] : [apiKey, authValue]
    const errorDetail = options.errorDetail ?? ErrorMapping.parseErrorBody

    const client = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest((request) => {
        const prepared = request.pipe(HttpClientRequest.prependUrl(baseUrl), HttpClientRequest.acceptJson)
        return authValue === undefined
          ? prepared
          : HttpClientRequest.setHeader(prepared, header, Redacted.value(authValue))
      }),
      // The key's header (a custom one too) and the headers where a server answers about it are
      // redacted wherever the client logs or traces headers; a key echoed in any other response
      // header is removed from the spans.
      Sanitize.guardClient({ secrets, headers: [header] })
    )

    const context = (operation: ErrorMapping.Operation, taskId?: string | undefined) =>
      Effect.map(
        Clock.currentTimeMillis,
        (now): ErrorMapping.Context => ({ provider: id, operation, taskId, secrets, keyHint, now, errorDetail })
      )

    const ready = (context: ErrorMapping.Context): Effect.Effect<void, VideoError> => {
      if (apiKey === undefined) {
        return Effect.fail(
          new AuthenticationFailed({
            provider: id,
            ...(context.taskId === undefined ? {} : { taskId: context.taskId }),
            message: `${id} has no API key${keyHint === undefined ? "" : `: ${keyHint}`}; nothing was sent`
          })
        )
      }
      if (origin === undefined) {
        return Effect.fail(
          new InvalidRequest({
            provider: id,
            field: "baseUrl",
            billing: "not-charged",
            message: `${id}: the base URL ${JSON.stringify(Sanitize.scrub(baseUrl))} is not an absolute http(s) URL; nothing was sent`
          })
        )
      }
      return Effect.void
    }

    const send = (context: ErrorMapping.Context, request: HttpClientRequest.HttpClientRequest) =>
      client
        .execute(request)
        .pipe(
          Effect.mapError((error) =>
            error._tag === "RequestError"
              ? ErrorMapping.toVideoError(context, { _tag: "Transport", error })
              : ErrorMapping.toVideoError(context, { _tag: "Unreadable", status: error.response.status, cause: error })
          )
        )

    /**
     * The body as text, at most `maxBodyBytes` of it once decoded, at the engine's minimum pace
     * (`ResponseBody`). Reading stops at the cap (which closes the connection): an answer far larger
     * than any the protocol defines, or one that never ends, must not fill the memory. A body in an
     * encoding that cannot be decoded is `undecodable`, never handed on raw.
     */
    const readBody = (context: ErrorMapping.Context, response: HttpClientResponse.HttpClientResponse) =>
      ResponseBody.readText(response, { maxBytes: maxBodyBytes }).pipe(
        Effect.map(({ text, truncated }) => ({ body: text, truncated, undecodable: undefined as string | undefined })),
        Effect.catchAll((error) =>
          error.reason === "Encoding"
            ? Effect.succeed({ body: "", truncated: false, undecodable: error.detail as string | undefined })
            : Effect.fail(
                ErrorMapping.toVideoError(context, {
                  _tag: "Unreadable",
                  status: response.status,
                  cause: error.cause,
                  ...(error.reason === "TooSlow" ? { problem: error.detail } : {})
                })
              )
        )
      )

    const readJson = <A, I>(
      context: ErrorMapping.Context,
      response: HttpClientResponse.HttpClientResponse,
      schema: Schema.Schema<A, I>
    ): Effect.Effect<{ readonly value: A; readonly body: string }, VideoError> =>
      Effect.gen(function* () {
        const { body, truncated, undecodable } = yield* readBody(context, response)
        const answer = { _tag: "Answer", status: response.status, headers: response.headers, body } as const
        if (response.status < 200 || response.status >= 300) {
          return yield* Effect.fail(ErrorMapping.toVideoError(context, answer))
        }
        const unreadable = (problem: string) =>
          Effect.fail(
            ErrorMapping.toVideoError(context, { _tag: "Undecodable", status: response.status, body, problem })
          )
        if (undecodable !== undefined) return yield* unreadable(undecodable)
        if (truncated)
          return yield* unreadable(`the answer is larger than ${maxBodyBytes} bytes; it was not read further`)
        const decoded = jsonDecoder(schema)(body)
        if (Either.isRight(decoded)) return { value: decoded.right, body }
        // Some gateways answer 200 with an error body: read it as the error it is.
        const vendor = errorDetail(body)
        if (vendor.code !== undefined || vendor.message !== undefined) {
          return yield* Effect.fail(ErrorMapping.toVideoError(context, answer))
        }
        const problem = Sanitize.scrub(ParseResult.TreeFormatter.formatErrorSync(decoded.left), secrets)
        return yield* unreadable(problem.replace(/\s+/g, " ").slice(0, 200))
      })

    const credentials: VideoProvider.Credentials | undefined =
      authValue === undefined || origin === undefined ? undefined : { origin, headers: [[header, authValue]] }

    return { baseUrl, origin, secrets, credentials, context, ready, send, readJson }
  })
