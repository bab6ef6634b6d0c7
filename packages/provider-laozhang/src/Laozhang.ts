/**
 * laozhang.ai's async Veo 3.1 API as a reelay provider: `POST /v1/videos` (JSON), poll
 * `GET /v1/videos/{id}` (`queued → processing → completed | failed`), then
 * `GET /v1/videos/{id}/content` for a CDN URL valid about 24 hours. `Authorization: Bearer <key>`.
 * Charged only when a video is generated.
 *
 * @example
 * ```ts
 * import { Laozhang } from "@reelay/provider-laozhang"
 * import { ProviderRegistry } from "@reelay/core"
 *
 * // Key from LAOZHANG_API_KEY, base URL from LAOZHANG_BASE_URL (default https://api.laozhang.ai/v1).
 * const registry = ProviderRegistry.layer([Laozhang.makeConfig()])
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as VideoProvider from "@reelay/core/VideoProvider"
import * as OpenAiVideos from "@reelay/openai-videos/OpenAiVideos"
import { WireOptions } from "@reelay/openai-videos/Protocol"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as LaozhangCatalog from "./LaozhangCatalog.js"

/** The registry id. */
export const providerId = "laozhang"

/** The page's endpoint. */
export const defaultBaseUrl = "https://api.laozhang.ai/v1"

/** Environment variables read by `makeConfig` / `layerConfig`. */
export const env = { apiKey: "LAOZHANG_API_KEY", baseUrl: "LAOZHANG_BASE_URL" } as const

/** The catalog. */
export const models = LaozhangCatalog.models

/**
 * The dialect: JSON creates (multipart only when frames are uploaded as files), `id`, `processing`,
 * JSON content with a CDN `url`.
 */
export const wire = new WireOptions({
  createEncoding: "json-or-multipart",
  idField: "id",
  runningStatus: "processing",
  content: "url",
  statusPath: "videos"
})

export interface Options {
  /** Absent: the provider still builds; its calls fail with `AuthenticationFailed` naming `LAOZHANG_API_KEY`. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** Default `https://api.laozhang.ai/v1`. */
  readonly baseUrl?: string | undefined
  /** The registry id (default `"laozhang"`). */
  readonly id?: string | undefined
  /** Default `veo-3.1`. */
  readonly defaultModel?: string | undefined
}

/** The `OpenAiVideos` configuration for `options`. */
export const config = (options: Options = {}): OpenAiVideos.Config => ({
  id: options.id ?? providerId,
  baseUrl: options.baseUrl ?? defaultBaseUrl,
  apiKey: options.apiKey,
  apiKeyHint: `set ${env.apiKey}`,
  auth: "bearer",
  wire,
  models,
  defaultModel: options.defaultModel ?? LaozhangCatalog.defaultModel,
  imageRequired: LaozhangCatalog.frameModels,
  spanPrefix: "Laozhang"
})

/** The provider, configured in code. Needs only an `HttpClient`. */
export const make = (
  options: Options = {}
): Effect.Effect<VideoProvider.AsyncVideoProvider, never, HttpClient.HttpClient> => OpenAiVideos.make(config(options))

/** `make` as the `VideoProvider` service. */
export const layer = (options: Options = {}): Layer.Layer<VideoProvider.VideoProvider, never, HttpClient.HttpClient> =>
  Layer.effect(VideoProvider.VideoProvider, make(options))

/** A non-blank value of an optional variable. */
const optional = <A>(config: Config.Config<A>, isBlank: (a: A) => boolean) =>
  Effect.map(Config.option(config), (value) => Option.getOrUndefined(Option.filter(value, (a) => !isBlank(a))))

/**
 * The provider from the environment: `LAOZHANG_API_KEY`, `LAOZHANG_BASE_URL`; `options` win over
 * both. A missing key does not fail here (a registry may list providers whose keys are absent).
 */
export const makeConfig = (
  options: Options = {}
): Effect.Effect<VideoProvider.AsyncVideoProvider, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const apiKey =
      options.apiKey ?? (yield* optional(Config.redacted(env.apiKey), (key) => Redacted.value(key).trim() === ""))
    const baseUrl = options.baseUrl ?? (yield* optional(Config.string(env.baseUrl), (url) => url.trim() === ""))
    return yield* make({ ...options, apiKey, baseUrl })
  })

/** `makeConfig` as the `VideoProvider` service. */
export const layerConfig = (
  options: Options = {}
): Layer.Layer<VideoProvider.VideoProvider, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(VideoProvider.VideoProvider, makeConfig(options))
