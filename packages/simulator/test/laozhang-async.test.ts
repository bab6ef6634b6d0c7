import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Simulator from "../src/Simulator.js"
import * as Videos from "../src/Videos.js"
import { apiyi, bytes, control, form, get, jpeg, json, laozhang, postForm, postJson } from "./support.js"

const fixture = (name: string) => readFileSync(`${Videos.defaultDirectory}/${name}.mp4`)

describe("laozhang async (veo-3.1 family)", () => {
  it.scoped("create → queued → processing with rising progress → completed → content URL on the CDN", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const created = yield* json(
        yield* postJson(`${sim.urls.laozhang}/videos`, { model: "veo-3.1", prompt: "A cute cat" }, laozhang)
      )
      assert.deepStrictEqual(Object.keys(created).sort(), ["created", "id", "model", "object", "status"])
      assert.match(created.id, /^video_[0-9a-f]{24}$/)
      assert.strictEqual(created.object, "video")
      assert.strictEqual(created.status, "queued")
      assert.strictEqual(created.model, "veo-3.1")
      assert.strictEqual(typeof created.created, "number")

      const [task] = (yield* control(sim.urls.control, "/tasks")).tasks
      const poll = () => Effect.flatMap(get(`${sim.urls.laozhang}/videos/${created.id}`, laozhang), (r) => json(r))
      // Default scale: a standard model takes 60-120 s / 30 = 2-4 s, 10-30 % of it queued.
      assert.isAtLeast(task.queueMs + task.runMs, 2000)
      assert.isAtMost(task.queueMs + task.runMs, 4000)

      const first = yield* poll()
      assert.strictEqual(first.status, "queued")
      assert.strictEqual(first.progress, 0)
      assert.strictEqual(first.prompt, "A cute cat")

      yield* TestClock.adjust(task.queueMs + task.runMs / 4)
      const running = yield* poll()
      assert.strictEqual(running.status, "processing")
      yield* TestClock.adjust(task.runMs / 2)
      const later = yield* poll()
      assert.strictEqual(later.status, "processing")
      assert.isAbove(later.progress, running.progress)
      assert.isBelow(later.progress, 100)

      const early = yield* get(`${sim.urls.laozhang}/videos/${created.id}/content`, laozhang)
      assert.strictEqual(early.status, 400)
      assert.strictEqual((yield* json(early)).error.code, "video_not_ready")

      yield* TestClock.adjust(task.runMs)
      const done = yield* poll()
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(done.progress, 100)

      const content = yield* json(yield* get(`${sim.urls.laozhang}/videos/${created.id}/content`, laozhang))
      assert.strictEqual(content.status, "completed")
      assert.strictEqual(content.duration, 8)
      assert.strictEqual(content.resolution, "720x1280")
      assert.strictEqual(content.prompt, "A cute cat")
      assert.isTrue(content.url.startsWith(`${sim.urls.cdn}/assets/flow/`))
      assert.notStrictEqual(new URL(content.url).origin, new URL(sim.urls.laozhang).origin)

      const video = yield* get(content.url)
      assert.strictEqual(video.status, 200)
      assert.strictEqual(video.headers.get("content-type"), "video/mp4")
      assert.isTrue((yield* bytes(video)).equals(fixture("720x1280-8s")))
    })
  )

  it.scoped("landscape models deliver 1280x720; every one of the 8 models is accepted", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const models = ["veo-3.1", "veo-3.1-fast", "veo-3.1-landscape", "veo-3.1-landscape-fast"]
      const ids: Array<string> = []
      for (const model of models) {
        const res = yield* postJson(`${sim.urls.laozhang}/videos`, { model, prompt: "x" }, laozhang)
        assert.strictEqual(res.status, 200)
        ids.push((yield* json(res)).id)
      }
      for (const model of ["veo-3.1-fl", "veo-3.1-fast-fl", "veo-3.1-landscape-fl", "veo-3.1-landscape-fast-fl"]) {
        const res = yield* postJson(
          `${sim.urls.laozhang}/videos`,
          { model, prompt: "x", input_reference: "https://example.com/first.png" },
          laozhang
        )
        assert.strictEqual(res.status, 200, model)
      }
      yield* TestClock.adjust("10 seconds")
      const landscape = yield* json(yield* get(`${sim.urls.laozhang}/videos/${ids[2]}/content`, laozhang))
      assert.strictEqual(landscape.resolution, "1280x720")
      assert.isTrue((yield* bytes(yield* get(landscape.url))).equals(fixture("1280x720-8s")))
    })
  )

  it.scoped("charges $0.25 / $0.15 exactly once, when the task completes, even if nobody polls", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const a = yield* json(yield* postJson(`${sim.urls.laozhang}/videos`, { model: "veo-3.1", prompt: "a" }, laozhang))
      const b = yield* json(
        yield* postJson(`${sim.urls.laozhang}/videos`, { model: "veo-3.1-fast", prompt: "b" }, laozhang)
      )
      assert.deepStrictEqual(yield* sim.ledger, [])
      yield* TestClock.adjust("1 minute")
      const ledger = yield* sim.ledger
      assert.deepStrictEqual(
        ledger.map((e) => [e.taskId, e.amount, e.rule, e.protocol, e.host]).sort(),
        [
          [a.id, "0.25", "on-success", "async", "laozhang"],
          [b.id, "0.15", "on-success", "async", "laozhang"]
        ].sort()
      )
      assert.strictEqual(ledger[0]!.key, Simulator.fingerprint("sk-test-laozhang"))
      // Polling and fetching content again never charges again.
      yield* get(`${sim.urls.laozhang}/videos/${a.id}`, laozhang)
      yield* get(`${sim.urls.laozhang}/videos/${a.id}/content`, laozhang)
      assert.strictEqual((yield* sim.ledger).length, 2)
      const view = yield* control(sim.urls.control, "/ledger")
      assert.strictEqual(view.total, "0.40")
      assert.strictEqual(view.count, 2)
      assert.strictEqual(yield* sim.balance("laozhang", "sk-test-laozhang"), "999999.60")
    })
  )

  it.scoped("frame-to-video: multipart input_reference files (1 or 2), logged by digest; 3, none or junk refused", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const url = `${sim.urls.laozhang}/videos`
      for (const n of [1, 2]) {
        const res = yield* postForm(url, form({ model: "veo-3.1-landscape-fl", prompt: "x" }, n), laozhang)
        assert.strictEqual(res.status, 200)
        const created = yield* json(res)
        assert.strictEqual(sim.state.tasks.find(created.id)?.images, n)
      }
      const frame = Buffer.from(yield* Effect.promise(() => jpeg().arrayBuffer()))
      const [, record] = (yield* sim.requests).filter((request) => request.route === "create")
      assert.deepStrictEqual(
        record!.uploads!.map((upload) => [upload.fileName, upload.contentType, upload.bytes, upload.sha256]),
        [0, 1].map((i) => [
          `frame-${i}.jpg`,
          "image/jpeg",
          frame.length,
          createHash("sha256").update(frame).digest("hex")
        ])
      )
      assert.isUndefined(record!.ignored)
      const three = yield* postForm(url, form({ model: "veo-3.1-fl", prompt: "x" }, 3), laozhang)
      assert.strictEqual(three.status, 400)
      assert.strictEqual((yield* json(three)).error.code, "invalid_request")
      const none = yield* postJson(url, { model: "veo-3.1-fl", prompt: "x" }, laozhang)
      assert.strictEqual(none.status, 400)
      const notImage = new FormData()
      notImage.append("model", "veo-3.1-fl")
      notImage.append("prompt", "x")
      notImage.append("input_reference", new Blob(["hello"], { type: "text/plain" }), "a.txt")
      const bad = yield* postForm(url, notImage, laozhang)
      assert.strictEqual(bad.status, 400)
      assert.match((yield* json(bad)).error.message, /not a JPEG, PNG, WebP or GIF/)
      const badUrl = yield* postJson(url, { model: "veo-3.1-fl", prompt: "x", input_reference: "ftp://x" }, laozhang)
      assert.strictEqual(badUrl.status, 400)
    })
  )

  it.scoped("a JSON input_reference URL on an -fl model is taken and ignored: made and charged without the frame", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const url = `${sim.urls.laozhang}/videos`
      for (const input_reference of ["https://e.com/a.png", ["https://e.com/a.png", "https://e.com/b.png"]]) {
        const res = yield* postJson(url, { model: "veo-3.1-fl", prompt: "x", input_reference }, laozhang)
        assert.strictEqual(res.status, 200)
        const created = yield* json(res)
        assert.strictEqual(created.status, "queued")
        assert.strictEqual(sim.state.tasks.find(created.id)?.images, 0, "no frame reached the generation")
      }
      const records = (yield* sim.requests).filter((request) => request.route === "create")
      assert.deepStrictEqual(
        records.map((request) => request.ignored),
        [["input_reference"], ["input_reference"]]
      )
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(
        (yield* sim.ledger).map((entry) => entry.amount),
        ["0.25", "0.25"]
      )
      // Not on a text model (refused as before), and never on apiyi (refused: multipart only).
      const text = yield* postJson(
        url,
        { model: "veo-3.1", prompt: "x", input_reference: "https://e.com/a.png" },
        laozhang
      )
      assert.strictEqual(text.status, 400)
      const apiyiUrl = `${sim.urls.apiyi}/videos`
      const onApiyi = yield* postJson(
        apiyiUrl,
        { model: "veo-3.1-fl", prompt: "x", input_reference: "https://e.com/a.png" },
        apiyi
      )
      assert.strictEqual(onApiyi.status, 400)
    })
  )

  it.scoped("documented errors: 401, 400 (model, prompt, image on a non-fl model, body), 404", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const url = `${sim.urls.laozhang}/videos`
      const expect = (res: Response, status: number, code: string, type?: string) =>
        Effect.gen(function* () {
          assert.strictEqual(res.status, status)
          const body = yield* json(res)
          assert.deepStrictEqual(Object.keys(body), ["error"])
          assert.deepStrictEqual(Object.keys(body.error).sort(), ["code", "message", "type"])
          assert.strictEqual(body.error.code, code)
          if (type !== undefined) assert.strictEqual(body.error.type, type)
        })
      const ok = { model: "veo-3.1", prompt: "x" }
      yield* expect(yield* postJson(url, ok, {}), 401, "invalid_api_key", "authentication_error")
      yield* expect(yield* postJson(url, ok, { authorization: "sk-test" }), 401, "invalid_api_key")
      yield* expect(yield* postJson(url, ok, { authorization: "Bearer sk-invalid-1" }), 401, "invalid_api_key")
      yield* expect(yield* postJson(url, { model: "veo-9", prompt: "x" }, laozhang), 400, "invalid_model")
      yield* expect(yield* postJson(url, { prompt: "x" }, laozhang), 400, "invalid_request")
      yield* expect(yield* postJson(url, { model: "veo-3.1", prompt: "" }, laozhang), 400, "invalid_prompt")
      yield* expect(yield* postJson(url, { model: "veo-3.1" }, laozhang), 400, "invalid_prompt")
      yield* expect(
        yield* postJson(url, { model: "veo-3.1", prompt: "x".repeat(5001) }, laozhang),
        400,
        "invalid_prompt"
      )
      yield* expect(yield* postJson(url, { model: "veo-3.1", prompt: "x @sim:nope" }, laozhang), 400, "invalid_prompt")
      yield* expect(
        yield* postJson(url, { model: "veo-3.1", prompt: "x", input_reference: "https://e.com/a.png" }, laozhang),
        400,
        "invalid_model"
      )
      yield* expect(yield* postForm(url, form({ model: "veo-3.1", prompt: "x" }, 1), laozhang), 400, "invalid_model")
      yield* expect(yield* postJson(url, { model: "sora_video2", prompt: "x" }, laozhang), 400, "invalid_model")
      yield* expect(
        yield* Effect.promise(() =>
          fetch(url, { method: "POST", headers: { ...laozhang, "content-type": "application/json" }, body: "{oops" })
        ),
        400,
        "invalid_request"
      )
      yield* expect(yield* get(`${sim.urls.laozhang}/videos/video_000`, laozhang), 404, "video_not_found")
      // A task is visible only to the key that created it.
      const mine = yield* json(yield* postJson(url, ok, laozhang))
      yield* expect(
        yield* get(`${sim.urls.laozhang}/videos/${mine.id}`, { authorization: "Bearer sk-someone-else" }),
        404,
        "video_not_found"
      )
      yield* expect(yield* get(`${sim.urls.laozhang}/nope`, laozhang), 404, "not_found")
      // Nothing refused was created or charged.
      assert.strictEqual((yield* control(sim.urls.control, "/tasks")).tasks.length, 1)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* sim.ledger).length, 1)
    })
  )

  it.scoped("insufficient balance: 402 from a key without funds, and naturally when the balance runs out", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make({ balances: { "sk-poor": "0.20" } })
      const url = `${sim.urls.laozhang}/videos`
      const broke = yield* postJson(url, { model: "veo-3.1", prompt: "x" }, { authorization: "Bearer sk-nofunds-1" })
      assert.strictEqual(broke.status, 402)
      assert.strictEqual((yield* json(broke)).error.code, "insufficient_balance")
      const poor = { authorization: "Bearer sk-poor" }
      assert.strictEqual((yield* postJson(url, { model: "veo-3.1", prompt: "x" }, poor)).status, 402)
      assert.strictEqual((yield* postJson(url, { model: "veo-3.1-fast", prompt: "x" }, poor)).status, 200)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* sim.balance("laozhang", "sk-poor"), "0.05")
      assert.strictEqual((yield* postJson(url, { model: "veo-3.1-fast", prompt: "x" }, poor)).status, 402)
    })
  )

  it.scoped("the compatibility path also reports async tasks, in their own vocabulary", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const created = yield* json(
        yield* postJson(`${sim.urls.laozhang}/videos`, { model: "veo-3.1-fast", prompt: "x" }, laozhang)
      )
      const body = yield* json(yield* get(`${sim.urls.laozhang}/video/generations/${created.id}`, laozhang))
      assert.strictEqual(body.task_id, created.id)
      assert.strictEqual(body.status, "queued")
      assert.isUndefined(body.url)
    })
  )
})
