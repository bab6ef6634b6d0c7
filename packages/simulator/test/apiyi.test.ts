import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Simulator from "../src/Simulator.js"
import * as Videos from "../src/Videos.js"
import { apiyi, bytes, form, get, json, postForm, postJson } from "./support.js"

const fixture = (name: string) => readFileSync(`${Videos.defaultDirectory}/${name}.mp4`)

const expectError = (res: Response, status: number, code: string, type?: string) =>
  Effect.gen(function* () {
    assert.strictEqual(res.status, status)
    const body = yield* json(res)
    assert.deepStrictEqual(Object.keys(body), ["error"])
    assert.deepStrictEqual(Object.keys(body.error), ["code", "message", "type"])
    assert.strictEqual(body.error.code, code)
    if (type !== undefined) assert.strictEqual(body.error.type, type)
    return body
  })

describe("apiyi async", () => {
  it.scoped("raw-key JSON create → poll → content → CDN download; charged on completion", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const created = yield* json(
        yield* postJson(
          `${sim.urls.apiyi}/videos`,
          { prompt: "A cute kitten playing", model: "veo-3.1-landscape" },
          apiyi
        )
      )
      assert.strictEqual(created.status, "queued")
      assert.strictEqual(created.object, "video")
      assert.match(created.id, /^video_/)
      const status = yield* json(yield* get(`${sim.urls.apiyi}/videos/${created.id}`, apiyi))
      assert.strictEqual(status.status, "queued")
      yield* expectError(yield* get(`${sim.urls.apiyi}/videos/${created.id}/content`, apiyi), 400, "video_not_ready")
      yield* TestClock.adjust("10 seconds")
      const content = yield* json(yield* get(`${sim.urls.apiyi}/videos/${created.id}/content`, apiyi))
      assert.deepStrictEqual(Object.keys(content), [
        "id",
        "object",
        "created",
        "status",
        "model",
        "prompt",
        "url",
        "duration",
        "resolution"
      ])
      assert.strictEqual(content.resolution, "1280x720")
      assert.strictEqual(content.duration, 8)
      assert.isTrue((yield* bytes(yield* get(content.url))).equals(fixture("1280x720-8s")))
      const ledger = yield* sim.ledger
      assert.deepStrictEqual(
        ledger.map((e) => [e.host, e.amount, e.rule]),
        [["apiyi", "0.25", "on-success"]]
      )
      assert.strictEqual(ledger[0]!.key, Simulator.fingerprint("sk-test-apiyi"))
    })
  )

  it.scoped("-fl models take multipart with one or two input_reference files", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const url = `${sim.urls.apiyi}/videos`
      for (const n of [1, 2]) {
        const res = yield* postForm(url, form({ prompt: "zoom in", model: "veo-3.1-landscape-fl" }, n), apiyi)
        assert.strictEqual(res.status, 200)
        assert.strictEqual((yield* json(res)).model, "veo-3.1-landscape-fl")
      }
      yield* expectError(
        yield* postForm(url, form({ prompt: "x", model: "veo-3.1-fl" }, 3), apiyi),
        400,
        "invalid_request"
      )
      // JSON (image URLs) is laozhang's form, not apiyi's; a -fl model without images is refused.
      yield* expectError(
        yield* postJson(url, { prompt: "x", model: "veo-3.1-fl", input_reference: "https://e.com/a.png" }, apiyi),
        400,
        "invalid_request"
      )
      yield* expectError(yield* postJson(url, { prompt: "x", model: "veo-3.1-fl" }, apiyi), 400, "invalid_request")
      // An image on a non-fl model names the model as the problem.
      yield* expectError(yield* postForm(url, form({ prompt: "x", model: "veo-3.1" }, 1), apiyi), 400, "invalid_model")
    })
  )

  it.scoped("its documented error codes, in its documented body", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const url = `${sim.urls.apiyi}/videos`
      const ok = { prompt: "x", model: "veo-3.1" }
      const bearer = yield* expectError(
        yield* postJson(url, ok, { authorization: "Bearer sk-test-apiyi" }),
        401,
        "invalid_api_key",
        "authentication_error"
      )
      assert.match(bearer.error.message, /without 'Bearer'/)
      yield* expectError(yield* postJson(url, ok, {}), 401, "invalid_api_key")
      yield* expectError(yield* postJson(url, ok, { authorization: "sk-invalid" }), 401, "invalid_api_key")
      yield* expectError(yield* postJson(url, { prompt: "x", model: "sora_video2" }, apiyi), 400, "invalid_model")
      yield* expectError(
        yield* postJson(url, { prompt: "x", model: "veo-3.1-generate-preview" }, apiyi),
        400,
        "invalid_model"
      )
      yield* expectError(yield* postJson(url, { prompt: "  ", model: "veo-3.1" }, apiyi), 400, "invalid_prompt")
      yield* expectError(yield* get(`${url}/video_unknown`, apiyi), 404, "video_not_found")
      yield* expectError(yield* get(`${url}/video_unknown/content`, apiyi), 404, "video_not_found")
      yield* expectError(yield* postJson(url, ok, { authorization: "sk-nofunds" }), 402, "quota_exceeded")
      yield* expectError(
        yield* postJson(url, { ...ok, prompt: "x @sim:insufficient-balance" }, apiyi),
        402,
        "quota_exceeded"
      )
      // Sora and the official forward are laozhang's, not apiyi's.
      yield* expectError(yield* postJson(`${sim.urls.apiyi}/chat/completions`, {}, apiyi), 404, "not_found")
      assert.strictEqual((yield* sim.ledger).length, 0)
    })
  )

  it.scoped("laozhang and apiyi keep separate books: same key, separate balances and tasks", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make({ balances: { "sk-shared": "0.30" } })
      const a = yield* json(
        yield* postJson(`${sim.urls.apiyi}/videos`, { prompt: "x", model: "veo-3.1" }, { authorization: "sk-shared" })
      )
      yield* expectError(
        yield* get(`${sim.urls.laozhang}/videos/${a.id}`, { authorization: "Bearer sk-shared" }),
        404,
        "video_not_found"
      )
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* sim.balance("apiyi", "sk-shared"), "0.05")
      assert.strictEqual(yield* sim.balance("laozhang", "sk-shared"), "0.30")
    })
  )
})
