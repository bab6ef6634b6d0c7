/**
 * A reseller of the `/v1/videos` protocol packaged in code: what `@reelay/provider-laozhang` and
 * `@reelay/provider-apiyi` are. The package states only its differences (id, endpoint, environment
 * variables, auth style, dialect, catalog); `define` builds the same options, configuration and
 * constructors for each.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type { ModelSpec } from "@reelay/core/ModelSpec"
import * as ProviderConfig from "@reelay/core/ProviderConfig"
import * as ProviderDescriptor from "@reelay/core/ProviderDescriptor"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as OpenAiVideos from "./OpenAiVideos.js"
import type { WireOptions } from "./Protocol.js"

/** What a packaged provider accepts in code. */
export interface Options {
  /** Absent: the provider still builds; its calls fail with `AuthenticationFailed` naming the key's variable. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** Default: the package's `defaultBaseUrl` (include `/v1`). */
  readonly baseUrl?: string | undefined
  /** The registry id (default: the package's `providerId`). */
  readonly id?: string | undefined
  /** Default: the catalog's default model. */
  readonly defaultModel?: string | undefined
}

/** A packaged provider's differences. */
export interface Definition {
  readonly providerId: string
  readonly defaultBaseUrl: string
  /** The variables `makeConfig` / `layerConfig` read. */
  readonly env: { readonly apiKey: string; readonly baseUrl: string }
  readonly auth: OpenAiVideos.AuthOption
  readonly wire: WireOptions
  readonly models: ReadonlyArray<ModelSpec>
  readonly defaultModel: string
  /** Models that refuse a request without a first-frame image. */
  readonly imageRequired: ReadonlyArray<string>
  /** The span name prefix (`"Laozhang"` gives `Laozhang.submit`). */
  readonly spanPrefix: string
  /** The built-in simulator's host that speaks this protocol, if one does (`ProviderDescriptor`). */
  readonly simulatorHost?: "laozhang" | "apiyi" | undefined
}

/**
 * `config` (the `OpenAiVideos` configuration for some options), `make` (the provider, configured in
 * code; needs only an `HttpClient`), `layer` / `makeConfig` / `layerConfig` (the key and base URL
 * from the definition's variables unless the options give them; a missing key does not fail
 * construction), and `descriptor`, what the tools that load the package build it from.
 */
export const define = (definition: Definition) => {
  const config = (options: Options = {}): OpenAiVideos.Config => ({
    id: options.id ?? definition.providerId,
    baseUrl: options.baseUrl ?? definition.defaultBaseUrl,
    apiKey: options.apiKey,
    apiKeyHint: `set ${definition.env.apiKey}`,
    auth: definition.auth,
    wire: definition.wire,
    models: definition.models,
    defaultModel: options.defaultModel ?? definition.defaultModel,
    imageRequired: definition.imageRequired,
    spanPrefix: definition.spanPrefix
  })
  const make = (options: Options = {}): Effect.Effect<VideoProvider.AsyncVideoProvider, never, HttpClient.HttpClient> =>
    OpenAiVideos.make(config(options))
  const descriptor: ProviderDescriptor.ProviderDescriptor = ProviderDescriptor.make({
    id: definition.providerId,
    mode: "async",
    env: { apiKey: [definition.env.apiKey], baseUrl: [definition.env.baseUrl] },
    defaultBaseUrl: definition.defaultBaseUrl,
    models: definition.models,
    build: make,
    simulatorHost: definition.simulatorHost
  })
  return {
    config,
    make,
    descriptor,
    ...ProviderConfig.constructors(make, { apiKey: [definition.env.apiKey], baseUrl: definition.env.baseUrl })
  }
}
