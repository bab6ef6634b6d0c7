/**
 * How a run stops without losing money: once asked, it starts no new billable call (a reservation
 * granted meanwhile is given back), waits a moment for creates in flight to return their task id
 * (so it is journaled, and a resume polls it instead of creating it again), and waits for every
 * stream its provider already answered to deliver its video (stopping one would lose a video already
 * paid for), unless told not to wait any longer.
 *
 * Shared by `Run.execute` (one batch) and the gateway (every tenant's videos).
 *
 * @since 0.3.0
 */
import type * as Budget from "@reelay/core/Budget"
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"

/** How long a stop waits for creates in flight to return their task id. */
export const drainLimit = "10 seconds"

/** What a stop could not wait for. */
export interface Unfinished {
  /** Keys of paid streams given up by a stop that could not wait: their videos are lost. */
  readonly lost: ReadonlyArray<string>
  /**
   * Keys whose create was still unanswered when the stop stopped waiting: whether a task exists
   * is unknown, so a resume reports them `UncertainSubmission` and never re-creates them unasked.
   */
  readonly unanswered: ReadonlyArray<string>
}

export interface Stopping {
  /** The budget to build the engine with: `inner`, holding nothing new once stopping. */
  readonly budget: Budget.Service
  /** Sees every event of the run: what is being created, and which streams are paid. */
  readonly track: (event: GenerationEvent) => void
  /**
   * Stops starting billable calls, then waits (saying what for with `note`) for creates in flight
   * (up to `drainLimit`) and paid streams, until `done` completes (the run ended anyway) or `now`
   * does (waiting longer was refused).
   */
  readonly stop: <R>(options: {
    readonly note: (text: string) => Effect.Effect<void, never, R>
    readonly done: Effect.Effect<unknown>
    readonly now: Effect.Effect<void>
  }) => Effect.Effect<Unfinished, never, R>
}

export const make = (inner: Budget.Service): Stopping => {
  let stopping = false
  const creating = new Set<string>()
  const streaming = new Set<string>()
  const budget: Budget.Service = {
    ...inner,
    reserve: (amount, context) =>
      Effect.suspend(() => (stopping ? Effect.never : inner.reserve(amount, context))).pipe(
        Effect.flatMap((reservation) =>
          stopping
            ? Effect.zipRight(inner.settle(reservation, "not-charged"), Effect.never)
            : Effect.succeed(reservation)
        )
      )
  }
  const track = (event: GenerationEvent) => {
    if (event._tag === "Submitting") creating.add(event.key)
    if (event._tag === "Submitted") {
      creating.delete(event.key)
      if (event.handle.mode === "streaming") streaming.add(event.key)
    }
    if (event._tag === "Saved" || event._tag === "Failed") {
      creating.delete(event.key)
      streaming.delete(event.key)
    }
  }
  const until = (done: () => boolean) =>
    Effect.sync(done).pipe(Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (ok) => ok }))
  const stop: Stopping["stop"] = (options) =>
    Effect.gen(function* () {
      stopping = true
      let lost: ReadonlyArray<string> = []
      if (creating.size > 0 || streaming.size > 0) {
        const waits = [
          ...(creating.size === 0 ? [] : [`${creating.size} create call(s) in flight to return their task id`]),
          ...(streaming.size === 0 ? [] : [`${streaming.size} paid stream(s) to deliver their video`])
        ]
        yield* options.note(`reelay: stopping; waiting for ${waits.join(" and ")}`)
        // Creates get a moment; a stream the provider answered gets as long as it takes (its own
        // deadline still applies), since stopping it now would lose a video already paid for.
        const drained = Effect.zipRight(
          Effect.timeout(
            until(() => creating.size === 0),
            drainLimit
          ).pipe(Effect.ignore),
          until(() => streaming.size === 0)
        )
        const forced = yield* Effect.raceAll([
          drained.pipe(Effect.as(false)),
          options.done.pipe(Effect.as(false)),
          options.now.pipe(Effect.as(true))
        ])
        if (forced && streaming.size > 0) lost = [...streaming]
      }
      return { lost, unanswered: [...creating] }
    })
  return { budget, track, stop }
}
