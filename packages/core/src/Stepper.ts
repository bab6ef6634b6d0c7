/**
 * One journaled item carried on one stage at a time, for a scheduler outside the engine that does
 * the waiting itself (a durable workflow, `@reelay/cluster`). Each `advance` opens the item in the
 * `JobStore`, claims it, carries it on from where the store says it stands, and gives it back:
 *
 * - a fresh item is validated, reserved and created, then handed back `Waiting` for its first look
 *   (a streaming provider's item runs from create to saved file in this one stage);
 * - a created task gets one status call (the wait before it was the caller's): `Waiting` again, with
 *   the polling state to carry on from, `Ready` once the video exists, or `Failed`;
 * - a ready video is downloaded, verified and saved: `Saved`.
 *
 * The money rules are the engine's own: the intent is recorded before the create, the task id the
 * moment it returns, and an item is worked by one live process at a time (the store's claims), so an
 * `advance` run twice (a workflow step replayed after a crash) never creates a video twice.
 *
 * @since 0.2.0
 */
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Budget from "./Budget.js"
import type { BatchConcurrency } from "./Engine.js"
import type { GenerateRequest } from "./GenerateRequest.js"
import type { GenerationEvent } from "./GenerationEvent.js"
import type * as JobStore from "./JobStore.js"
import * as Polling from "./Polling.js"
import { SavedVideo } from "./SavedVideo.js"
import { VideoError } from "./VideoError.js"

/** Where an item stands after one `advance`, and so what its scheduler does next. */
export const Step = Schema.Union(
  /** The task runs: wait `delayMillis`, then advance again with `polling`. */
  Schema.TaggedStruct("Waiting", { delayMillis: Schema.Number, polling: Polling.TrackerState }),
  /** The video exists and is not saved yet: advance again now. */
  Schema.TaggedStruct("Ready", {}),
  /** Another live process works the item (`holder`): ask again after `recheckMillis`. */
  Schema.TaggedStruct("Held", { holder: Schema.String, recheckMillis: Schema.Number }),
  /**
   * This process cannot write the item's output (`message` says why): nothing was recorded or
   * sent; the item is for a process that can.
   */
  Schema.TaggedStruct("Unwritable", { message: Schema.String }),
  Schema.TaggedStruct("Saved", { video: SavedVideo }),
  Schema.TaggedStruct("Failed", { error: VideoError }),
  /** The item repeats another item of its batch, which makes the video. */
  Schema.TaggedStruct("Duplicate", {})
)
export type Step = typeof Step.Type

/** Whether an item has ended (nothing more to advance). */
export const ended = (step: Step): boolean =>
  step._tag === "Saved" || step._tag === "Failed" || step._tag === "Duplicate"

/**
 * One item, as the store holds it. With a store shared by several processes (one with claims, the
 * journal), the item must have been opened in it already (`JobStore.open`, as handing a batch to the
 * workers does): each stage only claims it.
 */
export interface StepItem {
  readonly key: string
  readonly request: GenerateRequest
  readonly output: string
  readonly overwrite?: boolean | undefined
}

export interface StepperOptions {
  /** Stages at once, across everything this stepper advances (defaults 10, 10 and 5). */
  readonly concurrency?: BatchConcurrency | undefined
  /** As `BatchOptions.recreateUncertain`. */
  readonly recreateUncertain?: boolean | undefined
  /** As `BatchOptions.retryFailed`. */
  readonly retryFailed?: boolean | undefined
  readonly polling?: Partial<Polling.PollingOptions> | undefined
  /**
   * The budget a stage of `batch` reserves from (default: the engine's). Several processes sharing
   * a batch each hold only their own reservations, so a worker builds it from the store's totals
   * at each stage.
   */
  readonly budgetOf?: ((batch: string) => Effect.Effect<Budget.Service, JobStore.JobStoreError>) | undefined
  /** Hears every event, after the store has recorded it. */
  readonly onEvent?: ((batch: string, event: GenerationEvent) => Effect.Effect<void>) | undefined
}

export interface Stepper {
  /**
   * Carries `item` of `batch` on by one stage. `polling` is the state the last `Waiting` handed back
   * (absent: a created task is polled from a fresh state). Fails only when the store cannot record.
   */
  readonly advance: (
    batch: string,
    item: StepItem,
    polling?: Polling.TrackerState | undefined
  ) => Effect.Effect<Step, JobStore.JobStoreError>
}
