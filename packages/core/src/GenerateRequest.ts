/**
 * What a caller asks for. One request shape for every provider; the model's capabilities decide
 * which fields it accepts, and the engine refuses the rest before anything is sent.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** `"16:9"`, `"9:16"`, ... */
export const AspectRatio = Schema.String.pipe(
  Schema.pattern(/^[1-9]\d*:[1-9]\d*$/),
  Schema.annotations({ identifier: "AspectRatio", description: 'an aspect ratio such as "16:9"' })
)

/** `"720p"`, `"1080p"`, `"4k"`, ... */
export const Resolution = Schema.String.pipe(
  Schema.pattern(/^(\d{3,4}p|[1-9]k)$/),
  Schema.annotations({ identifier: "Resolution", description: 'a resolution such as "720p", "1080p" or "4k"' })
)

/** `"1280x720"`: width × height in pixels. */
export const Size = Schema.String.pipe(
  Schema.pattern(/^[1-9]\d{1,4}x[1-9]\d{1,4}$/),
  Schema.annotations({ identifier: "Size", description: 'a frame size such as "1280x720" (width x height)' })
)

/** Where an image goes in the video. */
export const ImageRole = Schema.Literal("first-frame", "last-frame", "reference")
export type ImageRole = typeof ImageRole.Type

/** An image on the local disk; the engine reads and checks it before anything is sent. */
export class PathSource extends Schema.TaggedClass<PathSource>()("Path", {
  path: Schema.NonEmptyString
}) {}

/** An image already in memory. Encoded as base64 in JSON. */
export class BytesSource extends Schema.TaggedClass<BytesSource>()("Bytes", {
  bytes: Schema.Uint8ArrayFromBase64,
  mimeType: Schema.optional(Schema.String),
  fileName: Schema.optional(Schema.String)
}) {}

/** An image the provider fetches itself. */
export class UrlSource extends Schema.TaggedClass<UrlSource>()("Url", {
  url: Schema.String.pipe(
    Schema.filter((url) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol), {
      message: () => "an image URL must be an absolute http(s) URL"
    })
  )
}) {}

export const ImageSource = Schema.Union(PathSource, BytesSource, UrlSource)
export type ImageSource = typeof ImageSource.Type

export class ImageInput extends Schema.Class<ImageInput>("ImageInput")({
  role: ImageRole,
  source: ImageSource
}) {}

/** One way to serve a request: a provider and one of its models (a profile's `routes`). */
export class Route extends Schema.Class<Route>("Route")({
  provider: Schema.NonEmptyString,
  model: Schema.NonEmptyString
}) {}

/**
 * A request for one video.
 *
 * @example
 * ```ts
 * const request = GenerateRequest.make({
 *   prompt: "A red fox running through fresh snow at dawn",
 *   provider: "laozhang",
 *   model: "veo-3.1-landscape-fast"
 * })
 * ```
 */
export class GenerateRequest extends Schema.Class<GenerateRequest>("GenerateRequest")({
  prompt: Schema.String.pipe(
    Schema.filter((prompt) => prompt.trim().length > 0, { message: () => "the prompt must not be empty" })
  ),
  /** A provider id from the registry; the configured default when absent. */
  provider: Schema.optional(Schema.String),
  /** A model id of that provider; the provider's default model when absent. */
  model: Schema.optional(Schema.String),
  /**
   * Instead of `provider` and `model`: the routes to try in order. The next one is tried only when a
   * create failed in a way that proves nothing was charged (see `RetryPolicy.movesToNextRoute`); a
   * route whose model cannot serve the request is skipped with a warning.
   */
  routes: Schema.optional(Schema.NonEmptyArray(Route)),
  images: Schema.optionalWith(Schema.Array(ImageInput), { default: () => [] }),
  aspectRatio: Schema.optional(AspectRatio),
  resolution: Schema.optional(Resolution),
  seconds: Schema.optional(Schema.Int.pipe(Schema.positive())),
  size: Schema.optional(Size),
  negativePrompt: Schema.optional(Schema.String),
  seed: Schema.optional(Schema.Int.pipe(Schema.between(0, 4_294_967_295))),
  /** Options for one provider only, keyed by provider id: `{ laozhang: { ... } }`. */
  providerOptions: Schema.optional(
    Schema.Record({ key: Schema.String, value: Schema.Record({ key: Schema.String, value: Schema.Unknown }) })
  )
}) {}

/** `request` as sent on `route`: that provider and model, and no routes of its own. */
export const onRoute = (
  request: GenerateRequest,
  route: { readonly provider: string; readonly model: string }
): GenerateRequest =>
  new GenerateRequest({ ...request, provider: route.provider, model: route.model, routes: undefined })

/** Parses `"1280x720"` into its numbers. */
export const parseSize = (size: string): { readonly width: number; readonly height: number } => {
  const [width, height] = size.split("x").map(Number)
  return { width: width ?? 0, height: height ?? 0 }
}

/** The aspect ratio a frame size has, reduced (`1280x720` → `16:9`; `704x1280` → `9:16`, close enough). */
export const aspectRatioOf = (size: string): string => {
  const { width, height } = parseSize(size)
  const ratio = width / height
  if (Math.abs(ratio - 16 / 9) < 0.06) return "16:9"
  if (Math.abs(ratio - 9 / 16) < 0.03) return "9:16"
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b))
  const divisor = gcd(width, height)
  return `${width / divisor}:${height / divisor}`
}

/** The resolution class of a frame size, by its short side (`1280x720` → `720p`, `3840x2160` → `4k`). */
export const resolutionOf = (size: string): string => {
  const { width, height } = parseSize(size)
  const short = Math.min(width, height)
  if (short >= 2000) return "4k"
  if (short >= 1000) return "1080p"
  if (short >= 680) return "720p"
  return `${short}p`
}
