/**
 * Progress readings turned into `Queued` / `Progress` events: `Queued` once, before any progress;
 * percentages never going down. Two fields a task, no closure: a followed task's record holds one.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { Progress, Queued } from "../../GenerationEvent.js"
import type { Item } from "./Item.js"

export class Reporter {
  private queued = false
  private percent = -1

  /** Reports one reading of `taskId`: `finishAt` (epoch millis), when known, gives the event its ETA. */
  report(
    item: Item,
    taskId: string,
    queued: boolean,
    percent: number | undefined,
    finishAt: number | undefined
  ): Effect.Effect<void> {
    const announce = queued && !this.queued && this.percent < 0
    const advance = percent !== undefined && !queued && percent > this.percent
    if (!announce && !advance) return Effect.void
    if (announce) this.queued = true
    if (advance) this.percent = percent
    return Effect.gen(function* () {
      if (announce) yield* item.emit(new Queued({ key: item.key, taskId }))
      if (advance) {
        const now = yield* Clock.currentTimeMillis
        const etaSeconds = finishAt === undefined ? undefined : Math.max(0, Math.round((finishAt - now) / 100) / 10)
        yield* item.emit(
          new Progress({ key: item.key, taskId, percent, ...(etaSeconds === undefined ? {} : { etaSeconds }) })
        )
      }
    })
  }
}
