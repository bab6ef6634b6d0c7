import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Simulator from "../src/Simulator.js"
import * as Videos from "../src/Videos.js"
import { apiyi, attempt, bytes, control, form, get, json, laozhang, postForm, postJson, raw } from "./support.js"

const fixture = (name: string) => readFileSync(`${Videos.defaultDirectory}/${name}.mp4`)

const create = (sim: Simulator.Service, prompt: string, model = "veo-3.1-fast") =>
  postJson(`${sim.urls.laozhang}/videos`, { model, prompt }, laozhang)

describe("faults in the prompt", () => {
  it.scoped("429 with Retry-After, then the retry of the same request succeeds: one task, charged once", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const first = yield* create(sim, "cat @sim:429(retry-after=2)")
      assert.strictEqual(first.status, 429)
      assert.strictEqual(first.headers.get("retry-after"), "2")
      assert.strictEqual(first.headers.get("retry-after-ms"), "2000")
      const body = yield* json(first)
      assert.strictEqual(body.error.code, "rate_limit_exceeded")
      const second = yield* create(sim, "cat @sim:429(retry-after=2)")
      assert.strictEqual(second.status, 200)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* sim.ledger).length, 1)
      const log = yield* sim.requests
      assert.deepStrictEqual(
        log.map((r) => [r.status, r.faults]),
        [
          [429, ["@sim:429(retry-after=2)"]],
          [200, []]
        ]
      )
    })
  )

  it.scoped("503(times=3) fails three attempts of one logical request, then succeeds; 500 likewise", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const statuses: Array<number> = []
      for (let i = 0; i < 4; i++) statuses.push((yield* create(sim, "dog @sim:503(times=3)")).status)
      assert.deepStrictEqual(statuses, [503, 503, 503, 200])
      // A different logical request (other prompt) has its own count.
      assert.strictEqual((yield* create(sim, "other dog @sim:503(times=3)")).status, 503)
      const err = yield* create(sim, "x @sim:500")
      assert.strictEqual(err.status, 500)
      assert.strictEqual((yield* json(err)).error.code, "internal_error")
      // With an Idempotency-Key the key is the identity, even if the body changes.
      const keyed = (prompt: string) =>
        postJson(`${sim.urls.laozhang}/videos`, { model: "veo-3.1", prompt }, { ...laozhang, "idempotency-key": "k1" })
      assert.strictEqual((yield* keyed("a @sim:503(times=1)")).status, 503)
      assert.strictEqual((yield* keyed("a @sim:503(times=1) ")).status, 200)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* sim.ledger).length, 2)
    })
  )

  it.scoped("several answering faults in one prompt answer one retry each, in order", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const statuses: Array<number> = []
      for (let i = 0; i < 4; i++) statuses.push((yield* create(sim, "owl @sim:429 @sim:503(times=2)")).status)
      assert.deepStrictEqual(statuses, [429, 503, 503, 200])
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* sim.ledger).length, 1)
    })
  )

  it.scoped("reset before the create: nothing exists, nothing is charged", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const result = yield* raw(`${sim.urls.laozhang}/videos`, {
        method: "POST",
        headers: { ...laozhang, "content-type": "application/json" },
        body: JSON.stringify({ model: "veo-3.1", prompt: "x @sim:reset-before-create" })
      })
      assert.deepStrictEqual(result, { _tag: "Error", code: "ECONNRESET" })
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* sim.tasks).length, 0)
      assert.strictEqual((yield* sim.ledger).length, 0)
      const [record] = yield* sim.requests
      assert.strictEqual(record!.outcome, "reset")
      assert.isNull(record!.status)
    })
  )

  it.scoped("reset after the create: the task exists and is charged by its rule", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const cut = yield* raw(`${sim.urls.laozhang}/videos`, {
        method: "POST",
        headers: { ...laozhang, "content-type": "application/json" },
        body: JSON.stringify({ model: "veo-3.1", prompt: "x @sim:reset-after-create" })
      })
      assert.deepStrictEqual(cut, { _tag: "Error", code: "ECONNRESET" })
      const official = yield* attempt(`${sim.urls.laozhang}/videos`, {
        method: "POST",
        headers: laozhang,
        body: form({ model: "veo-3.1-generate-preview", prompt: "y @sim:reset-after-create" })
      })
      assert.instanceOf(official, Error)
      // per-request: charged at once; on-success: charged when the (unseen) task completes.
      assert.deepStrictEqual(
        (yield* sim.ledger).map((e) => e.rule),
        ["per-request"]
      )
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual((yield* sim.ledger).map((e) => e.rule).sort(), ["on-success", "per-request"])
      assert.strictEqual((yield* sim.tasks).length, 2)
      const records = yield* sim.requests
      assert.isTrue(records.every((r) => r.outcome === "reset" && r.taskId !== null))
    })
  )

  it.scoped("502 and 504 on the create: the gateway's HTML page, and the task exists, charged by its rule", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const bad = yield* create(sim, "x @sim:502")
      assert.strictEqual(bad.status, 502)
      assert.match(bad.headers.get("content-type") ?? "", /^text\/html/)
      assert.include(yield* Effect.promise(() => bad.text()), "502 Bad Gateway")
      const late = yield* attempt(`${sim.urls.laozhang}/videos`, {
        method: "POST",
        headers: laozhang,
        body: form({ model: "veo-3.1-generate-preview", prompt: "y @sim:504" })
      })
      assert.strictEqual(late instanceof Response ? late.status : late, 504)
      const chat = yield* postJson(
        `${sim.urls.laozhang}/chat/completions`,
        { model: "sora_video2", messages: [{ role: "user", content: "z @sim:502" }], stream: true },
        laozhang
      )
      assert.strictEqual(chat.status, 502)
      assert.strictEqual((yield* sim.tasks).length, 3, "the service behind the gateway created every task")
      // per-request and on-response: charged at once; on-success: when the task completes.
      assert.deepStrictEqual((yield* sim.ledger).map((e) => e.rule).sort(), ["on-response", "per-request"])
      yield* TestClock.adjust("10 minutes")
      assert.deepStrictEqual((yield* sim.ledger).map((e) => e.rule).sort(), [
        "on-response",
        "on-success",
        "per-request"
      ])
      const records = yield* sim.requests
      assert.deepStrictEqual(
        records.map((r) => [r.status, r.faults, r.taskId !== null]),
        [
          [502, ["@sim:502"], true],
          [504, ["@sim:504"], true],
          [502, ["@sim:502"], true]
        ]
      )
      // Counted per logical request: the same create again is answered by the service (a new task).
      assert.strictEqual((yield* create(sim, "x @sim:502")).status, 200)
      assert.strictEqual((yield* sim.tasks).length, 4)
    })
  )

  it.scoped("502 and 504 on reads answer in place of the service", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const created = yield* json(yield* create(sim, "x @sim:502(on=status) @sim:504(on=content)"))
      const poll = yield* get(`${sim.urls.laozhang}/videos/${created.id}`, laozhang)
      assert.strictEqual(poll.status, 502)
      assert.strictEqual((yield* get(`${sim.urls.laozhang}/videos/${created.id}`, laozhang)).status, 200)
      yield* TestClock.adjust("10 minutes")
      const content = () => get(`${sim.urls.laozhang}/videos/${created.id}/content`, laozhang)
      assert.strictEqual((yield* content()).status, 504)
      assert.strictEqual((yield* content()).status, 200)
      assert.strictEqual((yield* sim.tasks).length, 1)
    })
  )

  it.scopedLive("slow-after-create: the task exists at once, its answer comes ms later", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const started = Date.now()
      const res = yield* create(sim, "x @sim:slow-after-create(ms=300)")
      assert.strictEqual(res.status, 200)
      assert.isAtLeast(Date.now() - started, 290)
      const created = yield* json(res)
      const [record] = yield* sim.requests
      assert.deepStrictEqual(record!.faults, ["@sim:slow-after-create(ms=300)"])
      // The task was created when the request arrived, not when the answer left.
      assert.isBelow(Date.parse((yield* sim.tasks)[0]!.createdAt) - Date.parse(record!.at), 250)
      assert.strictEqual((yield* sim.tasks)[0]!.id, created.id)
    })
  )

  it.scopedLive("slow-after-create: a client that gave up leaves a task, charged by its rule", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      // Waits for the task (the service acted), then gives up like a client's own timeout.
      const giveUp = (url: string, init: RequestInit) =>
        Effect.gen(function* () {
          const controller = new AbortController()
          const before = (yield* sim.tasks).length
          const answer = yield* Effect.fork(attempt(url, { ...init, signal: controller.signal }))
          while ((yield* sim.tasks).length === before) yield* Effect.sleep("5 millis")
          controller.abort()
          return yield* Fiber.join(answer)
        })
      const official = yield* giveUp(`${sim.urls.laozhang}/videos`, {
        method: "POST",
        headers: laozhang,
        body: form({ model: "veo-3.1-generate-preview", prompt: "y @sim:slow-after-create(ms=60000)" })
      })
      const sora = yield* giveUp(`${sim.urls.laozhang}/chat/completions`, {
        method: "POST",
        headers: { ...laozhang, "content-type": "application/json" },
        body: JSON.stringify({
          model: "sora_video2",
          messages: [{ role: "user", content: "z @sim:slow-after-create(ms=60000)" }],
          stream: true
        })
      })
      assert.instanceOf(official, Error)
      assert.instanceOf(sora, Error)
      // The held answers end with their clients, not 60 s later: each record settles as aborted.
      let records = yield* sim.requests
      while (records.some((r) => r.outcome === "pending")) {
        yield* Effect.sleep("5 millis")
        records = yield* sim.requests
      }
      assert.deepStrictEqual(
        records.map((r) => [r.outcome, r.status, r.taskId !== null, r.faults]),
        [
          ["aborted", null, true, ["@sim:slow-after-create(ms=60000)"]],
          ["aborted", null, true, ["@sim:slow-after-create(ms=60000)"]]
        ]
      )
      assert.deepStrictEqual((yield* sim.ledger).map((e) => e.rule).sort(), ["on-response", "per-request"])
    })
  )

  it.scoped("malformed JSON on create (task created) and on a status poll", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const bad = yield* create(sim, "x @sim:malformed(on=create)")
      assert.strictEqual(bad.status, 200)
      const text = yield* Effect.promise(() => bad.text())
      assert.throws(() => JSON.parse(text))
      assert.strictEqual((yield* sim.tasks).length, 1)
      const created = yield* json(yield* create(sim, "y @sim:malformed"))
      const poll = () => get(`${sim.urls.laozhang}/videos/${created.id}`, laozhang)
      const broken = yield* Effect.flatMap(poll(), (r) => Effect.promise(() => r.text()))
      assert.throws(() => JSON.parse(broken))
      assert.strictEqual((yield* json(yield* poll())).status, "queued")
    })
  )

  it.scoped("unknown-status reports a status outside the vocabulary, for N polls", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const created = yield* json(yield* create(sim, "x @sim:unknown-status(value=paused,times=2)"))
      const poll = () => Effect.flatMap(get(`${sim.urls.laozhang}/videos/${created.id}`, laozhang), json)
      assert.strictEqual((yield* poll()).status, "paused")
      assert.strictEqual((yield* poll()).status, "paused")
      assert.strictEqual((yield* poll()).status, "queued")
    })
  )

  it.scoped("503 and 429 on status polls, per task", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const created = yield* json(yield* create(sim, "x @sim:503(on=status,times=2) @sim:429(on=content)"))
      const poll = () => get(`${sim.urls.laozhang}/videos/${created.id}`, laozhang)
      assert.deepStrictEqual([(yield* poll()).status, (yield* poll()).status, (yield* poll()).status], [503, 503, 200])
      yield* TestClock.adjust("1 minute")
      const content = () => get(`${sim.urls.laozhang}/videos/${created.id}/content`, laozhang)
      assert.strictEqual((yield* content()).status, 429)
      assert.strictEqual((yield* content()).status, 200)
    })
  )

  it.scoped("fail and content-policy: failed status with an error, never charged on-success", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const failed = yield* json(yield* create(sim, "x @sim:fail(at=30)"))
      const rejected = yield* json(
        yield* postJson(`${sim.urls.apiyi}/videos`, { model: "veo-3.1", prompt: "y @sim:content-policy" }, apiyi)
      )
      yield* TestClock.adjust("1 minute")
      const a = yield* json(yield* get(`${sim.urls.laozhang}/videos/${failed.id}`, laozhang))
      assert.strictEqual(a.status, "failed")
      assert.strictEqual(a.error.code, "generation_failed")
      assert.isAtLeast(a.progress, 29)
      const b = yield* json(yield* get(`${sim.urls.apiyi}/videos/${rejected.id}`, apiyi))
      assert.strictEqual(b.status, "failed")
      assert.strictEqual(b.error.code, "content_policy_violation")
      assert.strictEqual(b.progress, 0)
      assert.strictEqual((yield* sim.ledger).length, 0)
      const atCreate = yield* create(sim, "z @sim:content-policy(on=create)")
      assert.strictEqual(atCreate.status, 400)
      assert.strictEqual((yield* json(atCreate)).error.code, "content_policy_violation")
    })
  )

  it.scoped("insufficient-balance refuses with 402 and creates nothing", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const res = yield* create(sim, "x @sim:insufficient-balance")
      assert.strictEqual(res.status, 402)
      assert.strictEqual((yield* json(res)).error.code, "insufficient_balance")
      assert.strictEqual((yield* sim.tasks).length, 0)
    })
  )

  it.scoped("expire(after=N): the task and its URL answer 404 after N seconds", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const created = yield* json(yield* create(sim, "x @sim:expire(after=5) @sim:timing(queue=0,run=1)"))
      yield* TestClock.adjust("2 seconds")
      const content = yield* json(yield* get(`${sim.urls.laozhang}/videos/${created.id}/content`, laozhang))
      assert.strictEqual((yield* get(content.url)).status, 200)
      yield* TestClock.adjust("3 seconds")
      const gone = yield* get(`${sim.urls.laozhang}/videos/${created.id}`, laozhang)
      assert.strictEqual(gone.status, 404)
      assert.strictEqual((yield* json(gone)).error.code, "video_not_found")
      assert.strictEqual((yield* get(content.url)).status, 404)
      // It completed before expiring, so it was charged.
      assert.strictEqual((yield* sim.ledger).length, 1)
      // A task that expires before completing is never charged.
      yield* create(sim, "y @sim:expire(after=1) @sim:timing(queue=0,run=5)")
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* sim.ledger).length, 1)
    })
  )

  it.scoped("truncate: the first download is cut with the full Content-Length; a Range resume completes it", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const created = yield* json(yield* create(sim, "x @sim:truncate(at=1000)"))
      yield* TestClock.adjust("1 minute")
      const { url } = yield* json(yield* get(`${sim.urls.laozhang}/videos/${created.id}/content`, laozhang))
      const whole = fixture("720x1280-8s")
      const first = yield* raw(url)
      assert.strictEqual(first._tag, "Response")
      if (first._tag !== "Response") return
      assert.strictEqual(first.status, 200)
      assert.strictEqual(first.headers["content-length"], String(whole.length))
      assert.isFalse(first.complete)
      assert.strictEqual(first.body.length, 1000)
      const rest = yield* raw(url, { headers: { range: `bytes=${first.body.length}-` } })
      assert.strictEqual(rest._tag, "Response")
      if (rest._tag !== "Response") return
      assert.strictEqual(rest.status, 206)
      assert.strictEqual(rest.headers["content-range"], `bytes 1000-${whole.length - 1}/${whole.length}`)
      assert.isTrue(rest.complete)
      assert.isTrue(Buffer.concat([first.body, rest.body]).equals(whole))
      const cdn = yield* sim.cdnRequests
      assert.deepStrictEqual(
        cdn.map((r) => [r.status, r.truncated, r.bytesSent]),
        [
          [200, true, 1000],
          [206, false, whole.length - 1000]
        ]
      )
    })
  )

  it.scoped("truncate on the official forward's /content bytes too", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const created = yield* json(
        yield* postForm(
          `${sim.urls.laozhang}/videos`,
          form({ model: "veo-3.1-fast-generate-preview", prompt: "x @sim:truncate" }),
          laozhang
        )
      )
      yield* TestClock.adjust("1 minute")
      const first = yield* raw(`${sim.urls.laozhang}/videos/${created.id}/content`, { headers: laozhang })
      assert.strictEqual(first._tag, "Response")
      if (first._tag !== "Response") return
      const size = fixture("1280x720-8s").length
      assert.strictEqual(first.body.length, Math.floor(size / 2))
      assert.isFalse(first.complete)
      const again = yield* bytes(yield* get(`${sim.urls.laozhang}/videos/${created.id}/content`, laozhang))
      assert.strictEqual(again.length, size)
    })
  )

  it.scoped("pad(bytes=...) serves a larger valid MP4: the file, then a free box of zeros", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const created = yield* json(yield* create(sim, "x @sim:pad(bytes=3m)"))
      yield* TestClock.adjust("1 minute")
      const { url } = yield* json(yield* get(`${sim.urls.laozhang}/videos/${created.id}/content`, laozhang))
      const body = yield* bytes(yield* get(url))
      const file = fixture("720x1280-8s")
      assert.strictEqual(body.length, 3 * 1024 * 1024)
      assert.isTrue(body.subarray(0, file.length).equals(file))
      assert.strictEqual(body.readUInt32BE(file.length), body.length - file.length)
      assert.strictEqual(body.toString("latin1", file.length + 4, file.length + 8), "free")
      assert.isTrue(body.subarray(file.length + 8).every((b) => b === 0))
      const tail = yield* get(url, { range: "bytes=-10" })
      assert.strictEqual(tail.status, 206)
      assert.strictEqual(
        tail.headers.get("content-range"),
        `bytes ${body.length - 10}-${body.length - 1}/${body.length}`
      )
    })
  )

  it.scopedLive("slow(ms=...) delays the answer by wall-clock time", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const started = Date.now()
      const res = yield* create(sim, "x @sim:slow(ms=300)")
      assert.strictEqual(res.status, 200)
      assert.isAtLeast(Date.now() - started, 290)
      const created = yield* json(res)
      const t0 = Date.now()
      yield* get(`${sim.urls.laozhang}/videos/${created.id}`, laozhang)
      assert.isBelow(Date.now() - t0, 250)
    })
  )
})

describe("global fault rules (control endpoint)", () => {
  it.scoped("POST /_sim/faults with a match and a count; GET lists hits; DELETE clears", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const post = (body: unknown) =>
        control(sim.urls.control, "/faults", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body)
        })
      const rule = yield* post({ directive: "503(retry-after=3)", host: "apiyi", count: 2 })
      assert.strictEqual(rule.id, "rule_1")
      const apiyiCreate = () => postJson(`${sim.urls.apiyi}/videos`, { model: "veo-3.1", prompt: "x" }, apiyi)
      assert.strictEqual((yield* create(sim, "laozhang is not matched")).status, 200)
      const r1 = yield* apiyiCreate()
      assert.strictEqual(r1.status, 503)
      assert.strictEqual(r1.headers.get("retry-after"), "3")
      assert.strictEqual((yield* apiyiCreate()).status, 503)
      assert.strictEqual((yield* apiyiCreate()).status, 200)
      const listed = yield* control(sim.urls.control, "/faults")
      assert.strictEqual(listed.rules[0].hits, 2)
      assert.strictEqual(listed.rules[0].remaining, 0)

      // Task-shaping rules apply at creation: fail every veo-3.1-fast task.
      yield* post({ directive: "fail", model: "veo-3.1-fast" })
      const failing = yield* json(yield* create(sim, "x"))
      const fine = yield* json(yield* create(sim, "x", "veo-3.1"))
      // A rule for later requests: 429 on the next status poll of any task.
      yield* post({ directive: "429", route: "status", count: 1 })
      assert.strictEqual((yield* get(`${sim.urls.laozhang}/videos/${fine.id}`, laozhang)).status, 429)
      assert.strictEqual((yield* get(`${sim.urls.laozhang}/videos/${fine.id}`, laozhang)).status, 200)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(
        (yield* json(yield* get(`${sim.urls.laozhang}/videos/${failing.id}`, laozhang))).status,
        "failed"
      )
      assert.strictEqual(
        (yield* json(yield* get(`${sim.urls.laozhang}/videos/${fine.id}`, laozhang))).status,
        "completed"
      )

      const invalid = yield* call400(sim, { directive: "explode" })
      assert.match(invalid.error.message, /unknown simulator directive/)
      yield* control(sim.urls.control, "/faults/rule_1", { method: "DELETE" })
      assert.strictEqual((yield* control(sim.urls.control, "/faults")).rules.length, 2)
      yield* control(sim.urls.control, "/faults", { method: "DELETE" })
      assert.strictEqual((yield* control(sim.urls.control, "/faults")).rules.length, 0)
    })
  )

  it.scoped("probability draws are seeded: the same seed fails the same tasks", () =>
    Effect.gen(function* () {
      const run = Effect.gen(function* () {
        const sim = yield* Simulator.make({ seed: 7 })
        yield* sim.addFault("fail", { probability: 0.5 })
        const ids: Array<string> = []
        for (let i = 0; i < 20; i++) ids.push((yield* json(yield* create(sim, `p${i}`))).id)
        yield* TestClock.adjust("1 minute")
        return (yield* sim.tasks).map((t) => t.status)
      }).pipe(Effect.scoped)
      const a = yield* run
      const b = yield* run
      assert.deepStrictEqual(a, b)
      assert.isTrue(a.includes("failed") && a.includes("completed"))
    })
  )

  it.scoped("addFault refuses an invalid directive with a typed error", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const error = yield* Effect.flip(sim.addFault("truncate(on=status)"))
      assert.strictEqual(error._tag, "InvalidDirective")
    })
  )
})

const call400 = (sim: Simulator.Service, body: unknown) =>
  Effect.gen(function* () {
    const res = yield* Effect.promise(() =>
      fetch(`${sim.urls.control}/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body)
      })
    )
    assert.strictEqual(res.status, 400)
    return yield* json(res)
  })
