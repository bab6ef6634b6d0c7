/** A test-only catalog, shaped like the real ones but owned by no vendor. */

import type { ChargePolicy } from "../../src/Billing.js"
import { GenerationTime, ModelCapabilities, ModelSpec } from "../../src/ModelSpec.js"
import * as Money from "../../src/Money.js"

export const portrait = (chargePolicy: ChargePolicy = "on-success", id = "acme-portrait") =>
  new ModelSpec({
    id,
    description: "portrait, text only",
    capabilities: new ModelCapabilities({
      aspectRatios: ["9:16"],
      resolutions: ["720p"],
      durations: [8],
      sizes: ["720x1280"],
      imageInput: "none",
      audio: true
    }),
    price: Money.usd("0.25"),
    chargePolicy,
    generationTime: new GenerationTime({ typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 })
  })

export const landscapeFrames = (chargePolicy: ChargePolicy = "on-success") =>
  new ModelSpec({
    id: "acme-landscape-fl",
    description: "landscape, first and last frame",
    capabilities: new ModelCapabilities({
      aspectRatios: ["16:9"],
      resolutions: ["720p"],
      durations: [8],
      sizes: ["1280x720"],
      imageInput: "first-last-frame",
      imageTransports: ["bytes"],
      maxImageBytes: 1024,
      audio: true
    }),
    price: Money.usd("0.15"),
    chargePolicy,
    generationTime: new GenerationTime({ typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 })
  })

export const pro = (chargePolicy: ChargePolicy = "per-request") =>
  new ModelSpec({
    id: "acme-pro",
    description: "all options",
    capabilities: new ModelCapabilities({
      aspectRatios: ["16:9", "9:16"],
      resolutions: ["720p", "1080p", "4k"],
      durations: [8, 4, 6],
      sizes: ["1280x720", "720x1280", "1920x1080", "1080x1920", "3840x2160"],
      imageInput: "first-frame",
      imageTransports: ["url", "bytes"],
      audio: true,
      negativePrompt: true,
      seed: true
    }),
    price: Money.usd("1.20"),
    chargePolicy,
    generationTime: new GenerationTime({ typicalSeconds: 90, minSeconds: 60, maxSeconds: 120 })
  })

/** A 1x1 PNG. */
export const PNG = Uint8Array.from(
  Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
    "base64"
  )
)
