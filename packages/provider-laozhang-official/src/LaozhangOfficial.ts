/**
 * laozhang.ai's Veo 3.1 official forward as a reelay provider: `POST /v1/videos` as
 * `multipart/form-data` (`seconds`, `duration`, `size`, `resolution`, `aspectRatio`, `metadata`,
 * `negativePrompt`, `seed`, `input_reference`), poll `GET /v1/videos/{id}` (or the compatibility path
 * `/v1/video/generations/{id}`; `queued → in_progress → completed | failed`), then
 * `GET /v1/videos/{id}/content` returns the MP4 bytes on the API origin, key required.
 * `Authorization: Bearer <key>`; charged for every accepted create.
 *
 * A generic request is mapped onto the page's documented combinations: the size, resolution and
 * aspect ratio are always sent together and agree; `seconds` and `duration` are equal; 4k carries
 * the metadata JSON the page requires; 1080p and 4k are refused locally unless they are 8 s.
 *
 * @example
 * ```ts
 * import { LaozhangOfficial } from "@reelay/provider-laozhang-official"
 *
 * // Key from LAOZHANG_OFFICIAL_API_KEY (else LAOZHANG_API_KEY), base URL from LAOZHANG_BASE_URL.
 * const provider = LaozhangOfficial.layerConfig()
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as ProviderConfig from "@reelay/core/ProviderConfig"
import { InvalidRequest } from "@reelay/core/VideoError"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as CreateRequest from "@reelay/openai-videos/CreateRequest"
import * as OpenAiVideos from "@reelay/openai-videos/OpenAiVideos"
import { WireOptions } from "@reelay/openai-videos/Protocol"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import * as LaozhangOfficialCatalog from "./LaozhangOfficialCatalog.js"

/** The registry id. */
export const providerId = "laozhang-official"

/** The page's host (the official forward shares laozhang's API host). */
export const defaultBaseUrl = "https://api.laozhang.ai/v1"

/**
 * Environment variables read by `makeConfig` / `layerConfig`: the dedicated token the page
 * recommends ("create a dedicated token … Pay-per-request"), else the general laozhang key.
 */
export const env = {
  apiKey: "LAOZHANG_OFFICIAL_API_KEY",
  fallbackApiKey: "LAOZHANG_API_KEY",
  baseUrl: "LAOZHANG_BASE_URL"
} as const

/** The catalog. */
export const models = LaozhangOfficialCatalog.models

/** The metadata the page requires on 4k requests, verbatim. */
export const metadata4k = JSON.stringify({ durationSeconds: 8, resolution: "4k", aspectRatio: "16:9" })

/**
 * The dialect: multipart creates with every documented parameter, `task_id` (the page: "save the
 * id or task_id"; `id` is read when it is missing), `in_progress`, MP4 bytes from `/content`.
 */
export const wire = (options: { readonly compatibilityStatusPath?: boolean | undefined } = {}) =>
  new WireOptions({
    createEncoding: "multipart",
    idField: "task_id",
    runningStatus: "in_progress",
    content: "bytes",
    statusPath: options.compatibilityStatusPath === true ? "video-generations" : "videos",
    parameters: ["seconds", "duration", "size", "resolution", "aspectRatio", "negativePrompt", "seed"]
  })

/** Fields beyond the protocol parameters: the 4k `metadata`. */
export const extraFields = (input: VideoProvider.SubmitInput): ReadonlyArray<readonly [string, string]> =>
  CreateRequest.outputOf(input.model, input.request).resolution === "4k" ? [["metadata", metadata4k]] : []

/**
 * The page's rules the catalog cannot express, for the provider registered as `id`: 1080p and 4k
 * need 8 seconds. A 4k image-to-video request gets a warning, since the page asks for a 16:9
 * reference image and reelay does not measure images.
 */
export const makeCheck =
  (id: string): NonNullable<VideoProvider.AsyncVideoProvider["check"]> =>
  (input) => {
    const output = CreateRequest.outputOf(input.model, input.request)
    if (output.resolution !== "720p" && output.seconds !== 8) {
      return Effect.fail(
        new InvalidRequest({
          provider: id,
          field: "seconds",
          supported: ["8"],
          billing: "not-charged",
          message: `${output.resolution} (${output.size}) requires 8-second videos on ${input.model.id}; ${output.seconds} s is available at 720p only`
        })
      )
    }
    const warnings =
      output.resolution === "4k" && input.request.images.length > 0
        ? ["4k image-to-video expects a 16:9 reference image; the image's shape is not checked"]
        : []
    return Effect.succeed(warnings)
  }

/** `makeCheck` for the default registry id. */
export const check = makeCheck(providerId)

export interface Options {
  /**
   * Absent: the provider still builds; its calls fail with `AuthenticationFailed` naming
   * `LAOZHANG_OFFICIAL_API_KEY`.
   */
  readonly apiKey?: Redacted.Redacted<string> | undefined
  /** Default `https://api.laozhang.ai/v1`. */
  readonly baseUrl?: string | undefined
  /** The registry id (default `"laozhang-official"`). */
  readonly id?: string | undefined
  /** Default `veo-3.1-fast-generate-preview`. */
  readonly defaultModel?: string | undefined
  /** Poll the compatibility path `/v1/video/generations/{id}` instead of `/v1/videos/{id}` (default false). */
  readonly compatibilityStatusPath?: boolean | undefined
}

/** The `OpenAiVideos` configuration for `options`. */
export const config = (options: Options = {}): OpenAiVideos.Config => {
  const id = options.id ?? providerId
  return {
    id,
    baseUrl: options.baseUrl ?? defaultBaseUrl,
    apiKey: options.apiKey,
    apiKeyHint: `set ${env.apiKey} (or ${env.fallbackApiKey})`,
    auth: "bearer",
    wire: wire(options),
    models,
    defaultModel: options.defaultModel ?? LaozhangOfficialCatalog.defaultModel,
    extraFields,
    check: makeCheck(id),
    spanPrefix: "LaozhangOfficial"
  }
}

/** The provider, configured in code. Needs only an `HttpClient`. */
export const make = (
  options: Options = {}
): Effect.Effect<VideoProvider.AsyncVideoProvider, never, HttpClient.HttpClient> => OpenAiVideos.make(config(options))

/**
 * `layer`, and `makeConfig` / `layerConfig`: the key from `LAOZHANG_OFFICIAL_API_KEY` (else
 * `LAOZHANG_API_KEY`) and the base URL from `LAOZHANG_BASE_URL` unless `options` give them. A
 * missing key does not fail construction.
 */
export const { layer, makeConfig, layerConfig } = ProviderConfig.constructors(make, {
  apiKey: [env.apiKey, env.fallbackApiKey],
  baseUrl: env.baseUrl
})
