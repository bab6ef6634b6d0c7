/**
 * Image URLs turned into uploads, for a dialect whose vendor takes frames only as uploaded files
 * (`WireOptions.urlImages: "upload"`). reelay downloads the image itself, before anything billable
 * is sent, and it gets the checks a local image file gets in `@reelay/core/Validation`: the model's
 * size limit (`maxImageBytes`) and a JPEG, PNG, WebP or GIF by its magic bytes. A download adds its
 * own: http(s) only, no user name or password in the URL, no credential of any kind sent (the
 * request is built on the bare client, never the provider's authenticated one, so the API key cannot
 * go along), a bounded number of redirects, one timeout for the whole transfer, and the engine's
 * minimum pace for the body (`ResponseBody`, which also undoes a compression the server applied
 * although asked not to).
 *
 * Every failure is an `InvalidRequest` billed `not-charged` that names the image's host only: the
 * path and query of an image link often carry an access token.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { BytesSource, type UrlSource } from "@reelay/core/GenerateRequest"
import type { ModelSpec } from "@reelay/core/ModelSpec"
import * as ResponseBody from "@reelay/core/ResponseBody"
import { sniffImage } from "@reelay/core/Validation"
import { InvalidRequest } from "@reelay/core/VideoError"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

/** How long one image may take, redirects and body included, by default. */
export const defaultTimeout: Duration.Duration = Duration.seconds(30)

/** Redirect hops followed by default. */
export const defaultMaxRedirects = 5

/** Limits of one download. */
export interface Options {
  /** Default `defaultTimeout`. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Default `defaultMaxRedirects`. */
  readonly maxRedirects?: number | undefined
}

const imageTypes = ["image/jpeg", "image/png", "image/webp", "image/gif"]

const redirectStatuses: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])

/**
 * Redirects are followed here, hop by hop, so that every client gets the same limit and the same
 * checks of each hop: fetch-based clients follow them by themselves unless told not to; undici's
 * `request` never does.
 */
const withManualRedirects = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.serviceOption(FetchHttpClient.RequestInit), (init) =>
    Effect.provideService(effect, FetchHttpClient.RequestInit, {
      ...Option.getOrElse(init, () => ({})),
      redirect: "manual"
    })
  )

/** The `ECONNREFUSED`-style code somewhere in a transport failure's causes; its message may hold the URL. */
const codeOf = (error: unknown): string | undefined => {
  let current: unknown = error
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { readonly code?: unknown }).code
    if (typeof code === "string" && /^[A-Z][A-Z0-9_]{2,40}$/.test(code)) return code
    current = (current as { readonly cause?: unknown }).cause
  }
  return undefined
}

/** A media type as the server sent it, only when it looks like one (it ends up in a message). */
const mediaTypeOf = (header: string | undefined): string | undefined => {
  const type = header?.split(";")[0]?.trim().toLowerCase()
  return type !== undefined && /^[a-z0-9.+-]{1,40}\/[a-z0-9.+-]{1,60}$/.test(type) ? type : undefined
}

const extensionOf = (mimeType: string) => (mimeType === "image/jpeg" ? "jpg" : mimeType.split("/")[1])

/**
 * Downloads the image `image` points to and returns it as an uploaded file of the same role, or
 * refuses it. `client` must be a bare client: nothing is added to the request but `Accept` headers.
 */
export const fetchImage = (
  client: HttpClient.HttpClient,
  provider: string,
  model: ModelSpec,
  image: VideoProvider.ResolvedImage & { readonly source: UrlSource },
  options: Options = {}
): Effect.Effect<VideoProvider.ResolvedImage, InvalidRequest> =>
  Effect.suspend(() => {
    const limit = model.capabilities.maxImageBytes
    const timeout = Duration.decode(options.timeout ?? defaultTimeout)
    const maxRedirects = options.maxRedirects ?? defaultMaxRedirects
    const start = URL.canParse(image.source.url) ? new URL(image.source.url) : undefined
    const refuse = (problem: string, supported?: ReadonlyArray<string>) =>
      new InvalidRequest({
        provider,
        field: "images",
        billing: "not-charged",
        message: `cannot use the ${image.role} image${start === undefined ? "" : ` at ${start.host}`}: ${problem}. ${provider} takes frames only as uploaded files, so reelay downloads image URLs itself; nothing was sent to ${provider}`,
        ...(supported === undefined ? {} : { supported })
      })
    const unusable = (url: URL): string | undefined => {
      if (url.protocol !== "http:" && url.protocol !== "https:") return "only http and https links can be downloaded"
      if (url.username !== "" || url.password !== "") {
        return "the link carries a user name or password, which reelay sends to no image host; give a link without them, or a local file"
      }
      return undefined
    }
    if (start === undefined) return Effect.fail(refuse("the link is not an absolute URL"))
    const startProblem = unusable(start)
    if (startProblem !== undefined) return Effect.fail(refuse(startProblem))

    // The client span would record the full URL, and the query of an image link may be its token.
    const bare = client.pipe(
      HttpClient.withTracerDisabledWhen(() => true),
      HttpClient.withScope
    )
    const transport = (error: HttpClientError.HttpClientError) => {
      const code = codeOf(error.cause)
      return refuse(
        error._tag === "RequestError"
          ? `the host could not be reached${code === undefined ? "" : ` (${code})`}`
          : `the transfer broke off${code === undefined ? "" : ` (${code})`}`
      )
    }

    /** Sends one GET per hop and returns the first answer that is not a redirect. */
    const follow = Effect.gen(function* () {
      let url = start
      for (let hop = 0; ; hop++) {
        const request = HttpClientRequest.get(url.href).pipe(
          HttpClientRequest.setHeader("accept", `${imageTypes.join(", ")}, image/*;q=0.8`),
          // The bytes must be the image itself, not a compressed wrapper the client may not undo.
          HttpClientRequest.setHeader("accept-encoding", "identity")
        )
        const response: HttpClientResponse.HttpClientResponse = yield* bare
          .execute(request)
          .pipe(withManualRedirects, Effect.mapError(transport))
        if (!redirectStatuses.has(response.status)) return response
        if (hop >= maxRedirects) return yield* refuse(`more than ${maxRedirects} redirects`)
        const location = response.headers.location
        const next =
          location !== undefined && URL.canParse(location, url.href) ? new URL(location, url.href) : undefined
        if (next === undefined) return yield* refuse(`a redirect (HTTP ${response.status}) without a usable Location`)
        const problem = unusable(next)
        if (problem !== undefined) return yield* refuse(`a redirect leads to a link that cannot be used: ${problem}`)
        url = next
      }
    })

    const download = Effect.gen(function* () {
      const response = yield* follow
      if (response.status < 200 || response.status >= 300) {
        return yield* refuse(`the server answered HTTP ${response.status}`)
      }
      const tooLarge = (size: string) =>
        refuse(`it is ${size} bytes; the limit for ${JSON.stringify(model.id)} is ${limit} bytes`)
      const announced = Number(response.headers["content-length"])
      if (Number.isSafeInteger(announced) && announced > limit) return yield* tooLarge(String(announced))
      // Reading stops past the limit whatever the server announced (closing the scope ends the
      // transfer), counts what a compressed answer decodes to, and keeps the minimum pace.
      const read = yield* ResponseBody.read(response, { maxBytes: limit }).pipe(
        Effect.mapError((error) =>
          error.reason === "Transport"
            ? transport(error.cause as HttpClientError.ResponseError)
            : refuse(error.reason === "TooSlow" ? `the server ${error.detail}` : error.detail)
        )
      )
      if (read.truncated) return yield* tooLarge(`more than ${limit}`)
      const bytes = read.bytes
      const size = bytes.length
      const mimeType = sniffImage(bytes)
      if (mimeType === undefined) {
        const said = mediaTypeOf(response.headers["content-type"])
        return yield* refuse(
          size === 0
            ? "the server sent no bytes"
            : `it is not a JPEG, PNG, WebP or GIF image${said === undefined ? "" : ` (the server said ${said})`}`,
          imageTypes
        )
      }
      const source = new BytesSource({
        bytes,
        mimeType,
        // Not the link's own file name: its path may carry a token, and the name goes to the vendor.
        fileName: `${image.role}.${extensionOf(mimeType)}`
      })
      return { role: image.role, source } satisfies VideoProvider.ResolvedImage
    })

    return Effect.scoped(download).pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => refuse(`no complete answer within ${Duration.format(timeout)}`)
      })
    )
  })

/** Whether `image` is given by URL. */
export const isUrlImage = (
  image: VideoProvider.ResolvedImage
): image is VideoProvider.ResolvedImage & { readonly source: UrlSource } => image.source._tag === "Url"
