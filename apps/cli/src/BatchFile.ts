/**
 * Batch files: JSON Lines, one request per line, each with an optional `key`. Every line is
 * checked before anything is sent; the first bad one is reported with its line number and field.
 *
 * ```jsonl
 * {"key": "fox", "prompt": "A red fox running through fresh snow at dawn"}
 * {"key": "owl", "prompt": "An owl landing on a branch", "model": "veo-3.1-fast", "aspectRatio": "9:16"}
 * {"prompt": "The same fox, from the first frame", "model": "veo-3.1-fast-fl", "images": ["fox.png"]}
 * ```
 *
 * Relative image paths and `output` paths resolve against the batch file's directory. Blank lines
 * are skipped. A line without a key is keyed `line-<n>`. A key written twice in one line is refused
 * (`JSON.parse` would keep the last value without a word); a UTF-8 byte-order mark at the start of
 * the file is dropped.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import * as NodePath from "node:path"
import * as Requests from "@reelay/client/Requests"
import { firstIssue } from "@reelay/config/ConfigFile"
import * as Json from "@reelay/config/Json"
import type { BatchItem } from "@reelay/core/Engine"
import { AspectRatio, Resolution, Size } from "@reelay/core/GenerateRequest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { BatchFileError } from "./CliError.js"

/** A key: what names the item in the journal, in events and in the default file name. */
export const Key = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, {
    message: () => "a key of letters, digits, '.', '_' or '-' (at most 128, starting with a letter or digit)"
  })
)

/** One line of a batch file. Unknown fields are refused, so a typo never passes silently. */
export const Line = Schema.Struct({
  key: Schema.optional(Key),
  prompt: Schema.String.pipe(Schema.filter((text) => text.trim() !== "", { message: () => "must not be empty" })),
  provider: Schema.optional(Schema.NonEmptyString),
  model: Schema.optional(Schema.NonEmptyString),
  /** One image: the first frame. */
  image: Schema.optional(Schema.NonEmptyString),
  /** One or two images: the first frame, then the last frame. */
  images: Schema.optional(Schema.Array(Schema.NonEmptyString).pipe(Schema.minItems(1), Schema.maxItems(2))),
  seconds: Schema.optional(Schema.Int.pipe(Schema.positive())),
  resolution: Schema.optional(Resolution),
  aspectRatio: Schema.optional(AspectRatio),
  size: Schema.optional(Size),
  negativePrompt: Schema.optional(Schema.String),
  seed: Schema.optional(Schema.Int.pipe(Schema.between(0, 4_294_967_295))),
  /** Where this item's video goes (default `<out-dir>/<key>.mp4`). */
  output: Schema.optional(Schema.NonEmptyString),
  /**
   * Whether a file already at the output may be replaced (default: `--overwrite`, else no: the
   * batch is refused before anything is sent).
   */
  overwrite: Schema.optional(Schema.Boolean),
  providerOptions: Schema.optional(
    Schema.Record({ key: Schema.String, value: Schema.Record({ key: Schema.String, value: Schema.Unknown }) })
  )
})
export type Line = typeof Line.Type

const decodeLine = Schema.decodeUnknownEither(Line, { onExcessProperty: "error", errors: "first" })

/** Defaults applied to lines that leave a field out (from flags and the configuration). */
export interface Defaults {
  readonly provider?: string | undefined
  readonly model?: string | undefined
  /** A profile's routes, for lines that name neither a provider nor a model. */
  readonly routes?: ReadonlyArray<{ readonly provider: string; readonly model: string }> | undefined
}

/** A parsed batch file. */
export interface Parsed {
  readonly items: ReadonlyArray<BatchItem & { readonly key: string; readonly line: number }>
  /** A stable id for the batch, from the file's name and content: running the same file again resumes it. */
  readonly batchId: string
}

/** The default batch id: `<file name>-<8 hex digits of the content's sha256>`. */
export const batchIdFor = (path: string, text: string): string => {
  const base =
    NodePath.basename(path)
      .replace(/\.[^.]*$/, "")
      .replace(/[^A-Za-z0-9._-]+/g, "-")
      .replace(/^[-.]+/, "")
      .slice(0, 48) || "batch"
  return `${base}-${createHash("sha256").update(text).digest("hex").slice(0, 8)}`
}

/** Parses a batch file's text. `path` names it in errors and anchors its relative paths. */
export const parse = (path: string, text: string, defaults: Defaults = {}): Either.Either<Parsed, BatchFileError> => {
  const dir = NodePath.dirname(NodePath.resolve(path))
  const items: Array<BatchItem & { key: string; line: number }> = []
  const keys = new Map<string, number>()
  const body = Json.stripBom(text)
  const lines = body.split(/\r?\n/)
  for (const [index, raw] of lines.entries()) {
    const line = index + 1
    const fail = (message: string) =>
      Either.left(new BatchFileError({ path, line, message: `${path}:${line}: ${message}` }))
    if (raw.trim() === "") continue
    if (Json.startsWithBom(raw)) {
      return fail("the line starts with a byte-order mark (U+FEFF), which only the file's very start may have")
    }
    const parsed = Json.parse(raw)
    if (Either.isLeft(parsed)) {
      return fail(parsed.left.kind === "syntax" ? `not a JSON object (${parsed.left.message})` : parsed.left.message)
    }
    const json = parsed.right
    if (json === null || typeof json !== "object" || Array.isArray(json)) return fail("not a JSON object")
    const decoded = decodeLine(json)
    if (Either.isLeft(decoded)) return fail(firstIssue(decoded.left))
    const fields = decoded.right
    if (fields.image !== undefined && fields.images !== undefined) {
      return fail('give either "image" or "images", not both')
    }
    const key = fields.key ?? `line-${line}`
    const earlier = keys.get(key)
    if (earlier !== undefined) return fail(`key "${key}" is already used on line ${earlier}`)
    keys.set(key, line)
    const request = Requests.toRequest(
      {
        prompt: fields.prompt,
        ...(fields.provider === undefined && fields.model === undefined && defaults.routes !== undefined
          ? { routes: defaults.routes }
          : {
              provider: fields.provider ?? defaults.provider,
              model: fields.model ?? (fields.provider === undefined ? defaults.model : undefined)
            }),
        images: fields.images ?? (fields.image === undefined ? [] : [fields.image]),
        seconds: fields.seconds,
        resolution: fields.resolution,
        aspectRatio: fields.aspectRatio,
        size: fields.size,
        negativePrompt: fields.negativePrompt,
        seed: fields.seed,
        providerOptions: fields.providerOptions
      },
      dir
    )
    if (Either.isLeft(request)) return fail(request.left.message)
    items.push({
      key,
      line,
      request: request.right,
      ...(fields.output === undefined ? {} : { output: NodePath.resolve(dir, fields.output) }),
      ...(fields.overwrite === undefined ? {} : { overwrite: fields.overwrite })
    })
  }
  if (items.length === 0) {
    return Either.left(new BatchFileError({ path, message: `${path}: the batch file has no requests` }))
  }
  return Either.right({ items, batchId: batchIdFor(path, body) })
}
