/**
 * apiyi.com's Veo 3.1 async API as a reelay provider: `POST /v1/videos` (JSON for text,
 * `multipart/form-data` with one or two `input_reference` files for `-fl` models), poll
 * `GET /v1/videos/{id}` (`queued → processing → completed | failed`), then
 * `GET /v1/videos/{id}/content` for a CDN URL valid about 24 hours. The key is sent raw:
 * `Authorization: <key>`, no `Bearer`. "Pay on success".
 *
 * @example
 * ```ts
 * import { Apiyi } from "@reelay/provider-apiyi"
 *
 * // Key from APIYI_API_KEY, base URL from APIYI_BASE_URL (default https://api.apiyi.com/v1).
 * const provider = Apiyi.layerConfig()
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
import * as ApiyiCatalog from "./ApiyiCatalog.js"

/** The registry id. */
export const providerId = "apiyi"

/** The page's endpoint, with `/v1` (its Python sample's base URL leaves it out and adds it per call). */
export const defaultBaseUrl = "https://api.apiyi.com/v1"

/** Environment variables read by `makeConfig` / `layerConfig`. */
export const env = { apiKey: "APIYI_API_KEY", baseUrl: "APIYI_BASE_URL" } as const

/** The catalog. */
export const models = ApiyiCatalog.models

/** The dialect: JSON creates (multipart to upload frames), `id`, `processing`, JSON content with a CDN `url`. */
export const wire = new WireOptions({
  createEncoding: "json-or-multipart",
  idField: "id",
  runningStatus: "processing",
  content: "url",
  statusPath: "videos"
})

export interface Options {
  /** Absent: the provider still builds; its calls fail with `AuthenticationFailed` naming `APIYI_API_KEY`. */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** Default `https://api.apiyi.com/v1` (include `/v1`). */
  readonly baseUrl?: string | undefined
  /** The registry id (default `"apiyi"`). */
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
  // "Authorization: sk-APIKEY": the raw key, which `Authorization` redaction covers in logs.
  auth: "raw",
  wire,
  models,
  defaultModel: options.defaultModel ?? ApiyiCatalog.defaultModel,
  imageRequired: ApiyiCatalog.frameModels,
  spanPrefix: "Apiyi"
})

/** The provider, configured in code. Needs only an `HttpClient`. */
export const make = (
  options: Options = {}
): Effect.Effect<VideoProvider.AsyncVideoProvider, never, HttpClient.HttpClient> => OpenAiVideos.make(config(options))

/**
 * `layer`, and `makeConfig` / `layerConfig`: the key from `APIYI_API_KEY` and the base URL from
 * `APIYI_BASE_URL` unless `options` give them. A missing key does not fail construction.
 */
export const { layer, makeConfig, layerConfig } = ProviderConfig.constructors(make, {
  apiKey: [env.apiKey],
  baseUrl: env.baseUrl
})
