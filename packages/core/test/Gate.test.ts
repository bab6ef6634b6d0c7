import { assert, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Gate from "../src/Gate.js"

describe("Gate", () => {
  it.effect("lets at most `permits` effects run at once, and hands permits out in arrival order", () =>
    Effect.gen(function* () {
      const gate = yield* Gate.make(2)
      const release = yield* Deferred.make<void>()
      let running = 0
      let most = 0
      const started: Array<number> = []
      const work = (id: number) =>
        gate.run(
          Effect.gen(function* () {
            running++
            most = Math.max(most, running)
            started.push(id)
            yield* Deferred.await(release)
            running--
          })
        )
      const fibers: Array<Fiber.RuntimeFiber<void>> = []
      for (let id = 0; id < 6; id++) {
        fibers.push(yield* Effect.fork(work(id)))
        yield* Effect.yieldNow()
      }
      assert.deepStrictEqual(started, [0, 1])
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.joinAll(fibers)
      assert.strictEqual(most, 2)
      assert.deepStrictEqual(started, [0, 1, 2, 3, 4, 5])
    })
  )

  it.effect("gives the permit back when the effect fails or is interrupted, and a waiter can be interrupted", () =>
    Effect.gen(function* () {
      const gate = yield* Gate.make(1)
      const failed = yield* Effect.either(gate.run(Effect.fail("boom")))
      assert.isTrue(failed._tag === "Left")
      const holder = yield* Effect.fork(gate.run(Effect.never))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(gate.run(Effect.succeed("never reached")))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(waiter)
      yield* Fiber.interrupt(holder)
      assert.strictEqual(yield* gate.run(Effect.succeed("free again")), "free again")
    })
  )

  it.live("never loses a permit when a waiter is interrupted as the permit reaches it", () =>
    Effect.gen(function* () {
      const gate = yield* Gate.make(1)
      // Every interleaving of "the holder ends, handing the permit on" with "the waiter is
      // interrupted": whichever wins, the permit must be free afterwards.
      for (let round = 0; round < 200; round++) {
        const holder = yield* Effect.fork(gate.run(Effect.never))
        const waiter = yield* Effect.fork(gate.run(Effect.never))
        for (let spin = 0; spin < round % 4; spin++) yield* Effect.yieldNow()
        yield* Effect.all([Fiber.interrupt(holder), Fiber.interrupt(waiter)], {
          concurrency: "unbounded",
          discard: true
        })
        if (round % 2 === 0) yield* Effect.yieldNow()
        const free = yield* gate.run(Effect.succeed("free")).pipe(Effect.timeoutOption("1 second"))
        assert.isTrue(free._tag === "Some", `round ${round}: the permit was lost`)
      }
    })
  )

  it.effect("carries ten thousand waiters through ten permits", () =>
    Effect.gen(function* () {
      const gate = yield* Gate.make(10)
      let done = 0
      yield* Effect.forEach(
        Array.from({ length: 10_000 }, (_, i) => i),
        () => gate.run(Effect.sync(() => done++).pipe(Effect.zipLeft(Effect.yieldNow()))),
        { concurrency: "unbounded", discard: true }
      )
      assert.strictEqual(done, 10_000)
    })
  )
})
