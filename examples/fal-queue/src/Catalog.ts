/**
 * The models, as the fal-style queue names them: reelay's model id, the queue path it is posted to,
 * and what the model takes. Prices are per video (8 s with audio at $0.15 a second for the fast
 * model, $0.40 for the standard one), charged only when a video is made.
 *
 * @since 0.1.0
 */
import { GenerationTime, ModelCapabilities, ModelSpec } from "@reelay/core/ModelSpec"
import * as Money from "@reelay/core/Money"

const capabilities = new ModelCapabilities({
  aspectRatios: ["16:9", "9:16"],
  resolutions: ["720p", "1080p"],
  durations: [8],
  sizes: ["1280x720", "720x1280", "1920x1080", "1080x1920"],
  imageInput: "none",
  audio: true,
  negativePrompt: true,
  seed: true
})

export const models: ReadonlyArray<ModelSpec> = [
  new ModelSpec({
    id: "fal-veo-fast",
    description: "Veo 3.1 fast through the queue: text to video, 8 s with audio, 720p or 1080p",
    capabilities,
    price: Money.usd("1.20"),
    chargePolicy: "on-success",
    generationTime: new GenerationTime({ typicalSeconds: 60, minSeconds: 30, maxSeconds: 180 })
  }),
  new ModelSpec({
    id: "fal-veo",
    description: "Veo 3.1 through the queue: text to video, 8 s with audio, 720p or 1080p",
    capabilities,
    price: Money.usd("3.20"),
    chargePolicy: "on-success",
    generationTime: new GenerationTime({ typicalSeconds: 120, minSeconds: 60, maxSeconds: 360 })
  })
]

/** The queue path each model is posted to. */
export const paths: Readonly<Record<string, string>> = {
  "fal-veo-fast": "fal-ai/veo3.1/fast",
  "fal-veo": "fal-ai/veo3.1"
}
