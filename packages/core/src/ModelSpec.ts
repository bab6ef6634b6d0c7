/**
 * What a model can do, what it costs and how long it takes. Providers publish a catalog of these;
 * the engine validates requests against them, estimates cost from them and paces polling by them.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { ChargePolicy } from "./Billing.js"
import { AspectRatio, Resolution, Size } from "./GenerateRequest.js"
import { Usd } from "./Money.js"

/** Which image inputs a model takes. */
export const ImageInputMode = Schema.Literal("none", "first-frame", "first-last-frame")
export type ImageInputMode = typeof ImageInputMode.Type

/** How an image can travel to the provider: as a URL it fetches, or as bytes we upload. */
export const ImageTransport = Schema.Literal("url", "bytes")
export type ImageTransport = typeof ImageTransport.Type

/** 10 MiB: the default limit on one input image. */
export const DEFAULT_MAX_IMAGE_BYTES = 10 * 1024 * 1024

/**
 * 5,000 characters: the default limit on a prompt (and on a negative prompt). No reference page
 * names one; this is the simulator's, far above a useful video prompt. Each provider's README says
 * what its catalog uses.
 */
export const DEFAULT_MAX_PROMPT_CHARS = 5000

/**
 * The largest prompt limit a catalog may declare. Readers size their caps from a catalog's limits
 * (`Validation.largestAnswerBytes`), so this bounds their memory too.
 */
export const MAX_PROMPT_CHARS = 100_000

export class ModelCapabilities extends Schema.Class<ModelCapabilities>("ModelCapabilities")({
  /** Supported aspect ratios; the first is the default. */
  aspectRatios: Schema.NonEmptyArray(AspectRatio),
  /** Supported resolutions; the first is the default. */
  resolutions: Schema.NonEmptyArray(Resolution),
  /** Supported durations in seconds; the first is the default. */
  durations: Schema.NonEmptyArray(Schema.Int.pipe(Schema.positive())),
  /** Supported frame sizes; the first is the default output. */
  sizes: Schema.NonEmptyArray(Size),
  imageInput: ImageInputMode,
  /** How many `reference` images the model takes (0: none). */
  referenceImages: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 0 }),
  /** How images can be sent; empty when the model takes none. */
  imageTransports: Schema.optionalWith(Schema.Array(ImageTransport), { default: () => [] }),
  maxImageBytes: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => DEFAULT_MAX_IMAGE_BYTES }),
  /**
   * The longest prompt, and the longest negative prompt, the model takes, in characters as
   * JavaScript counts them (UTF-16 code units: most emoji count two). A longer one is refused
   * before anything is sent: a vendor that echoes the prompt in every status answer would otherwise
   * make a paid task unreadable.
   */
  maxPromptChars: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, MAX_PROMPT_CHARS)), {
    default: () => DEFAULT_MAX_PROMPT_CHARS
  }),
  /** Whether the video carries a native audio track. */
  audio: Schema.Boolean,
  negativePrompt: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  seed: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {}

/** How long generation takes, in seconds, as the vendor documents it. Drives adaptive polling. */
export class GenerationTime extends Schema.Class<GenerationTime>("GenerationTime")({
  typicalSeconds: Schema.Number.pipe(Schema.positive()),
  minSeconds: Schema.Number.pipe(Schema.positive()),
  maxSeconds: Schema.Number.pipe(Schema.positive())
}) {}

export class ModelSpec extends Schema.Class<ModelSpec>("ModelSpec")({
  id: Schema.NonEmptyString,
  description: Schema.String,
  capabilities: ModelCapabilities,
  /** Price of one video, in US dollars. */
  price: Usd,
  chargePolicy: ChargePolicy,
  generationTime: GenerationTime
}) {
  /** The size the model produces when the request names none. */
  get defaultSize(): string {
    return this.capabilities.sizes[0]
  }
}
