import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as SimClock from "../src/SimClock.js"
import * as Simulator from "../src/Simulator.js"
import { apiyi, call, control, get, json, laozhang, postJson } from "./support.js"

const post = (base: string, path: string, body: unknown) =>
  control(base, path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })

describe("control endpoint", () => {
  it.scoped("health, config, time, tasks, ledger filters, balances, reset", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make({ clock: SimClock.manual(Date.UTC(2025, 0, 1)) })
      const c = sim.urls.control
      const health = yield* control(c, "/health")
      assert.isTrue(health.ok)
      assert.deepStrictEqual(health.urls, sim.urls)
      assert.strictEqual(health.now, "2025-01-01T00:00:00.000Z")

      const config = yield* post(c, "/config", {
        timings: { fast: { minSeconds: 30, maxSeconds: 30 } },
        urlTtlSeconds: 60
      })
      assert.deepStrictEqual(config.timings.fast, { minSeconds: 30, maxSeconds: 30 })
      assert.strictEqual(config.urlTtlMs, 60_000)
      assert.strictEqual(config.models.laozhang.length, 12)
      assert.strictEqual(config.models.apiyi.length, 8)

      const created = yield* json(
        yield* postJson(`${sim.urls.laozhang}/videos`, { model: "veo-3.1-fast", prompt: "x" }, laozhang)
      )
      const [task] = (yield* control(c, "/tasks")).tasks
      // 30 vendor seconds at the default 1/30 scale: one second in all.
      assert.strictEqual(task.queueMs + task.runMs, 1000)
      assert.strictEqual(task.status, "queued")
      assert.deepStrictEqual((yield* control(c, `/tasks/${created.id}`)).id, created.id)

      const time = yield* post(c, "/time", { advanceSeconds: 2 })
      assert.strictEqual(time.iso, "2025-01-01T00:00:02.000Z")
      assert.strictEqual(time.offsetMs, 2000)
      assert.strictEqual((yield* control(c, `/tasks/${created.id}`)).status, "completed")

      const ledger = yield* control(c, `/ledger?key=${Simulator.fingerprint("sk-test-laozhang")}`)
      assert.strictEqual(ledger.count, 1)
      assert.strictEqual(ledger.total, "0.15")
      assert.strictEqual((yield* control(c, "/ledger?host=apiyi")).count, 0)

      yield* post(c, "/balances", { host: "apiyi", key: "sk-test-apiyi", balance: "0.10" })
      const refused = yield* postJson(`${sim.urls.apiyi}/videos`, { model: "veo-3.1-fast", prompt: "x" }, apiyi)
      assert.strictEqual(refused.status, 402)
      const balances = (yield* control(c, "/balances")).balances
      assert.deepStrictEqual(
        balances.find((b: { host: string }) => b.host === "apiyi"),
        { host: "apiyi", key: Simulator.fingerprint("sk-test-apiyi"), balance: "0.10" }
      )

      yield* post(c, "/reset", {})
      assert.strictEqual((yield* control(c, "/tasks")).tasks.length, 0)
      assert.strictEqual((yield* control(c, "/ledger")).count, 0)
      assert.strictEqual((yield* control(c, "/requests")).requests.length, 0)
      assert.strictEqual((yield* call(`${c}/nothing`)).status, 404)
    })
  )

  it.scoped("the request log redacts keys, records the scheme, the Idempotency-Key, the status and faults", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      yield* postJson(
        `${sim.urls.laozhang}/videos`,
        { model: "veo-3.1", prompt: "x" },
        { ...laozhang, "idempotency-key": "idem-1" }
      )
      yield* postJson(`${sim.urls.apiyi}/videos`, { model: "veo-3.1", prompt: "y @sim:503" }, apiyi)
      yield* get(`${sim.urls.apiyi}/videos/video_x`)
      const { requests, total } = yield* control(sim.urls.control, "/requests")
      assert.strictEqual(total, 3)
      const [a, b, c] = requests
      assert.strictEqual(a.route, "create")
      assert.strictEqual(a.model, "veo-3.1")
      assert.strictEqual(a.status, 200)
      assert.strictEqual(a.idempotencyKey, "idem-1")
      assert.deepStrictEqual(a.authorization, {
        present: true,
        scheme: "bearer",
        fingerprint: Simulator.fingerprint("sk-test-laozhang")
      })
      assert.strictEqual(a.headers.authorization, `Bearer ${Simulator.fingerprint("sk-test-laozhang")}`)
      assert.match(a.taskId, /^video_/)
      assert.strictEqual(b.authorization.scheme, "raw")
      assert.strictEqual(b.status, 503)
      assert.deepStrictEqual(b.faults, ["@sim:503"])
      assert.strictEqual(b.error, "service_unavailable")
      assert.isFalse(c.authorization.present)
      assert.strictEqual(c.status, 401)
      const everything = JSON.stringify(yield* control(sim.urls.control, "/requests"))
      assert.notInclude(everything, "sk-test-laozhang")
      assert.notInclude(everything, "sk-test-apiyi")
      assert.strictEqual((yield* control(sim.urls.control, "/requests?since=2")).requests.length, 1)
    })
  )

  it.scoped("the request log records the phase each status answer described, and only on status routes", () =>
    Effect.gen(function* () {
      const clock = SimClock.manual()
      const sim = yield* Simulator.make({ clock })
      const created = yield* json(
        yield* postJson(
          `${sim.urls.laozhang}/videos`,
          { model: "veo-3.1", prompt: "x @sim:timing(queue=1,run=2)" },
          laozhang
        )
      )
      const poll = () => get(`${sim.urls.laozhang}/videos/${created.id}`, laozhang)
      yield* poll()
      clock.advance(1500)
      yield* poll()
      clock.advance(1500)
      yield* poll()
      yield* get(`${sim.urls.laozhang}/videos/${created.id}/content`, laozhang)
      const { requests } = yield* control(sim.urls.control, "/requests")
      assert.deepStrictEqual(
        requests.map((r: { route: string; phase: string | null }) => [r.route, r.phase]),
        [
          ["create", null],
          ["status", "queued"],
          ["status", "running"],
          ["status", "completed"],
          ["content", null]
        ]
      )
    })
  )

  it.scoped("Idempotency-Key is only logged by default; honoured on request, it replays the first create", () =>
    Effect.gen(function* () {
      const create = (sim: Simulator.Service) =>
        Effect.flatMap(
          postJson(
            `${sim.urls.laozhang}/videos`,
            { model: "veo-3.1", prompt: "x" },
            { ...laozhang, "idempotency-key": "k" }
          ),
          json
        )
      const plain = yield* Simulator.make()
      const p1 = yield* create(plain)
      const p2 = yield* create(plain)
      assert.notStrictEqual(p1.id, p2.id)
      const honouring = yield* Simulator.make({ honourIdempotencyKey: true })
      const h1 = yield* create(honouring)
      const h2 = yield* create(honouring)
      assert.deepStrictEqual(h1, h2)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* plain.ledger).length, 2)
      assert.strictEqual((yield* honouring.ledger).length, 1)
    })
  )

  it.scoped("same seed, same clock, same requests: same ids and timelines", () =>
    Effect.gen(function* () {
      const run = (seed: string) =>
        Effect.gen(function* () {
          const sim = yield* Simulator.make({ seed, clock: SimClock.manual(0) })
          for (const model of ["veo-3.1", "veo-3.1-fast", "veo-3.1-landscape"]) {
            yield* postJson(`${sim.urls.laozhang}/videos`, { model, prompt: "x" }, laozhang)
          }
          return (yield* sim.tasks).map((t) => [t.id, t.queueMs, t.runMs])
        }).pipe(Effect.scoped)
      const a = yield* run("s1")
      assert.deepStrictEqual(yield* run("s1"), a)
      assert.notDeepEqual(yield* run("s2"), a)
    })
  )

  it.scoped("timings per model id or class, scaled by timeScale", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make({
        timeScale: 1 / 10,
        timings: { fast: { minSeconds: 10, maxSeconds: 10 }, "veo-3.1": { minSeconds: 50, maxSeconds: 50 } }
      })
      for (const model of ["veo-3.1-fast", "veo-3.1", "veo-3.1-landscape"]) {
        yield* postJson(`${sim.urls.laozhang}/videos`, { model, prompt: "x" }, laozhang)
      }
      const [fast, exact, standard] = (yield* sim.tasks).map((t) => t.queueMs + t.runMs)
      assert.strictEqual(fast, 1000)
      assert.strictEqual(exact, 5000)
      assert.isAtLeast(standard!, 6000)
      assert.isAtMost(standard!, 12000)
    })
  )
})

describe("lifecycle", () => {
  it.effect("the servers stop with the scope, open streams included", () =>
    Effect.gen(function* () {
      const urls = yield* Effect.scoped(
        Effect.gen(function* () {
          const sim = yield* Simulator.make()
          // An SSE stream that would last for minutes is open when the scope closes.
          const res = yield* postJson(
            `${sim.urls.laozhang}/chat/completions`,
            { model: "sora_video2", stream: true, messages: [{ role: "user", content: "x" }] },
            laozhang
          )
          assert.strictEqual(res.status, 200)
          return sim.urls
        })
      )
      const refused = yield* Effect.promise(() =>
        fetch(`${urls.control}/health`).then(
          () => "open",
          () => "closed"
        )
      )
      assert.strictEqual(refused, "closed")
      const cdn = yield* Effect.promise(() =>
        fetch(urls.cdn).then(
          () => "open",
          () => "closed"
        )
      )
      assert.strictEqual(cdn, "closed")
    })
  )

  it.effect("start() / stop() for code without Effect", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => Simulator.start())
      const health = yield* Effect.promise(() =>
        fetch(`${sim.urls.control}/health`).then((r) => r.json() as Promise<{ ok: boolean }>)
      )
      assert.isTrue(health.ok)
      yield* Effect.promise(() => sim.stop())
      const after = yield* Effect.promise(() =>
        fetch(`${sim.urls.control}/health`).then(
          () => "open",
          () => "closed"
        )
      )
      assert.strictEqual(after, "closed")
    })
  )
})

layer(Simulator.layer())("as a layer", (it) => {
  it.effect("provides a running simulator", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.Simulator
      const res = yield* call(`${sim.urls.control}/health`)
      assert.strictEqual(res.status, 200)
    })
  )
})
