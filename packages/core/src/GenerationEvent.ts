/**
 * The typed events of a generation. The same sequence comes out whether the provider is polled or
 * streams its progress, so the CLI's progress bars, the journal and the gateway consume one shape.
 *
 * Every event names its `key`: the batch item key, or for a single request an id minted for it.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { AssetSource } from "./AssetSource.js"
import { BillingOutcome, ChargePolicy } from "./Billing.js"
import { Usd } from "./Money.js"
import { SavedVideo } from "./SavedVideo.js"
import { TaskHandle } from "./TaskHandle.js"
import { VideoError } from "./VideoError.js"

const key = Schema.String

/** The request passed validation; this is what it will cost at most. */
export class Validated extends Schema.TaggedClass<Validated>()("Validated", {
  key,
  provider: Schema.String,
  model: Schema.String,
  /** Which of the request's routes serves it (1 for the first), when it has routes. */
  route: Schema.optional(Schema.Int.pipe(Schema.positive())),
  estimatedCost: Usd,
  chargePolicy: ChargePolicy,
  warnings: Schema.Array(Schema.String)
}) {}

/**
 * The billable call is about to be made. A journal commits this intent before the call, so a
 * crash between here and `Submitted` is known to be ambiguous.
 */
export class Submitting extends Schema.TaggedClass<Submitting>()("Submitting", {
  key,
  provider: Schema.String,
  model: Schema.String,
  idempotencyKey: Schema.String,
  /** Where the create goes (the provider's base URL), so a resume asks the same host. Never a key. */
  baseUrl: Schema.optional(Schema.String)
}) {}

/** The provider accepted the request; `handle` identifies the task from now on. */
export class Submitted extends Schema.TaggedClass<Submitted>()("Submitted", {
  key,
  handle: TaskHandle
}) {}

export class Queued extends Schema.TaggedClass<Queued>()("Queued", {
  key,
  taskId: Schema.String
}) {}

/** Generation is under way. `percent` only rises; `etaSeconds` is our estimate, when we have one. */
export class Progress extends Schema.TaggedClass<Progress>()("Progress", {
  key,
  taskId: Schema.String,
  percent: Schema.Number,
  etaSeconds: Schema.optional(Schema.Number)
}) {}

/** The provider finished the video; `asset` is where it can be fetched. */
export class Succeeded extends Schema.TaggedClass<Succeeded>()("Succeeded", {
  key,
  taskId: Schema.String,
  asset: AssetSource
}) {}

export class Downloading extends Schema.TaggedClass<Downloading>()("Downloading", {
  key,
  receivedBytes: Schema.Number,
  totalBytes: Schema.optional(Schema.Number)
}) {}

/** The video is on disk, complete and probed. */
export class Saved extends Schema.TaggedClass<Saved>()("Saved", {
  key,
  video: SavedVideo
}) {}

/** A step failed in a way worth another try, which will happen after `delayMillis`. */
export class Retrying extends Schema.TaggedClass<Retrying>()("Retrying", {
  key,
  operation: Schema.Literal("submit", "status", "content", "download", "generate"),
  attempt: Schema.Int,
  delayMillis: Schema.Number,
  error: VideoError
}) {}

/** Something the caller should know that does not stop the generation (say, 1080p delivered for 4k). */
export class Warning extends Schema.TaggedClass<Warning>()("Warning", {
  key,
  code: Schema.String,
  message: Schema.String,
  /** Another item this warning is about (the item a duplicate repeats). */
  relatedKey: Schema.optional(Schema.String)
}) {}

/** Money was spent (`charged`), or may have been (`unknown`). */
export class Charged extends Schema.TaggedClass<Charged>()("Charged", {
  key,
  provider: Schema.String,
  model: Schema.String,
  amount: Usd,
  chargePolicy: ChargePolicy,
  billing: BillingOutcome,
  taskId: Schema.optional(Schema.String)
}) {}

/** The generation ended without a video. */
export class Failed extends Schema.TaggedClass<Failed>()("Failed", {
  key,
  error: VideoError
}) {}

export const GenerationEvent = Schema.Union(
  Validated,
  Submitting,
  Submitted,
  Queued,
  Progress,
  Succeeded,
  Downloading,
  Saved,
  Retrying,
  Warning,
  Charged,
  Failed
)
export type GenerationEvent = typeof GenerationEvent.Type

/** Encodes an event as plain JSON (NDJSON output, journal rows). */
export const encode = Schema.encodeSync(GenerationEvent)
/** Decodes an event from its JSON form. */
export const decode = Schema.decodeUnknownSync(GenerationEvent)
