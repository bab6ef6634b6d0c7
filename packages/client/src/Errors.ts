/**
 * The errors `@reelay/client` rejects with: real classes, one per error tag, all extending
 * `VideoError` (itself an `Error`), so code without Effect can write `err instanceof ContentRejected`
 * and read `err.billing`, `err.provider`, `err.taskId` and `err.exitCode` (the number the `reelay`
 * command exits with for the same failure). `err.cause` is the engine's own error, as the Effect API
 * gives it; `err.resume` says how to continue a journaled run (`reelay.resume(err.resume)`).
 *
 * @since 0.1.0
 */
import * as Money from "@reelay/core/Money"
import type * as CoreErrors from "@reelay/core/VideoError"
import * as BigDecimal from "effect/BigDecimal"
import * as ExitCode from "./ExitCode.js"

/** Whether a failure cost money: `charged`, `not-charged`, or `unknown` (it may have). */
export type Billing = "charged" | "not-charged" | "unknown"

/** How to continue a generation (or one item of a batch) the journal holds: `reelay.resume(handle)`. */
export interface ResumeHandle {
  /** The journal's batch (`gen-…` for a `generate`). */
  readonly batch: string
  /** The item. */
  readonly key: string
}

/** What every error carries besides its message. */
export interface ErrorFields {
  readonly billing?: Billing | undefined
  readonly provider?: string | undefined
  readonly taskId?: string | undefined
  readonly httpStatus?: number | undefined
  readonly resume?: ResumeHandle | undefined
  readonly batch?: string | undefined
  readonly cause?: unknown
}

/** Any error of reelay. */
export class VideoError extends Error {
  /** The error's class, as the Effect API and `--json` name it: `ContentRejected`, `PollTimeout`, … */
  readonly _tag: string
  /** Whether this failure cost money. */
  readonly billing: Billing
  readonly provider: string | undefined
  readonly taskId: string | undefined
  readonly httpStatus: number | undefined
  /** The `reelay` command's exit code for the same failure. */
  readonly exitCode: number
  /** How to continue the item it ended, when the journal holds it: `reelay.resume(error.resume)`. */
  readonly resume: ResumeHandle | undefined
  /** The journal's batch of the run it ended, when there is one: `reelay.resume(error.batch)`. */
  readonly batch: string | undefined

  constructor(tag: string, message: string, fields: ErrorFields = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause })
    this._tag = tag
    this.name = tag
    this.billing = fields.billing ?? "unknown"
    this.provider = fields.provider
    this.taskId = fields.taskId
    this.httpStatus = fields.httpStatus
    this.exitCode = ExitCode.forError({ _tag: tag })
    this.resume = fields.resume
    this.batch = fields.batch ?? fields.resume?.batch
  }
}

/** The request cannot be served as asked; nothing was sent. */
export class InvalidRequest extends VideoError {
  declare readonly field?: string
  /** What would work instead. */
  declare readonly supported?: ReadonlyArray<string>
}
/** The API key is missing or refused. */
export class AuthenticationFailed extends VideoError {}
/** The account cannot pay. */
export class InsufficientBalance extends VideoError {
  declare readonly vendorCode?: string
}
/** The provider refused the content under its safety policy. */
export class ContentRejected extends VideoError {
  declare readonly vendorCode?: string
}
/** HTTP 429, retried as long as the retry policy allows. */
export class RateLimited extends VideoError {
  declare readonly retryAfterMillis?: number
}
/** The provider could not be reached or answered with a server error. */
export class ProviderUnavailable extends VideoError {
  /** How far the exchange got: `connect`, `response`, or `exchange` (the answer was lost). */
  declare readonly stage: "connect" | "response" | "exchange"
}
/** The provider does not know the task. */
export class TaskNotFound extends VideoError {}
/** The task or its video is past the provider's retention. */
export class TaskExpired extends VideoError {
  declare readonly expiredAt?: Date
}
/** The provider accepted the task but produced no video. */
export class GenerationFailed extends VideoError {
  declare readonly vendorCode?: string
  declare readonly vendorMessage?: string
}
/** The wait ended; the task goes on at the provider. `reelay.resume(err.resume)` collects it. */
export class PollTimeout extends VideoError {
  declare readonly waitedMillis: number
}
/** A create may have reached the provider, and whether a task exists is unknown: never repeated silently. */
export class UncertainSubmission extends VideoError {
  declare readonly idempotencyKey: string
}
/** The video could not be fetched, verified or saved. A charged one can still be saved by a resume. */
export class DownloadFailed extends VideoError {
  declare readonly transient: boolean
  declare readonly origin?: string
  declare readonly receivedBytes?: number
  declare readonly expectedBytes?: number
  declare readonly refusedTarget?: boolean
}
/** The provider answered with something that does not match its documented shape. */
export class MalformedResponse extends VideoError {
  declare readonly excerpt?: string
}
/** Submitting would exceed the budget; nothing was sent. */
export class BudgetExceeded extends VideoError {
  /** Dollars, as `"25.00"`. */
  declare readonly limit: string
  declare readonly requested: string
  declare readonly committed: string
}
/** A setting or an option cannot be used as given (an unknown provider, a bad budget, a file already at the output). */
export class UsageError extends VideoError {}
/** `reelay.config.json` cannot be read or does not match its format. */
export class ConfigFileError extends VideoError {
  declare readonly path: string
}
/** The journal cannot be opened, read or written. */
export class JournalError extends VideoError {}
/**
 * The caller aborted (its `AbortSignal`). A create in flight was given up to 10 s to return its task
 * id, so the journal holds the task; one that gave no answer even then is uncertain (the message
 * names it), and a resume reports it rather than creating it again. `reelay.resume(err.resume)`
 * continues the generation.
 */
export class Aborted extends VideoError {}

/** The class of each error tag. */
export const classes = {
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
  BudgetExceeded,
  UsageError,
  ConfigFileError,
  JournalError,
  Aborted
} satisfies Readonly<Record<CoreErrors.VideoError["_tag"], typeof VideoError>> &
  Readonly<Record<string, typeof VideoError>>

/** Tags that are the same failure as one of the classes above. */
const sameAs: Readonly<Record<string, keyof typeof classes>> = {
  BatchFileError: "UsageError",
  ValidationError: "UsageError",
  StateFileError: "UsageError",
  JobStoreError: "JournalError"
}

const common = new Set([
  "_tag",
  "message",
  "name",
  "stack",
  "cause",
  "billing",
  "provider",
  "taskId",
  "httpStatus",
  "batch"
])

/** Dollars as a plain string (`"25.00"`), the way `--json` writes them; anything else as it is. */
export const plain = (value: unknown): unknown =>
  BigDecimal.isBigDecimal(value) ? Money.format(value).replace(/^\$/, "") : value

/**
 * The client's error for anything a run failed with: the class of its tag with its fields, the
 * engine's error as `cause`. An error of no known tag is a bug, reported as a `VideoError` with
 * `_tag` "InternalError" (exit code 1).
 */
export const fromFailure = (
  failure: unknown,
  place?: { readonly batch: string; readonly key?: string | undefined }
): VideoError => {
  if (failure instanceof VideoError) return failure
  const source = (typeof failure === "object" && failure !== null ? failure : {}) as Record<string, unknown>
  const rawTag = typeof source._tag === "string" ? source._tag : "InternalError"
  const tag = rawTag in classes ? (rawTag as keyof typeof classes) : sameAs[rawTag]
  const message =
    typeof source.message === "string" && source.message !== ""
      ? source.message
      : failure instanceof Error
        ? failure.message
        : String(failure)
  const fields: ErrorFields = {
    billing: source.billing as Billing | undefined,
    provider: source.provider as string | undefined,
    taskId: source.taskId as string | undefined,
    httpStatus: source.httpStatus as number | undefined,
    resume: place?.key === undefined ? undefined : { batch: place.batch, key: place.key },
    batch: place?.batch,
    cause: failure
  }
  const Class = tag === undefined ? VideoError : classes[tag]
  const error = new Class(tag ?? rawTag, message, fields)
  for (const [name, value] of Object.entries(source)) {
    if (common.has(name) || name === "handle") continue
    Object.defineProperty(error, name, {
      value: plain(value),
      enumerable: true
    })
  }
  return error
}
