/**
 * The conformance suite over a reseller defined in configuration alone (no provider package): the
 * veo-3.1 family on the simulator's apiyi host, described as plain JSON.
 */
import { Conformance } from "@reelay/testkit"
import * as Effect from "effect/Effect"
import * as Reseller from "../src/Reseller.js"

const capabilities = (frames: boolean) => ({
  aspectRatios: ["16:9"],
  resolutions: ["720p"],
  durations: [8],
  sizes: ["1280x720"],
  imageInput: frames ? "first-last-frame" : "none",
  imageTransports: frames ? ["bytes"] : [],
  audio: true
})

const definition = (baseUrl: string) => ({
  id: "resale",
  baseUrl,
  apiKeyEnv: "RESALE_API_KEY",
  auth: "raw",
  chargePolicy: "on-success",
  models: [
    {
      id: "veo-3.1-landscape-fast",
      price: "0.15",
      capabilities: capabilities(false),
      generationTime: { typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 }
    },
    {
      id: "veo-3.1-landscape-fast-fl",
      price: "0.15",
      imageRequired: true,
      capabilities: capabilities(true),
      generationTime: { typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 }
    }
  ]
})

Conformance.run({
  name: "a reseller from configuration alone (apiyi host)",
  host: "apiyi",
  protocol: "async",
  provider: ({ baseUrl, apiKey }) =>
    Effect.flatMap(Reseller.decode(definition(baseUrl)), (reseller) => Reseller.make(reseller, { apiKey })),
  textModel: "veo-3.1-landscape-fast",
  imageModel: "veo-3.1-landscape-fast-fl"
})
