/**
 * Reads a `POST /v1/videos` body as OpenAI takes it: JSON, or `multipart/form-data` (what the
 * `openai` SDK sends) with `input_reference` as a file part. Every problem is an OpenAI-shaped error
 * naming the field and what is accepted; a body over the limit is refused before it is read whole.
 *
 * @since 0.3.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Multipart from "@effect/platform/Multipart"
import type * as Path from "@effect/platform/Path"
import { BytesSource, ImageInput, type ImageSource, UrlSource } from "@reelay/core/GenerateRequest"
import { sniffImage } from "@reelay/core/Validation"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Api from "./Api.js"

/** The largest create body taken: an uploaded first frame and the fields around it (20 MiB). */
export const maxBodyBytes = 20 * 1024 * 1024

/** What a create asks for, before the tenant's routes say who makes it. */
export interface Fields {
  readonly prompt: string
  readonly model: string | undefined
  readonly seconds: number | undefined
  readonly size: string | undefined
  readonly images: ReadonlyArray<ImageInput>
}

const accepted = ["prompt", "model", "seconds", "size", "input_reference"] as const

const bad = (message: string, param?: string, code?: string) => Api.error(Api.BadRequest, message, { param, code })

/** How much of a body over the limit is still read (and dropped) before it is refused. */
const drainBytes = 100 * 1024 * 1024

/**
 * Reads what is left of a body refused as too large (up to `drainBytes`), so the refusal reaches the
 * client as a 413 rather than a connection reset mid-upload (which its SDK would retry).
 */
const drained = (request: HttpServerRequest.HttpServerRequest) => {
  let left = drainBytes
  return request.stream.pipe(
    Stream.takeWhile((chunk) => {
      left -= chunk.length
      return left > 0
    }),
    Stream.runDrain,
    Effect.ignore,
    Effect.zipRight(Effect.fail(tooLarge()))
  )
}

const tooLarge = () =>
  Api.error(
    Api.TooLarge,
    `The request body is larger than the gateway takes (${maxBodyBytes / 1024 / 1024} MiB); send a smaller input_reference.`,
    { param: "input_reference", code: "request_too_large" }
  )

const imageFromUrl = (url: string): Effect.Effect<ImageSource, Api.BadRequest> => {
  const data = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(url)
  if (data !== null) {
    if (data[2] === undefined) {
      return Effect.fail(
        bad("input_reference.image_url: a data URL must be base64 (data:image/png;base64,...)", "input_reference")
      )
    }
    const bytes = Buffer.from(data[3] ?? "", "base64")
    return Effect.succeed(new BytesSource({ bytes, mimeType: sniffImage(bytes) ?? data[1] }))
  }
  if (URL.canParse(url) && /^https?:$/.test(new URL(url).protocol)) return Effect.succeed(new UrlSource({ url }))
  return Effect.fail(
    bad("input_reference.image_url must be an http(s) URL or a base64 data: URL of an image", "input_reference")
  )
}

/** The fields of a parsed body, checked; `reference` is the first frame, if one was given. */
const fieldsOf = (
  body: Readonly<Record<string, unknown>>,
  reference: ImageSource | undefined
): Effect.Effect<Fields, Api.BadRequest> =>
  Effect.gen(function* () {
    for (const name of Object.keys(body)) {
      if (!(accepted as ReadonlyArray<string>).includes(name)) {
        return yield* bad(
          `Unrecognized request argument supplied: ${name}. Accepted: ${accepted.join(", ")}.`,
          name,
          "unknown_parameter"
        )
      }
    }
    const text = (name: string): Effect.Effect<string | undefined, Api.BadRequest> => {
      const value = body[name]
      if (value === undefined) return Effect.succeed(undefined)
      return typeof value === "string"
        ? Effect.succeed(value)
        : Effect.fail(bad(`${name} must be a string, got ${JSON.stringify(value)}.`, name, "invalid_type"))
    }
    const prompt = yield* text("prompt")
    if (prompt === undefined || prompt.trim() === "") {
      return yield* bad("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
    }
    const model = yield* text("model")
    if (model !== undefined && model.trim() === "") return yield* bad("model must not be empty.", "model")
    const secondsText = yield* text("seconds")
    const seconds = secondsText === undefined ? undefined : Number(secondsText)
    if (secondsText !== undefined && !(Number.isInteger(seconds) && (seconds ?? 0) > 0)) {
      return yield* bad(
        `seconds must be a whole number of seconds as a string, such as "8"; got ${JSON.stringify(secondsText)}.`,
        "seconds",
        "invalid_value"
      )
    }
    const size = yield* text("size")
    if (size !== undefined && !/^[1-9]\d{1,4}x[1-9]\d{1,4}$/.test(size)) {
      return yield* bad(
        `size must be width x height, such as "1280x720"; got ${JSON.stringify(size)}.`,
        "size",
        "invalid_value"
      )
    }
    let image = reference
    const given = body.input_reference
    if (image === undefined && given !== undefined) {
      const url =
        given !== null && typeof given === "object" ? (given as { readonly image_url?: unknown }).image_url : undefined
      if ((given as { readonly file_id?: unknown } | null)?.file_id !== undefined) {
        return yield* bad(
          "input_reference.file_id is not supported by this gateway: upload the image, or give input_reference.image_url.",
          "input_reference"
        )
      }
      if (typeof url !== "string") {
        return yield* bad(
          "input_reference must be an uploaded image file, or { image_url: an http(s) or data: URL }.",
          "input_reference"
        )
      }
      image = yield* imageFromUrl(url)
    }
    return {
      prompt,
      model,
      seconds,
      size,
      images: image === undefined ? [] : [new ImageInput({ role: "first-frame", source: image })]
    }
  })

const readJson = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    // Counted as it arrives: a body sent without Content-Length is refused once it passes the limit.
    const chunks: Array<Uint8Array> = []
    let size = 0
    yield* request.stream.pipe(
      Stream.mapError(() => bad("The request body could not be read whole.", undefined, "invalid_body")),
      // One pass: past the limit the rest is read and dropped (up to `drainBytes`), then refused.
      Stream.takeWhile((chunk) => {
        size += chunk.length
        if (size <= maxBodyBytes) chunks.push(chunk)
        return size <= maxBodyBytes + drainBytes
      }),
      Stream.runDrain
    )
    if (size > maxBodyBytes) return yield* tooLarge()
    const text = Buffer.concat(chunks).toString("utf8")
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      return yield* bad("The request body is not valid JSON.", undefined, "invalid_json")
    }
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      return yield* bad("The request body must be a JSON object.", undefined, "invalid_json")
    }
    return yield* fieldsOf(body as Record<string, unknown>, undefined)
  })

const readMultipart = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.scoped(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const parts = yield* Multipart.withLimits(request.multipart, {
        maxFileSize: Option.some(maxBodyBytes),
        maxTotalSize: Option.some(maxBodyBytes),
        maxParts: Option.some(32)
      }).pipe(
        Effect.catchTag("MultipartError", (error) =>
          Effect.fail(
            error.reason === "FileTooLarge" || error.reason === "BodyTooLarge" || error.reason === "FieldTooLarge"
              ? tooLarge()
              : bad(`The multipart body could not be read (${error.reason}).`, undefined, "invalid_body")
          )
        )
      )
      const body: Record<string, unknown> = {}
      let reference: ImageSource | undefined
      for (const [name, value] of Object.entries(parts)) {
        if (typeof value === "string") {
          // The SDK writes an object field as `input_reference[image_url]`.
          const nested = /^([a-z_]+)\[([a-z_]+)\]$/.exec(name)
          if (nested !== null) {
            const [, outer = "", inner = ""] = nested
            body[outer] = { ...(body[outer] as object | undefined), [inner]: value }
          } else {
            body[name] = value
          }
          continue
        }
        const files = value as ReadonlyArray<Multipart.PersistedFile>
        const file = files[0]
        if (name !== "input_reference" || file === undefined || files.length !== 1) {
          return yield* bad(
            `Only input_reference may be a file, and only one; got ${files.length} file(s) in ${name}.`,
            name
          )
        }
        const bytes = yield* fs
          .readFile(file.path)
          .pipe(Effect.mapError(() => bad("The uploaded input_reference could not be read.", "input_reference")))
        reference = new BytesSource({
          bytes,
          mimeType: sniffImage(bytes) ?? file.contentType,
          fileName: file.name
        })
      }
      return yield* fieldsOf(body, reference)
    })
  )

/** The create's fields from the request body, JSON or multipart. */
export const read = (
  request: HttpServerRequest.HttpServerRequest
): Effect.Effect<Fields, Api.BadRequest | Api.TooLarge, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const length = Number(request.headers["content-length"] ?? "0")
    if (length > maxBodyBytes) return yield* drained(request)
    const type = (request.headers["content-type"] ?? "").toLowerCase()
    if (type.startsWith("multipart/form-data")) return yield* readMultipart(request)
    if (type.startsWith("application/json")) return yield* readJson(request)
    return yield* bad(
      `Send the create as application/json or multipart/form-data; got ${type === "" ? "no content type" : JSON.stringify(type)}.`,
      undefined,
      "unsupported_content_type"
    )
  })
