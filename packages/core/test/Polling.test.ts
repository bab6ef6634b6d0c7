import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { GenerationTime } from "../src/ModelSpec.js"
import * as Polling from "../src/Polling.js"
import { TaskHandle } from "../src/TaskHandle.js"
import * as TaskStatus from "../src/TaskStatus.js"

const time = new GenerationTime({ typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 })
const handle = new TaskHandle({ provider: "acme", model: "m", taskId: "t1", mode: "async", createdAt: new Date(0) })

/** A task queued for `queueSeconds`, then running with linear progress until `doneSeconds`. */
const timeline = (queueSeconds: number, doneSeconds: number, extra: { pollAfterMillis?: number } = {}) =>
  Effect.map(Clock.currentTimeMillis, (now): TaskStatus.TaskStatus => {
    const seconds = now / 1000
    if (seconds < queueSeconds) return new TaskStatus.Queued({ ...extra })
    if (seconds < doneSeconds) {
      const progress = Math.floor(((seconds - queueSeconds) / (doneSeconds - queueSeconds)) * 1000) / 10
      return new TaskStatus.Running({ progress, ...extra })
    }
    return new TaskStatus.Succeeded({})
  })

/** Runs `poll` under the test clock and returns the times (seconds) of every status call and the result. */
const run = (status: Effect.Effect<TaskStatus.TaskStatus>, options: Partial<Polling.PollingOptions> = {}) =>
  Effect.gen(function* () {
    const calls: Array<number> = []
    const recorded = Effect.zipRight(
      Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => calls.push(now / 1000))),
      status
    )
    const fiber = yield* Effect.fork(
      Effect.either(
        Polling.poll({
          handle,
          time,
          status: recorded,
          onReading: () => Effect.void,
          options: { jitter: 0, ...options }
        })
      )
    )
    yield* TestClock.adjust("30 minutes")
    const result = yield* Fiber.join(fiber)
    return { calls, result }
  })

describe("Polling", () => {
  it.effect("waits for most of the typical time before the first poll", () =>
    Effect.gen(function* () {
      const { calls } = yield* run(timeline(0, 40))
      assert.closeTo(calls[0]!, 27, 0.001)
    })
  )

  it.effect("measures the progress rate and polls just after the predicted finish", () =>
    Effect.gen(function* () {
      const { calls, result } = yield* run(timeline(10, 40))
      assert.isTrue(Either.isRight(result) && result.right._tag === "Succeeded")
      // 27 s: 56.6 % → a pessimistic guess; an earlier second look measures the rate; the third finds it done.
      assert.strictEqual(calls.length, 3, calls.join(", "))
      const detectionDelay = calls.at(-1)! - 40
      assert.isTrue(detectionDelay >= 0 && detectionDelay < 1.5, `detected ${detectionDelay} s late`)
    })
  )

  it.effect("uses far fewer requests than a fixed 5-second loop without detecting later", () =>
    Effect.gen(function* () {
      for (const [queue, done] of [
        [3, 31],
        [0, 45],
        [12, 58],
        [20, 60]
      ] as const) {
        // Each scenario starts at time zero again: the timeline and the handle use absolute times.
        yield* TestClock.setTime(0)
        const { calls } = yield* run(timeline(queue, done))
        const fixedLoopCalls = Math.ceil(done / 5) + 1
        assert.isTrue(calls.length * 2 <= fixedLoopCalls, `${calls.length} vs ${fixedLoopCalls} for ${done} s`)
        assert.isTrue(calls.at(-1)! - done < 2.5, `detected ${calls.at(-1)! - done} s late for ${done} s`)
      }
    })
  )

  it("waits 60 % of the typical time before the first poll even when that exceeds the ceiling", () => {
    const standard = new GenerationTime({ typicalSeconds: 90, minSeconds: 60, maxSeconds: 120 })
    const planned = Polling.plan({ time: standard, submittedAt: 0, now: 0, readings: [] })
    assert.closeTo(planned.delayMillis, 54_000, 0.001)
  })

  it.effect("follows a long task with a measured rate without polling it every ceiling", () =>
    Effect.gen(function* () {
      // A Sora-length task (30 s queued, done at 250 s) on a model whose typical time is 45 s.
      const { calls, result } = yield* run(timeline(30, 250))
      assert.isTrue(Either.isRight(result) && result.right._tag === "Succeeded")
      // A 30-second ceiling alone would take ten polls; a fixed 5-second loop fifty-one.
      assert.isTrue(calls.length <= 6, calls.join(", "))
      const detectionDelay = calls.at(-1)! - 250
      assert.isTrue(detectionDelay >= 0 && detectionDelay < 3, `detected ${detectionDelay} s late`)
      // Looks on the way are never closer together than the floor and never past the finish by much.
      assert.isTrue(
        calls.slice(0, -1).every((at) => at < 250),
        calls.join(", ")
      )
    })
  )

  it.effect("tightens the interval when the task is overdue and reports no progress", () =>
    Effect.gen(function* () {
      const noProgress = Effect.map(Clock.currentTimeMillis, (now) =>
        now < 90_000 ? new TaskStatus.Running({}) : new TaskStatus.Succeeded({})
      )
      const { calls } = yield* run(noProgress)
      const gaps = calls.slice(1).map((at, index) => at - calls[index]!)
      // Overdue polls come every 10 % of the typical time (4.5 s), never faster than the floor.
      for (const gap of gaps.slice(-3)) assert.closeTo(gap, 4.5, 0.01)
      for (const gap of gaps) assert.isTrue(gap >= 1)
    })
  )

  it.effect("honours the server's poll-after hint", () =>
    Effect.gen(function* () {
      const { calls } = yield* run(timeline(0, 60, { pollAfterMillis: 2_000 }))
      const gaps = calls.slice(1).map((at, index) => at - calls[index]!)
      for (const gap of gaps) assert.closeTo(gap, 2, 0.001)
    })
  )

  it.effect("never polls more often than the floor, even when a hint asks for it", () =>
    Effect.gen(function* () {
      const { calls } = yield* run(timeline(0, 60, { pollAfterMillis: 10 }), { floor: "3 seconds" })
      const gaps = calls.slice(1).map((at, index) => at - calls[index]!)
      for (const gap of gaps) assert.isTrue(gap >= 3 - 1e-9, String(gap))
    })
  )

  it.effect("gives up at the deadline with a resumable PollTimeout after a last look", () =>
    Effect.gen(function* () {
      const forever = Effect.succeed(new TaskStatus.Running({ progress: 5 }))
      const { calls, result } = yield* run(forever, { deadline: "2 minutes" })
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "PollTimeout")
        assert.strictEqual(result.left.handle.taskId, "t1")
        assert.strictEqual(result.left.waitedMillis, 120_000)
      }
      assert.strictEqual(calls.at(-1), 120, "the last poll is at the deadline")
      assert.isTrue(calls.every((at) => at <= 120))
    })
  )

  it.effect("cuts a status read in flight at the deadline: PollTimeout, no further poll", () =>
    Effect.gen(function* () {
      // Answers the first poll (27 s), then never answers again: a server trickling its answer.
      let polls = 0
      const hangs = Effect.suspend(() =>
        polls++ === 0 ? Effect.succeed(new TaskStatus.Running({ progress: 5 })) : Effect.never
      )
      const { calls, result } = yield* run(hangs, { deadline: "2 minutes" })
      assert.isTrue(Either.isLeft(result))
      if (Either.isLeft(result)) {
        assert.strictEqual(result.left._tag, "PollTimeout")
        assert.strictEqual(result.left.waitedMillis, 120_000, "cut at the deadline, not later")
        assert.match(
          result.left.message,
          /had not answered a status request when the deadline passed.*last seen running/
        )
      }
      assert.strictEqual(calls.length, 2, calls.join(", "))
    })
  )

  it.effect("bounds the last look at the deadline by lastLook", () =>
    Effect.gen(function* () {
      // Answers until the last look, made at the deadline, which never ends.
      const hangsAtDeadline = Effect.flatMap(Clock.currentTimeMillis, (now) =>
        now >= 120_000 ? Effect.never : Effect.succeed(new TaskStatus.Running({ progress: 5 }))
      )
      const { calls, result } = yield* run(hangsAtDeadline, { deadline: "2 minutes", lastLook: "3 seconds" })
      assert.strictEqual(calls.at(-1), 120, "the last look is at the deadline")
      assert.isTrue(Either.isLeft(result) && result.left._tag === "PollTimeout")
      if (Either.isLeft(result)) assert.strictEqual(result.left.waitedMillis, 123_000)
    })
  )

  it.effect("polls at once when resuming a task of unknown state", () =>
    Effect.gen(function* () {
      const calls: Array<number> = []
      const status = Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          calls.push(now)
          return new TaskStatus.Succeeded({})
        })
      )
      const fiber = yield* Effect.fork(
        Polling.poll({ handle, time, status, onReading: () => Effect.void, immediately: true, options: { jitter: 0 } })
      )
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(calls, [0])
    })
  )

  it("scales every duration but the deadline with timeScale", () => {
    const planned = Polling.plan(
      { time, submittedAt: 0, now: 0, readings: [] },
      { ...Polling.defaultPollingOptions, timeScale: 1 / 30 }
    )
    assert.closeTo(planned.delayMillis, 900, 0.001)
  })
})
