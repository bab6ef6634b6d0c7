/**
 * The watchdog: every worker looks, now and then, for items no workflow has moved past their due
 * time and that no live process holds, and drives each again under the next generation. This is
 * what keeps a paid video from being stranded by the workflow engine itself (on this line: an
 * entity whose messages stop being consumed after runners restart, a shard acquisition that never
 * completes). The new generation carries the item on from where the journal says it stands, so it
 * never creates it twice; the old one, should it wake, finds itself superseded and stops.
 *
 * @since 0.1.0
 */
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import { Drives } from "@reelay/journal"
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ClusterSettings from "./ClusterSettings.js"
import { drive } from "./Enqueue.js"

export interface Options {
  /** How often to look (default 1 minute). */
  readonly interval?: Duration.DurationInput | undefined
  /** How many overdue items one look drives again at most (default 100). */
  readonly limit?: number | undefined
  /** See `ClusterSettings.defaultStallAfter`: the new generation's time to move the item. */
  readonly stallAfter?: Duration.DurationInput | undefined
}

/** One look: the items it drove again. */
export const look = (
  options: Options = {}
): Effect.Effect<ReadonlyArray<Drives.Drive>, never, Drives.Drives | WorkflowEngine.WorkflowEngine> =>
  Effect.gen(function* () {
    const drives = yield* Drives.Drives
    const now = yield* Clock.currentTimeMillis
    const overdue = yield* drives.overdue(now, options.limit ?? 100)
    const driven: Array<Drives.Drive> = []
    for (const stalled of overdue) {
      const generation = yield* drives.redrive(stalled, now + ClusterSettings.stallMillis(options), now)
      if (generation === undefined) continue
      yield* Effect.logWarning(
        `reelay worker: item ${stalled.key} of batch ${stalled.batch} has not moved since ${new Date(stalled.dueAt).toISOString()}; driving it again (generation ${generation})`
      )
      yield* drive({ batch: stalled.batch, key: stalled.key, generation, overwrite: stalled.overwrite })
      driven.push({ ...stalled, generation })
    }
    return driven
  }).pipe(
    // A look that fails (the database gone a moment, a message refused) is reported and the next
    // look goes on: the watchdog must outlive whatever it is watching for.
    Effect.catchAllCause((cause) =>
      Effect.as(Effect.logWarning("reelay worker: the watchdog could not look for stalled items", cause), [])
    ),
    Effect.withSpan("Cluster.watchdog")
  )

/** Looks every `interval`, forever. */
export const run = (
  options: Options = {}
): Effect.Effect<never, never, Drives.Drives | WorkflowEngine.WorkflowEngine> =>
  Effect.forever(Effect.zipRight(Effect.sleep(options.interval ?? "1 minute"), look(options)))
