/**
 * The handle of a task a provider accepted: everything needed to poll it, fetch it and resume it
 * after a crash. It is plain data so the journal can store it.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * - `async`: a task that can be polled by id (`status` / `content`), so it survives a crash.
 * - `streaming`: a synchronous generation whose only channel is the open response; its id names it
 *   in events and the journal, but it cannot be polled or resumed.
 */
export const TaskMode = Schema.Literal("async", "streaming")
export type TaskMode = typeof TaskMode.Type

export class TaskHandle extends Schema.Class<TaskHandle>("TaskHandle")({
  provider: Schema.String,
  model: Schema.String,
  taskId: Schema.String,
  mode: TaskMode,
  /** When the provider accepted the task (our clock). */
  createdAt: Schema.Date,
  /** When the provider forgets the task and its video (24 hours on every reference page). */
  expiresAt: Schema.optional(Schema.Date),
  /** Protocol details the provider needs to poll this task again later, such as a status path. */
  metadata: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) })
}) {
  /** Whether the task can no longer be polled or downloaded at `now`. */
  isExpired(now: Date): boolean {
    return this.expiresAt !== undefined && now.getTime() >= this.expiresAt.getTime()
  }
}
