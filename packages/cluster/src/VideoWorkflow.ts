/**
 * One durable workflow per video. Its steps are the engine's stages (`Stepper`): each stage is an
 * activity, recorded once it has run, and each wait between stages (the polls `Polling.plan`
 * places, a recheck of an item another process holds) is a `DurableClock` sleep, which a worker
 * restarted mid-wait resumes at its original wake-up time rather than polling at once.
 *
 * The workflow carries the work; the journal stays the source of truth for money and files. An
 * activity can run again after its worker dies or its shard moves (the workflow engine runs it at
 * least once, not exactly once), so each stage asks the journal where the item stands and claims it
 * before acting: a create whose intent is recorded is never sent again.
 *
 * The workflow's idempotency key is the item (its batch, its key) and its generation: enqueuing an
 * item twice runs it once; the watchdog drives a stalled item again under the next generation.
 *
 * @since 0.1.0
 */
import * as Activity from "@effect/workflow/Activity"
import * as DurableClock from "@effect/workflow/DurableClock"
import * as Workflow from "@effect/workflow/Workflow"
import type * as Polling from "@reelay/core/Polling"
import * as Stepper from "@reelay/core/Stepper"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { plannedWait, Stages } from "./Stages.js"

/** Which item a workflow drives, and under which generation. */
export const Payload = Schema.Struct({
  batch: Schema.String,
  key: Schema.String,
  generation: Schema.Number,
  /** Whether the item may replace a file at its output (as `reelay batch --overwrite` said). */
  overwrite: Schema.Boolean
})
export type Payload = typeof Payload.Type

/** What one stage did: the engine's step, or the news that a later generation drives the item now. */
export const StageResult = Schema.Union(Stepper.Step, Schema.TaggedStruct("Superseded", {}))
export type StageResult = typeof StageResult.Type

/** How a workflow ended. The journal holds the whole story; this is its summary. */
export const Outcome = Schema.Union(
  Schema.TaggedStruct("Saved", { path: Schema.String, sha256: Schema.String }),
  Schema.TaggedStruct("Failed", { error: Schema.String, billing: Schema.String, message: Schema.String }),
  Schema.TaggedStruct("Duplicate", {}),
  /** This worker could not write the output: the item went on under the next generation. */
  Schema.TaggedStruct("HandedOver", { message: Schema.String }),
  /** A later generation drives the item (the watchdog drove it again). */
  Schema.TaggedStruct("Superseded", {})
)
export type Outcome = typeof Outcome.Type

export const VideoWorkflow = Workflow.make({
  name: "reelay/video",
  payload: Payload,
  success: Outcome,
  idempotencyKey: (payload) => `${payload.batch}\u0000${payload.key}\u0000${payload.generation}`
})

/** A durable wait, skipped when there is nothing to wait for. Every wait is durable (`inMemoryThreshold` zero). */
const wait = (name: string, millis: number) =>
  millis < 1
    ? Effect.void
    : DurableClock.sleep({ name, duration: Duration.millis(Math.ceil(millis)), inMemoryThreshold: Duration.zero })

/** The workflow's body, for the workers (`Worker.layer`). */
export const layer = VideoWorkflow.toLayer((payload) =>
  Effect.gen(function* () {
    const stages = yield* Stages
    let polling: Polling.TrackerState | undefined
    // Activity and clock names are numbered by stage: a replay after a wake finds each recorded
    // stage under the same name and runs only what is new.
    for (let stage = 1; ; stage++) {
      const result = yield* Activity.make({
        name: `stage/${stage}`,
        success: StageResult,
        execute: stages.advance(payload, polling)
      })
      switch (result._tag) {
        case "Waiting":
          polling = result.polling
          yield* wait(`wait/${stage}`, plannedWait(result))
          break
        case "Ready":
          break
        case "Held":
          yield* wait(`wait/${stage}`, plannedWait(result))
          break
        case "Unwritable":
          yield* wait(`wait/${stage}`, plannedWait(result))
          yield* Activity.make({ name: `hand-over/${stage}`, execute: stages.handOver(payload) })
          return { _tag: "HandedOver", message: result.message } as const
        case "Superseded":
          return result
        case "Saved":
          return { _tag: "Saved", path: result.video.path, sha256: result.video.sha256 } as const
        case "Failed":
          return {
            _tag: "Failed",
            error: result.error._tag,
            billing: result.error.billing,
            message: result.error.message
          } as const
        case "Duplicate":
          return result
      }
    }
  })
)
