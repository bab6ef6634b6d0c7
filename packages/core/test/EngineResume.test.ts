import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { UrlAsset } from "../src/AssetSource.js"
import * as Engine from "../src/Engine.js"
import { GenerateRequest } from "../src/GenerateRequest.js"
import * as JobStore from "../src/JobStore.js"
import { SavedVideo, VideoProbe } from "../src/SavedVideo.js"
import { TaskHandle } from "../src/TaskHandle.js"
import * as VideoError from "../src/VideoError.js"
import { portrait } from "./helpers/catalog.js"
import { advancing } from "./helpers/clock.js"
import { engineLayer, tempDir } from "./helpers/engine.js"
import { sendBytes, serve } from "./helpers/httpServer.js"
import { fixture, scripted } from "./helpers/ScriptedProvider.js"

const request = GenerateRequest.make({ prompt: "a heron taking off from a misty lake" })
const video = fs.readFileSync(fixture("720x1280-8s.mp4"))

/** A store that answers `open` with the given resumption for every item and records nothing. */
const storeWith = (resumption: JobStore.Resumption) =>
  Layer.succeed(JobStore.JobStore, {
    open: (_batch, items) => Effect.succeed(items.map((item) => ({ key: item.key, resumption }))),
    record: () => Effect.void
  })

const handleAt = (createdAt: number, expiresAt: number) =>
  new TaskHandle({
    provider: "scripted",
    model: "acme-portrait",
    taskId: "task-old",
    mode: "async",
    createdAt: new Date(createdAt),
    expiresAt: new Date(expiresAt)
  })

const runOne = (output: string) => Engine.runMany([{ key: "heron", request, output }], { batch: "b" })

describe("Engine resuming a batch", () => {
  it.effect("re-creates an uncertain item with its recorded idempotency key, when allowed", () => {
    const { provider, recorder } = scripted({ models: [portrait()] })
    const output = path.join(tempDir(), "heron.mp4")
    return Effect.gen(function* () {
      const refused = yield* runOne(output)
      assert.strictEqual(refused.failed.get("heron")?._tag, "UncertainSubmission")
      assert.strictEqual(recorder.submits.length, 0, "not re-created without consent")
      const report = yield* Engine.runMany([{ key: "heron", request, output }], { batch: "b", recreateUncertain: true })
      assert.strictEqual(report.saved.size, 1)
      assert.deepStrictEqual(
        recorder.submits.map((submit) => submit.idempotencyKey),
        ["key-from-the-journal"]
      )
    }).pipe(
      Effect.provide(engineLayer([provider])),
      Effect.provide(storeWith({ _tag: "Uncertain", idempotencyKey: "key-from-the-journal" })),
      advancing
    )
  })

  it.effect("generates again, when asked, an item that failed at no cost", () => {
    const { provider, recorder } = scripted({ models: [portrait()] })
    const output = path.join(tempDir(), "heron.mp4")
    const free = new VideoError.GenerationFailed({
      provider: "scripted",
      taskId: "task-old",
      billing: "not-charged",
      message: "the task failed (free under on-success)"
    })
    return Effect.gen(function* () {
      const stands = yield* runOne(output)
      assert.strictEqual(stands.failed.get("heron")?._tag, "GenerationFailed", "without retryFailed it stands")
      assert.strictEqual(recorder.submits.length, 0)
      const retried = yield* Engine.runMany([{ key: "heron", request, output }], { batch: "b", retryFailed: true })
      assert.strictEqual(retried.saved.size, 1)
      assert.strictEqual(recorder.submits.length, 1, "one new submission")
      assert.notStrictEqual(recorder.submits[0]?.idempotencyKey, undefined)
    }).pipe(
      Effect.provide(engineLayer([provider])),
      Effect.provide(storeWith({ _tag: "Ended", error: free })),
      advancing
    )
  })

  it.effect("never generates again an item whose failure was charged, even when asked", () => {
    const { provider, recorder } = scripted({ models: [portrait()] })
    const charged = new VideoError.GenerationFailed({
      provider: "scripted",
      taskId: "task-old",
      billing: "charged",
      message: "the task failed (billed per request)"
    })
    return Effect.gen(function* () {
      const report = yield* Engine.runMany([{ key: "heron", request, output: path.join(tempDir(), "heron.mp4") }], {
        batch: "b",
        retryFailed: true
      })
      assert.strictEqual(report.failed.get("heron")?.billing, "charged")
      assert.strictEqual(recorder.submits.length, 0, "nothing created for it")
    }).pipe(
      Effect.provide(engineLayer([provider])),
      Effect.provide(storeWith({ _tag: "Ended", error: charged })),
      advancing
    )
  })

  it.effect("re-sends an uncertain create on its own when the provider drops repeated creates", () => {
    const { provider, recorder } = scripted({ models: [portrait()], idempotentCreates: true })
    return Effect.gen(function* () {
      const report = yield* runOne(path.join(tempDir(), "heron.mp4"))
      assert.strictEqual(report.saved.size, 1)
      assert.deepStrictEqual(
        recorder.submits.map((submit) => submit.idempotencyKey),
        ["key-from-the-journal"]
      )
    }).pipe(
      Effect.provide(engineLayer([provider])),
      Effect.provide(storeWith({ _tag: "Uncertain", idempotencyKey: "key-from-the-journal" })),
      advancing
    )
  })

  it.effect("repeats an ambiguous create when the provider drops repeated creates", () => {
    const { provider, recorder } = scripted({
      models: [portrait()],
      idempotentCreates: true,
      submitFailures: [new VideoError.ProviderUnavailable({ message: "reset", stage: "exchange" })]
    })
    return Effect.gen(function* () {
      const video = yield* Engine.generateTo(request, path.join(tempDir(), "heron.mp4"))
      assert.strictEqual(video.taskId, "task-1")
      assert.strictEqual(recorder.submits.length, 2)
      assert.strictEqual(new Set(recorder.submits.map((submit) => submit.idempotencyKey)).size, 1)
    }).pipe(Effect.provide(engineLayer([provider])), advancing)
  })

  // The two tests against a real server leave the clock still: nothing they run waits on it, and a
  // clock moved while a socket read is pending could fire the download's watchdog (see clock.ts).
  it.scoped("asks for a fresh link once when the recorded one is refused", () =>
    Effect.gen(function* () {
      const cdn = yield* serve((_request, response) => {
        response.writeHead(403)
        response.end()
      })
      const { provider, recorder } = scripted({ models: [portrait()] })
      const output = path.join(tempDir(), "heron.mp4")
      const now = yield* Clock.currentTimeMillis
      const report = yield* runOne(output).pipe(
        Effect.provide(engineLayer([provider])),
        Effect.provide(
          storeWith({
            _tag: "Fetch",
            handle: handleAt(now - 60_000, now + 3_600_000),
            asset: new UrlAsset({ url: cdn.url("/video.mp4?token=abc"), expiresAt: new Date(now + 3_600_000) })
          })
        )
      )
      assert.strictEqual(cdn.requests.length, 1)
      assert.strictEqual(recorder.contentCalls, 1)
      assert.strictEqual(report.saved.get("heron")?.bytes, video.length)
    })
  )

  it.effect("reports a paid video lost when its task and link expired before the download", () => {
    const { provider, recorder } = scripted({ models: [portrait()] })
    return Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const report = yield* runOne(path.join(tempDir(), "heron.mp4")).pipe(
        Effect.provide(engineLayer([provider])),
        Effect.provide(
          storeWith({
            _tag: "Fetch",
            handle: handleAt(now - 2 * 86_400_000, now - 86_400_000),
            asset: new UrlAsset({ url: "http://127.0.0.1:9/gone.mp4", expiresAt: new Date(now - 86_400_000) })
          })
        )
      )
      const error = report.failed.get("heron")
      assert.strictEqual(error?._tag, "TaskExpired")
      assert.strictEqual(error?.billing, "charged")
      assert.include(error?.message ?? "", "paid for")
      assert.strictEqual(recorder.contentCalls, 0)
    }).pipe(advancing)
  })

  it.scoped("re-fetches a damaged file from its recorded link, and skips an intact one", () =>
    Effect.gen(function* () {
      const cdn = yield* serve((request, response) => sendBytes(request, response, video))
      const { provider, recorder } = scripted({ models: [portrait()] })
      const dir = tempDir()
      const output = path.join(dir, "heron.mp4")
      fs.writeFileSync(output, video)
      const probe = new VideoProbe({
        container: "mp4",
        mimeType: "video/mp4",
        width: 720,
        height: 1280,
        durationSeconds: 8,
        hasAudio: true
      })
      const saved = new SavedVideo({
        path: output,
        bytes: video.length,
        sha256: (yield* Effect.promise(() => import("node:crypto"))).createHash("sha256").update(video).digest("hex"),
        probe,
        provider: "scripted",
        model: "acme-portrait",
        taskId: "task-old"
      })
      const now = yield* Clock.currentTimeMillis
      const resumption: JobStore.Resumption = {
        _tag: "Verify",
        video: saved,
        handle: handleAt(now - 60_000, now + 3_600_000),
        asset: new UrlAsset({ url: cdn.url("/video.mp4"), expiresAt: new Date(now + 3_600_000) })
      }
      const layer = (effect: Effect.Effect<Engine.BatchReport, JobStore.JobStoreError, Engine.Engine>) =>
        effect.pipe(Effect.provide(engineLayer([provider])), Effect.provide(storeWith(resumption)))

      const intact = yield* layer(runOne(output))
      assert.strictEqual(intact.saved.size, 1)
      assert.strictEqual(cdn.requests.length, 0, "an intact file is not downloaded again")

      fs.writeFileSync(output, "damaged")
      const repaired = yield* layer(runOne(output))
      assert.strictEqual(repaired.saved.size, 1)
      assert.strictEqual(cdn.requests.length, 1)
      assert.strictEqual(recorder.contentCalls, 0, "the recorded link was still good")
      assert.deepStrictEqual(fs.readFileSync(output), video)
    })
  )

  it.effect("names the item a duplicate repeats, and refuses a key reused for another request", () => {
    const { provider, recorder } = scripted({ models: [portrait()] })
    const outputDir = tempDir()
    return Effect.gen(function* () {
      const report = yield* Engine.runMany(
        [
          { key: "a", request: GenerateRequest.make({ prompt: "one" }) },
          { key: "a", request: GenerateRequest.make({ prompt: "one" }) },
          { key: "b", request: GenerateRequest.make({ prompt: "one" }) },
          { key: "c", request: GenerateRequest.make({ prompt: "two" }) },
          { key: "c", request: GenerateRequest.make({ prompt: "three" }) }
        ],
        { outputDir }
      )
      assert.strictEqual(recorder.submits.length, 2)
      assert.strictEqual(report.duplicates.get("b"), "a")
      assert.strictEqual(report.failed.get("c")?._tag, "InvalidRequest")
      assert.include(report.failed.get("c")?.message ?? "", "used twice in this batch for different requests")
    }).pipe(Effect.provide(engineLayer([provider])), advancing)
  })
})
