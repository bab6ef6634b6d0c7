/**
 * `reelay.config.json`: named profiles (provider, base URL, key reference, default model, budget,
 * concurrency) and resellers defined by configuration alone. The file never holds a key: a profile
 * names the environment variable that does (`apiKeyEnv`), because configuration files get shared
 * and committed.
 *
 * @example
 * ```json
 * {
 *   "defaultProfile": "draft",
 *   "profiles": {
 *     "draft": { "provider": "laozhang", "model": "veo-3.1-fast", "budget": "5.00" },
 *     "final": { "provider": "laozhang-official", "model": "veo-3.1-generate-preview", "apiKeyEnv": "LZ_PROD_KEY" }
 *   }
 * }
 * ```
 *
 * @since 0.1.0
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as Reseller from "@reelay/openai-videos/Reseller"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { ConfigFileError } from "./CliError.js"

/** The file looked for in the working directory when neither `--config` nor `REELAY_CONFIG` names one. */
export const defaultFileName = "reelay.config.json"

const PositiveInt = Schema.Int.pipe(Schema.positive())

/** An environment variable name (`LAOZHANG_API_KEY`). */
export const EnvName = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]*$/, {
    message: () => "an environment variable name, such as LAOZHANG_API_KEY"
  })
)

/** Dollars as a decimal string (`"5.00"`, exact) or a JSON number. */
export const Dollars = Schema.Union(
  Schema.String.pipe(Schema.pattern(/^\$?\d+(\.\d+)?$/, { message: () => 'a dollar amount such as "5.00"' })),
  Schema.Number.pipe(Schema.nonNegative())
)

/** Concurrency of a batch's three stages. */
export const Concurrency = Schema.Struct({
  submit: Schema.optional(PositiveInt),
  status: Schema.optional(PositiveInt),
  download: Schema.optional(PositiveInt)
})
export type Concurrency = typeof Concurrency.Type

/** One named profile. Every field is optional; flags and environment variables override each. */
export const Profile = Schema.Struct({
  /** A provider id: `laozhang`, `laozhang-official`, `apiyi`, `laozhang-sora`, `simulator`, or a reseller's id. */
  provider: Schema.optional(Schema.NonEmptyString),
  /** The model used when the command line names none. */
  model: Schema.optional(Schema.NonEmptyString),
  /** The provider's API base, including `/v1`. */
  baseUrl: Schema.optional(
    Schema.String.pipe(
      Schema.filter((url) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol), {
        message: () => "an absolute http(s) URL"
      })
    )
  ),
  /** The environment variable holding the key (default: the provider's own, such as `LAOZHANG_API_KEY`). */
  apiKeyEnv: Schema.optional(EnvName),
  /** The most one run may commit, in dollars. */
  budget: Schema.optional(Dollars),
  concurrency: Schema.optional(Concurrency),
  /** Scales the generation times used to pace polling (`1/30` for a simulator running 30x fast). */
  timeScale: Schema.optional(Schema.Union(Schema.Number.pipe(Schema.positive()), Schema.String)),
  /** How long to wait for a video before stopping with a resumable `PollTimeout` (`"10m"`, `"90s"`, seconds). */
  timeout: Schema.optional(Schema.Union(Schema.String, Schema.Number.pipe(Schema.positive()))),
  /** Where videos go when no `--out` / `--out-dir` is given. */
  outDir: Schema.optional(Schema.NonEmptyString)
})
export type Profile = typeof Profile.Type

/** The file. */
export const File = Schema.Struct({
  $schema: Schema.optional(Schema.String),
  /** The profile used when neither `--profile` nor `REELAY_PROFILE` names one. */
  defaultProfile: Schema.optional(Schema.NonEmptyString),
  /** The journal: a SQLite path (relative to the file) or a `postgres://` URL. */
  journal: Schema.optional(Schema.NonEmptyString),
  profiles: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Profile }), { default: () => ({}) }),
  /** Resellers that speak the `/v1/videos` protocol (see `@reelay/openai-videos` `Reseller`). */
  providers: Schema.optionalWith(Schema.Array(Schema.Unknown), { default: () => [] })
})

/** A loaded, checked configuration file. */
export interface Loaded {
  /** The absolute path it was read from. */
  readonly path: string
  readonly defaultProfile: string | undefined
  /** The journal, a path resolved against the file's directory, or a URL. */
  readonly journal: string | undefined
  readonly profiles: Readonly<Record<string, Profile>>
  readonly resellers: ReadonlyArray<Reseller.Reseller>
}

const decodeFile = Schema.decodeUnknownEither(File, { onExcessProperty: "error", errors: "first" })
const decodeReseller = Schema.decodeUnknownEither(Reseller.Reseller, { errors: "first" })

/** The first problem of a parse error as `path: message`, on one line. */
export const firstIssue = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (issue === undefined) return error.message
  const path = issue.path.map((segment) => (typeof segment === "number" ? `[${segment}]` : `.${String(segment)}`))
  const where = path.join("").replace(/^\./, "")
  const message = issue.message.replace(/\s+/g, " ")
  return where === "" ? message : `${where}: ${message}`
}

/** Keys have no place in the file: say so plainly rather than "unexpected property". */
const findLiteralKey = (value: unknown, path: string): string | undefined => {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findLiteralKey(item, `${path}[${index}]`)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (value === null || typeof value !== "object") return undefined
  for (const [name, child] of Object.entries(value)) {
    const here = path === "" ? name : `${path}.${name}`
    if (/^(api_?key|key|token|secret)$/i.test(name) && typeof child === "string") return here
    const found = findLiteralKey(child, here)
    if (found !== undefined) return found
  }
  return undefined
}

/** Parses and checks the text of a configuration file read from `path`. */
export const parse = (path: string, text: string): Either.Either<Loaded, ConfigFileError> => {
  const fail = (message: string) => Either.left(new ConfigFileError({ path, message: `${path}: ${message}` }))
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return fail(`not valid JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  const literalKey = findLiteralKey(json, "")
  if (literalKey !== undefined) {
    return fail(
      `${literalKey}: an API key does not belong in the configuration file; put it in an environment variable and name that variable with "apiKeyEnv"`
    )
  }
  const decoded = decodeFile(json)
  if (Either.isLeft(decoded)) return fail(firstIssue(decoded.left))
  const file = decoded.right
  const resellers: Array<Reseller.Reseller> = []
  for (const [index, input] of file.providers.entries()) {
    const reseller = decodeReseller(input)
    if (Either.isLeft(reseller)) return fail(`providers[${index}]: ${firstIssue(reseller.left)}`)
    resellers.push(reseller.right)
  }
  if (file.defaultProfile !== undefined && file.profiles[file.defaultProfile] === undefined) {
    const known = Object.keys(file.profiles)
    return fail(
      `defaultProfile "${file.defaultProfile}" is not among the profiles (${known.length === 0 ? "none defined" : known.join(", ")})`
    )
  }
  const journal =
    file.journal === undefined || /^postgres(ql)?:\/\//i.test(file.journal)
      ? file.journal
      : NodePath.resolve(NodePath.dirname(path), file.journal)
  return Either.right({
    path,
    defaultProfile: file.defaultProfile,
    journal,
    profiles: file.profiles,
    resellers
  })
}

/**
 * Reads the configuration file: `explicit` (from `--config` or `REELAY_CONFIG`) must exist;
 * otherwise `reelay.config.json` in `cwd` is read when present.
 */
export const load = (explicit: string | undefined, cwd: string): Effect.Effect<Loaded | undefined, ConfigFileError> =>
  Effect.suspend(() => {
    const path = NodePath.resolve(cwd, explicit ?? defaultFileName)
    let text: string
    try {
      text = NodeFs.readFileSync(path, "utf8")
    } catch (error) {
      const code = (error as { code?: string }).code
      if (explicit === undefined && code === "ENOENT") return Effect.succeed(undefined)
      return Effect.fail(
        new ConfigFileError({
          path,
          message: `cannot read the configuration file ${path} (${code ?? String(error)})`
        })
      )
    }
    return Either.match(parse(path, text), { onLeft: Effect.fail, onRight: Effect.succeed })
  })
