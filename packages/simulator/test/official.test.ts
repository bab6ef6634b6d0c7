import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Simulator from "../src/Simulator.js"
import * as Videos from "../src/Videos.js"
import { bytes, control, form, get, json, laozhang, postForm, postJson } from "./support.js"

const fixture = (name: string) => readFileSync(`${Videos.defaultDirectory}/${name}.mp4`)
const fast = "veo-3.1-fast-generate-preview"
const standard = "veo-3.1-generate-preview"
const meta4k = JSON.stringify({ durationSeconds: 8, resolution: "4k", aspectRatio: "16:9" })

describe("laozhang official forward", () => {
  it.scoped("multipart create → queued / in_progress / completed; /content returns the MP4 bytes with the key", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const res = yield* postForm(
        `${sim.urls.laozhang}/videos`,
        form({ model: fast, prompt: "A cat", seconds: "8", size: "1280x720", resolution: "720p", aspectRatio: "16:9" }),
        laozhang
      )
      assert.strictEqual(res.status, 200)
      const created = yield* json(res)
      assert.strictEqual(created.status, "queued")
      assert.strictEqual(created.task_id, created.id)
      assert.strictEqual(created.object, "video")
      assert.strictEqual(created.seconds, "8")
      assert.strictEqual(created.size, "1280x720")
      assert.strictEqual(created.progress, 0)
      // Charged at once: per request.
      const charged = yield* sim.ledger
      assert.deepStrictEqual(
        charged.map((e) => [e.taskId, e.amount, e.rule]),
        [[created.id, "0.30", "per-request"]]
      )

      const [task] = (yield* control(sim.urls.control, "/tasks")).tasks
      yield* TestClock.adjust(task.queueMs + task.runMs / 2)
      const running = yield* json(yield* get(`${sim.urls.laozhang}/videos/${created.id}`, laozhang))
      assert.strictEqual(running.status, "in_progress")
      assert.isAbove(running.progress, 0)
      const compat = yield* json(yield* get(`${sim.urls.laozhang}/video/generations/${created.id}`, laozhang))
      assert.strictEqual(compat.status, "in_progress")
      assert.strictEqual(compat.task_id, created.id)
      assert.isUndefined(compat.url)
      const notReady = yield* get(`${sim.urls.laozhang}/videos/${created.id}/content`, laozhang)
      assert.strictEqual(notReady.status, 400)
      assert.strictEqual((yield* json(notReady)).error.code, "video_not_ready")

      yield* TestClock.adjust(task.runMs)
      const done = yield* json(yield* get(`${sim.urls.laozhang}/videos/${created.id}`, laozhang))
      assert.strictEqual(done.status, "completed")
      const noKey = yield* get(`${sim.urls.laozhang}/videos/${created.id}/content`)
      assert.strictEqual(noKey.status, 401)
      const content = yield* get(`${sim.urls.laozhang}/videos/${created.id}/content`, laozhang)
      assert.strictEqual(content.status, 200)
      assert.strictEqual(content.headers.get("content-type"), "video/mp4")
      assert.isTrue((yield* bytes(content)).equals(fixture("1280x720-8s")))
      const part = yield* get(`${sim.urls.laozhang}/videos/${created.id}/content`, {
        ...laozhang,
        range: "bytes=100-199"
      })
      assert.strictEqual(part.status, 206)
      assert.strictEqual(part.headers.get("content-range"), `bytes 100-199/${fixture("1280x720-8s").length}`)
      assert.isTrue((yield* bytes(part)).equals(fixture("1280x720-8s").subarray(100, 200)))
      assert.strictEqual((yield* sim.ledger).length, 1)
    })
  )

  it.scoped("delivers the requested size and duration (720p 4/6/8 s, 1080p, 4k with metadata)", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const cases: Array<[Record<string, string>, string]> = [
        [{}, "1280x720-8s"],
        [{ seconds: "4", aspectRatio: "9:16" }, "720x1280-4s"],
        [{ duration: "6", size: "1280x720" }, "1280x720-6s"],
        [{ seconds: "6", duration: "6", resolution: "720p", aspectRatio: "9:16" }, "720x1280-6s"],
        [{ seconds: "8", size: "1920x1080", resolution: "1080p" }, "1920x1080-8s"],
        [{ resolution: "1080p", aspectRatio: "9:16" }, "1080x1920-8s"],
        [
          { seconds: "8", duration: "8", size: "3840x2160", resolution: "4k", aspectRatio: "16:9", metadata: meta4k },
          "3840x2160-8s"
        ]
      ]
      const ids: Array<string> = []
      for (const [fields, _] of cases) {
        const res = yield* postForm(
          `${sim.urls.laozhang}/videos`,
          form({ model: standard, prompt: "x", ...fields }),
          laozhang
        )
        assert.strictEqual(res.status, 200, JSON.stringify(fields))
        ids.push((yield* json(res)).id)
      }
      yield* TestClock.adjust("10 seconds")
      for (const [i, [, name]] of cases.entries()) {
        const video = yield* bytes(yield* get(`${sim.urls.laozhang}/videos/${ids[i]}/content`, laozhang))
        assert.isTrue(video.equals(fixture(name)), name)
      }
      const ledger = yield* sim.ledger
      assert.strictEqual(ledger.length, cases.length)
      assert.isTrue(ledger.every((e) => e.amount === "1.20" && e.rule === "per-request"))
    })
  )

  it.scoped("refuses what the page refuses, with 400 and the documented body, charging nothing", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const refused: Array<[Record<string, string>, number, RegExp]> = [
        [{ seconds: "8", duration: "6" }, 0, /must be the same/],
        [{ seconds: "5" }, 0, /seconds must be/],
        [{ seconds: "4", resolution: "1080p" }, 0, /1080p requires 8-second/],
        [{ seconds: "6", size: "3840x2160", metadata: meta4k }, 0, /does not match|requires 8/],
        [{ size: "3840x2160" }, 0, /4k requests must include metadata/],
        [{ resolution: "4k", metadata: JSON.stringify({ durationSeconds: 8, resolution: "4k" }) }, 0, /4k requests/],
        [{ resolution: "4k", aspectRatio: "9:16" }, 0, /4k is 16:9 only/],
        [{ size: "1920x1080", resolution: "720p" }, 0, /is 1080p, not 720p/],
        [{ size: "1280x720", aspectRatio: "9:16" }, 0, /is 16:9, not 9:16/],
        [{ size: "640x480" }, 0, /size must be one of/],
        [{ metadata: "{not json" }, 0, /metadata must be a JSON object/],
        [{ generateAudio: "true" }, 0, /generateAudio is not supported/],
        [{ referenceImages: "x" }, 0, /referenceImages is not supported/],
        [{ lastFrame: "x" }, 0, /lastFrame is not supported/],
        [{ video: "x" }, 0, /video is not supported/],
        [{}, 2, /Only one input_reference/],
        [{ input_reference: "https://example.com/a.png" }, 0, /must be an uploaded image file/]
      ]
      for (const [fields, images, message] of refused) {
        const res = yield* postForm(
          `${sim.urls.laozhang}/videos`,
          form({ model: fast, prompt: "x", ...fields }, images),
          laozhang
        )
        assert.strictEqual(res.status, 400, JSON.stringify(fields))
        const body = yield* json(res)
        assert.strictEqual(body.error.code, "invalid_request")
        assert.strictEqual(body.error.type, "invalid_request_error")
        assert.match(body.error.message, message)
      }
      const asJson = yield* postJson(`${sim.urls.laozhang}/videos`, { model: fast, prompt: "x" }, laozhang)
      assert.strictEqual(asJson.status, 400)
      assert.match((yield* json(asJson)).error.message, /multipart\/form-data/)
      const oneImage = yield* postForm(`${sim.urls.laozhang}/videos`, form({ model: fast, prompt: "x" }, 1), laozhang)
      assert.strictEqual(oneImage.status, 200)
      assert.strictEqual((yield* sim.ledger).length, 1)
    })
  )

  it.scoped("a failed generation is still charged (per request); its content is not ready", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const created = yield* json(
        yield* postForm(`${sim.urls.laozhang}/videos`, form({ model: standard, prompt: "x @sim:fail" }), laozhang)
      )
      yield* TestClock.adjust("10 seconds")
      const status = yield* json(yield* get(`${sim.urls.laozhang}/videos/${created.id}`, laozhang))
      assert.strictEqual(status.status, "failed")
      assert.strictEqual(status.error.code, "generation_failed")
      assert.strictEqual((yield* get(`${sim.urls.laozhang}/videos/${created.id}/content`, laozhang)).status, 400)
      assert.deepStrictEqual(
        (yield* sim.ledger).map((e) => e.amount),
        ["1.20"]
      )
    })
  )
})
