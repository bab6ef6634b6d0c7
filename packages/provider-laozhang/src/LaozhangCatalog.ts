/**
 * laozhang.ai's async Veo 3.1 models (reference page "Async Endpoint", `/v1/videos`): eight
 * variants named `veo-3.1[-landscape][-fast][-fl]`. Every one makes an 8-second 720p video with
 * native audio, portrait 720x1280 (9:16) or landscape 1280x720 (16:9); `-fl` models make it from a
 * first frame, or a first and a last frame. Standard $0.25, fast $0.15, charged only when the video
 * is generated.
 *
 * @since 0.1.0
 */
import { GenerationTime } from "@reelay/core/ModelSpec"
import * as Money from "@reelay/core/Money"
import * as VeoFamily from "@reelay/openai-videos/VeoFamily"

/** The eight variants, in the page's order. */
export const variants = VeoFamily.variants

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

/** The catalog, in the page's order. */
export const models = VeoFamily.models({
  prices,
  generationTimes,
  // Frames travel only as multipart `input_reference` uploads: laozhang's published async examples
  // (tested against it) say image URLs are not supported there, whatever the page's "Supports URL".
  // A URL is still accepted from the caller: reelay downloads it and uploads the bytes (the dialect's
  // `urlImages: "upload"`).
  frameTransports: ["url", "bytes"],
  chargePolicy: "on-success"
})

/** The frame-to-video models: they refuse a request without a first-frame image. */
export const frameModels = VeoFamily.frameModels

/** The default model: `veo-3.1`, the page's own default in every example. */
export const defaultModel = VeoFamily.defaultModel
