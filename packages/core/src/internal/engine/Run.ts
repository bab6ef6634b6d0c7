/**
 * A run: the fibers and the follower of one `generate`, `resume` or batch. Every step of its items
 * runs on a fiber forked with the run's context (the answers' pace included) under the run's scope;
 * when the run ends or is interrupted, its fibers are interrupted first, then the tasks still in the
 * follower's table are left alone with their unsettled money kept as uncertain.
 *
 * While an item is alive, one of the run's fibers always is: each step forks its successor (a status
 * call re-arms the timer, a finished task forks nothing new until it ends) before it ends, so the
 * run's fiber set empties exactly when every item has ended.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import * as ResponseBody from "../../ResponseBody.js"
import type { VideoError } from "../../VideoError.js"
import * as Follow from "./Follow.js"
import { carried, Item, type Shared as ItemShared, type Outcome } from "./Item.js"
import type { Shared } from "./Shared.js"

export interface Run {
  readonly follower: Follow.Follower
  /** A new item of this run. */
  readonly item: (key: string, output: string | undefined, overwrite: boolean) => Item
  /** Waits until no step of any item runs or waits in the table. */
  readonly idle: Effect.Effect<void>
}

/** What a run's items report to, and what the run hears when one ends (after its `Failed` event, if it failed). */
export interface Reporting extends Omit<ItemShared, "carry"> {
  readonly end: (item: Item, exit: Exit.Exit<Outcome, VideoError>) => Effect.Effect<void>
}

export const make = (
  shared: Shared,
  reporting: Reporting,
  /** The run's follower (default: one with its own table and timer, `Follow.make`). */
  makeFollower: (fork: (effect: Effect.Effect<void>) => void) => Follow.Follower = (fork) => Follow.make(shared, fork)
): Effect.Effect<Run, never, Scope.Scope> =>
  Effect.gen(function* () {
    let follower: Follow.Follower | undefined
    // Added before the fiber set: finalizers run last-in first-out, so the fibers stop first and the
    // tasks they left are then abandoned, never the other way round.
    yield* Effect.addFinalizer(() => (follower === undefined ? Effect.void : follower.close))
    const fibers = yield* FiberSet.make<void, never>()
    const runFork = yield* FiberSet.runtime(fibers)<never>().pipe(
      Effect.locally(ResponseBody.currentPace, shared.answerPace)
    )
    const fork = (effect: Effect.Effect<void>): void => {
      runFork(effect)
    }
    follower = makeFollower(fork)
    const { end, ...rest } = reporting
    const itemShared: ItemShared = {
      ...rest,
      carry: (item, step) => fork(carried(item, end, step))
    }
    return {
      follower,
      item: (key, output, overwrite) => new Item(key, output, overwrite, itemShared),
      idle: FiberSet.awaitEmpty(fibers)
    }
  })
