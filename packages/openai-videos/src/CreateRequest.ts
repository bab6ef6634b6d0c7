/**
 * The create call, `POST /videos`: a validated request becomes the body a `/v1/videos` reseller
 * expects, JSON or `multipart/form-data`, with the images as URLs or uploaded `input_reference`
 * files. Nothing here talks to the network, so the encoding can be checked before anything is
 * spent (`planImages` runs in the provider's `check`).
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { aspectRatioOf, type BytesSource, resolutionOf } from "@reelay/core/GenerateRequest"
import type { ModelSpec } from "@reelay/core/ModelSpec"
import { InvalidRequest } from "@reelay/core/VideoError"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as Either from "effect/Either"
import * as Multipart from "./Multipart.js"
import type { CreateEncoding, WireOptions } from "./Protocol.js"

/** The field images travel in, on every reseller of the protocol. */
export const IMAGE_FIELD = "input_reference"

/** What the video will be, with the model's defaults filled in where the request said nothing. */
export interface Output {
  readonly size: string
  readonly seconds: number
  readonly resolution: string
  readonly aspectRatio: string
}

/**
 * The output `model` produces for `request`, resolved the way the engine's validation does: the
 * requested size, else the first catalog size matching the requested aspect ratio and resolution,
 * else the model's default size.
 */
export const outputOf = (model: ModelSpec, request: VideoProvider.ResolvedRequest): Output => {
  const size =
    request.size ??
    model.capabilities.sizes.find(
      (candidate) =>
        (request.aspectRatio === undefined || aspectRatioOf(candidate) === request.aspectRatio) &&
        (request.resolution === undefined || resolutionOf(candidate) === request.resolution)
    ) ??
    model.defaultSize
  return {
    size,
    seconds: request.seconds ?? model.capabilities.durations[0],
    resolution: request.resolution ?? resolutionOf(size),
    aspectRatio: request.aspectRatio ?? aspectRatioOf(size)
  }
}

/** How the images of one request travel: none, as URLs in a JSON body, or as uploaded files. */
export type ImagePlan =
  | { readonly _tag: "None" }
  | { readonly _tag: "Urls"; readonly urls: ReadonlyArray<string> }
  | { readonly _tag: "Files"; readonly files: ReadonlyArray<BytesSource> }

const ROLE_ORDER = { "first-frame": 0, "last-frame": 1, reference: 2 } as const

/** The images in wire order: first frame, last frame, then references. */
const ordered = (images: ReadonlyArray<VideoProvider.ResolvedImage>) =>
  [...images].sort((a, b) => ROLE_ORDER[a.role] - ROLE_ORDER[b.role])

const extension = (mimeType: string | undefined) => {
  const subtype = mimeType?.split("/")[1]
  return subtype === undefined || subtype === "" ? "bin" : subtype === "jpeg" ? "jpg" : subtype
}

/**
 * Decides how the images travel under `encoding`, or refuses a mix the encoding cannot carry
 * (a JSON body holds only URLs, a form only files).
 */
export const planImages = (
  provider: string,
  encoding: CreateEncoding,
  images: ReadonlyArray<VideoProvider.ResolvedImage>
): Either.Either<ImagePlan, InvalidRequest> => {
  if (images.length === 0) return Either.right({ _tag: "None" })
  const sorted = ordered(images)
  const urls = sorted.flatMap((image) => (image.source._tag === "Url" ? [image.source.url] : []))
  const files = sorted.flatMap((image) => (image.source._tag === "Bytes" ? [image.source] : []))
  const refuse = (message: string, supported: ReadonlyArray<string>) =>
    Either.left(new InvalidRequest({ provider, field: "images", billing: "not-charged", message, supported }))
  if (encoding === "json") {
    return files.length === 0
      ? Either.right({ _tag: "Urls", urls })
      : refuse(`${provider} takes images by URL only; give http(s) URLs instead of files`, ["url"])
  }
  if (encoding === "multipart" || urls.length === 0) {
    if (urls.length > 0) {
      return refuse(`${provider} takes images as uploaded files only; give local files or bytes instead of URLs`, [
        "bytes"
      ])
    }
    return Either.right({ _tag: "Files", files })
  }
  if (files.length === 0) return Either.right({ _tag: "Urls", urls })
  return refuse(
    `${provider} cannot take URL images and uploaded images in one request (URLs travel in JSON, files in a form); give all images one way`,
    ["url", "bytes"]
  )
}

/** The wire values of the protocol parameters for `input`. */
export const parameterValues = (
  input: VideoProvider.SubmitInput,
  options: WireOptions
): ReadonlyArray<readonly [name: string, value: string | number]> => {
  const output = outputOf(input.model, input.request)
  const values: Array<readonly [string, string | number]> = []
  for (const parameter of options.parameters) {
    switch (parameter) {
      case "seconds":
      case "duration":
        values.push([parameter, String(output.seconds)])
        break
      case "size":
        values.push([parameter, output.size])
        break
      case "resolution":
        values.push([parameter, output.resolution])
        break
      case "aspectRatio":
        values.push([parameter, output.aspectRatio])
        break
      case "negativePrompt":
        if (input.request.negativePrompt !== undefined) values.push([parameter, input.request.negativePrompt])
        break
      case "seed":
        if (input.request.seed !== undefined) values.push([parameter, input.request.seed])
        break
    }
  }
  return values
}

/**
 * The create request (path relative to the base URL, no credentials yet): `model`, `prompt`, the
 * configured parameters, `extraFields` (a provider's own, such as the official forward's
 * `metadata`), the images, and the `Idempotency-Key`.
 */
export const encode = (
  provider: string,
  input: VideoProvider.SubmitInput,
  options: WireOptions,
  extraFields: ReadonlyArray<readonly [name: string, value: string]> = []
): Either.Either<HttpClientRequest.HttpClientRequest, InvalidRequest> =>
  Either.map(planImages(provider, options.createEncoding, input.request.images), (images) => {
    const fields: Array<readonly [string, string | number]> = [
      ["model", input.model.id],
      ["prompt", input.request.prompt],
      ...parameterValues(input, options),
      ...extraFields
    ]
    const multipart = options.createEncoding === "multipart" || images._tag === "Files"
    const request = HttpClientRequest.post("/videos").pipe(
      HttpClientRequest.setHeader("idempotency-key", input.idempotencyKey)
    )
    if (multipart) {
      const parts: Array<Multipart.Part> = fields.map(([name, value]) => ({
        _tag: "Field",
        name,
        value: String(value)
      }))
      if (images._tag === "Files") {
        images.files.forEach((image, index) => {
          parts.push({
            _tag: "File",
            name: IMAGE_FIELD,
            fileName: image.fileName ?? `image-${index + 1}.${extension(image.mimeType)}`,
            contentType: image.mimeType ?? "application/octet-stream",
            bytes: image.bytes
          })
        })
      }
      const encoded = Multipart.encode(parts)
      return HttpClientRequest.bodyUint8Array(request, encoded.body, encoded.contentType)
    }
    const body: Record<string, unknown> = Object.fromEntries(fields)
    if (images._tag === "Urls") body[IMAGE_FIELD] = images.urls.length === 1 ? images.urls[0] : images.urls
    return HttpClientRequest.bodyUnsafeJson(request, body)
  })
