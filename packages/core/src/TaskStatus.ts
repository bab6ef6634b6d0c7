/**
 * What a provider says about a task when asked.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { AssetSource } from "./AssetSource.js"
import { VideoError } from "./VideoError.js"

const progress = Schema.optional(Schema.Number.pipe(Schema.between(0, 100)))
/** The server's hint for when to ask again (`openai-poll-after-ms`, `Retry-After`). */
const pollAfterMillis = Schema.optional(Schema.Number.pipe(Schema.nonNegative()))

export class Queued extends Schema.TaggedClass<Queued>()("Queued", { progress, pollAfterMillis }) {}

export class Running extends Schema.TaggedClass<Running>()("Running", { progress, pollAfterMillis }) {}

/** Done. `asset` is set when the status answer already carries the video's location. */
export class Succeeded extends Schema.TaggedClass<Succeeded>()("Succeeded", {
  asset: Schema.optional(AssetSource)
}) {}

/** The task ended without a video; `error` says why (`GenerationFailed`, `ContentRejected`, ...). */
export class Failed extends Schema.TaggedClass<Failed>()("Failed", { error: VideoError }) {}

export const TaskStatus = Schema.Union(Queued, Running, Succeeded, Failed)
export type TaskStatus = typeof TaskStatus.Type

/** Whether polling can stop. */
export const isTerminal = (status: TaskStatus): status is Succeeded | Failed =>
  status._tag === "Succeeded" || status._tag === "Failed"
