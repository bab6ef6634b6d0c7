import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import * as Directive from "../src/Directive.js"
import * as Simulator from "../src/Simulator.js"
import * as Timeline from "../src/Timeline.js"
import { get, json, laozhang, postJson } from "./support.js"

const at = (curve: Timeline.Curve | undefined, fraction: number) =>
  Timeline.progressAt({ createdAt: 0, queueMs: 1000, runMs: 10_000, curve }, 1000 + fraction * 10_000)

describe("progress curves", () => {
  it("linear by default; a stall stops progress, a jump moves it at once", () => {
    assert.deepStrictEqual(
      [0, 0.25, 0.5, 0.99].map((f) => at(undefined, f)),
      [0, 25, 50, 99]
    )
    assert.deepStrictEqual(
      [0, 0.25, 0.5, 0.99].map((f) => at("linear", f)),
      [0, 25, 50, 99]
    )
    // Half way in 30 % of the run, still until 70 %, the rest by the end (99 at most before it).
    assert.deepStrictEqual(
      [0.15, 0.3, 0.5, 0.69, 0.85, 0.999].map((f) => at("stall", f)),
      [25, 50, 50, 50, 75, 99]
    )
    // 15 % over 60 % of the run, then 85 at once.
    assert.deepStrictEqual(
      [0.3, 0.59, 0.6, 0.8, 0.999].map((f) => at("jump", f)),
      [7, 14, 85, 92, 99]
    )
    // Queued: 0, whatever the curve.
    assert.strictEqual(Timeline.progressAt({ createdAt: 0, queueMs: 1000, runMs: 10_000, curve: "jump" }, 500), 0)
  })

  it("timing(progress=C) names a curve; an unknown one is refused", () => {
    const { directives, errors } = Directive.parsePrompt("x @sim:timing(queue=1,run=10,progress=stall)")
    assert.deepStrictEqual(errors, [])
    assert.deepStrictEqual(
      [directives[0]!.queueMs, directives[0]!.runMs, directives[0]!.curve],
      [1000, 10_000, "stall"]
    )
    assert.isUndefined(Directive.parsePrompt("x @sim:timing(queue=1,run=10)").directives[0]!.curve)
    const refused = Directive.parsePrompt("x @sim:timing(run=10,progress=wobbly)").errors
    assert.strictEqual(refused.length, 1)
    assert.match(refused[0]!, /progress=wobbly is not a progress curve \(use one of linear, stall, jump\)/)
  })

  it.scoped("a task's status follows its curve on the wire", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const create = (curve: string) =>
        Effect.flatMap(
          postJson(
            `${sim.urls.laozhang}/videos`,
            { model: "veo-3.1-fast", prompt: `x @sim:timing(queue=0,run=10,progress=${curve})` },
            laozhang
          ),
          json
        )
      const stall = (yield* create("stall")).id
      const jump = (yield* create("jump")).id
      const progress = (id: string) =>
        Effect.map(Effect.flatMap(get(`${sim.urls.laozhang}/videos/${id}`, laozhang), json), (body) => [
          body.status,
          body.progress
        ])
      yield* TestClock.adjust(4000)
      assert.deepStrictEqual(yield* progress(stall), ["processing", 50])
      assert.deepStrictEqual(yield* progress(jump), ["processing", 10])
      yield* TestClock.adjust(2500)
      assert.deepStrictEqual(yield* progress(stall), ["processing", 50])
      assert.deepStrictEqual(yield* progress(jump), ["processing", 86])
      yield* TestClock.adjust(3500)
      assert.deepStrictEqual(yield* progress(stall), ["completed", 100])
      assert.deepStrictEqual(yield* progress(jump), ["completed", 100])
    })
  )

  it.scoped("the curve survives a restart from the state file", () =>
    Effect.gen(function* () {
      const directory = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "reelay-sim-curve-"))),
        (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
      )
      const options = { stateFile: join(directory, "simulator.json"), port: 0, cdnPort: 0 }
      const id = yield* Effect.scoped(
        Effect.gen(function* () {
          const sim = yield* Simulator.make(options)
          const created = yield* json(
            yield* postJson(
              `${sim.urls.laozhang}/videos`,
              { model: "veo-3.1-fast", prompt: "x @sim:timing(queue=0,run=10,progress=stall)" },
              laozhang
            )
          )
          return created.id as string
        })
      )
      yield* Effect.scoped(
        Effect.gen(function* () {
          const sim = yield* Simulator.make(options)
          yield* TestClock.adjust(6000)
          const body = yield* json(yield* get(`${sim.urls.laozhang}/videos/${id}`, laozhang))
          assert.deepStrictEqual([body.status, body.progress], ["processing", 50])
        })
      )
    })
  )
})
