/**
 * Validate before spending. A request is checked against the model's published capabilities,
 * images are read and sniffed, and every refusal names what the model does support (and which of
 * the provider's other models would take the request as it is). Nothing is sent until this passes.
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import {
  aspectRatioOf,
  BytesSource,
  type GenerateRequest,
  type ImageInput,
  resolutionOf,
  type UrlSource
} from "./GenerateRequest.js"
import type { ModelSpec } from "./ModelSpec.js"
import { InvalidRequest } from "./VideoError.js"
import type * as VideoProvider from "./VideoProvider.js"

/**
 * The most bytes one prompt character (a UTF-16 code unit) takes in a JSON answer that echoes it: a
 * control character or a lone surrogate escaped as `\u001f` is 6; UTF-8 needs at most 3 per code
 * unit, and a server that escapes everything outside ASCII writes a 4-byte character as two 6-byte
 * escapes, one per code unit.
 */
export const maxJsonBytesPerChar = 6

/** Room kept in an answer for everything but the texts it echoes. */
export const answerOverheadBytes = 64 * 1024

/**
 * The largest JSON answer about a task of `model` that a reader must accept: the prompt and the
 * negative prompt, each at the model's limit and echoed with the worst escaping, plus the rest of
 * the answer. A reader whose cap is below it could refuse the status of a task already paid for.
 */
export const largestAnswerBytes = (model: ModelSpec): number =>
  2 * model.capabilities.maxPromptChars * maxJsonBytesPerChar + answerOverheadBytes

/** What the delivered video should look like, for the delivery check. */
export interface Expected {
  readonly size: string
  readonly seconds: number
  readonly audio: boolean
}

export interface Validated {
  readonly provider: VideoProvider.Service
  readonly model: ModelSpec
  readonly request: VideoProvider.ResolvedRequest
  readonly expected: Expected
  readonly warnings: ReadonlyArray<string>
}

const quote = (value: string | number) => JSON.stringify(value)
const list = (values: ReadonlyArray<string | number>) => values.map(String).join(", ")

const refuse = (
  provider: VideoProvider.Service,
  field: string,
  message: string,
  supported?: ReadonlyArray<string | number>
): InvalidRequest =>
  new InvalidRequest({
    provider: provider.id,
    field,
    billing: "not-charged",
    message,
    ...(supported === undefined ? {} : { supported: supported.map(String) })
  })

/** "Models of laozhang that do: a, b" — or nothing when none does. */
const alternatives = (provider: VideoProvider.Service, current: ModelSpec, accepts: (model: ModelSpec) => boolean) => {
  const others = provider.models.filter((model) => model.id !== current.id && accepts(model)).map((model) => model.id)
  return others.length === 0 ? "" : `; models of ${quote(provider.id)} that do: ${list(others)}`
}

/** Refuses a prompt (or negative prompt) longer than the model takes, naming both lengths. */
const checkPromptLength = (
  provider: VideoProvider.Service,
  model: ModelSpec,
  field: "prompt" | "negativePrompt",
  text: string | undefined
): Effect.Effect<void, InvalidRequest> => {
  const limit = model.capabilities.maxPromptChars
  if (text === undefined || text.length <= limit) return Effect.void
  const label = field === "prompt" ? "prompt" : "negative prompt"
  return Effect.fail(
    refuse(
      provider,
      field,
      `the ${label} is ${text.length} characters long; model ${quote(model.id)} takes at most ${limit}${alternatives(provider, model, (other) => other.capabilities.maxPromptChars >= text.length)}`,
      [`at most ${limit} characters`]
    )
  )
}

/** Checks one capability: the value must be among the model's supported ones. */
const checkValue = <A extends string | number>(
  provider: VideoProvider.Service,
  model: ModelSpec,
  field: string,
  label: string,
  value: A | undefined,
  supportedOf: (model: ModelSpec) => ReadonlyArray<A>
): Effect.Effect<void, InvalidRequest> => {
  if (value === undefined) return Effect.void
  const supported = supportedOf(model)
  if (supported.includes(value)) return Effect.void
  return Effect.fail(
    refuse(
      provider,
      field,
      `model ${quote(model.id)} does not support ${label} ${quote(value)} (supported: ${list(supported)})${alternatives(provider, model, (other) => supportedOf(other).includes(value))}`,
      supported
    )
  )
}

/** The sizes a model produces that fit the requested aspect ratio and resolution. */
const matchingSizes = (model: ModelSpec, request: GenerateRequest): ReadonlyArray<string> =>
  model.capabilities.sizes.filter(
    (size) =>
      (request.aspectRatio === undefined || aspectRatioOf(size) === request.aspectRatio) &&
      (request.resolution === undefined || resolutionOf(size) === request.resolution)
  )

const IMAGE_TYPES: ReadonlyArray<{ readonly mimeType: string; readonly matches: (bytes: Uint8Array) => boolean }> = [
  { mimeType: "image/jpeg", matches: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { mimeType: "image/png", matches: (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 },
  {
    mimeType: "image/webp",
    matches: (b) =>
      b[0] === 0x52 &&
      b[1] === 0x49 &&
      b[2] === 0x46 &&
      b[3] === 0x46 &&
      b[8] === 0x57 &&
      b[9] === 0x45 &&
      b[10] === 0x42 &&
      b[11] === 0x50
  },
  { mimeType: "image/gif", matches: (b) => b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38 }
]

/** The image type of `bytes` by its magic number, or `undefined` when it is not an image we know. */
export const sniffImage = (bytes: Uint8Array): string | undefined =>
  IMAGE_TYPES.find((type) => type.matches(bytes))?.mimeType

const ROLE_LABEL: Record<ImageInput["role"], string> = {
  "first-frame": "a first-frame image",
  "last-frame": "a last-frame image",
  reference: "reference images"
}

/** Checks the images' number and roles against what the model takes. */
const checkImageRoles = (
  provider: VideoProvider.Service,
  model: ModelSpec,
  images: ReadonlyArray<ImageInput>
): Effect.Effect<void, InvalidRequest> => {
  const count = (role: ImageInput["role"]) => images.filter((image) => image.role === role).length
  const mode = model.capabilities.imageInput
  const imageModels = alternatives(provider, model, (other) => other.capabilities.imageInput !== "none")
  if (images.length > 0 && mode === "none" && model.capabilities.referenceImages === 0) {
    return Effect.fail(
      refuse(provider, "images", `model ${quote(model.id)} does not take images (text to video only)${imageModels}`, [])
    )
  }
  for (const role of ["first-frame", "last-frame"] as const) {
    if (count(role) > 1) return Effect.fail(refuse(provider, "images", `at most one image can be the ${role}`))
  }
  if (count("first-frame") > 0 && mode === "none") {
    return Effect.fail(
      refuse(provider, "images", `model ${quote(model.id)} does not take ${ROLE_LABEL["first-frame"]}${imageModels}`)
    )
  }
  if (count("last-frame") > 0 && mode !== "first-last-frame") {
    return Effect.fail(
      refuse(
        provider,
        "images",
        `model ${quote(model.id)} does not take ${ROLE_LABEL["last-frame"]} (it takes ${mode === "none" ? "no frame images" : "a first frame only"})${alternatives(provider, model, (other) => other.capabilities.imageInput === "first-last-frame")}`
      )
    )
  }
  if (count("last-frame") > 0 && count("first-frame") === 0) {
    return Effect.fail(refuse(provider, "images", "a last-frame image needs a first-frame image too"))
  }
  if (count("reference") > model.capabilities.referenceImages) {
    return Effect.fail(
      refuse(
        provider,
        "images",
        model.capabilities.referenceImages === 0
          ? `model ${quote(model.id)} does not take ${ROLE_LABEL.reference}${alternatives(provider, model, (other) => other.capabilities.referenceImages > 0)}`
          : `model ${quote(model.id)} takes at most ${model.capabilities.referenceImages} reference images, got ${count("reference")}`
      )
    )
  }
  return Effect.void
}

/** Why a file could not be read, in words (the platform's own text repeats the path and the syscall). */
const unreadable = (error: PlatformError): string => {
  if (error._tag === "SystemError") {
    switch (error.reason) {
      case "NotFound":
        return "no such file"
      case "PermissionDenied":
        return "permission denied"
      case "Busy":
        return "the file is busy"
      default:
        return error.reason === "Unknown" ? (error.description ?? "unknown error") : error.reason
    }
  }
  return error.description ?? error.message
}

/** Reads a local image, checks its size and type, and turns it into bytes the provider can send. */
const resolveImage = (
  provider: VideoProvider.Service,
  model: ModelSpec,
  image: ImageInput
): Effect.Effect<VideoProvider.ResolvedImage, InvalidRequest, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const transports = model.capabilities.imageTransports
    const source = image.source
    if (source._tag === "Url") {
      if (!transports.includes("url")) {
        return yield* refuse(
          provider,
          "images",
          `model ${quote(model.id)} cannot fetch images from a URL; give a local file or bytes instead`,
          transports
        )
      }
      return { role: image.role, source: source satisfies UrlSource }
    }
    if (!transports.includes("bytes")) {
      return yield* refuse(
        provider,
        "images",
        `model ${quote(model.id)} takes images by URL only; give an http(s) URL instead of a file`,
        transports
      )
    }
    const limit = model.capabilities.maxImageBytes
    const fs = yield* FileSystem.FileSystem
    let bytes: Uint8Array
    let fileName: string | undefined
    let label: string
    if (source._tag === "Path") {
      label = `image ${quote(source.path)}`
      const info = yield* fs
        .stat(source.path)
        .pipe(Effect.mapError((error) => refuse(provider, "images", `cannot read ${label}: ${unreadable(error)}`)))
      if (info.type !== "File") return yield* refuse(provider, "images", `${label} is not a file`)
      if (Number(info.size) > limit) {
        return yield* refuse(
          provider,
          "images",
          `${label} is ${Number(info.size)} bytes; the limit for ${quote(model.id)} is ${limit} bytes`
        )
      }
      bytes = yield* fs
        .readFile(source.path)
        .pipe(Effect.mapError((error) => refuse(provider, "images", `cannot read ${label}: ${unreadable(error)}`)))
      fileName = source.path.split(/[\\/]/).pop()
    } else {
      label = `the ${image.role} image`
      bytes = source.bytes
      fileName = source.fileName
    }
    if (bytes.length > limit) {
      return yield* refuse(
        provider,
        "images",
        `${label} is ${bytes.length} bytes; the limit for ${quote(model.id)} is ${limit} bytes`
      )
    }
    const mimeType = sniffImage(bytes)
    if (mimeType === undefined) {
      return yield* refuse(provider, "images", `${label} is not a JPEG, PNG, WebP or GIF image`, [
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif"
      ])
    }
    return {
      role: image.role,
      source: new BytesSource({
        bytes,
        mimeType,
        fileName: fileName ?? `${image.role}.${mimeType.split("/")[1]}`
      })
    }
  })

/** The video `model` should deliver for `request`: its size, duration and whether it has sound. */
export const expectedOutput = (model: ModelSpec, request: GenerateRequest): Expected => ({
  size: request.size ?? matchingSizes(model, request)[0] ?? model.defaultSize,
  seconds: request.seconds ?? model.capabilities.durations[0],
  audio: model.capabilities.audio
})

/**
 * Validates `request` for `provider`: the model exists, every option is one it supports, the
 * options agree with each other, and the images are readable, small enough and really images.
 * Then the provider's own protocol rules run (`check`).
 */
export const validate = Effect.fn("Validation.validate")(function* (
  request: GenerateRequest,
  provider: VideoProvider.Service
) {
  const modelId = request.model ?? provider.defaultModel
  const model = provider.models.find((candidate) => candidate.id === modelId)
  if (model === undefined) {
    return yield* refuse(
      provider,
      "model",
      `unknown model ${quote(modelId)} for provider ${quote(provider.id)} (available: ${list(provider.models.map((m) => m.id))})`,
      provider.models.map((m) => m.id)
    )
  }
  const caps = model.capabilities
  yield* checkPromptLength(provider, model, "prompt", request.prompt)
  yield* checkPromptLength(provider, model, "negativePrompt", request.negativePrompt)
  yield* checkValue(
    provider,
    model,
    "aspectRatio",
    "aspect ratio",
    request.aspectRatio,
    (m) => m.capabilities.aspectRatios
  )
  yield* checkValue(provider, model, "resolution", "resolution", request.resolution, (m) => m.capabilities.resolutions)
  yield* checkValue(
    provider,
    model,
    "seconds",
    "a duration of seconds",
    request.seconds,
    (m) => m.capabilities.durations
  )
  yield* checkValue(provider, model, "size", "size", request.size, (m) => m.capabilities.sizes)
  if (request.size !== undefined) {
    if (request.aspectRatio !== undefined && aspectRatioOf(request.size) !== request.aspectRatio) {
      return yield* refuse(
        provider,
        "size",
        `size ${request.size} is ${aspectRatioOf(request.size)}, which contradicts aspect ratio ${request.aspectRatio}`
      )
    }
    if (request.resolution !== undefined && resolutionOf(request.size) !== request.resolution) {
      return yield* refuse(
        provider,
        "size",
        `size ${request.size} is ${resolutionOf(request.size)}, which contradicts resolution ${request.resolution}`
      )
    }
  }
  const sizes = matchingSizes(model, request)
  if (request.size === undefined && sizes.length === 0) {
    return yield* refuse(
      provider,
      "resolution",
      `model ${quote(model.id)} has no ${request.resolution ?? ""} ${request.aspectRatio ?? ""} output (sizes: ${list(caps.sizes)})`.replace(
        / +/g,
        " "
      ),
      caps.sizes
    )
  }
  if (request.negativePrompt !== undefined && !caps.negativePrompt) {
    return yield* refuse(
      provider,
      "negativePrompt",
      `model ${quote(model.id)} does not take a negative prompt${alternatives(provider, model, (m) => m.capabilities.negativePrompt)}`
    )
  }
  if (request.seed !== undefined && !caps.seed) {
    return yield* refuse(
      provider,
      "seed",
      `model ${quote(model.id)} does not take a seed${alternatives(provider, model, (m) => m.capabilities.seed)}`
    )
  }
  yield* checkImageRoles(provider, model, request.images)
  const images = yield* Effect.forEach(request.images, (image) => resolveImage(provider, model, image))
  const { provider: _provider, model: _model, images: _images, ...rest } = request
  const resolved: VideoProvider.ResolvedRequest = { ...rest, images }
  const expected = expectedOutput(model, request)
  const warnings = provider.check === undefined ? [] : yield* provider.check({ request: resolved, model })
  return { provider, model, request: resolved, expected, warnings } satisfies Validated
})
