/**
 * The plan's own figure: `Polling.plan` (with `Polling.jitter`, seeded) replayed against each task's
 * timeline with zero latency — every status answer arrives the instant it is asked, nothing queues,
 * no CPU is spent. The detection delays it gives are what reelay's policy costs by itself; what a
 * contestant adds on top is its machinery's.
 */
import * as Polling from "@reelay/core/Polling"
import * as LaozhangCatalog from "@reelay/provider-laozhang/LaozhangCatalog"
import { Timeline } from "@reelay/simulator"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import type { WorkItem } from "./protocol.js"

export interface PlanFigures {
  /** Detection delays, ms, ascending. */
  readonly delays: ReadonlyArray<number>
  readonly statusPerVideo: number
}

const times = new Map(LaozhangCatalog.models.map((model) => [model.id, model.generationTime]))

export const replay = (items: ReadonlyArray<WorkItem>, timeScale: number): PlanFigures => {
  const options: Polling.PollingOptions = { ...Polling.defaultPollingOptions, timeScale }
  const delays: Array<number> = []
  let polls = 0
  const success = { _tag: "Success" } as const
  Effect.runSync(
    Effect.withRandom(
      Effect.forEach(
        items,
        (item) =>
          Effect.gen(function* () {
            const time = times.get(item.model)
            if (time === undefined) throw new Error(`no generation time for ${item.model}`)
            const curve = item.shape === "stall" || item.shape === "jump" ? item.shape : undefined
            const timeline = { createdAt: 0, queueMs: item.queueMs, runMs: item.runMs, curve }
            const endsAt = Timeline.endsAt(timeline, success)
            const readings: Array<Polling.Reading> = []
            let now = 0
            for (;;) {
              const next = Polling.plan({ time, submittedAt: 0, now, readings }, options)
              now += yield* Polling.jitter(next, options)
              polls++
              const phase = Timeline.phaseAt(timeline, success, now)
              if (phase.status === "completed") {
                delays.push(now - endsAt)
                break
              }
              readings.push({ at: now, progress: phase.progress })
              if (readings.length > 8) readings.shift()
            }
          }),
        { discard: true }
      ),
      Random.make("bench-plan")
    )
  )
  return { delays: delays.sort((a, b) => a - b), statusPerVideo: polls / Math.max(1, items.length) }
}
