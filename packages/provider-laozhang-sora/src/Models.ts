/**
 * The Sora 2 models laozhang serves through chat completions, as its reference page describes them
 * ("Model Selection", "Prerequisites", "Generation Time").
 *
 * | model | frame | seconds | price | charged |
 * | --- | --- | --- | --- | --- |
 * | `sora_video2` | 704x1280 (9:16) | 10, 15 | $0.15 | every HTTP 200 |
 * | `sora_video2-landscape` | 1280x704 (16:9) | 10, 15 | $0.15 | every HTTP 200 |
 *
 * @since 0.1.0
 */
import { GenerationTime, ModelCapabilities, ModelSpec } from "@reelay/core/ModelSpec"
import * as Money from "@reelay/core/Money"

/** "$0.15/call (10s or 15s)", the same for both billing modes. */
export const price: Money.Usd = Money.usd("0.15")

/** "About 2-3 minutes (for 10-second video)", "2-5 minutes on average" with the queue. */
export const generationTime = new GenerationTime({ typicalSeconds: 180, minSeconds: 120, maxSeconds: 300 })

/** The page's "Supports uploading reference images (up to 1 image)"; its size limit is not given. */
export const maxImageBytes = 10 * 1024 * 1024

const capabilities = (orientation: "portrait" | "landscape") =>
  new ModelCapabilities({
    aspectRatios: [orientation === "portrait" ? "9:16" : "16:9"],
    resolutions: ["720p"],
    // 10 s is what the page's samples get; 15 s is priced alike ("10s or 15s") but has no documented
    // parameter: it is asked for with a top-level `seconds: 15` (see the README).
    durations: [10, 15],
    sizes: [orientation === "portrait" ? "704x1280" : "1280x704"],
    // One image, which the page calls a reference image: reelay accepts it as the first frame or as
    // a reference and sends it the same way; `check` refuses a second one.
    imageInput: "first-frame",
    referenceImages: 1,
    imageTransports: ["url", "bytes"],
    maxImageBytes,
    audio: true
  })

/** Portrait, 704x1280. */
export const soraVideo2 = new ModelSpec({
  id: "sora_video2",
  description: "Sora 2 portrait 704x1280 (9:16), 10 or 15 s with audio, text or one image; charged on every HTTP 200",
  capabilities: capabilities("portrait"),
  price,
  chargePolicy: "on-response",
  generationTime
})

/** Landscape, 1280x704. */
export const soraVideo2Landscape = new ModelSpec({
  id: "sora_video2-landscape",
  description: "Sora 2 landscape 1280x704 (16:9), 10 or 15 s with audio, text or one image; charged on every HTTP 200",
  capabilities: capabilities("landscape"),
  price,
  chargePolicy: "on-response",
  generationTime
})

/** The catalog, portrait first (the page's first example). */
export const models: ReadonlyArray<ModelSpec> = [soraVideo2, soraVideo2Landscape]

/** The model used when a request names none. */
export const defaultModel = soraVideo2.id
