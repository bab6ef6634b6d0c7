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
import * as Packaged from "@reelay/openai-videos/Packaged"
import * as Protocol from "@reelay/openai-videos/Protocol"
import * as ApiyiCatalog from "./ApiyiCatalog.js"

/** The registry id. */
export const providerId = "apiyi"

/** The page's endpoint, with `/v1` (its Python sample's base URL leaves it out and adds it per call). */
export const defaultBaseUrl = "https://api.apiyi.com/v1"

/** Environment variables read by `makeConfig` / `layerConfig`. */
export const env = { apiKey: "APIYI_API_KEY", baseUrl: "APIYI_BASE_URL" } as const

/** The catalog. */
export const models = ApiyiCatalog.models

/**
 * The dialect: `Protocol.asyncDialect`, the one laozhang and apiyi share (JSON creates, multipart to
 * upload frames; `id`; `processing`; JSON content with a CDN `url`).
 */
export const wire = Protocol.asyncDialect

/** What the provider accepts in code: key, base URL, registry id, default model. */
export type Options = Packaged.Options

/**
 * `config` (the `OpenAiVideos` configuration for some options), `make` (the provider, configured in
 * code; needs only an `HttpClient`), and `layer` / `makeConfig` / `layerConfig`: the key from
 * `APIYI_API_KEY` and the base URL from `APIYI_BASE_URL` unless the options give them. A
 * missing key does not fail construction. `descriptor`: what the tools that load this package build
 * it from (`@reelay/core/ProviderDescriptor`).
 */
export const { config, make, layer, makeConfig, layerConfig, descriptor } = Packaged.define({
  providerId,
  defaultBaseUrl,
  env,
  // "Authorization: sk-APIKEY": the raw key, which `Authorization` redaction covers in logs.
  auth: "raw",
  wire,
  models,
  defaultModel: ApiyiCatalog.defaultModel,
  imageRequired: ApiyiCatalog.frameModels,
  spanPrefix: "Apiyi",
  simulatorHost: "apiyi"
})
