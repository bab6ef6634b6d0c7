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
import * as NetworkPolicy from "@reelay/core/NetworkPolicy"
import * as Reseller from "@reelay/openai-videos/Reseller"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { ConfigFileError } from "./ConfigError.js"
import * as Json from "./Json.js"

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

/** One route of a profile: a provider and one of its models. */
export const Route = Schema.Struct({ provider: Schema.NonEmptyString, model: Schema.NonEmptyString })

/** One named profile. Every field is optional; flags and environment variables override each. */
export const Profile = Schema.Struct({
  /** A provider id: `laozhang`, `laozhang-official`, `apiyi`, `laozhang-sora`, `simulator`, or a reseller's id. */
  provider: Schema.optional(Schema.NonEmptyString),
  /** The model used when the command line names none. */
  model: Schema.optional(Schema.NonEmptyString),
  /**
   * Instead of `provider` and `model`: providers to try in order. The next route is tried only when a
   * create failed proving nothing was charged (see `RetryPolicy.movesToNextRoute` in `@reelay/core`).
   */
  routes: Schema.optional(Schema.NonEmptyArray(Route)),
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
  outDir: Schema.optional(Schema.NonEmptyString),
  /**
   * Local addresses a video link may reach besides those of the provider's own base URL class:
   * `true` for all (cloud metadata included), or addresses and ranges (`["10.1.2.0/24"]`).
   */
  allowPrivateNetworks: Schema.optional(
    Schema.Union(
      Schema.Boolean,
      Schema.Array(
        Schema.String.pipe(
          Schema.filter((entry) => NetworkPolicy.parseRange(entry) !== undefined, {
            message: () => 'an IP address or range, such as "10.1.2.0/24", "fd00::/8" or "169.254.169.254"'
          })
        )
      )
    )
  )
})
export type Profile = typeof Profile.Type

/** One team of the gateway (`reelay serve`): its key's variable, its profile and its budget. */
export const Tenant = Schema.Struct({
  /** The tenant's name: its videos are its own, and it appears in events and the journal. */
  id: Schema.String.pipe(
    Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: () => "letters, digits, '.', '_' or '-'" })
  ),
  /**
   * The variable holding the bearer key the tenant's requests carry (never the key itself): upper
   * case, so a key pasted here by mistake is refused rather than printed in a message.
   */
  keyEnv: Schema.String.pipe(
    Schema.pattern(/^[A-Z][A-Z0-9_]{0,63}$/, {
      message: () => "an environment variable name in upper case, such as TEAM_A_KEY"
    })
  ),
  /** The profile its requests run under: provider or routes, model, budget (default: the file's default profile). */
  profile: Schema.optional(Schema.NonEmptyString),
  /** The most the tenant may commit, in dollars. */
  budget: Schema.optional(Dollars),
  /** Where `video.completed` and `video.failed` are sent, signed as Standard Webhooks specifies. */
  webhook: Schema.optional(
    Schema.Struct({
      url: Schema.String.pipe(
        Schema.filter((url) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol), {
          message: () => "an absolute http(s) URL"
        })
      ),
      /** The variable holding the signing secret (`whsec_` and base64), never the secret itself. */
      secretEnv: Schema.String.pipe(
        Schema.pattern(/^[A-Z][A-Z0-9_]{0,63}$/, {
          message: () => "an environment variable name in upper case, such as TEAM_A_WEBHOOK_SECRET"
        })
      )
    })
  )
})
export type Tenant = typeof Tenant.Type

/** The gateway's settings. */
export const Gateway = Schema.Struct({ tenants: Schema.Array(Tenant) })
export type Gateway = typeof Gateway.Type

/** The file. */
export const File = Schema.Struct({
  $schema: Schema.optional(Schema.String),
  /** The profile used when neither `--profile` nor `REELAY_PROFILE` names one. */
  defaultProfile: Schema.optional(Schema.NonEmptyString),
  /** The journal: a SQLite path (relative to the file) or a `postgres://` URL. */
  journal: Schema.optional(Schema.NonEmptyString),
  profiles: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Profile }), { default: () => ({}) }),
  /** Resellers that speak the `/v1/videos` protocol (see `@reelay/openai-videos` `Reseller`). */
  providers: Schema.optionalWith(Schema.Array(Schema.Unknown), { default: () => [] }),
  /**
   * Provider packages to load: package names or paths (`./providers/acme.js`), resolved from this
   * file's folder; each module's default export is a provider descriptor (see `Plugins`).
   */
  plugins: Schema.optionalWith(Schema.Array(Schema.NonEmptyString), { default: () => [] }),
  /** The gateway's tenants (`reelay serve`). */
  gateway: Schema.optional(Gateway)
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
  /** Plugin package names and paths, as written (resolved from the file's folder when loaded). */
  readonly plugins: ReadonlyArray<string>
  /** The gateway's tenants, when the file has them. */
  readonly gateway: Gateway | undefined
}

// Unknown fields are refused at every depth (a typo in a reseller's model must not pass silently).
const decodeFile = Schema.decodeUnknownEither(File, { onExcessProperty: "error", errors: "first" })
const decodeReseller = Schema.decodeUnknownEither(Reseller.Reseller, { onExcessProperty: "error", errors: "first" })

/** A parse issue's path as written in the file: `providers[0].models[1].price`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path
    .map((segment) => (typeof segment === "number" ? `[${segment}]` : `.${String(segment)}`))
    .join("")
    .replace(/^\./, "")

const expectedActual = /^Expected (.*), actual (.*)$/s

/**
 * The first problem of a parse error as `path: message`, on one line. A value that matches none of
 * a union's members is reported once per member (`Expected "bearer"`, then `Expected "raw"`, ...):
 * the member it came closest to is the one that got deepest into it, and at that place every
 * accepted value is listed, never only the first.
 */
export const firstIssue = (error: ParseResult.ParseError): string => {
  const { where, message } = firstIssueAt(error)
  return where === "" ? message : `${where}: ${message}`
}

/** `firstIssue`, with where (`models[1].price`, `""` at the top) and what apart. */
export const firstIssueAt = (error: ParseResult.ParseError): { readonly where: string; readonly message: string } => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  if (issues.length === 0) return { where: "", message: error.message }
  const depth = Math.max(...issues.map((issue) => issue.path.length))
  const deepest = issues.find((issue) => issue.path.length === depth)!
  const where = formatPath(deepest.path)
  const here = issues.filter((issue) => formatPath(issue.path) === where)
  const first = expectedActual.exec(deepest.message)
  let message = deepest.message
  if (first !== null) {
    const expected: Array<string> = []
    for (const issue of here) {
      const match = expectedActual.exec(issue.message)
      if (match === null || match[2] !== first[2]) continue
      for (const option of match[1]!.split(" | ")) if (!expected.includes(option)) expected.push(option)
    }
    // An optional field's "or nothing" is no help to someone who wrote a value.
    const shown = expected.length > 1 ? expected.filter((option) => option !== "undefined") : expected
    message = `Expected ${shown.join(" | ")}, actual ${first[2]}`
  }
  return { where, message: message.replace(/\s+/g, " ") }
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

/** What JSON can say and a configuration must not: a number too large to be one (`1e400` reads as `Infinity`). */
const findUnsafeValue = (value: unknown, path: string): string | undefined => {
  if (typeof value === "number" && !Number.isFinite(value)) {
    return `${path === "" ? "the file" : path}: a number too large to be one (it reads as ${value})`
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findUnsafeValue(item, `${path}[${index}]`)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (value === null || typeof value !== "object") return undefined
  for (const [name, child] of Object.entries(value)) {
    const found = findUnsafeValue(child, path === "" ? name : `${path}.${name}`)
    if (found !== undefined) return found
  }
  return undefined
}

/** Whether `record` has `name` as its own key: never a name every object has (`toString`, `constructor`). */
export const hasOwn = (record: object | undefined, name: string): boolean =>
  record !== undefined && Object.hasOwn(record, name)

/**
 * Parses and checks the text of a configuration file read from `path`. A UTF-8 byte-order mark at
 * its start is dropped; a key written twice in one object (JSON keeps the last) and `__proto__` as a
 * name are refused (`Json.parse`).
 */
export const parse = (path: string, text: string): Either.Either<Loaded, ConfigFileError> => {
  const fail = (message: string) => Either.left(new ConfigFileError({ path, message: `${path}: ${message}` }))
  const parsed = Json.parse(Json.stripBom(text))
  if (Either.isLeft(parsed)) {
    return fail(parsed.left.kind === "syntax" ? `not valid JSON (${parsed.left.message})` : parsed.left.message)
  }
  const json = parsed.right
  const unsafe = findUnsafeValue(json, "")
  if (unsafe !== undefined) return fail(unsafe)
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
    if (Either.isLeft(reseller)) {
      const { where, message } = firstIssueAt(reseller.left)
      const at = where === "" || where.startsWith("[") ? `providers[${index}]${where}` : `providers[${index}].${where}`
      return fail(`${at}: ${message}`)
    }
    resellers.push(reseller.right)
  }
  for (const [name, profile] of Object.entries(file.profiles)) {
    if (profile.routes !== undefined && (profile.provider !== undefined || profile.model !== undefined)) {
      return fail(
        `profiles.${name}: a profile names either "routes" or a "provider" and "model", not both (each route names its provider and model)`
      )
    }
    if (profile.routes !== undefined && (profile.apiKeyEnv !== undefined || profile.baseUrl !== undefined)) {
      return fail(
        `profiles.${name}: a profile with "routes" names no "apiKeyEnv" or "baseUrl": each route uses its provider's own key and base URL variables`
      )
    }
  }
  for (const [index, tenant] of (file.gateway?.tenants ?? []).entries()) {
    if (tenant.profile !== undefined && !hasOwn(file.profiles, tenant.profile)) {
      return fail(`gateway.tenants[${index}].profile: "${tenant.profile}" is not among the profiles`)
    }
    // Ids name files and journal entries: two that differ only in case would collide on some disks.
    if (file.gateway!.tenants.findIndex((other) => other.id.toLowerCase() === tenant.id.toLowerCase()) !== index) {
      return fail(`gateway.tenants[${index}].id: "${tenant.id}" is given twice (ids are compared ignoring case)`)
    }
  }
  if (file.defaultProfile !== undefined && !hasOwn(file.profiles, file.defaultProfile)) {
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
    resellers,
    plugins: file.plugins,
    gateway: file.gateway
  })
}

/**
 * Reads the configuration file: `explicit` (from `--config` or `REELAY_CONFIG`) must exist;
 * otherwise `reelay.config.json` in `cwd` is read when present.
 */
export const load = (explicit: string | undefined, cwd: string): Effect.Effect<Loaded | undefined, ConfigFileError> =>
  Effect.suspend(() => {
    const path = NodePath.resolve(cwd, explicit ?? defaultFileName)
    let bytes: Uint8Array
    try {
      bytes = NodeFs.readFileSync(path)
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
    const text = Json.decodeText(bytes)
    if (Either.isLeft(text)) return Effect.fail(new ConfigFileError({ path, message: `${path}: ${text.left.message}` }))
    return Either.match(parse(path, text.right), { onLeft: Effect.fail, onRight: Effect.succeed })
  })
