/**
 * The one place that decides what a failure allows: repeat the call, ask for a new video, or stop.
 *
 * Two different kinds of "again" exist and are kept apart:
 * - **retry** repeats the same call (a submit, a status poll, a download). A submit is repeated
 *   only when the failure proves nothing was created, so a retry can never bill twice.
 * - **regenerate** submits a new task after the provider produced no video. It is automatic only
 *   where it is free (`on-success` billing), or where the caller opted in to paying for it.
 *
 * What each error class allows is classified in one table, `ErrorTraits`; this module applies it.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"
import { type ChargePolicy, regenerationIsFree } from "./Billing.js"
import * as ErrorTraits from "./ErrorTraits.js"
import { UncertainSubmission, type VideoError } from "./VideoError.js"

/** The calls the engine makes. `submit` is billable; the others are reads. */
export type Operation = ErrorTraits.Operation

/**
 * Whether repeating `operation` after `error` may succeed without any risk of a second charge.
 *
 * A submit is repeated only on failures that prove the server created nothing: a refused
 * connection, a 429 or a 5xx it answered. Reads are also repeated after a broken connection or a
 * garbled answer, which cost nothing.
 */
export const isRetryable = (error: VideoError, operation: Operation): boolean =>
  ErrorTraits.holds(ErrorTraits.of(error).retryable[operation], error)

/**
 * Whether a failed create may be repeated. Against a provider that drops repeated creates with the
 * same idempotency key, a create is as safe to repeat as a read; otherwise only when it provably
 * created nothing.
 */
export const isRetryableCreate = (error: VideoError, idempotentCreates: boolean): boolean =>
  isRetryable(error, idempotentCreates ? "status" : "submit")

/** Whether a failed submit proves that the provider created nothing. */
export const provesNothingCreated = (error: VideoError): boolean =>
  ErrorTraits.holds(ErrorTraits.of(error).provesNothingCreated, error)

/**
 * The error a failed submit ends with: itself when it proves nothing was created, otherwise an
 * `UncertainSubmission` that keeps the original explanation and the idempotency key sent.
 */
export const submitFailure = (error: VideoError, idempotencyKey: string): VideoError =>
  provesNothingCreated(error) || error._tag === "UncertainSubmission"
    ? error
    : new UncertainSubmission({
        ...(error.provider === undefined ? {} : { provider: error.provider }),
        ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
        idempotencyKey,
        billing: "unknown",
        message: `the create may have reached the provider, and whether a task exists is unknown (${error._tag}: ${error.message}); not retried, because a retry could be billed twice`
      })

/**
 * A create whose last attempt was refused, after an earlier attempt of it may have reached the
 * provider: still uncertain, whatever the refusal says (it proves nothing about the earlier one).
 */
export const uncertainAfter = (error: VideoError, idempotencyKey: string): UncertainSubmission =>
  new UncertainSubmission({
    ...(error.provider === undefined ? {} : { provider: error.provider }),
    ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }),
    idempotencyKey,
    billing: "unknown",
    message: `an earlier attempt of this create may have reached the provider, and whether a task exists is unknown; the last attempt was refused (${error._tag}: ${error.message}), which proves nothing about the earlier one`
  })

export interface RegenerationOptions {
  /** New tasks to ask for after a failed generation, at most (default 1). */
  readonly maxAttempts: number
  /** Regenerate also where it costs money (`per-request`, `on-response`); off by default. */
  readonly allowPaid: boolean
}

export const defaultRegeneration: RegenerationOptions = { maxAttempts: 1, allowPaid: false }

/**
 * Whether to ask for a new video after the task ended with `error`. Only a plain generation
 * failure qualifies: a content rejection would be rejected again, and the rest are not failures of
 * the generation itself.
 */
export const shouldRegenerate = (
  error: VideoError,
  policy: ChargePolicy,
  attemptsSoFar: number,
  options: RegenerationOptions = defaultRegeneration
): boolean =>
  error._tag === "GenerationFailed" &&
  attemptsSoFar < options.maxAttempts &&
  (regenerationIsFree(policy) || options.allowPaid)

/**
 * Whether an item that ended with `error` may be generated again when the caller asks for it
 * (`BatchOptions.retryFailed`, `reelay resume --retry-failed`): the provider's own verdict on a
 * generation — it failed, refused the content, or let the task expire unfinished — that cost
 * nothing. A refusal before sending never qualifies (it would be refused again, and the journal's
 * own refusals, such as a key reused for another request, are of that class), nor does anything
 * charged or possibly charged.
 */
export const retriableOnRequest = (error: VideoError): boolean =>
  error.billing === "not-charged" &&
  (error._tag === "GenerationFailed" || error._tag === "ContentRejected" || error._tag === "TaskExpired")

/**
 * Whether a failed create lets a request with routes move on to its next route: the failure proves
 * nothing was created or charged, and says this route cannot serve the request now — the provider
 * could not be reached, or refused before accepting (an outage it answered, rate limiting that
 * outlasted the retries), the key was refused or is missing, the account cannot pay, or the model is
 * unknown or retired there (`field: "model"`, or a 404 on the create). Never after an uncertain
 * create or anything charged, and never for a refusal of the request itself (its content, a
 * parameter), which the next route has no reason to judge differently.
 */
export const movesToNextRoute = (error: VideoError): boolean =>
  error.billing === "not-charged" &&
  provesNothingCreated(error) &&
  (error._tag === "ProviderUnavailable" ||
    error._tag === "RateLimited" ||
    error._tag === "AuthenticationFailed" ||
    error._tag === "InsufficientBalance" ||
    (error._tag === "InvalidRequest" && (error.field === "model" || error.httpStatus === 404)))

/**
 * Whether `error` ends the task for good. Anything else (a timeout, an outage, a failed download)
 * leaves a task that can still be polled or fetched later, so a batch can resume it.
 *
 * `TaskNotFound` is deliberately not final: before the task's expiry, a 404 far more often means
 * the wrong key or base URL (a task is visible only to the key that made it) than a vanished task,
 * and ending the item would abandon a video that may be paid for. Past the expiry the engine turns
 * it into `TaskExpired`, which is final.
 */
export const endsTask = (error: VideoError): boolean => ErrorTraits.of(error).endsTask

/** What the engine does after `error` in `operation` under `policy`. Used by the decision table tests. */
export type Decision = "retry" | "regenerate" | "fail"

export const decide = (
  error: VideoError,
  operation: Operation | "task",
  policy: ChargePolicy,
  options: RegenerationOptions = defaultRegeneration
): Decision => {
  if (operation === "task") return shouldRegenerate(error, policy, 0, options) ? "regenerate" : "fail"
  return isRetryable(error, operation) ? "retry" : "fail"
}

export interface RetryOptions {
  /** Delay before the first retry (default 500 ms). */
  readonly baseDelay: Duration.DurationInput
  /** Growth per attempt (default 2). */
  readonly factor: number
  /** Longest computed delay between attempts (default 30 s). */
  readonly maxDelay: Duration.DurationInput
  /** Longest server-requested delay we honour; a longer `Retry-After` stops retrying (default 2 min). */
  readonly maxServerDelay: Duration.DurationInput
  /** Retries after the first attempt (default 5). */
  readonly maxRetries: number
  /** Relative jitter: each delay is scaled by a random factor in [1 - jitter, 1 + jitter] (default 0.2). */
  readonly jitter: number
}

export const defaultRetryOptions: RetryOptions = {
  baseDelay: "500 millis",
  factor: 2,
  maxDelay: "30 seconds",
  maxServerDelay: "2 minutes",
  maxRetries: 5,
  jitter: 0.2
}

/** The server's requested delay carried by an error, if any. */
export const serverDelayMillis = (error: VideoError): number | undefined =>
  error._tag === "RateLimited" || error._tag === "ProviderUnavailable" || error._tag === "DownloadFailed"
    ? error.retryAfterMillis
    : undefined

/** One planned retry: the schedule's output, used for `Retrying` events. */
export interface RetryStep {
  readonly attempt: number
  readonly delayMillis: number
  readonly error: VideoError
}

/**
 * Jittered exponential backoff, capped, that honours the server's `Retry-After` /
 * `retry-after-ms` (carried by `RateLimited`, `ProviderUnavailable` and `DownloadFailed`). A hint
 * longer than `maxServerDelay` ends the retries: waiting that long belongs to the caller, not to one call.
 * The predicate lives in the schedule (not in `Effect.retry`'s `while`) so that `onRetry` reports
 * only retries that really happen. The one schedule for API calls and downloads alike: `Download`
 * resumes a cut transfer with it (its `RetryOptions` mapped onto these).
 */
export const schedule = (
  options: Partial<RetryOptions> = {},
  hooks: {
    /** Which failures may be retried at all (default: all). Others end the schedule at once, unreported. */
    readonly while?: ((error: VideoError) => boolean) | undefined
    /** Runs before each wait, only for retries that will happen (for `Retrying` events). */
    readonly onRetry?: ((step: RetryStep) => Effect.Effect<void>) | undefined
  } = {}
): Schedule.Schedule<RetryStep, VideoError> => {
  const settings = { ...defaultRetryOptions, ...options }
  const base = Duration.toMillis(settings.baseDelay)
  const cap = Duration.toMillis(settings.maxDelay)
  const serverCap = Duration.toMillis(settings.maxServerDelay)
  return Schedule.makeWithState<number, VideoError, RetryStep>(0, (now, error, attempt) =>
    Effect.gen(function* () {
      const hinted = serverDelayMillis(error)
      const allowed = hooks.while === undefined || hooks.while(error)
      if (!allowed || attempt >= settings.maxRetries || (hinted !== undefined && hinted > serverCap)) {
        return [attempt, { attempt, delayMillis: 0, error }, ScheduleDecision.done] as const
      }
      const spread = settings.jitter > 0 ? 1 - settings.jitter + (yield* Random.next) * 2 * settings.jitter : 1
      const computed = Math.min(cap, base * settings.factor ** attempt) * spread
      // The server's word wins: never retry sooner than it said, and no later either.
      const delayMillis = Math.round(hinted ?? computed)
      const step: RetryStep = { attempt: attempt + 1, delayMillis, error }
      if (hooks.onRetry !== undefined) yield* hooks.onRetry(step)
      return [attempt + 1, step, ScheduleDecision.continueWith(ScheduleInterval.after(now + delayMillis))] as const
    })
  )
}
