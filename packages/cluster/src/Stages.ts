/**
 * What a worker's workflows run at each step (`VideoWorkflow`): one engine stage of one journaled
 * item (`Stepper.advance`), fenced by the item's generation (`Drives`): a workflow that a later
 * generation superseded stops before touching the item, and every stage that moves it pushes its
 * due time on, so the watchdog knows it is alive.
 *
 * @since 0.1.0
 */
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import type * as JobStore from "@reelay/core/JobStore"
import type * as Polling from "@reelay/core/Polling"
import * as Stepper from "@reelay/core/Stepper"
import { Drives, Journal } from "@reelay/journal"
import type { JournalError } from "@reelay/journal/JournalError"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as ClusterSettings from "./ClusterSettings.js"
import { drive } from "./Enqueue.js"
import type { Payload, StageResult } from "./VideoWorkflow.js"

export interface Service {
  /** One stage of the item `payload` names, carried on from `polling` (the last wait's state). */
  readonly advance: (payload: Payload, polling: Polling.TrackerState | undefined) => Effect.Effect<StageResult>
  /** Drives the item on under the next generation (this worker cannot write its output). */
  readonly handOver: (payload: Payload) => Effect.Effect<void>
}

export class Stages extends Context.Tag("@reelay/cluster/Stages")<Stages, Service>() {}

/**
 * A store or journal that cannot answer is waited for, with backoff, for up to five minutes; past
 * that the stage dies, its workflow ends, and the watchdog drives the item again later.
 */
const patiently = <A>(effect: Effect.Effect<A, JobStore.JobStoreError | JournalError>): Effect.Effect<A> =>
  effect.pipe(
    Effect.tapError((error) => Effect.logWarning(`reelay worker: ${error.message}; trying again`)),
    Effect.retry(
      Schedule.exponential("500 millis", 2).pipe(
        Schedule.union(Schedule.spaced("30 seconds")),
        Schedule.upTo("5 minutes")
      )
    ),
    Effect.orDie
  )

/** How long the workflow waits after `step` before its next stage (see `VideoWorkflow`). */
export const plannedWait = (step: Stepper.Step): number => {
  switch (step._tag) {
    case "Waiting":
      return step.delayMillis
    case "Held":
      return Math.max(step.recheckMillis, heldRecheckMillis)
    case "Unwritable":
      return Duration.toMillis(handOverDelay)
    default:
      return 0
  }
}

/**
 * The shortest wait before asking again for an item another process holds: a holder that died keeps
 * its claim until its lease runs out (30 s), and asking every second until then costs a stage and a
 * durable clock each time.
 */
export const heldRecheckMillis = 5_000

/** How long an item this worker cannot write waits before it is handed on. */
export const handOverDelay = Duration.seconds(30)

export const make = (
  stepper: Stepper.Stepper,
  timings?: ClusterSettings.Timings | undefined
): Effect.Effect<Service, never, Journal.Journal | Drives.Drives | WorkflowEngine.WorkflowEngine> =>
  Effect.gen(function* () {
    const journal = yield* Journal.Journal
    const drives = yield* Drives.Drives
    const engine = yield* WorkflowEngine.WorkflowEngine
    const allowance = ClusterSettings.stallMillis(timings)

    const advance: Service["advance"] = (payload, polling) =>
      patiently(
        Effect.gen(function* () {
          const { batch, key, generation } = payload
          const startedAt = yield* Clock.currentTimeMillis
          if (!(yield* drives.moved(batch, key, generation, Math.ceil(startedAt + allowance)))) {
            return { _tag: "Superseded" } as const
          }
          const stored = yield* journal.item(batch, key)
          if (Option.isNone(stored)) {
            return yield* Effect.dieMessage(`item ${key} of batch ${batch} is not in the journal`)
          }
          const item = stored.value
          const step = yield* stepper.advance(
            batch,
            { key, request: item.request, output: item.output, overwrite: payload.overwrite },
            polling
          )
          if (Stepper.ended(step)) {
            yield* drives.ended(batch, key, generation)
          } else {
            const now = yield* Clock.currentTimeMillis
            yield* drives.moved(batch, key, generation, Math.ceil(now + plannedWait(step) + allowance))
          }
          return step
        })
      ).pipe(
        Effect.withSpan("Cluster.stage", { attributes: { "reelay.batch": payload.batch, "reelay.key": payload.key } })
      )

    const handOver: Service["handOver"] = (payload) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const next = yield* patiently(
          drives.redrive({ batch: payload.batch, key: payload.key, generation: payload.generation }, now + allowance)
        )
        if (next !== undefined) {
          yield* drive({ ...payload, generation: next }).pipe(
            Effect.provideService(WorkflowEngine.WorkflowEngine, engine)
          )
        }
      })

    return { advance, handOver }
  })

export const layer = (
  stepper: Stepper.Stepper,
  timings?: ClusterSettings.Timings | undefined
): Layer.Layer<Stages, never, Journal.Journal | Drives.Drives | WorkflowEngine.WorkflowEngine> =>
  Layer.effect(Stages, make(stepper, timings))
