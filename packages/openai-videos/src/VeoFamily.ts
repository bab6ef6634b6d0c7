/**
 * The Veo 3.1 family as resellers of `/v1/videos` name it: eight variants
 * `veo-3.1[-landscape][-fast][-fl]`, each an 8-second 720p video with audio, portrait 720x1280
 * (9:16) or landscape 1280x720 (16:9); `-fl` from a first frame, or a first and a last frame. The
 * reseller states what differs: prices, generation times, how frames may be sent, when it charges.
 *
 * @since 0.1.0
 */
import type { ChargePolicy } from "@reelay/core/Billing"
import { type GenerationTime, type ImageTransport, ModelCapabilities, ModelSpec } from "@reelay/core/ModelSpec"
import type * as Money from "@reelay/core/Money"

/** One variant of the family, as the model name spells it. */
export interface Variant {
  readonly id: string
  readonly orientation: "portrait" | "landscape"
  readonly speed: "standard" | "fast"
  /** `-fl`: frame-to-video. */
  readonly frames: boolean
}

/** The eight variants, in the reference pages' order. */
export const variants: ReadonlyArray<Variant> = (["portrait", "landscape"] as const).flatMap((orientation) =>
  (["standard", "fast"] as const).flatMap((speed) =>
    [false, true].map((frames) => ({
      id: `veo-3.1${orientation === "landscape" ? "-landscape" : ""}${speed === "fast" ? "-fast" : ""}${frames ? "-fl" : ""}`,
      orientation,
      speed,
      frames
    }))
  )
)

/** What a reseller's page says of the family. */
export interface Terms {
  readonly prices: { readonly standard: Money.Usd; readonly fast: Money.Usd }
  readonly generationTimes: { readonly standard: GenerationTime; readonly fast: GenerationTime }
  /** How the `-fl` models accept their frames. */
  readonly frameTransports: ReadonlyArray<ImageTransport>
  readonly chargePolicy: ChargePolicy
}

/** The family's catalog under a reseller's terms, in the pages' order. */
export const models = (terms: Terms): ReadonlyArray<ModelSpec> =>
  variants.map((variant) => {
    const landscape = variant.orientation === "landscape"
    return new ModelSpec({
      id: variant.id,
      description: `${landscape ? "Landscape 1280x720" : "Portrait 720x1280"}, ${variant.speed}, ${variant.frames ? "first frame or first + last frame to video" : "text to video"}; 8 s with audio`,
      capabilities: new ModelCapabilities({
        aspectRatios: [landscape ? "16:9" : "9:16"],
        resolutions: ["720p"],
        durations: [8],
        sizes: [landscape ? "1280x720" : "720x1280"],
        imageInput: variant.frames ? "first-last-frame" : "none",
        imageTransports: variant.frames ? terms.frameTransports : [],
        audio: true
      }),
      price: terms.prices[variant.speed],
      chargePolicy: terms.chargePolicy,
      generationTime: terms.generationTimes[variant.speed]
    })
  })

/** The frame-to-video models: they refuse a request without a first-frame image. */
export const frameModels: ReadonlyArray<string> = variants
  .filter((variant) => variant.frames)
  .map((variant) => variant.id)

/** The family's default model, every page's own default: `veo-3.1`. */
export const defaultModel = "veo-3.1"
