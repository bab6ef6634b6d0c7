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
import * as ProviderConfig from "@reelay/core/ProviderConfig"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as OpenAiVideos from "@reelay/openai-videos/OpenAiVideos"
import { WireOptions } from "@reelay/openai-videos/Protocol"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
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

/**
 * `layer`, and `makeConfig` / `layerConfig`: the key from `LAOZHANG_API_KEY` and the base URL from
 * `LAOZHANG_BASE_URL` unless `options` give them. A missing key does not fail construction.
 */
export const { layer, makeConfig, layerConfig } = ProviderConfig.constructors(make, {
  apiKey: [env.apiKey],
  baseUrl: env.baseUrl
})
