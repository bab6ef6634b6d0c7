/**
 * The effective configuration of one command: flags over environment variables over the selected
 * profile of `reelay.config.json` over defaults, with where each value came from (for
 * `reelay config` and for error messages). A provider is swapped by changing any of these, never
 * code. When nothing selects a provider, the built-in simulator runs in-process.
 *
 * `resolve` is pure: it takes the flags, a snapshot of the environment (keys already `Redacted`)
 * and the loaded file, so precedence is tested without touching the process.
 *
 * @since 0.1.0
 */
import * as Money from "@reelay/core/Money"
import type * as ProviderDescriptor from "@reelay/core/ProviderDescriptor"
import { InvalidRequest } from "@reelay/core/VideoError"
import { descriptor as apiyi } from "@reelay/provider-apiyi"
import { descriptor as laozhang } from "@reelay/provider-laozhang"
import { descriptor as laozhangOfficial } from "@reelay/provider-laozhang-official"
import { descriptor as laozhangSora } from "@reelay/provider-laozhang-sora"
import type * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import { UsageError } from "./ConfigError.js"
import type * as ConfigFile from "./ConfigFile.js"
import { hasOwn } from "./ConfigFile.js"

/** A provider that ships with reelay, as its package describes itself. */
export type Builtin = ProviderDescriptor.ProviderDescriptor

/**
 * The providers that ship with reelay, from their packages' descriptors, in the order a key found in
 * the environment selects one.
 */
export const builtins: ReadonlyArray<Builtin> = [laozhang, apiyi, laozhangOfficial, laozhangSora]

/** The built-in simulator's id; `simulator:<builtin>` runs that provider against it. */
export const simulatorId = "simulator"

/** The simulator ids: `simulator` (laozhang's async protocol) and `simulator:<builtin>` for each built-in. */
export const simulatorIds: ReadonlyArray<string> = [
  simulatorId,
  ...builtins.filter((b) => b.simulatorHost !== undefined).map((b) => `${simulatorId}:${b.id}`)
]

/** The built-in a simulator id runs (`simulator` → laozhang). */
export const simulatedBuiltin = (id: string): Builtin | undefined => {
  if (id === simulatorId) return builtins[0]
  if (!id.startsWith(`${simulatorId}:`)) return undefined
  return builtins.find((b) => b.simulatorHost !== undefined && b.id === id.slice(simulatorId.length + 1))
}

/** Whether `id` names the built-in simulator. */
export const isSimulator = (id: string): boolean => simulatedBuiltin(id) !== undefined

/** The time scale of the in-process simulator: a fast video takes one to two seconds. */
export const simulatorTimeScale = 1 / 30

/** Variables the CLI reads besides the providers' keys and base URLs. */
export const env = {
  provider: "REELAY_PROVIDER",
  model: "REELAY_MODEL",
  profile: "REELAY_PROFILE",
  config: "REELAY_CONFIG",
  journal: "REELAY_JOURNAL",
  maxCost: "REELAY_MAX_COST",
  timeScale: "REELAY_TIME_SCALE",
  timeout: "REELAY_TIMEOUT"
} as const

/** A value and where it came from: `--provider`, `REELAY_PROVIDER`, `profile "draft"`, `default`, ... */
export interface Setting<A> {
  readonly value: A
  readonly source: string
}

/** How one provider is reached. */
export interface ProviderSettings {
  readonly id: string
  /** A built-in provider, a plugin of the configuration file (both from descriptors), or a reseller it defines. */
  readonly kind: "builtin" | "plugin" | "reseller"
  readonly baseUrl: Setting<string>
  /** Absent when no variable holds a key: the provider is listed, but using it fails before anything is sent. */
  readonly apiKey: Setting<Redacted.Redacted<string>> | undefined
  /** The variable to set for a key, for messages. */
  readonly apiKeyEnv: string | undefined
}

export interface Settings {
  /** The configuration file read, if any. */
  readonly configFile: string | undefined
  readonly profile: Setting<string> | undefined
  /** The provider requests use when they name none. */
  readonly provider: Setting<string>
  /** The model requests use when they name none (else the provider's default). */
  readonly model: Setting<string> | undefined
  /**
   * The profile's routes, when it has them and neither a flag nor a variable names a provider or a
   * model: requests that name neither are sent with them (`provider` and `model` are then the first
   * route's).
   */
  readonly routes: Setting<ReadonlyArray<{ readonly provider: string; readonly model: string }>> | undefined
  /** Every provider the registry holds, the selected one first. */
  readonly providers: ReadonlyArray<ProviderSettings>
  readonly budget: Setting<Money.Usd> | undefined
  readonly concurrency: {
    readonly submit: Setting<number> | undefined
    readonly status: Setting<number> | undefined
    readonly download: Setting<number> | undefined
  }
  /** A SQLite path or a `postgres://` URL (redacted: it may hold a password). */
  readonly journal: Setting<Redacted.Redacted<string>>
  /** Scales generation times for polling: 1 for real providers, the simulator's scale for it. */
  readonly timeScale: Setting<number>
  /** The polling deadline, if set. */
  readonly timeout: Setting<Duration.DurationInput> | undefined
  readonly outDir: Setting<string> | undefined
  /** Local addresses video links may reach (see `NetworkPolicy`), from the profile. */
  readonly allowPrivateNetworks: Setting<boolean | ReadonlyArray<string>> | undefined
  /** Whether the built-in simulator must run in-process. */
  readonly simulator: boolean
  /** The one line to print when the simulator was chosen because nothing else was. */
  readonly notice: string | undefined
  /** Registered reseller definitions from the file. */
  readonly resellers: ReadonlyArray<ConfigFile.Loaded["resellers"][number]>
  /** The descriptors of the file's plugins, as loaded (`Plugins.load`). */
  readonly plugins: ReadonlyArray<ProviderDescriptor.ProviderDescriptor>
}

/** Flags that take part in resolution (all optional). */
export interface Flags {
  readonly provider?: string | undefined
  readonly model?: string | undefined
  readonly baseUrl?: string | undefined
  readonly profile?: string | undefined
  readonly maxCost?: string | undefined
  readonly journal?: string | undefined
  readonly timeout?: string | undefined
  readonly concurrency?:
    | {
        readonly submit?: number | undefined
        readonly status?: number | undefined
        readonly download?: number | undefined
      }
    | undefined
}

/** The environment as `resolve` sees it: plain values, and keys already wrapped. */
export interface Environment {
  readonly get: (name: string) => string | undefined
  readonly secret: (name: string) => Redacted.Redacted<string> | undefined
}

/**
 * The provider, model or routes a request gets when it names none: the routes when the settings have
 * them, else the selected provider and model.
 */
export const requestDefaults = (
  settings: Settings
): {
  readonly provider?: string | undefined
  readonly model?: string | undefined
  readonly routes?: ReadonlyArray<{ readonly provider: string; readonly model: string }> | undefined
} =>
  settings.routes !== undefined
    ? { routes: settings.routes.value }
    : { provider: settings.provider.value, model: settings.model?.value }

/** Whether a key is empty or only spaces (an unset variable is often exported as ""). */
export const isBlank = (key: Redacted.Redacted<string>): boolean => Redacted.value(key).trim() === ""

/** An `Environment` over a plain record (tests, and `process.env` via `fromRecord(process.env)`). */
export const fromRecord = (record: Readonly<Record<string, string | undefined>>): Environment => {
  const get = (name: string) => {
    const value = record[name]
    return value === undefined || value.trim() === "" ? undefined : value.trim()
  }
  return {
    get,
    secret: (name) => {
      const value = get(name)
      return value === undefined ? undefined : Redacted.make(value)
    }
  }
}

/** Every variable name resolution may read, for a `Config`-backed snapshot. */
export const variableNames = (
  file: ConfigFile.Loaded | undefined,
  plugins: ReadonlyArray<ProviderDescriptor.ProviderDescriptor> = []
): { plain: Array<string>; secret: Array<string> } => {
  const descriptors = [...builtins, ...plugins]
  const plain = new Set<string>([...Object.values(env), ...descriptors.flatMap((d) => d.env.baseUrl)])
  const secret = new Set<string>(descriptors.flatMap((d) => d.env.apiKey))
  for (const profile of Object.values(file?.profiles ?? {})) {
    if (profile.apiKeyEnv !== undefined) secret.add(profile.apiKeyEnv)
  }
  for (const reseller of file?.resellers ?? []) {
    if (reseller.apiKeyEnv !== undefined) secret.add(reseller.apiKeyEnv)
  }
  return { plain: [...plain], secret: [...secret] }
}

/** Parses `"2.50"` / `"$2.50"` as dollars. */
export const parseDollars = (text: string, what: string): Either.Either<Money.Usd, UsageError> => {
  if (!/^\$?\d+(\.\d+)?$/.test(text.trim())) {
    return Either.left(new UsageError({ message: `${what} must be a dollar amount such as 2.50, got "${text}"` }))
  }
  return Either.right(Money.usd(text))
}

/** Parses `"1/30"`, `"0.5"` as a positive scale. */
export const parseScale = (text: string, what: string): Either.Either<number, UsageError> => {
  const fraction = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)\s*$/.exec(text)
  const value = fraction === null ? Number(text) : Number(fraction[1]) / Number(fraction[2])
  return Number.isFinite(value) && value > 0
    ? Either.right(value)
    : Either.left(new UsageError({ message: `${what} must be a positive number such as 1/30 or 0.5, got "${text}"` }))
}

const units: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000 }

/** Parses `"90s"`, `"10m"`, `"1h"`, `"1500ms"` or a bare number of seconds, as milliseconds. */
export const parseTimeout = (text: string | number, what: string): Either.Either<number, UsageError> => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$/i.exec(String(text))
  const millis = match === null ? Number.NaN : Number(match[1]) * (units[(match[2] ?? "s").toLowerCase()] ?? 1000)
  return Number.isFinite(millis) && millis > 0
    ? Either.right(millis)
    : Either.left(new UsageError({ message: `${what} must be a duration such as 90s, 10m or 1h, got "${text}"` }))
}

/** Catalogs by provider id (model ids only), to pick the provider of a model named alone. */
export type Catalogs = Readonly<Record<string, ReadonlyArray<string>>>

export interface Inputs {
  readonly flags: Flags
  readonly environment: Environment
  readonly file: ConfigFile.Loaded | undefined
  /** Model ids of every provider that can be selected: built-ins, plugins and resellers. */
  readonly catalogs: Catalogs
  /** The descriptors of the file's plugins, loaded (`Plugins.load`); none when absent. */
  readonly plugins?: ReadonlyArray<ProviderDescriptor.ProviderDescriptor> | undefined
}

const first = <A>(...candidates: ReadonlyArray<Setting<A> | undefined>): Setting<A> | undefined =>
  candidates.find((candidate) => candidate !== undefined)

const setting = <A>(value: A | undefined, source: string): Setting<A> | undefined =>
  value === undefined ? undefined : { value, source }

/** Resolves the effective configuration, or says in one line what is wrong with it. */
export const resolve = (inputs: Inputs): Either.Either<Settings, UsageError | InvalidRequest> =>
  Either.gen(function* () {
    const { flags, environment, file, catalogs } = inputs
    const resellers = file?.resellers ?? []
    const plugins = inputs.plugins ?? []
    // Built-ins first, then plugins: the order a key found in the environment selects one.
    const descriptors = [...builtins, ...plugins]
    const known = [...descriptors.map((d) => d.id), ...simulatorIds, ...resellers.map((r) => r.id)]
    for (const reseller of resellers) {
      const owner = builtins.some((b) => b.id === reseller.id)
        ? "a built-in provider"
        : plugins.some((p) => p.id === reseller.id)
          ? "a plugin"
          : reseller.id.startsWith(simulatorId)
            ? "the built-in simulator"
            : undefined
      if (owner !== undefined) {
        return yield* Either.left(
          new UsageError({
            message: `${file?.path}: reseller id "${reseller.id}" is taken by ${owner}; give it another id`
          })
        )
      }
    }

    // The profile: --profile, REELAY_PROFILE, the file's defaultProfile.
    const profileName = first(
      setting(flags.profile, "--profile"),
      setting(environment.get(env.profile), env.profile),
      setting(file?.defaultProfile, `defaultProfile in ${file?.path}`)
    )
    // Own keys only: `--profile toString` names no profile, whatever every object inherits.
    const profile =
      profileName === undefined || !hasOwn(file?.profiles, profileName.value)
        ? undefined
        : file?.profiles[profileName.value]
    if (profileName !== undefined && profile === undefined) {
      const names = Object.keys(file?.profiles ?? {})
      return yield* Either.left(
        new UsageError({
          message:
            file === undefined
              ? `profile "${profileName.value}" (from ${profileName.source}) needs a ${"reelay.config.json"}, and none was found`
              : `unknown profile "${profileName.value}" (from ${profileName.source}); ${file.path} defines ${names.length === 0 ? "none" : names.join(", ")}`
        })
      )
    }
    const fromProfile = `profile "${profileName?.value}"`

    // Routes apply unless the command line or the environment chose a provider or a model itself.
    const chosenOutside = [flags.provider, flags.model, environment.get(env.provider), environment.get(env.model)]
    const routes =
      profile?.routes !== undefined && chosenOutside.every((value) => value === undefined)
        ? { value: profile.routes, source: `${fromProfile} routes` }
        : undefined
    for (const route of routes?.value ?? []) {
      if (!known.includes(route.provider)) {
        return yield* Either.left(
          new InvalidRequest({
            field: "provider",
            supported: known,
            billing: "not-charged",
            message: `unknown provider "${route.provider}" (in ${routes!.source}); available: ${known.join(", ")}`
          })
        )
      }
    }
    const model = first(
      setting(flags.model, "--model"),
      setting(environment.get(env.model), env.model),
      // A profile with routes names its first route's model only while its routes are in use.
      setting(profile?.model ?? routes?.value[0]?.model, fromProfile)
    )

    // The provider: chosen explicitly, else by the model named, else by a key in the environment,
    // else the simulator.
    const explicit = first(
      setting(flags.provider, "--provider"),
      setting(environment.get(env.provider), env.provider),
      setting(profile?.provider ?? routes?.value[0]?.provider, fromProfile)
    )
    if (explicit !== undefined && !known.includes(explicit.value)) {
      return yield* Either.left(
        new InvalidRequest({
          field: "provider",
          supported: known,
          billing: "not-charged",
          message: `unknown provider "${explicit.value}" (from ${explicit.source}); available: ${known.join(", ")}`
        })
      )
    }
    const keyOf = (descriptor: ProviderDescriptor.ProviderDescriptor) =>
      descriptor.env.apiKey.map((name) => setting(environment.secret(name), name)).find((found) => found !== undefined)
    const keyed = descriptors.find((descriptor) => keyOf(descriptor) !== undefined)
    let provider: Setting<string>
    let notice: string | undefined
    if (explicit !== undefined) {
      provider = explicit
    } else if (keyed !== undefined) {
      provider = { value: keyed.id, source: `${keyOf(keyed)!.source} is set` }
    } else {
      provider = { value: simulatorId, source: "default: no provider configured" }
      notice =
        "reelay: no provider configured; using the built-in simulator (set LAOZHANG_API_KEY or --provider to use a real one)"
    }
    // A model named alone selects the provider that has it, when the chosen one does not.
    if (explicit === undefined && model !== undefined) {
      const inSimulator = isSimulator(provider.value)
      const current = inSimulator ? simulatedBuiltin(provider.value)!.id : provider.value
      if (!(catalogs[current] ?? []).includes(model.value)) {
        const owners = Object.keys(catalogs).filter((id) => catalogs[id]!.includes(model.value))
        const owner = owners.length === 1 ? owners[0]! : undefined
        if (owner !== undefined) {
          const isBuiltin = builtins.some((b) => b.id === owner)
          provider = {
            value:
              inSimulator && isBuiltin ? (owner === builtins[0]!.id ? simulatorId : `${simulatorId}:${owner}`) : owner,
            source: `${model.source} names a model of ${owner}`
          }
        }
      }
    }

    // Per provider: base URL and key. The profile's settings apply to the profile's provider.
    // A profile with routes holds no key variable or base URL of its own (each route uses its
    // provider's own): its settings apply to no provider in particular.
    const profileProvider =
      profile?.routes !== undefined
        ? undefined
        : (profile?.provider ?? (profile === undefined ? undefined : provider.value))
    const appliesProfile = (id: string) => profile !== undefined && profileProvider === id
    const selected = provider.value
    const baseUrlFlag = (id: string) => (id === selected ? setting(flags.baseUrl, "--base-url") : undefined)
    const providers: Array<ProviderSettings> = []
    for (const descriptor of descriptors) {
      const keyEnv =
        appliesProfile(descriptor.id) && profile?.apiKeyEnv !== undefined ? [profile.apiKeyEnv] : descriptor.env.apiKey
      const apiKey = keyEnv.map((name) => setting(environment.secret(name), name)).find((found) => found !== undefined)
      const baseUrl = first(
        baseUrlFlag(descriptor.id),
        ...descriptor.env.baseUrl.map((name) => setting(environment.get(name), name)),
        appliesProfile(descriptor.id) ? setting(profile?.baseUrl, fromProfile) : undefined,
        { value: descriptor.defaultBaseUrl, source: "default" }
      )!
      const kind = plugins.includes(descriptor) ? "plugin" : "builtin"
      providers.push({ id: descriptor.id, kind, baseUrl, apiKey, apiKeyEnv: keyEnv[0] })
    }
    for (const reseller of resellers) {
      const keyEnv =
        appliesProfile(reseller.id) && profile?.apiKeyEnv !== undefined ? profile.apiKeyEnv : reseller.apiKeyEnv
      const apiKey = keyEnv === undefined ? undefined : setting(environment.secret(keyEnv), keyEnv)
      const baseUrl = first(
        baseUrlFlag(reseller.id),
        appliesProfile(reseller.id) ? setting(profile?.baseUrl, fromProfile) : undefined,
        { value: reseller.baseUrl, source: `${file?.path}` }
      )!
      providers.push({ id: reseller.id, kind: "reseller", baseUrl, apiKey, apiKeyEnv: keyEnv })
    }
    if (flags.baseUrl !== undefined && isSimulator(selected)) {
      return yield* Either.left(
        new UsageError({ message: `--base-url cannot be used with the built-in simulator (${selected})` })
      )
    }
    providers.sort((a, b) => (a.id === selected ? -1 : b.id === selected ? 1 : 0))

    // The profile's model applies only to the profile's provider: another provider has other models.
    const effectiveModel =
      model !== undefined &&
      model.source === fromProfile &&
      profileProvider !== undefined &&
      profileProvider !== selected
        ? undefined
        : model

    const maxCost = first(
      setting(flags.maxCost, "--max-cost"),
      setting(environment.get(env.maxCost), env.maxCost),
      setting(profile?.budget === undefined ? undefined : String(profile.budget), fromProfile)
    )
    const budget =
      maxCost === undefined
        ? undefined
        : { value: yield* parseDollars(maxCost.value, `the budget (${maxCost.source})`), source: maxCost.source }

    const concurrency = (stage: "submit" | "status" | "download") =>
      first(
        setting(flags.concurrency?.[stage], `--concurrency-${stage}`),
        setting(profile?.concurrency?.[stage], fromProfile)
      )

    const journalSetting = first(
      setting(flags.journal, "--journal"),
      setting(environment.get(env.journal), env.journal),
      setting(file?.journal, `${file?.path}`),
      { value: ".reelay/journal.db", source: "default" }
    )!
    const journal = { value: Redacted.make(journalSetting.value), source: journalSetting.source }

    const simulator = isSimulator(selected)
    const scaleText = first(
      setting(environment.get(env.timeScale), env.timeScale),
      setting(profile?.timeScale === undefined ? undefined : String(profile.timeScale), fromProfile)
    )
    const timeScale =
      scaleText !== undefined
        ? { value: yield* parseScale(scaleText.value, scaleText.source), source: scaleText.source }
        : simulator
          ? { value: simulatorTimeScale, source: "the built-in simulator's" }
          : { value: 1, source: "default" }

    const timeoutText = first(
      setting(flags.timeout, "--timeout"),
      setting(environment.get(env.timeout), env.timeout),
      setting(profile?.timeout === undefined ? undefined : String(profile.timeout), fromProfile)
    )
    const timeout =
      timeoutText === undefined
        ? undefined
        : {
            value: `${yield* parseTimeout(timeoutText.value, timeoutText.source)} millis` as Duration.DurationInput,
            source: timeoutText.source
          }

    return {
      configFile: file?.path,
      profile: profileName,
      provider,
      model: effectiveModel,
      routes,
      providers,
      budget,
      concurrency: { submit: concurrency("submit"), status: concurrency("status"), download: concurrency("download") },
      journal,
      timeScale,
      timeout,
      outDir: setting(profile?.outDir, fromProfile),
      allowPrivateNetworks: setting(profile?.allowPrivateNetworks, fromProfile),
      simulator,
      notice,
      resellers,
      plugins
    } satisfies Settings
  })
