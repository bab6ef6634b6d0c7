/**
 * What the user sees of each task, folded from its `GenerationEvent`s. Pure: `update(view, event)`
 * returns the next view, so rendering is a function of the events alone and is tested as such.
 *
 * @since 0.1.0
 */
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import * as Money from "@reelay/core/Money"
import type { SavedVideo } from "@reelay/core/SavedVideo"
import type { VideoError } from "@reelay/core/VideoError"

/** Where a task stands, as shown. */
export type Phase =
  | "waiting"
  | "validated"
  | "submitting"
  | "submitted"
  | "queued"
  | "running"
  | "succeeded"
  | "downloading"
  | "saved"
  | "failed"
  | "duplicate"

export interface TaskView {
  readonly key: string
  readonly phase: Phase
  readonly provider: string | undefined
  readonly model: string | undefined
  readonly taskId: string | undefined
  readonly percent: number | undefined
  readonly etaSeconds: number | undefined
  readonly receivedBytes: number | undefined
  readonly totalBytes: number | undefined
  /** The most the task can cost (the model's price). */
  readonly estimated: Money.Usd | undefined
  /** Certainly spent on this task. */
  readonly charged: Money.Usd
  /** Possibly spent (ambiguous creates, tasks still running when waiting stopped). */
  readonly unknown: Money.Usd
  readonly chargePolicy: string | undefined
  readonly video: SavedVideo | undefined
  readonly error: VideoError | undefined
  /** The latest retry, until the next step succeeds. */
  readonly retry: { readonly operation: string; readonly attempt: number; readonly reason: string } | undefined
  readonly warnings: ReadonlyArray<string>
}

/** A task nothing has happened to yet. */
export const initial = (key: string): TaskView => ({
  key,
  phase: "waiting",
  provider: undefined,
  model: undefined,
  taskId: undefined,
  percent: undefined,
  etaSeconds: undefined,
  receivedBytes: undefined,
  totalBytes: undefined,
  estimated: undefined,
  charged: Money.zero,
  unknown: Money.zero,
  chargePolicy: undefined,
  video: undefined,
  error: undefined,
  retry: undefined,
  warnings: []
})

/** Whether the task has ended (saved, failed, or a duplicate of another). */
export const isDone = (view: TaskView): boolean =>
  view.phase === "saved" || view.phase === "failed" || view.phase === "duplicate"

/** The next view of a task after `event`. */
export const update = (view: TaskView, event: GenerationEvent): TaskView => {
  switch (event._tag) {
    case "Validated":
      return {
        ...view,
        phase: "validated",
        provider: event.provider,
        model: event.model,
        estimated: event.estimatedCost,
        chargePolicy: event.chargePolicy
      }
    case "Submitting":
      return { ...view, phase: "submitting", provider: event.provider, model: event.model, retry: undefined }
    case "Submitted":
      return {
        ...view,
        phase: "submitted",
        taskId: event.handle.taskId,
        provider: view.provider ?? event.handle.provider,
        model: view.model ?? event.handle.model,
        retry: undefined
      }
    case "Queued":
      return { ...view, phase: "queued", taskId: event.taskId, retry: undefined }
    case "Progress":
      return {
        ...view,
        phase: "running",
        taskId: event.taskId,
        percent: Math.max(view.percent ?? 0, event.percent),
        etaSeconds: event.etaSeconds,
        retry: undefined
      }
    case "Succeeded":
      return {
        ...view,
        phase: "succeeded",
        taskId: event.taskId,
        percent: 100,
        etaSeconds: undefined,
        retry: undefined
      }
    case "Downloading":
      return {
        ...view,
        phase: "downloading",
        receivedBytes: event.receivedBytes,
        totalBytes: event.totalBytes ?? view.totalBytes,
        retry: undefined
      }
    case "Saved":
      return {
        ...view,
        phase: "saved",
        video: event.video,
        provider: view.provider ?? event.video.provider,
        model: view.model ?? event.video.model,
        taskId: view.taskId ?? event.video.taskId,
        receivedBytes: event.video.bytes,
        totalBytes: event.video.bytes,
        retry: undefined
      }
    case "Retrying":
      return {
        ...view,
        retry: { operation: event.operation, attempt: event.attempt, reason: event.error.message }
      }
    case "Warning":
      return event.code === "duplicate"
        ? { ...view, phase: "duplicate", warnings: [...view.warnings, event.message] }
        : { ...view, warnings: [...view.warnings, event.message] }
    case "Charged":
      return event.billing === "charged"
        ? { ...view, charged: Money.sum([view.charged, event.amount]), chargePolicy: event.chargePolicy }
        : event.billing === "unknown"
          ? { ...view, unknown: Money.sum([view.unknown, event.amount]), chargePolicy: event.chargePolicy }
          : view
    case "Failed":
      return { ...view, phase: "failed", error: event.error, retry: undefined }
  }
}

/** Every task's view, in the order tasks were first seen. */
export interface Board {
  readonly order: ReadonlyArray<string>
  readonly tasks: ReadonlyMap<string, TaskView>
}

/** A board with `keys` waiting (so a batch shows every item from the start). */
export const board = (keys: ReadonlyArray<string> = []): Board => ({
  order: [...keys],
  tasks: new Map(keys.map((key) => [key, initial(key)]))
})

/** The board after `event`. */
export const apply = (current: Board, event: GenerationEvent): Board => {
  const known = current.tasks.get(event.key)
  const tasks = new Map(current.tasks).set(event.key, update(known ?? initial(event.key), event))
  return { order: known === undefined ? [...current.order, event.key] : current.order, tasks }
}

/** Counts and money over the board. */
export interface Totals {
  readonly total: number
  readonly saved: number
  readonly failed: number
  readonly duplicates: number
  readonly active: number
  readonly charged: Money.Usd
  readonly unknown: Money.Usd
}

export const totals = (current: Board): Totals => {
  const views = [...current.tasks.values()]
  const count = (phase: Phase) => views.filter((view) => view.phase === phase).length
  return {
    total: views.length,
    saved: count("saved"),
    failed: count("failed"),
    duplicates: count("duplicate"),
    active: views.filter((view) => !isDone(view) && view.phase !== "waiting").length,
    charged: Money.sum(views.map((view) => view.charged)),
    unknown: Money.sum(views.map((view) => view.unknown))
  }
}
