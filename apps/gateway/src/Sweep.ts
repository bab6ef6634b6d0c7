/**
 * Taking up videos nobody works: every video of the journal not finished, whose job no live process
 * holds, is started here (a task already created is polled, never created again). Run at start and
 * then every `sweep`, so the jobs of a gateway that died are taken up by the others without a
 * restart. A video admitted moments ago and not claimed yet is left alone: its gateway may have it
 * queued behind its submit slots.
 *
 * @since 0.3.0
 */
import type { Videos } from "@reelay/journal"
import * as Claims from "@reelay/journal/Claims"
import type { JournalError } from "@reelay/journal/JournalError"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Tenancy from "./Tenancy.js"

/** How long a video admitted and never claimed is left to the gateway that admitted it: a claim's life. */
export const unclaimedGraceMillis = 30_000

/** One look at the journal: starts here each video no live process works. */
export const make = (options: {
  readonly videos: Videos.Service
  readonly runtimes: ReadonlyMap<string, Tenancy.Tenant>
  readonly jobs: Tenancy.Jobs
}): Effect.Effect<void, JournalError> => {
  const me = Claims.self()
  const warned = new Set<string>()
  return Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    for (const { video, holder, claimed, started } of yield* options.videos.unfinished) {
      if (Claims.isAlive(holder, now, me)) continue
      if (!claimed && !started && now - video.createdAt.getTime() < unclaimedGraceMillis) continue
      const runtime = options.runtimes.get(video.tenant)
      if (runtime !== undefined) {
        yield* options.jobs.start(runtime, video)
      } else if (!warned.has(video.id)) {
        warned.add(video.id)
        yield* Effect.logWarning(
          `reelay gateway: video ${video.id} belongs to tenant "${video.tenant}", no longer configured; it waits`
        )
      }
    }
  })
}
