/**
 * laozhang.ai's async Veo 3.1 API as a reelay provider: `POST /v1/videos` (JSON, or multipart with
 * the frames of `-fl` models, image URLs downloaded by reelay and uploaded), poll
 * `GET /v1/videos/{id}` (`queued → processing → completed | failed`), then
 * `GET /v1/videos/{id}/content` for a CDN URL valid about 24 hours (unless the completed status
 * already carries it as `video_url` or `url`). `Authorization: Bearer <key>`.
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
import * as Packaged from "@reelay/openai-videos/Packaged"
import * as Protocol from "@reelay/openai-videos/Protocol"
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
 * The dialect: the async one laozhang and apiyi share (JSON creates, multipart to upload frames;
 * `id`; `processing`; JSON content with a CDN `url`), except that image URLs are downloaded by reelay
 * and uploaded (`urlImages: "upload"`): laozhang's published async examples say image-to-video on
 * `/v1/videos` takes only a multipart `input_reference` upload, not an image URL (see the README).
 */
export const wire: Protocol.WireOptions = new Protocol.WireOptions({ ...Protocol.asyncDialect, urlImages: "upload" })

/** What the provider accepts in code: key, base URL, registry id, default model. */
export type Options = Packaged.Options

/**
 * `config` (the `OpenAiVideos` configuration for some options), `make` (the provider, configured in
 * code; needs only an `HttpClient`), and `layer` / `makeConfig` / `layerConfig`: the key from
 * `LAOZHANG_API_KEY` and the base URL from `LAOZHANG_BASE_URL` unless the options give them. A
 * missing key does not fail construction. `descriptor`: what the tools that load this package build
 * it from (`@reelay/core/ProviderDescriptor`).
 */
export const { config, make, layer, makeConfig, layerConfig, descriptor } = Packaged.define({
  providerId,
  defaultBaseUrl,
  env,
  auth: "bearer",
  wire,
  models,
  defaultModel: LaozhangCatalog.defaultModel,
  imageRequired: LaozhangCatalog.frameModels,
  spanPrefix: "Laozhang",
  simulatorHost: "laozhang"
})
