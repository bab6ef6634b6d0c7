/**
 * The one error family of reelay. Every failure a caller can see is one of these tagged,
 * serialisable errors; each says which provider it came from and, where it applies, the task id,
 * the HTTP status and whether money was spent (`billing`).
 *
 * Providers construct these errors from wire failures; the engine then sets `billing` from the
 * model's charge policy (see `Billing`), so providers never decide what a failure cost.
 * What each class allows (a retry, proof that nothing was created, the end of the task, its exit
 * code) is classified in one table, `ErrorTraits`, and applied by `RetryPolicy`.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { BillingOutcome } from "./Billing.js"
import { Usd } from "./Money.js"
import { TaskHandle } from "./TaskHandle.js"

const common = {
  /** The provider id, when the error concerns one. */
  provider: Schema.optional(Schema.String),
  message: Schema.String,
  taskId: Schema.optional(Schema.String),
  httpStatus: Schema.optional(Schema.Int),
  /** Whether this attempt cost money. Unknown until the engine has applied the charge policy. */
  billing: Schema.optionalWith(BillingOutcome, { default: () => "unknown" as const })
}

/** The request cannot be served as asked; nothing was sent. `supported` lists what would work. */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  ...common,
  field: Schema.optional(Schema.String),
  supported: Schema.optional(Schema.Array(Schema.String))
}) {}

/** The API key is missing, malformed or refused (HTTP 401 / 403, `invalid_api_key`). */
export class AuthenticationFailed extends Schema.TaggedError<AuthenticationFailed>()("AuthenticationFailed", {
  ...common
}) {}

/** The account cannot pay (HTTP 402, insufficient balance, `quota_exceeded`). */
export class InsufficientBalance extends Schema.TaggedError<InsufficientBalance>()("InsufficientBalance", {
  ...common,
  vendorCode: Schema.optional(Schema.String)
}) {}

/** The provider refused the content (prompt or image) under its safety policy. */
export class ContentRejected extends Schema.TaggedError<ContentRejected>()("ContentRejected", {
  ...common,
  vendorCode: Schema.optional(Schema.String)
}) {}

/** HTTP 429. `retryAfterMillis` is the server's hint, when it gave one. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  ...common,
  retryAfterMillis: Schema.optional(Schema.Number)
}) {}

/**
 * The provider could not be reached or answered with a server error.
 *
 * `stage` says how far the exchange got, which is what decides whether a create may have happened:
 * - `connect`: no connection was made; nothing was sent.
 * - `response`: the server itself answered with an error status (500, 503…); it created nothing.
 * - `exchange`: the request went out and its answer was lost (the connection broke, no answer in
 *   time, or a gateway's 502 / 504 to a create it may have forwarded); the server may have acted on it.
 */
export class ProviderUnavailable extends Schema.TaggedError<ProviderUnavailable>()("ProviderUnavailable", {
  ...common,
  stage: Schema.Literal("connect", "response", "exchange"),
  retryAfterMillis: Schema.optional(Schema.Number)
}) {}

/** The provider does not know this task id (HTTP 404, `video_not_found`). */
export class TaskNotFound extends Schema.TaggedError<TaskNotFound>()("TaskNotFound", {
  ...common
}) {}

/** The task or its video is past the provider's retention (24 hours on the reference pages). */
export class TaskExpired extends Schema.TaggedError<TaskExpired>()("TaskExpired", {
  ...common,
  expiredAt: Schema.optional(Schema.Date)
}) {}

/** The provider accepted the task but produced no video. `vendorMessage` is its own explanation. */
export class GenerationFailed extends Schema.TaggedError<GenerationFailed>()("GenerationFailed", {
  ...common,
  vendorCode: Schema.optional(Schema.String),
  vendorMessage: Schema.optional(Schema.String)
}) {}

/**
 * We stopped waiting; the task goes on. Resume later with `handle` (nothing was cancelled, and
 * resuming does not submit again).
 */
export class PollTimeout extends Schema.TaggedError<PollTimeout>()("PollTimeout", {
  ...common,
  handle: TaskHandle,
  waitedMillis: Schema.Number
}) {}

/**
 * A create may have reached the provider, and we cannot tell whether a task exists: the connection
 * broke after sending, or the answer was unreadable. Never retried silently, because a retry could
 * bill twice. `idempotencyKey` is what we sent.
 */
export class UncertainSubmission extends Schema.TaggedError<UncertainSubmission>()("UncertainSubmission", {
  ...common,
  idempotencyKey: Schema.String
}) {}

/**
 * The video could not be fetched or failed verification. `transient` failures (a cut transfer, a
 * reset) are retried with `Range`; others (a 403 from an expired CDN link, a size mismatch after
 * retries) are final.
 */
export class DownloadFailed extends Schema.TaggedError<DownloadFailed>()("DownloadFailed", {
  ...common,
  transient: Schema.Boolean,
  /** The origin (scheme, host, port) of the download, never the full URL: CDN links carry tokens. */
  origin: Schema.optional(Schema.String),
  receivedBytes: Schema.optional(Schema.Number),
  expectedBytes: Schema.optional(Schema.Number),
  /** The download server's `Retry-After` with a 429 or 5xx, when it gave one: the next attempt waits for it. */
  retryAfterMillis: Schema.optional(Schema.Number),
  /**
   * `true` when reelay itself refused the link's target (an address in the user's own network, a
   * scheme other than http(s); see `NetworkPolicy`): nothing was requested from it.
   */
  refusedTarget: Schema.optional(Schema.Boolean)
}) {}

/** The provider answered with something that does not match its documented shape. */
export class MalformedResponse extends Schema.TaggedError<MalformedResponse>()("MalformedResponse", {
  ...common,
  /** A short, redacted excerpt of what was received. */
  excerpt: Schema.optional(Schema.String)
}) {}

/** Submitting would exceed the budget; nothing was sent. */
export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>()("BudgetExceeded", {
  ...common,
  limit: Usd,
  requested: Usd,
  committed: Usd
}) {}

/** Any reelay error. */
export const VideoError = Schema.Union(
  InvalidRequest,
  AuthenticationFailed,
  InsufficientBalance,
  ContentRejected,
  RateLimited,
  ProviderUnavailable,
  TaskNotFound,
  TaskExpired,
  GenerationFailed,
  PollTimeout,
  UncertainSubmission,
  DownloadFailed,
  MalformedResponse,
  BudgetExceeded
)
export type VideoError = typeof VideoError.Type

/** Every error tag, in a fixed order (tables, exit codes, docs). */
export const tags = [
  "InvalidRequest",
  "AuthenticationFailed",
  "InsufficientBalance",
  "ContentRejected",
  "RateLimited",
  "ProviderUnavailable",
  "TaskNotFound",
  "TaskExpired",
  "GenerationFailed",
  "PollTimeout",
  "UncertainSubmission",
  "DownloadFailed",
  "MalformedResponse",
  "BudgetExceeded"
] as const satisfies ReadonlyArray<VideoError["_tag"]>

const tagSet: ReadonlySet<string> = new Set(tags)

/** Whether `u` is a reelay error. */
export const isVideoError = (u: unknown): u is VideoError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tagSet.has(u._tag) && u instanceof Error

/** The fields an error of class `E` is built from (`_tag` belongs to the class). */
export type Fields<E extends VideoError> = Omit<E, "_tag" | Exclude<keyof Cause.YieldableError, "message">>

/**
 * A copy of `error` with `changes` applied: same class, same message unless changed. The one way
 * to change an error; the result is checked by its class's schema like any new error.
 *
 * @example
 * ```ts
 * VideoError.copy(error, { message: `batch.jsonl:3: ${error.message}` })
 * ```
 */
export const copy = <E extends VideoError>(error: E, changes: Partial<Fields<E>>): E => {
  const Constructor = error.constructor as new (fields: object) => E
  const { _tag, ...fields } = { ...error } as Record<string, unknown>
  return new Constructor({ ...fields, message: error.message, ...changes })
}

/** A copy of `error` with its billing outcome set. */
export const withBilling = <E extends VideoError>(error: E, billing: BillingOutcome): E =>
  // Through the union's common fields: TypeScript cannot see that every `E` has them.
  error.billing === billing ? error : (copy<VideoError>(error, { billing }) as E)

/** A copy of `error` that names `provider` (and the task id when given), keeping what it had. */
export const annotate = <E extends VideoError>(
  error: E,
  context: { readonly provider?: string | undefined; readonly taskId?: string | undefined }
): E => {
  const provider = error.provider ?? context.provider
  const taskId = error.taskId ?? context.taskId
  if (provider === error.provider && taskId === error.taskId) return error
  return copy<VideoError>(error, {
    ...(provider === undefined ? {} : { provider }),
    ...(taskId === undefined ? {} : { taskId })
  }) as E
}
