/**
 * Follow: every async task the run waits for, polled to a terminal state by one scheduler. A task
 * waiting for its next poll is a record in a table (`Watch`: its polling state, its progress, its
 * settlement and what comes next), ordered by due time in one heap under one timer. When a record is
 * due, its status call runs on a fiber of its own, which either puts the record back with its next
 * due time or carries the item on. `Polling.plan` (through `Polling.Tracker`) stays the policy.
 *
 * Why not a fiber per task: a suspended fiber with its continuation stack weighs about 8 KB before
 * anything of the task itself, and thousands of them polling keep the event loop busy; a record
 * weighs a few hundred bytes (see `docs/benchmarks.md`).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import type { AssetSource } from "../../AssetSource.js"
import * as Billing from "../../Billing.js"
import * as Gate from "../../Gate.js"
import { Succeeded } from "../../GenerationEvent.js"
import type { ModelSpec } from "../../ModelSpec.js"
import * as Polling from "../../Polling.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import type { TaskHandle } from "../../TaskHandle.js"
import type { TaskStatus } from "../../TaskStatus.js"
import { annotate, TaskExpired, type VideoError, withBilling } from "../../VideoError.js"
import type * as VideoProvider from "../../VideoProvider.js"
import * as Calls from "./Calls.js"
import { DueHeap } from "./DueHeap.js"
import { type Item, Parked, type Step } from "./Item.js"
import { Reporter } from "./Progress.js"
import type { Settlement } from "./Settlement.js"
import type { Shared } from "./Shared.js"

/** What to follow, and what comes after. */
export interface Task {
  readonly item: Item
  readonly provider: VideoProvider.AsyncVideoProvider
  readonly model: ModelSpec
  readonly handle: TaskHandle
  readonly settlement: Settlement
  /** Poll at once (a resumed task: its state is unknown) instead of waiting most of the typical time. */
  readonly immediately: boolean
  /** The video exists, its charge settled and `Succeeded` reported: carry the item on from `asset`. */
  readonly onVideo: (asset: AssetSource) => Step
  /** The task ended without a video (or the wait did), its charge settled: regenerate, or fail. */
  readonly onFailure: (error: VideoError) => Step
}

/** One followed task in the table. */
class Watch {
  due = 0
  readonly progress = new Reporter()
  constructor(
    readonly task: Task,
    readonly tracker: Polling.Tracker
  ) {}
}

export interface Follower {
  /** Puts `task` in the table (or ends it at once if it has expired); the item waits there. */
  readonly follow: (task: Task) => Step
  /** The run stops: every task still followed is left alone, and its unsettled money kept as uncertain. */
  readonly close: Effect.Effect<void>
}

/**
 * Where a task handed off by a `handing` follower stands: waiting `delayMillis` for its next status
 * call (with the polling state to carry on from), or made and ready to deliver.
 */
export type HandOff =
  | { readonly _tag: "Waiting"; readonly delayMillis: number; readonly polling: Polling.TrackerState }
  | { readonly _tag: "Ready" }

/**
 * How a follower waits: in its own table under one timer (`make`), or not at all, handing every wait
 * to its caller (`handing`).
 */
type Waits =
  | { readonly _tag: "Table"; readonly fork: (effect: Effect.Effect<void>) => void }
  | {
      readonly _tag: "Hand"
      readonly hand: (handOff: HandOff) => void
      /** The polling state a resumed task carries on from. */
      readonly restored: Polling.TrackerState | undefined
    }

/** A follower for one run; `fork` runs the timer and the status calls under the run's scope. */
export const make = (shared: Shared, fork: (effect: Effect.Effect<void>) => void): Follower =>
  follower(shared, { _tag: "Table", fork })

/**
 * A follower that keeps no table: a resumed task is polled at once; a wait for the next status call,
 * and a video ready to deliver, end the step, handed to `hand` with what is needed to carry on. A
 * durable workflow waits between the steps instead (see `Engine.Stepper`).
 */
export const handing = (
  shared: Shared,
  hand: (handOff: HandOff) => void,
  restored: Polling.TrackerState | undefined
): Follower => follower(shared, { _tag: "Hand", hand, restored })

const follower = (shared: Shared, waits: Waits): Follower => {
  const heap = new DueHeap<Watch>()
  /** Every watch between `follow` and its settlement: in the heap or in a status call. */
  const live = new Set<Watch>()
  let timerRunning = false
  let sleepingUntil = Number.POSITIVE_INFINITY
  let wake: Deferred.Deferred<void> | undefined

  const timer: Effect.Effect<void> = Effect.gen(function* () {
    while (true) {
      const next = heap.peek()
      if (next === undefined) {
        timerRunning = false
        return
      }
      const now = yield* Clock.currentTimeMillis
      // Within a millisecond is due: a sleep is whole milliseconds, and a fractional rest would be
      // slept as none, over and over.
      if (next.due - now < 1) {
        heap.pop()
        next.task.item.resume(poll(next))
        continue
      }
      const alarm = yield* Deferred.make<void>()
      wake = alarm
      sleepingUntil = next.due
      yield* Effect.raceFirst(Effect.sleep(Duration.millis(next.due - now)), Deferred.await(alarm))
      wake = undefined
      sleepingUntil = Number.POSITIVE_INFINITY
    }
  })

  /** Queues `watch` for its next poll, `delay` from `now`. */
  const schedule = (watch: Watch, now: number, delay: number, fork: (effect: Effect.Effect<void>) => void): void => {
    watch.due = now + delay
    heap.push(watch)
    if (!timerRunning) {
      timerRunning = true
      fork(timer)
    } else if (watch.due < sleepingUntil && wake !== undefined) {
      Deferred.unsafeDone(wake, Effect.void)
    }
  }

  /** `watch` waits for its next poll: in the table, or handed off (polled at once when it is due now). */
  const later = (watch: Watch, now: number): Step =>
    Effect.flatMap(Random.next, (random) => {
      const delay = watch.tracker.nextDelay(now, random)
      if (waits._tag === "Table") {
        schedule(watch, now, delay, waits.fork)
        return Effect.succeed(Parked)
      }
      if (delay < 1) return poll(watch)
      live.delete(watch)
      waits.hand({ _tag: "Waiting", delayMillis: delay, polling: watch.tracker.state })
      return Effect.as(watch.task.settlement.release, Parked)
    })

  /** The task ended without a video (or the wait did): bill what the failure proves, then `onFailure`. */
  const fail = (watch: Watch, failure: VideoError, endsTask: boolean): Step =>
    Effect.gen(function* () {
      const { task } = watch
      const { handle, provider } = task
      const context = { provider: provider.id, taskId: handle.taskId }
      let error: VideoError = annotate(failure, context)
      const at = new Date(yield* Clock.currentTimeMillis)
      if (error._tag === "TaskNotFound" && handle.isExpired(at)) {
        error = new TaskExpired({ ...context, message: `task ${handle.taskId} has expired at ${provider.id}` })
      }
      const policy = task.model.chargePolicy
      error = withBilling(
        error,
        endsTask || RetryPolicy.endsTask(error)
          ? Billing.outcome(policy, "accepted")
          : Billing.outcome(policy, "accepted", { stillRunning: true })
      )
      yield* task.settlement.settle(error.billing, handle.taskId)
      live.delete(watch)
      return yield* task.onFailure(error)
    })

  /** The task succeeded: settle, find the video, report it, and carry the item on. */
  const succeed = (watch: Watch, status: TaskStatus & { readonly _tag: "Succeeded" }): Step =>
    Effect.gen(function* () {
      const { item, provider, handle, settlement } = watch.task
      yield* settlement.settle("charged", handle.taskId)
      live.delete(watch)
      const found = yield* Effect.either(
        status.asset !== undefined
          ? Effect.succeed(status.asset)
          : Calls.read(
              shared,
              item,
              "content",
              provider.content(handle),
              provider.id,
              `content of ${handle.taskId}`
            ).pipe(
              Effect.mapError((error) =>
                withBilling(annotate(error, { provider: provider.id, taskId: handle.taskId }), "charged")
              )
            )
      )
      if (Either.isLeft(found)) return yield* watch.task.onFailure(found.left)
      yield* item.emit(new Succeeded({ key: item.key, taskId: handle.taskId, asset: found.right }))
      // A link outlives the stage (the journal keeps it with `Succeeded`); a stream does not, so a
      // video only a stream reaches is delivered now.
      if (waits._tag === "Hand" && found.right._tag === "Url") {
        waits.hand({ _tag: "Ready" })
        return Parked
      }
      return yield* watch.task.onVideo(found.right)
    })

  /** One status call for a due task, and what its answer means. */
  const poll = (watch: Watch): Step =>
    Effect.gen(function* () {
      const { item, provider, handle } = watch.task
      const { tracker } = watch
      const statusGate = shared.statusGates.get(provider.id)
      const status = Calls.retrying(
        shared,
        item,
        "status",
        Gate.through(
          item.gates.status,
          Gate.through(
            statusGate,
            Calls.within(provider.status(handle), provider.id, `status of ${handle.taskId}`, shared.requestTimeout)
          )
        )
      )
      const asking = yield* Clock.currentTimeMillis
      const answered = yield* Effect.either(Effect.timeoutOption(status, Duration.millis(tracker.bound(asking))))
      const at = yield* Clock.currentTimeMillis
      if (Either.isLeft(answered)) return yield* fail(watch, answered.left, false)
      if (Option.isNone(answered.right)) return yield* fail(watch, tracker.timedOut(at, true), false)
      const reading = answered.right.value
      const finishAt = tracker.record(reading, at)
      if (reading._tag === "Queued" || reading._tag === "Running") {
        yield* watch.progress.report(
          item,
          handle.taskId,
          reading._tag === "Queued",
          Polling.progressOf(reading),
          finishAt
        )
      }
      switch (reading._tag) {
        case "Succeeded":
          return yield* succeed(watch, reading)
        case "Failed":
          return yield* fail(watch, reading.error, true)
        default: {
          if (tracker.finalPoll) return yield* fail(watch, tracker.timedOut(at, false), false)
          return yield* later(watch, yield* Clock.currentTimeMillis)
        }
      }
    })

  const follow = (task: Task): Step =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const { handle, provider } = task
      if (handle.isExpired(new Date(now))) {
        const error = new TaskExpired({
          provider: provider.id,
          taskId: handle.taskId,
          billing: Billing.outcome(task.model.chargePolicy, "accepted", { stillRunning: true }),
          ...(handle.expiresAt === undefined ? {} : { expiredAt: handle.expiresAt }),
          message: `task ${handle.taskId} expired at ${handle.expiresAt?.toISOString()}; ${provider.id} keeps tasks and videos for a limited time`
        })
        yield* task.settlement.settle(error.billing, handle.taskId)
        return yield* task.onFailure(error)
      }
      // A state carried on is the same task's: a state left by another task of the item (an
      // earlier attempt) would bring its deadline and readings.
      const restored =
        waits._tag === "Hand" && task.immediately && waits.restored?.taskId === handle.taskId
          ? waits.restored
          : undefined
      const watch = new Watch(
        task,
        new Polling.Tracker(handle, task.model.generationTime, task.item.polling, now, task.immediately, restored)
      )
      live.add(watch)
      return yield* later(watch, now)
    })

  const close = Effect.suspend(() => {
    heap.drain()
    const left = Array.from(live)
    live.clear()
    return Effect.forEach(left, (watch) => watch.task.settlement.abandon, { discard: true })
  })

  return { follow, close }
}
