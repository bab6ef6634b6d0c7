/**
 * The constructors every HTTP provider package exports, built once from its `make`: the provider
 * as a `VideoProvider` layer, and both again with the key and base URL read from the environment.
 *
 * The rules are the same for every provider, so they live here: options given in code win over the
 * environment; a blank variable counts as unset; several key variables may be named, the first one
 * set wins (a dedicated token before a shared one); and a missing key never fails construction,
 * because a registry may hold providers nobody uses: the provider's `submit` refuses instead, before
 * sending anything, naming the variable to set.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as VideoProvider from "./VideoProvider.js"

/** What connects a provider to its vendor: the key and the API's base URL. */
export interface Connection {
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly baseUrl?: string | undefined
}

/** The environment variables a provider reads. */
export interface Variables {
  /** Key variables, in order of preference: the first one set (and not blank) wins. */
  readonly apiKey: ReadonlyArray<string>
  readonly baseUrl: string
}

/** A variable's value, `undefined` when unset or blank. */
const present = <A>(config: Config.Config<A>, isBlank: (value: A) => boolean) =>
  Effect.map(Config.option(config), (value) => Option.getOrUndefined(Option.filter(value, (a) => !isBlank(a))))

/** Reads the key and base URL from the environment (the current `ConfigProvider`). */
export const fromEnvironment = (variables: Variables): Effect.Effect<Connection, ConfigError.ConfigError> =>
  Effect.gen(function* () {
    let apiKey: Redacted.Redacted<string> | undefined
    for (const name of variables.apiKey) {
      apiKey = yield* present(Config.redacted(name), (key) => Redacted.value(key).trim() === "")
      if (apiKey !== undefined) break
    }
    const baseUrl = yield* present(Config.string(variables.baseUrl), (url) => url.trim() === "")
    return { apiKey, baseUrl }
  })

/** A provider package's constructors besides `make`. */
/**
 * A provider's options where any field may be an Effect `Config` instead of a value, read when the
 * provider is made (as Effect's own provider packages take them):
 * `Laozhang.layerConfig({ apiKey: Config.redacted("TEAM_LAOZHANG_KEY") })`.
 */
export type Configurable<Options> = {
  readonly [K in keyof Options]?: Options[K] | Config.Config<Exclude<Options[K], undefined>>
}

/** `options` with every `Config` field read. */
export const resolve = <Options>(
  options: Configurable<Options> | undefined
): Effect.Effect<Partial<Options>, ConfigError.ConfigError> =>
  Effect.gen(function* () {
    const resolved: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(options ?? {})) {
      resolved[name] = Config.isConfig(value) ? yield* value : value
    }
    return resolved as Partial<Options>
  })

export interface Constructors<Options extends Connection, P extends VideoProvider.Service> {
  /** `make` as the `VideoProvider` service. */
  readonly layer: (options?: Options) => Layer.Layer<VideoProvider.VideoProvider, never, HttpClient.HttpClient>
  /**
   * `make`, with the key and base URL from the environment unless `options` give them. Any option may
   * be an Effect `Config` (`Configurable`), read when the provider is made.
   */
  readonly makeConfig: (
    options?: Configurable<Options>
  ) => Effect.Effect<P, ConfigError.ConfigError, HttpClient.HttpClient>
  /** `makeConfig` as the `VideoProvider` service. */
  readonly layerConfig: (
    options?: Configurable<Options>
  ) => Layer.Layer<VideoProvider.VideoProvider, ConfigError.ConfigError, HttpClient.HttpClient>
}

/** Derives `layer`, `makeConfig` and `layerConfig` from a provider's `make` and its variables. */
export const constructors = <Options extends Connection, P extends VideoProvider.Service>(
  make: (options?: Options) => Effect.Effect<P, never, HttpClient.HttpClient>,
  variables: Variables
): Constructors<Options, P> => {
  const makeConfig = (configurable?: Configurable<Options>) =>
    Effect.gen(function* () {
      const options = yield* resolve(configurable)
      const environment = yield* fromEnvironment(variables)
      return yield* make({
        ...options,
        apiKey: options.apiKey ?? environment.apiKey,
        baseUrl: options.baseUrl ?? environment.baseUrl
      } as Options)
    })
  return {
    layer: (options) => Layer.effect(VideoProvider.VideoProvider, make(options)),
    makeConfig,
    layerConfig: (options) => Layer.effect(VideoProvider.VideoProvider, makeConfig(options))
  }
}
