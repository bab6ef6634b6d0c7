import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as Engine from "../src/Engine.js"
import { GenerateRequest } from "../src/GenerateRequest.js"
import * as VideoError from "../src/VideoError.js"
import type * as VideoProvider from "../src/VideoProvider.js"
import { portrait } from "./helpers/catalog.js"
import { advancing } from "./helpers/clock.js"
import { collect, engineLayer, tempDir } from "./helpers/engine.js"
import { fileAsset, fixture, scriptedStream } from "./helpers/ScriptedProvider.js"

const sora = portrait("on-response", "acme-sync")
const request = GenerateRequest.make({ prompt: "a cat chasing a ball" })
const accepted: VideoProvider.ProviderEvent = { _tag: "Accepted", taskId: "chatcmpl-1" }
const completed: VideoProvider.ProviderEvent = { _tag: "Completed", asset: fileAsset(fixture("720x1280-8s.mp4")) }

describe("Engine with a streaming provider", () => {
  it.effect("turns the provider's stream into the same events as polling", () => {
    const { provider } = scriptedStream({
      models: [sora],
      runs: [
        {
          events: [
            accepted,
            { _tag: "Queued" },
            { _tag: "Progress", percent: 12 },
            { _tag: "Progress", percent: 8 },
            { _tag: "Progress", percent: 64 },
            completed
          ]
        }
      ]
    })
    const output = path.join(tempDir(), "cat.mp4")
    return Effect.gen(function* () {
      const { events, exit, tags } = yield* collect(Engine.generate(request, { output }))
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      assert.deepStrictEqual(
        tags.filter((tag) => tag !== "Downloading"),
        // Charged at the answer: laozhang's Sora bills every HTTP 200.
        ["Validated", "Submitting", "Submitted", "Charged", "Queued", "Progress", "Progress", "Succeeded", "Saved"]
      )
      const submitted = events.find((event) => event._tag === "Submitted")
      assert.strictEqual(submitted?._tag === "Submitted" && submitted.handle.mode, "streaming")
      assert.isTrue(fs.existsSync(output))
    }).pipe(Effect.provide(engineLayer([provider])), advancing)
  })

  it.effect("repeats a create that was refused before the provider answered", () => {
    const { provider, recorder } = scriptedStream({
      models: [sora],
      runs: [
        { events: [], failure: new VideoError.RateLimited({ message: "429", retryAfterMillis: 1_000 }) },
        { events: [accepted, completed] }
      ]
    })
    return Effect.gen(function* () {
      const { exit } = yield* collect(Engine.generate(request))
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(recorder.submits.length, 2)
      assert.strictEqual(new Set(recorder.submits).size, 1, "the same idempotency key on every attempt")
    }).pipe(Effect.provide(engineLayer([provider])), advancing)
  })

  it.effect("a failure reported after the answer is charged and not regenerated", () => {
    const { provider, recorder } = scriptedStream({
      models: [sora],
      runs: [
        {
          events: [accepted, { _tag: "Progress", percent: 40 }],
          failure: new VideoError.GenerationFailed({ message: "no video", vendorMessage: "content check failed" })
        }
      ]
    })
    return Effect.gen(function* () {
      const { events, exit } = yield* collect(Engine.generate(request))
      assert.isTrue(Exit.isFailure(exit))
      const failed = events.at(-1)
      assert.strictEqual(failed?._tag, "Failed")
      if (failed?._tag === "Failed") {
        assert.strictEqual(failed.error._tag, "GenerationFailed")
        assert.strictEqual(failed.error.billing, "charged")
        assert.strictEqual(failed.error.taskId, "chatcmpl-1")
      }
      assert.strictEqual(recorder.submits.length, 1)
    }).pipe(Effect.provide(engineLayer([provider])), advancing)
  })

  it.effect("a stream cut after the answer is never repeated, and charged: the answer is what bills", () => {
    const { provider, recorder } = scriptedStream({
      models: [sora],
      runs: [
        {
          events: [accepted, { _tag: "Progress", percent: 40 }],
          failure: new VideoError.ProviderUnavailable({ message: "socket hang up", stage: "exchange" })
        }
      ]
    })
    return Effect.gen(function* () {
      const { events, exit } = yield* collect(Engine.generate(request))
      assert.isTrue(Exit.isFailure(exit))
      const failed = events.at(-1)
      assert.isTrue(failed?._tag === "Failed" && failed.error.billing === "charged")
      const charged = events.filter((event) => event._tag === "Charged")
      assert.deepStrictEqual(
        charged.map((event) => event.billing),
        ["charged"]
      )
      assert.strictEqual(recorder.submits.length, 1)
    }).pipe(Effect.provide(engineLayer([provider])), advancing)
  })

  it.effect("a create that never answers is abandoned at the submit timeout as uncertain, not at the deadline", () => {
    const hung: VideoProvider.StreamingVideoProvider = {
      specificationVersion: "v1",
      id: "streamer",
      mode: "streaming",
      models: [sora],
      defaultModel: sora.id,
      submit: () => Stream.never
    }
    return Effect.gen(function* () {
      const started = yield* Clock.currentTimeMillis
      const { events } = yield* collect(Engine.generate(request))
      const failed = events.at(-1)
      assert.isTrue(failed?._tag === "Failed" && failed.error._tag === "UncertainSubmission", String(failed?._tag))
      assert.isBelow((yield* Clock.currentTimeMillis) - started, 5_000)
    }).pipe(Effect.provide(engineLayer([hung], { engine: { submitTimeout: "200 millis" } })), advancing)
  })

  it.effect("a stream that ends without a video is a malformed, charged answer", () => {
    const { provider } = scriptedStream({ models: [sora], runs: [{ events: [accepted] }] })
    return Effect.gen(function* () {
      const { events } = yield* collect(Engine.generate(request))
      const failed = events.at(-1)
      assert.isTrue(
        failed?._tag === "Failed" && failed.error._tag === "MalformedResponse" && failed.error.billing === "charged"
      )
    }).pipe(Effect.provide(engineLayer([provider])), advancing)
  })
})
