/**
 * The providers a command can use, built from the settings: the four built-ins and the plugins of
 * `reelay.config.json` (each with its key and base URL), the resellers it defines, and, when the built-in simulator runs,
 * every built-in again under `simulator:<id>` pointed at it (`simulator` is `simulator:laozhang`).
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type { ModelSpec } from "@reelay/core/ModelSpec"
import type * as ProviderDescriptor from "@reelay/core/ProviderDescriptor"
import * as ProviderRegistry from "@reelay/core/ProviderRegistry"
import { AuthenticationFailed, InvalidRequest } from "@reelay/core/VideoError"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as Reseller from "@reelay/openai-videos/Reseller"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { UsageError } from "./ConfigError.js"
import * as Settings from "./Settings.js"

/** The key the simulator's providers send: any key is valid there. */
export const simulatorKey = Redacted.make("sk-reelay-simulator")

/** The simulator's API base URLs, per host. */
export interface SimulatorUrls {
  readonly laozhang: string
  readonly apiyi: string
}

/** Model ids per provider id (built-ins, plugins and resellers), for settings resolution. */
export const catalogs = (
  resellers: ReadonlyArray<Reseller.Reseller>,
  plugins: ReadonlyArray<ProviderDescriptor.ProviderDescriptor> = []
): Settings.Catalogs => ({
  ...Object.fromEntries(
    [...Settings.builtins, ...plugins].map((descriptor) => [descriptor.id, descriptor.models.map((model) => model.id)])
  ),
  ...Object.fromEntries(resellers.map((reseller) => [reseller.id, reseller.models.map((model) => model.id)]))
})

/** Every provider's catalog, for `reelay models`: built-ins first, then plugins, then resellers. */
export const listing = (
  settings: Settings.Settings
): ReadonlyArray<{
  readonly id: string
  readonly mode: "async" | "streaming"
  readonly baseUrl: string
  readonly models: ReadonlyArray<ModelSpec>
}> => [
  ...descriptorsOf(settings).map((descriptor) => ({
    id: descriptor.id,
    mode: descriptor.mode,
    baseUrl: settings.providers.find((p) => p.id === descriptor.id)?.baseUrl.value ?? descriptor.defaultBaseUrl,
    models: descriptor.models
  })),
  ...settings.resellers.map((reseller) => ({
    id: reseller.id,
    mode: "async" as const,
    baseUrl: settings.providers.find((p) => p.id === reseller.id)?.baseUrl.value ?? reseller.baseUrl,
    models: Reseller.models(reseller)
  }))
]

/** The listing entry of provider `id`; a simulator id finds the built-in it runs (`simulator` → laozhang). */
export const listed = (settings: Settings.Settings, id: string): ReturnType<typeof listing>[number] | undefined => {
  const wanted = Settings.simulatedBuiltin(id)?.id ?? id
  return listing(settings).find((provider) => provider.id === wanted)
}

/** The descriptors `settings` can build from: the built-ins, then the configuration file's plugins. */
export const descriptorsOf = (settings: Settings.Settings): ReadonlyArray<ProviderDescriptor.ProviderDescriptor> => [
  ...Settings.builtins,
  ...settings.plugins
]

/** The registry for `settings`; `simulator` holds the in-process simulator's URLs when it runs. */
export const registry = (
  settings: Settings.Settings,
  simulator: SimulatorUrls | undefined
): Effect.Effect<ProviderRegistry.Service, InvalidRequest, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const providers: Array<VideoProvider.Service> = []
    for (const provider of settings.providers) {
      const options = { id: provider.id, baseUrl: provider.baseUrl.value, apiKey: provider.apiKey?.value }
      const descriptor = descriptorsOf(settings).find((d) => d.id === provider.id)
      if (descriptor !== undefined) {
        providers.push(yield* descriptor.build(options))
      } else {
        const reseller = settings.resellers.find((r) => r.id === provider.id)!
        providers.push(yield* Reseller.make(reseller, { apiKey: options.apiKey, baseUrl: options.baseUrl }))
      }
    }
    if (simulator !== undefined) {
      for (const id of Settings.simulatorIds) {
        const builtin = Settings.simulatedBuiltin(id)!
        const baseUrl = builtin.simulatorHost === "apiyi" ? simulator.apiyi : simulator.laozhang
        providers.push(yield* builtin.build({ id, baseUrl, apiKey: simulatorKey }))
      }
    }
    return yield* ProviderRegistry.make(providers, { defaultProvider: settings.provider.value })
  })

/**
 * A key that cannot travel in an HTTP header: a line break (a key pasted from a file with CRLF line
 * ends) or another control character. Sent, it would fail inside the first create, where nobody can
 * tell whether anything reached the provider (`UncertainSubmission`); refused here, it costs nothing.
 */
export const unsendableKey = (key: Redacted.Redacted<string>): boolean =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this looks for
  /[\u0000-\u0008\u000a-\u001f\u007f]/.test(Redacted.value(key))

/**
 * Fails with `AuthenticationFailed` naming the variable to set when `providerId` has no key: the
 * providers would refuse at submit anyway, but by then the journal would hold a batch. A key that
 * cannot be sent (`unsendableKey`) is a `UsageError` naming its variable, never the key.
 */
export const requireKey = (
  settings: Settings.Settings,
  providerId: string
): Effect.Effect<void, AuthenticationFailed | InvalidRequest | UsageError> => {
  if (Settings.isSimulator(providerId)) return Effect.void
  const provider = settings.providers.find((p) => p.id === providerId)
  if (provider === undefined) {
    const known = [...settings.providers.map((p) => p.id), ...Settings.simulatorIds]
    return Effect.fail(
      new InvalidRequest({
        field: "provider",
        supported: known,
        billing: "not-charged",
        message: `unknown provider "${providerId}" (available: ${known.join(", ")})`
      })
    )
  }
  if (provider.apiKey !== undefined) {
    if (!unsendableKey(provider.apiKey.value)) return Effect.void
    return Effect.fail(
      new UsageError({
        message: `the key in ${provider.apiKey.source} (for ${provider.id}) holds a line break or another control character, which an HTTP header cannot carry; set it to the key alone. Nothing was sent`
      })
    )
  }
  return Effect.fail(
    new AuthenticationFailed({
      provider: provider.id,
      billing: "not-charged",
      message:
        provider.apiKeyEnv === undefined
          ? `${provider.id} has no API key: its definition in ${settings.configFile} names no apiKeyEnv; nothing was sent`
          : `${provider.id} has no API key: set ${provider.apiKeyEnv}; nothing was sent`
    })
  )
}
