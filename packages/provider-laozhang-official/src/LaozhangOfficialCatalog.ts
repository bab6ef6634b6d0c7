/**
 * laozhang.ai's Veo 3.1 official forward (reference page "Veo 3.1 official API forwarding"): two
 * preview models at one price per call whatever the duration or resolution — charged for every
 * accepted create ("Pay-per-request"), whatever happens next.
 *
 * Both take 16:9 or 9:16 at 720p or 1080p, and 16:9 at 4k (the page's only 4k size is 3840x2160 and
 * its 4k metadata says `"aspectRatio":"16:9"`); 8 seconds by default (the page: "use 8"; 1080p and 4k
 * require it), 4 and 6 seconds at 720p (Veo 3.1's other durations; the page's "1080p and 4k require
 * 8 seconds" implies 720p has others); one reference image, uploaded; a negative prompt; a seed;
 * native audio that cannot be turned off.
 *
 * @since 0.1.0
 */
import { GenerationTime, ModelCapabilities, ModelSpec } from "@reelay/core/ModelSpec"
import * as Money from "@reelay/core/Money"

/** Every frame size the page lists, with its resolution and aspect ratio. */
export const sizes = [
  { size: "1280x720", resolution: "720p", aspectRatio: "16:9" },
  { size: "720x1280", resolution: "720p", aspectRatio: "9:16" },
  { size: "1920x1080", resolution: "1080p", aspectRatio: "16:9" },
  { size: "1080x1920", resolution: "1080p", aspectRatio: "9:16" },
  { size: "3840x2160", resolution: "4k", aspectRatio: "16:9" }
] as const

/** Durations in seconds; 8 first (the default). Only 8 above 720p (see `LaozhangOfficial.check`). */
export const durations = [8, 6, 4] as const

const capabilities = new ModelCapabilities({
  aspectRatios: ["16:9", "9:16"],
  resolutions: ["720p", "1080p", "4k"],
  durations: [...durations],
  sizes: sizes.map((entry) => entry.size) as [string, ...Array<string>],
  imageInput: "first-frame",
  // "Only one image is supported, uploaded as multipart/form-data."
  imageTransports: ["bytes"],
  audio: true,
  negativePrompt: true,
  seed: true
})

/** `veo-3.1-fast-generate-preview`, $0.30 per call. */
export const fast = new ModelSpec({
  id: "veo-3.1-fast-generate-preview",
  description: "Veo 3.1 Fast preview (official forward): 720p / 1080p / 4k, 16:9 or 9:16, audio; $0.30 per call",
  capabilities,
  price: Money.usd("0.30"),
  chargePolicy: "per-request",
  // The page gives no times; those of the same model class on the async pages are used.
  generationTime: new GenerationTime({ typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 })
})

/** `veo-3.1-generate-preview`, $1.20 per call. */
export const standard = new ModelSpec({
  id: "veo-3.1-generate-preview",
  description: "Veo 3.1 standard preview (official forward): 720p / 1080p / 4k, 16:9 or 9:16, audio; $1.20 per call",
  capabilities,
  price: Money.usd("1.20"),
  chargePolicy: "per-request",
  generationTime: new GenerationTime({ typicalSeconds: 90, minSeconds: 60, maxSeconds: 120 })
})

/** The catalog, in the page's order. */
export const models: ReadonlyArray<ModelSpec> = [fast, standard]

/** The default model: the fast one, first on the page and a quarter of the price. */
export const defaultModel = fast.id
