/**
 * apiyi.com's Veo 3.1 models (reference page "VEO 3.1 Async API"): eight variants named
 * `veo-3.1[-landscape][-fast][-fl]`. All make 8-second videos with an auto-generated audio track,
 * portrait 720x1280 (9:16) or landscape 1280x720 (16:9). `-fl` models take one uploaded image (first
 * frame) or two (first and last frame), as multipart `input_reference` files. Standard $0.25, fast
 * $0.15, "pay on success".
 *
 * @since 0.1.0
 */
import { GenerationTime } from "@reelay/core/ModelSpec"
import * as Money from "@reelay/core/Money"
import * as VeoFamily from "@reelay/openai-videos/VeoFamily"

/** The eight variants, in the page's order. */
export const variants = VeoFamily.variants

/** The price of one video (the page's table). */
export const prices = { standard: Money.usd("0.25"), fast: Money.usd("0.15") } as const

/** The page's FAQ: fast models ~30-60 seconds, standard models ~1-2 minutes. */
export const generationTimes = {
  fast: new GenerationTime({ typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 }),
  standard: new GenerationTime({ typicalSeconds: 90, minSeconds: 60, maxSeconds: 120 })
} as const

/** The catalog, in the page's order. */
export const models = VeoFamily.models({
  prices,
  generationTimes,
  // "Frame-to-video requests require multipart/form-data format (not JSON)": uploads only.
  frameTransports: ["bytes"],
  chargePolicy: "on-success"
})

/** The frame-to-video models: `input_reference` is required on them. */
export const frameModels = VeoFamily.frameModels

/** The default model: `veo-3.1`, the page's default in its examples. */
export const defaultModel = VeoFamily.defaultModel
