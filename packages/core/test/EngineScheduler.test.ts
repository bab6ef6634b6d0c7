import { assert, describe, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import * as Budget from "../src/Budget.js"
import * as Engine from "../src/Engine.js"
import { GenerateRequest } from "../src/GenerateRequest.js"
import type { GenerationEvent } from "../src/GenerationEvent.js"
import { DueHeap } from "../src/internal/engine/DueHeap.js"
import * as Money from "../src/Money.js"
import { portrait } from "./helpers/catalog.js"
import { engineLayer, tempDir } from "./helpers/engine.js"
import { linear, scripted } from "./helpers/ScriptedProvider.js"

const items = (count: number) =>
  Array.from({ length: count }, (_, index) => ({
    key: `item-${index}`,
    request: GenerateRequest.make({ prompt: `a fox, take ${index}` })
  }))

/** Advances the test clock in `step`s until `done` holds, letting every fiber run between steps. */
const advanceUntil = (done: () => boolean, step: Duration.DurationInput, limit = 10_000) =>
  Effect.gen(function* () {
    for (let steps = 0; !done(); steps++) {
      if (steps >= limit) throw new Error("the condition never held")
      yield* TestClock.adjust(step)
      yield* Effect.yieldNow()
    }
  })

describe("Engine scheduler", () => {
  it("keeps due times in order (DueHeap)", () => {
    const heap = new DueHeap<{ due: number; id: number }>()
    const dues = [5, 3, 9, 1, 1, 7, 0, 12, 3, 8, 2, 6, 4, 11, 10]
    for (const [id, due] of dues.entries()) heap.push({ due, id })
    const order: Array<number> = []
    while (heap.size > 0) order.push(heap.pop()!.due)
    assert.deepStrictEqual(
      order,
      [...dues].sort((a, b) => a - b)
    )
    assert.isUndefined(heap.pop())
  })

  it.effect("follows a batch's tasks from one table: no fiber per waiting task", () => {
    const count = 200
    // Queued for 20 s, done at 60 s of (test) time: every task waits in the table a long while.
    const { provider, recorder } = scripted({ models: [portrait()], timeline: linear(20_000, 60_000) })
    return Effect.gen(function* () {
      const supervisor = yield* Supervisor.track
      const events: Array<GenerationEvent> = []
      const run = yield* Engine.generateMany(items(count), {
        outputDir: tempDir(),
        concurrency: { submit: 50, status: 20 }
      }).pipe(
        Stream.runForEach((event) => Effect.sync(() => events.push(event))),
        Effect.supervised(supervisor),
        Effect.fork
      )
      const submitted = () => events.filter((event) => event._tag === "Submitted").length
      yield* advanceUntil(() => submitted() === count, "1 millis")
      // Every task created, none due yet: what is alive is the batch's own machinery and one timer.
      const alive = (yield* supervisor.value).length
      assert.isBelow(alive, 12, `${alive} fibers alive for ${count} waiting tasks`)
      const ended = () => events.filter((event) => event._tag === "Succeeded" || event._tag === "Failed").length
      yield* advanceUntil(() => ended() === count, "500 millis")
      yield* Fiber.join(run)
      assert.strictEqual(events.filter((event) => event._tag === "Succeeded").length, count)
      assert.strictEqual(recorder.submits.length, count)
      // The plan's polls, not a fixed interval: a few reads a task.
      assert.isAtMost(recorder.statusCalls / count, 6, `${recorder.statusCalls} status calls`)
    }).pipe(Effect.provide(engineLayer([provider], { engine: { polling: { timeScale: 1, jitter: 0 } } })))
  })

  it.effect("an interrupted batch leaves its waiting tasks alone and keeps their money as uncertain", () => {
    const { provider, recorder } = scripted({ models: [portrait()], timeline: linear(20_000, 60_000) })
    return Effect.gen(function* () {
      const events: Array<GenerationEvent> = []
      const run = yield* Engine.generateMany(items(20), { outputDir: tempDir() }).pipe(
        Stream.runForEach((event) => Effect.sync(() => events.push(event))),
        Effect.fork
      )
      yield* advanceUntil(() => events.filter((event) => event._tag === "Submitted").length === 20, "1 millis")
      const calls = recorder.statusCalls
      yield* Fiber.interrupt(run)
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(recorder.statusCalls, calls, "nothing is polled after the batch stopped")
      const budget = yield* Budget.Budget
      const totals = yield* budget.snapshot
      // Twenty on-success tasks may still be billed: each one's reservation is kept as uncertain.
      assert.strictEqual(Money.format(totals.uncertain), Money.format(Money.usd("5.00")))
      assert.strictEqual(Money.format(totals.reserved), Money.format(Money.usd("0")))
    }).pipe(Effect.provide(engineLayer([provider], { engine: { polling: { timeScale: 1, jitter: 0 } } })))
  })
})
