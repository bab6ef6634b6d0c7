/**
 * A reseller defined in configuration alone. Any vendor that speaks the `/v1/videos` protocol can
 * be added without code: its base URL, how its key travels (and which environment variable holds
 * it), its dialect, its model catalog with capabilities and exact prices, its charge policy and its
 * typical generation times. `fromConfig` turns such a definition (say, a `providers` entry of
 * `reelay.config.json`) into a provider.
 *
 * @example
 * ```json
 * {
 *   "id": "acme",
 *   "baseUrl": "https://api.acme.example/v1",
 *   "apiKeyEnv": "ACME_API_KEY",
 *   "auth": "raw",
 *   "chargePolicy": "on-success",
 *   "models": [
 *     {
 *       "id": "veo-3.1-fast",
 *       "price": "0.15",
 *       "capabilities": {
 *         "aspectRatios": ["9:16"], "resolutions": ["720p"], "durations": [8], "sizes": ["720x1280"],
 *         "imageInput": "none", "audio": true
 *       },
 *       "generationTime": { "typicalSeconds": 45, "minSeconds": 30, "maxSeconds": 60 }
 *     }
 *   ]
 * }
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { ChargePolicy } from "@reelay/core/Billing"
import { GenerationTime, ModelCapabilities, ModelSpec } from "@reelay/core/ModelSpec"
import { Usd } from "@reelay/core/Money"
import * as VideoProvider from "@reelay/core/VideoProvider"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as OpenAiVideos from "./OpenAiVideos.js"
import { Auth, AuthStyle, WireOptions } from "./Protocol.js"
import { HttpUrl } from "./WireSchemas.js"

/**
 * A price in US dollars as written in configuration: a decimal string of digits (`"0.25"`). A
 * negative price would count money back (a batch reported `-$0.24 charged`) and an exponent
 * (`"1e400"`) is no price anyone means, so both are refused, like a JSON number (a float).
 */
export const Price = Schema.compose(
  Schema.String.pipe(Schema.pattern(/^\d{1,12}(\.\d{1,12})?$/)).annotations({
    message: (issue) => ({
      message: `a price in US dollars as a decimal string such as "0.25" (digits, not negative, no exponent), got ${JSON.stringify(issue.actual)}`,
      override: true
    })
  }),
  Usd
)

/** One model of a reseller: a `ModelSpec` whose charge policy defaults to the reseller's. */
export class ResellerModel extends Schema.Class<ResellerModel>("ResellerModel")({
  id: Schema.NonEmptyString,
  description: Schema.optionalWith(Schema.String, { default: () => "" }),
  capabilities: ModelCapabilities,
  /** Price of one video in US dollars, as a decimal string (`"0.25"`): exact, never a float, never negative. */
  price: Price,
  /** Overrides the reseller's charge policy for this model. */
  chargePolicy: Schema.optional(ChargePolicy),
  generationTime: GenerationTime,
  /** The model refuses requests without a first-frame image (a frame-to-video model). */
  imageRequired: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {}

/** A `/v1/videos` reseller, as written in configuration. */
export class Reseller extends Schema.Class<Reseller>("Reseller")(
  Schema.Struct({
    /** The registry id. */
    id: Schema.NonEmptyString,
    description: Schema.optionalWith(Schema.String, { default: () => "" }),
    /** The API base, including `/v1`. */
    baseUrl: HttpUrl,
    /** The environment variable holding the key (never the key itself: configuration files get shared). */
    apiKeyEnv: Schema.optional(Schema.NonEmptyString),
    /** `"bearer"`, `"raw"`, or `{ "style": "raw", "header": "x-api-key" }`. */
    auth: Schema.Union(AuthStyle, Auth),
    /** The dialect; every field defaults to the async one apiyi speaks (`Protocol.asyncDialect`). */
    wire: Schema.optionalWith(WireOptions, { default: () => new WireOptions({}) }),
    /** When the reseller charges: `on-success`, `per-request` or `on-response`. */
    chargePolicy: ChargePolicy,
    /** How long tasks and videos live at the reseller, in hours (default 24). */
    retentionHours: Schema.optionalWith(Schema.Number.pipe(Schema.positive()), { default: () => 24 }),
    /** Default: the first model. */
    defaultModel: Schema.optional(Schema.NonEmptyString),
    models: Schema.NonEmptyArray(ResellerModel)
  }).pipe(
    Schema.filter((reseller) => {
      const ids = reseller.models.map((model) => model.id)
      if (new Set(ids).size !== ids.length) return "a model id is listed twice"
      if (reseller.defaultModel !== undefined && !ids.includes(reseller.defaultModel)) {
        return `defaultModel ${JSON.stringify(reseller.defaultModel)} is not among the models (${ids.join(", ")})`
      }
      return true
    })
  )
) {}

/** Decodes a reseller definition (parsed JSON, say) and checks it. */
export const decode: (input: unknown) => Effect.Effect<Reseller, ParseResult.ParseError> =
  Schema.decodeUnknown(Reseller)

/** The reseller's catalog as `ModelSpec`s. */
export const models = (reseller: Reseller): ReadonlyArray<ModelSpec> =>
  reseller.models.map(
    (model) =>
      new ModelSpec({
        id: model.id,
        description: model.description,
        capabilities: model.capabilities,
        price: model.price,
        chargePolicy: model.chargePolicy ?? reseller.chargePolicy,
        generationTime: model.generationTime
      })
  )

/** Overrides applied in code over the definition. */
export interface Overrides {
  readonly apiKey?: Redacted.Redacted<string> | undefined
  readonly baseUrl?: string | undefined
  /** Register under another id. */
  readonly id?: string | undefined
}

/** The `OpenAiVideos` configuration of a reseller. */
export const toConfig = (reseller: Reseller, overrides: Overrides = {}): OpenAiVideos.Config => ({
  id: overrides.id ?? reseller.id,
  baseUrl: overrides.baseUrl ?? reseller.baseUrl,
  apiKey: overrides.apiKey,
  apiKeyHint: reseller.apiKeyEnv === undefined ? "pass an apiKey" : `set ${reseller.apiKeyEnv}`,
  auth: reseller.auth,
  wire: reseller.wire,
  models: models(reseller),
  defaultModel: reseller.defaultModel,
  imageRequired: reseller.models.filter((model) => model.imageRequired).map((model) => model.id),
  retention: `${reseller.retentionHours} hours`
})

/** The reseller as a provider, with the key given in code (or none). */
export const make = (
  reseller: Reseller,
  overrides: Overrides = {}
): Effect.Effect<VideoProvider.AsyncVideoProvider, never, HttpClient.HttpClient> =>
  OpenAiVideos.make(toConfig(reseller, overrides))

/**
 * The reseller as a provider, its key read from `apiKeyEnv`. A missing key does not fail: the
 * provider's calls do, naming the variable.
 */
export const makeConfig = (
  reseller: Reseller,
  overrides: Overrides = {}
): Effect.Effect<VideoProvider.AsyncVideoProvider, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const apiKey =
      overrides.apiKey ??
      (reseller.apiKeyEnv === undefined
        ? undefined
        : Option.getOrUndefined(yield* Config.option(Config.redacted(reseller.apiKeyEnv))))
    return yield* make(reseller, { ...overrides, apiKey })
  })

/**
 * A provider from a reseller definition in configuration: decoded, checked, its key read from the
 * environment variable it names.
 */
export const fromConfig = (
  input: unknown,
  overrides: Overrides = {}
): Effect.Effect<
  VideoProvider.AsyncVideoProvider,
  ParseResult.ParseError | ConfigError.ConfigError,
  HttpClient.HttpClient
> => Effect.flatMap(decode(input), (reseller) => makeConfig(reseller, overrides))

/** `fromConfig` as the `VideoProvider` service. */
export const layer = (
  input: unknown,
  overrides: Overrides = {}
): Layer.Layer<VideoProvider.VideoProvider, ParseResult.ParseError | ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(VideoProvider.VideoProvider, fromConfig(input, overrides))
