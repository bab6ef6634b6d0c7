/**
 * The effective settings of a command: reads `reelay.config.json`, takes a snapshot of the
 * environment through Effect's `Config` (keys read as `Redacted`, never as strings), and resolves
 * them with the flags (`Settings.resolve`).
 *
 * @since 0.1.0
 */
import type * as ProviderDescriptor from "@reelay/core/ProviderDescriptor"
import type { InvalidRequest } from "@reelay/core/VideoError"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { ConfigFileError, UsageError } from "./ConfigError.js"
import * as ConfigFile from "./ConfigFile.js"
import * as Plugins from "./Plugins.js"
import * as Providers from "./Providers.js"
import * as Settings from "./Settings.js"

/** The flags every command shares, with those that take part in resolution. */
export interface Flags extends Settings.Flags {
  readonly config?: string | undefined
}

/** The environment as Effect's `Config` sees it, for the names resolution may read. */
export const environment = (
  file: ConfigFile.Loaded | undefined,
  plugins: ReadonlyArray<ProviderDescriptor.ProviderDescriptor> = []
): Effect.Effect<Settings.Environment> =>
  Effect.gen(function* () {
    const names = Settings.variableNames(file, plugins)
    const plain = new Map<string, string>()
    const secrets = new Map<string, Redacted.Redacted<string>>()
    for (const name of names.plain) {
      const value = yield* Config.option(Config.string(name)).pipe(Effect.orElseSucceed(() => Option.none()))
      if (Option.isSome(value) && value.value.trim() !== "") plain.set(name, value.value.trim())
    }
    for (const name of names.secret) {
      const value = yield* Config.option(Config.redacted(name)).pipe(Effect.orElseSucceed(() => Option.none()))
      // Spaces and line ends around a key are never part of it (a `.env` file with CRLF line ends
      // leaves a "\r"), as `Settings.fromRecord` reads them; one inside it is refused before sending.
      if (Option.isSome(value)) secrets.set(name, Redacted.make(Redacted.value(value.value).trim()))
    }
    // A blank key (`export LAOZHANG_API_KEY=`) is no key.
    const blank = (key: Redacted.Redacted<string>) => Settings.isBlank(key)
    return {
      get: (name) => plain.get(name),
      secret: (name) => {
        const key = secrets.get(name)
        return key === undefined || blank(key) ? undefined : key
      }
    }
  })

/** Loads the configuration file named by `--config` / `REELAY_CONFIG` (or `./reelay.config.json`). */
export const file = (flags: Flags): Effect.Effect<ConfigFile.Loaded | undefined, ConfigFileError> =>
  Effect.gen(function* () {
    const fromEnv = yield* Config.option(Config.string(Settings.env.config)).pipe(
      Effect.orElseSucceed(() => Option.none())
    )
    const explicit = flags.config ?? Option.getOrUndefined(Option.filter(fromEnv, (path) => path.trim() !== ""))
    return yield* ConfigFile.load(explicit, process.cwd())
  })

/** The plugins `file` names (Node caches each module: settings resolved twice import a plugin once). */
const loadPlugins = (
  loaded: ConfigFile.Loaded
): Effect.Effect<ReadonlyArray<ProviderDescriptor.ProviderDescriptor>, ConfigFileError> =>
  loaded.plugins.length === 0
    ? Effect.succeed([])
    : Plugins.load(loaded, [
        ...Settings.builtins.map((builtin) => ({ id: builtin.id, what: "a built-in provider" })),
        ...loaded.resellers.map((reseller) => ({ id: reseller.id, what: "a reseller of the file" }))
      ])

/** The settings for `flags`, with the configuration file's plugins loaded. */
export const settings = (
  flags: Flags,
  options: {
    /**
     * Variables read as unset: a server resolving settings for others (the gateway's tenants) must
     * not take its operator's `REELAY_PROVIDER`, say, for theirs.
     */
    readonly ignore?: ReadonlyArray<string> | undefined
  } = {}
): Effect.Effect<Settings.Settings, UsageError | ConfigFileError | InvalidRequest> =>
  Effect.gen(function* () {
    const loaded = yield* file(flags)
    const plugins = loaded === undefined ? [] : yield* loadPlugins(loaded)
    const read = yield* environment(loaded, plugins)
    const ignored = new Set(options.ignore ?? [])
    const env: Settings.Environment =
      ignored.size === 0
        ? read
        : {
            get: (name) => (ignored.has(name) ? undefined : read.get(name)),
            secret: (name) => (ignored.has(name) ? undefined : read.secret(name))
          }
    return yield* Either.match(
      Settings.resolve({
        flags,
        environment: env,
        file: loaded,
        plugins,
        catalogs: Providers.catalogs(loaded?.resellers ?? [], plugins)
      }),
      { onLeft: Effect.fail, onRight: Effect.succeed }
    )
  })

/** `Option` flags as `undefined`, for `Settings.Flags`. */
export const opt = <A>(option: Option.Option<A>): A | undefined => Option.getOrUndefined(option)
