/**
 * Every provider the reliability suite runs: the four provider packages and a reseller defined in
 * configuration alone through `@reelay/openai-videos`, each with the simulated host it talks to,
 * its wire protocol (which decides the vendor's charge rule) and a text-to-video model.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as Reseller from "@reelay/openai-videos/Reseller"
import { Apiyi } from "@reelay/provider-apiyi"
import { Laozhang } from "@reelay/provider-laozhang"
import { LaozhangOfficial } from "@reelay/provider-laozhang-official"
import { LaozhangSora } from "@reelay/provider-laozhang-sora"
import type * as Models from "@reelay/simulator/Models"
import type * as VendorRules from "@reelay/testkit/VendorRules"
import * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"

export interface ProviderUnderTest {
  /** The registry id the provider gets. */
  readonly id: string
  readonly host: Models.Host
  readonly protocol: VendorRules.Protocol
  readonly textModel: string
  readonly make: (options: {
    readonly baseUrl: string
    readonly apiKey: Redacted.Redacted<string>
  }) => Effect.Effect<VideoProvider.Service, unknown, HttpClient.HttpClient>
}

/** A `/v1/videos` reseller described as plain configuration (the simulator's apiyi host speaks its dialect). */
export const resellerDefinition = (baseUrl: string, models: ReadonlyArray<string> = ["veo-3.1-landscape-fast"]) => ({
  id: "resale",
  baseUrl,
  apiKeyEnv: "RESALE_API_KEY",
  auth: "raw",
  chargePolicy: "on-success",
  models: models.map((id) => ({
    id,
    price: "0.15",
    capabilities: {
      aspectRatios: ["16:9"],
      resolutions: ["720p"],
      durations: [8],
      sizes: ["1280x720"],
      imageInput: "none",
      audio: true
    },
    generationTime: { typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 }
  }))
})

export const providers: ReadonlyArray<ProviderUnderTest> = [
  {
    id: "laozhang",
    host: "laozhang",
    protocol: "async",
    textModel: "veo-3.1-fast",
    make: (options) => Laozhang.make(options)
  },
  {
    id: "apiyi",
    host: "apiyi",
    protocol: "async",
    textModel: "veo-3.1-landscape-fast",
    make: (options) => Apiyi.make(options)
  },
  {
    id: "laozhang-official",
    host: "laozhang",
    protocol: "official",
    textModel: "veo-3.1-fast-generate-preview",
    make: (options) => LaozhangOfficial.make(options)
  },
  {
    id: "laozhang-sora",
    host: "laozhang",
    protocol: "sora",
    textModel: "sora_video2",
    make: (options) => LaozhangSora.make(options)
  },
  {
    id: "resale",
    host: "apiyi",
    protocol: "async",
    textModel: "veo-3.1-landscape-fast",
    make: ({ baseUrl, apiKey }) =>
      Effect.flatMap(Reseller.decode(resellerDefinition(baseUrl)), (reseller) => Reseller.make(reseller, { apiKey }))
  }
]
