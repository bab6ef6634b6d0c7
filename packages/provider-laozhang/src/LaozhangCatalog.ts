/**
 * laozhang.ai's async Veo 3.1 models (reference page "Async Endpoint", `/v1/videos`): eight
 * variants named `veo-3.1[-landscape][-fast][-fl]`. Every one makes an 8-second 720p video with
 * native audio, portrait 720x1280 (9:16) or landscape 1280x720 (16:9); `-fl` models make it from a
 * first frame, or a first and a last frame. Standard $0.25, fast $0.15, charged only when the video
 * is generated.
 *
 * @since 0.1.0
 */
import { GenerationTime, ModelCapabilities, ModelSpec } from "@reelay/core/ModelSpec"
import * as Money from "@reelay/core/Money"

/** One variant of the family, as the model name spells it. */
export interface Variant {
  readonly id: string
  readonly orientation: "portrait" | "landscape"
  readonly speed: "standard" | "fast"
  /** `-fl`: frame-to-video. */
  readonly frames: boolean
}

/** The eight variants, in the page's order. */
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

/** The price of one video: "Standard $0.25/request", "Fast $0.15/request". */
export const prices = { standard: Money.usd("0.25"), fast: Money.usd("0.15") } as const

/**
 * Generation times in seconds. The laozhang page only says "typically 2-5 minutes" for video in
 * general; the figures of the same upstream on apiyi's page are used: fast 30-60 s, standard 1-2 min.
 */
export const generationTimes = {
  fast: new GenerationTime({ typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 }),
  standard: new GenerationTime({ typicalSeconds: 90, minSeconds: 60, maxSeconds: 120 })
} as const

const spec = (variant: Variant): ModelSpec => {
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
      // The page: image-to-video "Supports URL" (JSON `input_reference`); uploads use the multipart
      // `input_reference` files of the same upstream (documented on apiyi's page).
      imageTransports: variant.frames ? ["url", "bytes"] : [],
      audio: true
    }),
    price: prices[variant.speed],
    chargePolicy: "on-success",
    generationTime: generationTimes[variant.speed]
  })
}

/** The catalog, in the page's order. */
export const models: ReadonlyArray<ModelSpec> = variants.map(spec)

/** The frame-to-video models: they refuse a request without a first-frame image. */
export const frameModels: ReadonlyArray<string> = variants
  .filter((variant) => variant.frames)
  .map((variant) => variant.id)

/** The default model: `veo-3.1`, the page's own default in every example. */
export const defaultModel = "veo-3.1"
