/**
 * A reseller added from configuration alone: a plain JSON-shaped object, no code, pointed at the
 * simulator's apiyi host, generates a video through the engine and is billed exactly as the
 * vendor's rule says.
 */
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Engine from "@reelay/core/Engine"
import { BytesSource, GenerateRequest, ImageInput } from "@reelay/core/GenerateRequest"
import { Simulator } from "@reelay/simulator"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Reseller from "../src/Reseller.js"
import { collect, engineLayer, failureOf, png, tempDir, timeScale } from "./support.js"

const capabilities = (aspect: "16:9" | "9:16", frames: boolean) => ({
  aspectRatios: [aspect],
  resolutions: ["720p"],
  durations: [8],
  sizes: [aspect === "16:9" ? "1280x720" : "720x1280"],
  imageInput: frames ? "first-last-frame" : "none",
  imageTransports: frames ? ["bytes"] : [],
  audio: true
})

/** What a user would write in `reelay.config.json`. */
const definition = (baseUrl: string) => ({
  id: "resale",
  description: "a /v1/videos reseller defined in configuration",
  baseUrl,
  apiKeyEnv: "RESALE_API_KEY",
  auth: "raw",
  chargePolicy: "on-success",
  defaultModel: "veo-3.1-landscape-fast",
  models: [
    {
      id: "veo-3.1-landscape-fast",
      price: "0.15",
      capabilities: capabilities("16:9", false),
      generationTime: { typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 }
    },
    {
      id: "veo-3.1-landscape-fast-fl",
      price: "0.15",
      imageRequired: true,
      capabilities: capabilities("16:9", true),
      generationTime: { typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 }
    }
  ]
})

const withKey = (key: string | undefined) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(key === undefined ? [] : [["RESALE_API_KEY", key]])))

describe("Reseller", () => {
  it.scopedLive("generates through a reseller defined in configuration alone", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make({ timeScale })
      const output = path.join(tempDir(), "resale.mp4")
      const provider = Reseller.fromConfig(JSON.parse(JSON.stringify(definition(sim.urls.apiyi))))
      const video = yield* Engine.generateTo(GenerateRequest.make({ prompt: "a harbour at dawn" }), output).pipe(
        Effect.provide(engineLayer([provider])),
        withKey("sk-resale-1")
      )
      assert.strictEqual(video.provider, "resale")
      assert.strictEqual(video.model, "veo-3.1-landscape-fast")
      assert.strictEqual(video.probe.size, "1280x720")
      const ledger = yield* sim.ledger
      assert.strictEqual(ledger.length, 1)
      assert.strictEqual(ledger[0]!.amount, "0.15")
      assert.strictEqual(ledger[0]!.rule, "on-success")
      assert.strictEqual(ledger[0]!.key, Simulator.fingerprint("sk-resale-1"))
      assert.strictEqual(ledger[0]!.taskId, video.taskId)
      const creates = (yield* sim.requests).filter((request) => request.route === "create")
      assert.strictEqual(creates.length, 1)
      assert.strictEqual(creates[0]!.authorization.scheme, "raw")
      assert.isNotNull(creates[0]!.idempotencyKey)
      const cdn = yield* sim.cdnRequests
      assert.isAbove(cdn.length, 0)
      assert.isTrue(cdn.every((request) => !request.authorization.present))
    })
  )

  it.scopedLive("uploads a first and a last frame for a frame model of the definition", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make({ timeScale })
      const output = path.join(tempDir(), "frames.mp4")
      const image = (role: "first-frame" | "last-frame") =>
        new ImageInput({ role, source: new BytesSource({ bytes: png, fileName: `${role}.png` }) })
      const request = GenerateRequest.make({
        prompt: "day turns to night",
        model: "veo-3.1-landscape-fast-fl",
        images: [image("first-frame"), image("last-frame")]
      })
      const video = yield* Engine.generateTo(request, output).pipe(
        Effect.provide(engineLayer([Reseller.fromConfig(definition(sim.urls.apiyi))])),
        withKey("sk-resale-2")
      )
      assert.strictEqual(sim.state.tasks.find(video.taskId ?? "")?.images, 2)
      assert.strictEqual((yield* sim.ledger).length, 1)
    })
  )

  it.scopedLive("refuses a frame model without a frame before anything is sent", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make({ timeScale })
      const { exit } = yield* collect(
        Engine.generate(GenerateRequest.make({ prompt: "x", model: "veo-3.1-landscape-fast-fl" }))
      ).pipe(Effect.provide(engineLayer([Reseller.fromConfig(definition(sim.urls.apiyi))])), withKey("sk-resale-3"))
      const error = failureOf(exit)
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.include(error.message, "veo-3.1-landscape-fast")
      assert.strictEqual((yield* sim.requests).length, 0)
    })
  )

  it.scopedLive("without its key, builds, then fails naming the variable, nothing sent", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make({ timeScale })
      const { exit } = yield* collect(Engine.generate(GenerateRequest.make({ prompt: "x" }))).pipe(
        Effect.provide(engineLayer([Reseller.fromConfig(definition(sim.urls.apiyi))])),
        withKey(undefined)
      )
      const error = failureOf(exit)
      assert.strictEqual(error._tag, "AuthenticationFailed")
      assert.include(error.message, "RESALE_API_KEY")
      assert.strictEqual(error.billing, "not-charged")
      assert.strictEqual((yield* sim.requests).length, 0)
    })
  )

  it.effect("refuses definitions that would bill wrongly or cannot work", () =>
    Effect.gen(function* () {
      const good = definition("https://api.example.test/v1")
      assert.isTrue(Exit.isSuccess(yield* Effect.exit(Reseller.decode(good))))
      const bad: ReadonlyArray<unknown> = [
        { ...good, models: [{ ...good.models[0], price: "0.1.5" }] },
        { ...good, models: [{ ...good.models[0], price: 0.15 }] },
        { ...good, models: [good.models[0], good.models[0]] },
        { ...good, defaultModel: "veo-9" },
        { ...good, baseUrl: "api.example.test" },
        { ...good, auth: "basic" },
        { ...good, chargePolicy: "sometimes" },
        { ...good, models: [] }
      ]
      for (const input of bad) {
        assert.isTrue(Exit.isFailure(yield* Effect.exit(Reseller.decode(input))), JSON.stringify(input))
      }
      const reseller = yield* Reseller.decode({ ...good, auth: { style: "raw", header: "x-api-key" } })
      const [first] = Reseller.models(reseller)
      assert.strictEqual(first!.chargePolicy, "on-success")
      assert.strictEqual(Reseller.toConfig(reseller).imageRequired?.[0], "veo-3.1-landscape-fast-fl")
    })
  )
})
