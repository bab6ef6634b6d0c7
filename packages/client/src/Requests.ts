/**
 * From what the user typed (flags, or a batch line) to a core `GenerateRequest`. Images: the first
 * is the first frame, the second the last frame; `http(s)://` is a URL the provider fetches,
 * anything else a local file the engine reads and checks before sending.
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import { firstIssue } from "@reelay/config/ConfigFile"
import { GenerateRequest, ImageInput, PathSource, UrlSource } from "@reelay/core/GenerateRequest"
import { InvalidRequest } from "@reelay/core/VideoError"
import * as Either from "effect/Either"
import type * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

/** The fields of a request as the command line or a batch line gives them. */
export interface Fields {
  readonly prompt: string
  readonly provider?: string | undefined
  readonly model?: string | undefined
  /** Instead of `provider` and `model`: a profile's routes (`Settings.requestDefaults`). */
  readonly routes?: ReadonlyArray<{ readonly provider: string; readonly model: string }> | undefined
  /** First frame, then last frame. */
  readonly images?: ReadonlyArray<string> | undefined
  readonly seconds?: number | undefined
  readonly resolution?: string | undefined
  readonly aspectRatio?: string | undefined
  readonly size?: string | undefined
  readonly negativePrompt?: string | undefined
  readonly seed?: number | undefined
  readonly providerOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>> | undefined
}

const roles = ["first-frame", "last-frame"] as const

/** Whether `text` is an http(s) URL rather than a path. */
export const isUrl = (text: string): boolean => /^https?:\/\//i.test(text)

/** The images as request inputs; relative paths resolve against `baseDir`. */
export const imageInputs = (
  images: ReadonlyArray<string>,
  baseDir: string
): Either.Either<ReadonlyArray<ImageInput>, InvalidRequest> => {
  if (images.length > roles.length) {
    return Either.left(
      new InvalidRequest({
        field: "images",
        billing: "not-charged",
        message: `at most two images can be given (a first frame, then a last frame); got ${images.length}`
      })
    )
  }
  const inputs: Array<ImageInput> = []
  for (const [index, image] of images.entries()) {
    if (image.trim() === "") {
      return Either.left(
        new InvalidRequest({ field: "images", billing: "not-charged", message: "an image path is empty" })
      )
    }
    const source: Either.Either<UrlSource | PathSource, ParseResult.ParseError> = isUrl(image)
      ? Schema.decodeUnknownEither(UrlSource)({ _tag: "Url", url: image })
      : Either.right(new PathSource({ path: NodePath.resolve(baseDir, image) }))
    if (Either.isLeft(source)) {
      return Either.left(
        new InvalidRequest({
          field: "images",
          billing: "not-charged",
          message: `image ${image}: ${firstIssue(source.left)}`
        })
      )
    }
    inputs.push(new ImageInput({ role: roles[index]!, source: source.right }))
  }
  return Either.right(inputs)
}

const decodeRequest = Schema.decodeUnknownEither(GenerateRequest, { errors: "first" })

/** Builds and checks the shape of a request (what each model supports is checked later, against its catalog). */
export const toRequest = (fields: Fields, baseDir: string): Either.Either<GenerateRequest, InvalidRequest> =>
  Either.gen(function* () {
    const images = yield* imageInputs(fields.images ?? [], baseDir)
    const { images: _images, ...rest } = fields
    const plain = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined))
    const decoded = decodeRequest({ ...plain, images: [] })
    if (Either.isLeft(decoded)) {
      const issue = firstIssue(decoded.left)
      const field = issue.split(":")[0]
      return yield* Either.left(
        new InvalidRequest({
          billing: "not-charged",
          ...(field === undefined || field === issue ? {} : { field }),
          message: issue
        })
      )
    }
    return new GenerateRequest({ ...decoded.right, images })
  })
