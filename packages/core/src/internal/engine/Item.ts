/**
 * One item's run: who it reports to, where its video goes, which slots it passes, and how its steps
 * are carried. An item is not a fiber: each step (a submission, a status call, a delivery) runs on a
 * fiber of its own and ends; between steps a followed task is only a record in the scheduler's
 * table (`Follow`). A step that hands the item to the table returns `Parked`; any other result ends
 * the item.
 *
 * @internal
 */

import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type * as Gate from "../../Gate.js"
import { Failed, type GenerationEvent } from "../../GenerationEvent.js"
import type * as JobStore from "../../JobStore.js"
import type * as Polling from "../../Polling.js"
import type { SavedVideo } from "../../SavedVideo.js"
import type { VideoError } from "../../VideoError.js"

export type Emit = (event: GenerationEvent) => Effect.Effect<void>

/** The submit, status and download slots of a batch (a single generation has none). */
export interface Gates {
  readonly submit?: Gate.Gate | undefined
  readonly status?: Gate.Gate | undefined
  readonly download?: Gate.Gate | undefined
}

/** What a step hands on: the item's end (its video, or none), or `Parked` when the item now waits in the table. */
export const Parked: unique symbol = Symbol.for("@reelay/core/Engine/Parked")
export type Parked = typeof Parked
export type Outcome = SavedVideo | undefined
export type Step = Effect.Effect<Outcome | Parked, VideoError>

/** What the items of one run share: where their events go, their slots and polling, how their steps run. */
export interface Shared {
  readonly emit: Emit
  /** Tells the store only, never the stream: a settlement that cost nothing (`Charged` not-charged). */
  readonly note: Emit
  /** Runs a store call for item `key`, failing the way a failed `emit` does. */
  readonly journal: (
    key: string,
    effect: Effect.Effect<void, JobStore.JobStoreError | JobStore.ClaimLost>
  ) => Effect.Effect<void>
  readonly gates: Gates
  readonly polling: Polling.PollingOptions
  /** Runs `step` of `item` on a fiber of the run (see `carried`). */
  readonly carry: (item: Item, step: Step) => void
}

/**
 * One item of a run: its key, where its video goes, and its run. Everything else an item needs is
 * its run's, so a batch of 100,000 items holds 100,000 of these small records, not 100,000 sets of
 * closures.
 */
export class Item {
  constructor(
    readonly key: string,
    readonly output: string | undefined,
    /** Whether a file already at `output` may be replaced. */
    readonly overwrite: boolean,
    readonly run: Shared
  ) {}

  /** Reports an event of this item (events carry their item's key). */
  emit(event: GenerationEvent): Effect.Effect<void> {
    return this.run.emit(event)
  }

  /** Tells the store only (see `Shared.note`). */
  note(event: GenerationEvent): Effect.Effect<void> {
    return this.run.note(event)
  }

  journal(effect: Effect.Effect<void, JobStore.JobStoreError | JobStore.ClaimLost>): Effect.Effect<void> {
    return this.run.journal(this.key, effect)
  }

  get gates(): Gates {
    return this.run.gates
  }

  get polling(): Polling.PollingOptions {
    return this.run.polling
  }

  /** Runs the item's next step on a fiber of its run; the step's end is the item's unless it parks it. */
  resume(step: Step): void {
    this.run.carry(this, step)
  }

  /** The same item, saving to `output` and allowed to replace what is there (a damaged file repaired). */
  repairing(output: string): Item {
    return new Item(this.key, output, true, this.run)
  }
}

/**
 * `step` as the item's fiber runs it: a failure is reported as a `Failed` event, and the item's end
 * (its video or none, its failure, or its interruption) goes to `end`, unless the step parked it.
 */
export const carried = (
  item: Item,
  end: (item: Item, exit: Exit.Exit<Outcome, VideoError>) => Effect.Effect<void>,
  step: Step
): Effect.Effect<void> =>
  Effect.matchCauseEffect(step, {
    onSuccess: (outcome) => (outcome === Parked ? Effect.void : end(item, Exit.succeed(outcome))),
    onFailure: (cause) => {
      const failure = Cause.failureOrCause(cause)
      return Effect.zipRight(
        Either.isLeft(failure) ? item.emit(new Failed({ key: item.key, error: failure.left })) : Effect.void,
        end(item, Exit.failCause(cause))
      )
    }
  })

/**
 * A concurrency limit given in code: absent is the default; anything but a whole number of at least 1
 * is a programming error, reported as such before anything is sent.
 */
export const limitOf = (value: number | undefined, name: string, fallback: number): Effect.Effect<number> =>
  value === undefined
    ? Effect.succeed(fallback)
    : Number.isInteger(value) && value >= 1
      ? Effect.succeed(value)
      : Effect.die(new Cause.IllegalArgumentException(`${name} must be a whole number of at least 1, got ${value}`))
