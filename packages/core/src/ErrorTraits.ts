/**
 * What each error class means for a caller, in one table keyed by error tag: whether the failed
 * call may be repeated (per operation), whether a failed submit proves nothing was created, whether
 * the task is over, the CLI's exit code, and a one-line meaning for docs and help texts.
 *
 * The table is an exhaustive record (`satisfies` a mapped type over every tag, no `default:`), so a
 * new error class does not compile until it is classified. `RetryPolicy`, the CLI's exit codes, the
 * docs' error tables (checked by a test) and the retry tests all read from it.
 *
 * A trait is a constant, or a function of the error where a field decides it
 * (`ProviderUnavailable.stage`, `DownloadFailed.transient`).
 *
 * @since 0.1.0
 */
import type { DownloadFailed, ProviderUnavailable, VideoError } from "./VideoError.js"

/** The calls the engine makes. `submit` is billable; the others are reads. */
export type Operation = "submit" | "status" | "content" | "download"

/** Every operation, in a fixed order (tables, tests). */
export const operations = ["submit", "status", "content", "download"] as const satisfies ReadonlyArray<Operation>

/** An error tag. */
export type Tag = VideoError["_tag"]

/** The error class of `T`. */
export type ErrorOf<T extends Tag> = Extract<VideoError, { readonly _tag: T }>

/** A trait fixed for the whole class, or decided by the error's fields. */
export type Trait<E> = boolean | ((error: E) => boolean)

/** What one error class means. */
export interface Traits<E extends VideoError = VideoError> {
  /**
   * Whether repeating the operation after this error may succeed without any risk of a second
   * charge. A submit is repeatable only when the failure proves the server created nothing.
   */
  readonly retryable: { readonly [O in Operation]: Trait<E> }
  /** Whether a failed submit proves that the provider created nothing (so nothing can be billed). */
  readonly provesNothingCreated: Trait<E>
  /** Whether the task is over for good (anything else leaves a task a batch can poll or fetch later). */
  readonly endsTask: boolean
  /** The CLI's exit code. A contract: never renumber one, only add. */
  readonly exitCode: number
  /** One line for docs and help texts (plain text, no markup). */
  readonly meaning: string
}

/** One entry per tag, each typed by its own error class. */
export type Table = { readonly [T in Tag]: Traits<ErrorOf<T>> }

const never = { submit: false, status: false, content: false, download: false } as const
const always = { submit: true, status: true, content: true, download: true } as const

/** `connect`: nothing was sent; `response`: the server answered, so it created nothing. Only a lost answer is unknown. */
const answerNotLost = (error: ProviderUnavailable): boolean => error.stage !== "exchange"

/** A cut transfer or a reset resumes with `Range`; a refused link or a failed verification is final. */
const transient = (error: DownloadFailed): boolean => error.transient

/** The traits of every error class. */
export const table = {
  InvalidRequest: {
    retryable: never,
    provesNothingCreated: true,
    endsTask: false,
    exitCode: 10,
    meaning: "refused before sending (unknown model, unsupported option, bad image) or by the provider (400)"
  },
  AuthenticationFailed: {
    retryable: never,
    provesNothingCreated: true,
    endsTask: false,
    exitCode: 11,
    meaning: "the API key is missing or refused (401/403)"
  },
  InsufficientBalance: {
    retryable: never,
    provesNothingCreated: true,
    endsTask: false,
    exitCode: 12,
    meaning: "the account cannot pay (402, quota_exceeded)"
  },
  ContentRejected: {
    retryable: never,
    provesNothingCreated: true,
    endsTask: true,
    exitCode: 13,
    meaning: "refused under the provider's content policy"
  },
  RateLimited: {
    retryable: always,
    provesNothingCreated: true,
    endsTask: false,
    exitCode: 14,
    meaning: "too many requests (429), with the server's delay when it gave one"
  },
  ProviderUnavailable: {
    retryable: { submit: answerNotLost, status: true, content: true, download: true },
    provesNothingCreated: answerNotLost,
    endsTask: false,
    exitCode: 15,
    meaning: "could not connect, a 5xx, or the connection broke"
  },
  TaskNotFound: {
    retryable: never,
    provesNothingCreated: false,
    // Before the expiry a 404 far more often means the wrong key or base URL than a vanished task:
    // ending the item would abandon a video that may be paid for (see `RetryPolicy.endsTask`).
    endsTask: false,
    exitCode: 16,
    meaning: "the provider does not know the task (wrong key or base URL, or gone)"
  },
  TaskExpired: {
    retryable: never,
    provesNothingCreated: false,
    endsTask: true,
    exitCode: 17,
    meaning: "past the provider's 24 h retention"
  },
  GenerationFailed: {
    retryable: never,
    provesNothingCreated: false,
    endsTask: true,
    exitCode: 18,
    meaning: "the task was accepted but produced no video"
  },
  PollTimeout: {
    retryable: never,
    provesNothingCreated: false,
    endsTask: false,
    exitCode: 19,
    meaning: "we stopped waiting; the task goes on, and resuming collects it"
  },
  UncertainSubmission: {
    retryable: never,
    provesNothingCreated: false,
    endsTask: false,
    exitCode: 20,
    meaning: "a create may have reached the provider; a task may exist"
  },
  DownloadFailed: {
    retryable: { submit: transient, status: transient, content: transient, download: transient },
    provesNothingCreated: false,
    endsTask: false,
    exitCode: 21,
    meaning: "fetching, verifying or writing the video failed"
  },
  MalformedResponse: {
    retryable: { submit: false, status: true, content: true, download: true },
    provesNothingCreated: false,
    endsTask: false,
    exitCode: 22,
    meaning: "the answer does not match the provider's documented shape"
  },
  BudgetExceeded: {
    retryable: never,
    provesNothingCreated: true,
    endsTask: false,
    exitCode: 23,
    meaning: "the budget would be exceeded; nothing was sent"
  }
} as const satisfies Table

/** The traits of `error`'s class. */
export const of = <E extends VideoError>(error: E): Traits<E> =>
  // Sound although TypeScript cannot see it: the entry is found by the error's own tag, so each
  // function in it receives the class it was written for.
  table[error._tag] as unknown as Traits<E>

/** The value of `trait` for `error`. */
export const holds = <E>(trait: Trait<E>, error: E): boolean => (typeof trait === "boolean" ? trait : trait(error))
