import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Simulator from "../src/Simulator.js"
import * as Videos from "../src/Videos.js"
import { bytes, call, get, json, laozhang, postJson } from "./support.js"

const file = readFileSync(`${Videos.defaultDirectory}/720x1280-8s.mp4`)

const videoUrl = (sim: Simulator.Service, prompt = "x") =>
  Effect.gen(function* () {
    const created = yield* json(yield* postJson(`${sim.urls.laozhang}/videos`, { model: "veo-3.1", prompt }, laozhang))
    yield* TestClock.adjust("10 seconds")
    const content = yield* json(yield* get(`${sim.urls.laozhang}/videos/${created.id}/content`, laozhang))
    return content.url as string
  })

describe("CDN", () => {
  it.scoped("is a separate origin that records the headers it receives (no key unless a client leaks it)", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const url = yield* videoUrl(sim)
      assert.notStrictEqual(new URL(url).port, new URL(sim.urls.laozhang).port)
      yield* bytes(yield* get(url, { "user-agent": "test-client", "x-trace": "1" }))
      yield* bytes(yield* get(url, { authorization: "Bearer sk-test-laozhang" }))
      const [clean, leaked] = yield* sim.cdnRequests
      assert.strictEqual(clean!.headers["user-agent"], "test-client")
      assert.strictEqual(clean!.headers["x-trace"], "1")
      assert.isUndefined(clean!.headers["authorization"])
      assert.deepStrictEqual(clean!.authorization, { present: false, scheme: null, fingerprint: null })
      // A leak is visible, but the key itself is never stored.
      assert.isTrue(leaked!.authorization.present)
      assert.strictEqual(leaked!.authorization.fingerprint, Simulator.fingerprint("sk-test-laozhang"))
      assert.notInclude(JSON.stringify(yield* sim.cdnRequests), "sk-test-laozhang")
      const viaControl = yield* json(yield* call(`${sim.urls.control}/cdn/requests`))
      assert.strictEqual(viaControl.requests.length, 2)
    })
  )

  it.scoped("Range: 206 with Content-Range, suffix ranges, 416 past the end, HEAD, If-Range", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const url = yield* videoUrl(sim)
      const size = file.length
      const first = yield* get(url, { range: "bytes=0-99" })
      assert.strictEqual(first.status, 206)
      assert.strictEqual(first.headers.get("content-range"), `bytes 0-99/${size}`)
      assert.strictEqual(first.headers.get("content-length"), "100")
      assert.isTrue((yield* bytes(first)).equals(file.subarray(0, 100)))
      const suffix = yield* get(url, { range: "bytes=-50" })
      assert.isTrue((yield* bytes(suffix)).equals(file.subarray(size - 50)))
      const open = yield* get(url, { range: `bytes=${size - 10}-` })
      assert.strictEqual((yield* bytes(open)).length, 10)
      const beyond = yield* get(url, { range: `bytes=${size}-` })
      assert.strictEqual(beyond.status, 416)
      assert.strictEqual(beyond.headers.get("content-range"), `bytes */${size}`)
      const head = yield* call(url, { method: "HEAD" })
      assert.strictEqual(head.status, 200)
      assert.strictEqual(head.headers.get("content-length"), String(size))
      assert.strictEqual(head.headers.get("accept-ranges"), "bytes")
      const etag = head.headers.get("etag")!
      const guarded = yield* get(url, { range: "bytes=0-9", "if-range": etag })
      assert.strictEqual(guarded.status, 206)
      const stale = yield* get(url, { range: "bytes=0-9", "if-range": '"other"' })
      assert.strictEqual(stale.status, 200)
      assert.strictEqual((yield* bytes(stale)).length, size)
      assert.strictEqual((yield* call(url, { method: "DELETE" })).status, 405)
      assert.strictEqual((yield* get(`${sim.urls.cdn}/assets/flow/unknown.mp4`)).status, 404)
    })
  )

  it.scoped("URLs expire after the configured TTL (counted from completion)", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make({ urlTtl: "30 seconds" })
      const url = yield* videoUrl(sim)
      assert.strictEqual((yield* get(url)).status, 200)
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual((yield* get(url)).status, 404)
    })
  )

  it.scoped("the default TTLs are 24 h times the time scale", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make({ timeScale: 1 / 100 })
      const config = yield* json(yield* call(`${sim.urls.control}/config`))
      assert.strictEqual(config.taskTtlMs, 864_000)
      assert.strictEqual(config.urlTtlMs, 864_000)
    })
  )

  it.scopedLive(
    "streams a 1 GiB padded video without buffering it",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.make({ timeScale: 1 / 1000 })
        const created = yield* json(
          yield* postJson(
            `${sim.urls.laozhang}/videos`,
            { model: "veo-3.1-fast", prompt: "big @sim:pad(bytes=1g)" },
            laozhang
          )
        )
        yield* Effect.sleep("200 millis")
        const { url } = yield* json(yield* get(`${sim.urls.laozhang}/videos/${created.id}/content`, laozhang))
        const before = process.memoryUsage().rss
        const total = yield* Effect.promise(async () => {
          const res = await fetch(url)
          let n = 0
          for await (const chunk of res.body!) n += (chunk as Uint8Array).length
          return n
        })
        assert.strictEqual(total, 1024 ** 3)
        // The server and client share this process: a buffered gigabyte would show here.
        assert.isBelow(process.memoryUsage().rss - before, 256 * 1024 * 1024)
      }),
    60_000
  )
})
