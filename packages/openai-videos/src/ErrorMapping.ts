/**
 * The one place where the `/v1/videos` wire says what went wrong: a transport failure, an HTTP
 * status with the documented `{"error":{"code","message","type"}}` body, an answer that does not
 * match its documented shape, or a task the vendor reports as failed. Each becomes a core
 * `VideoError`; the engine then decides retries and billing from it.
 *
 * | wire | operation | error |
 * | --- | --- | --- |
 * | no connection (refused, DNS, TLS) | any | `ProviderUnavailable` `connect` |
 * | connection broke after sending, or while the answer was read | any | `ProviderUnavailable` `exchange` |
 * | the answer's body came in under the minimum pace (`ResponseBody`) | any | `ProviderUnavailable` `exchange` |
 * | 401, 403, `invalid_api_key`, type `authentication_error` | any | `AuthenticationFailed` |
 * | 402, `insufficient_balance`, `insufficient_quota`, `quota_exceeded`, type `billing_error` | any | `InsufficientBalance` |
 * | a content-policy code (`content_policy_violation`, `moderation_blocked`, …) | any | `ContentRejected` |
 * | 429, `rate_limit_exceeded` | any | `RateLimited` (`Retry-After` / `retry-after-ms`) |
 * | `video_not_ready` | status, content | `ProviderUnavailable` `response` (a retryable read) |
 * | 404, `video_not_found` | status, content | `TaskNotFound` |
 * | 404 | create | `InvalidRequest` (wrong base URL or model) |
 * | 502, 504 | create | `ProviderUnavailable` `exchange`: a gateway lost the upstream's answer, a task may exist |
 * | other 5xx, 408 | any | `ProviderUnavailable` `response` (`Retry-After`) |
 * | other 4xx | any | `InvalidRequest` with the vendor's message |
 * | 2xx whose body does not decode | any | `MalformedResponse` with a short scrubbed excerpt |
 * | task `failed` with a content-policy code | status | `ContentRejected` |
 * | task `failed` otherwise | status | `GenerationFailed` with the vendor's code and message |
 *
 * Vendor messages, codes and excerpts are scrubbed (`Sanitize`): no spelling of the key or of the
 * Authorization value (encoded, escaped, or a run of 12 of its characters), no full URL.
 *
 * @since 0.1.0
 */
import type * as Headers from "@effect/platform/Headers"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as Http from "@reelay/core/Http"
import {
  AuthenticationFailed,
  ContentRejected,
  GenerationFailed,
  InsufficientBalance,
  InvalidRequest,
  MalformedResponse,
  ProviderUnavailable,
  RateLimited,
  TaskNotFound,
  type VideoError
} from "@reelay/core/VideoError"
import * as Either from "effect/Either"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Sanitize from "./Sanitize.js"
import { detailOf, ErrorBody, type ErrorDetail } from "./WireSchemas.js"

/** The three calls of the protocol. `create` is billable; the others are reads. */
export type Operation = "create" | "status" | "content"

/** What the mapping needs to know about the call that failed. */
export interface Context {
  readonly provider: string
  readonly operation: Operation
  readonly taskId?: string | undefined
  /**
   * Secrets to remove, in every spelling, from anything quoted: the API key and each header value
   * built from it (`Bearer <key>`). Build the array once: the scrubber is cached by it.
   */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
  /** Appended to authentication failures, e.g. `"check LAOZHANG_API_KEY"`. */
  readonly keyHint?: string | undefined
  /** The current time (epoch millis), for `Retry-After` dates. */
  readonly now?: number | undefined
  /** How the protocol's error bodies read (default `parseErrorBody`, the `/v1/videos` shape). */
  readonly errorDetail?: ((body: string) => Detail) | undefined
}

/** The vendor's own words about an error: its code, message and type, where its body has them. */
export interface Detail {
  readonly code: string | undefined
  readonly message: string | undefined
  readonly type: string | undefined
}

/** A failed exchange, as the HTTP layer saw it. */
export type WireFailure =
  /** No HTTP answer: the request could not be sent, or the connection broke before an answer. */
  | { readonly _tag: "Transport"; readonly error: HttpClientError.RequestError }
  /** An answer with an error status, or a 2xx carrying an error body. `body` is its text. */
  | {
      readonly _tag: "Answer"
      readonly status: number
      readonly headers: Headers.Headers
      readonly body: string
    }
  /**
   * The status line arrived, then reading the body failed: the connection broke mid-answer, or
   * (`problem`) the body came too slowly.
   */
  | { readonly _tag: "Unreadable"; readonly status: number; readonly cause: unknown; readonly problem?: string }
  /** A 2xx whose body does not match the documented shape. */
  | { readonly _tag: "Undecodable"; readonly status: number; readonly body: string; readonly problem: string }

const AUTH_CODES = new Set([
  "invalid_api_key",
  "unauthorized",
  "invalid_token",
  "token_expired",
  "authentication_error"
])
const BALANCE_CODES = new Set([
  "insufficient_balance",
  "insufficient_quota",
  "quota_exceeded",
  "insufficient_funds",
  "payment_required",
  "billing_hard_limit_reached"
])
const RATE_CODES = new Set(["rate_limit_exceeded", "rate_limited", "too_many_requests"])
const NOT_FOUND_CODES = new Set(["video_not_found", "task_not_found"])
const CONTENT_CODE =
  /content[_-]?(policy|violation|filter|moderation|safety)|moderation|safety|unsafe|nsfw|sensitive|violat/i
// Messages are free text: only phrases that cannot mean anything but a content refusal.
const CONTENT_MESSAGE =
  /content (policy|safety|moderation)|safety (system|filter|review)|moderation|nsfw|sensitive content/i

/**
 * Whether a vendor code (or, when there is no code, its message) says the content was refused
 * under a safety policy.
 */
export const isContentViolation = (code: string | undefined, message?: string | undefined): boolean =>
  code !== undefined
    ? CONTENT_CODE.test(code) || (message !== undefined && CONTENT_MESSAGE.test(message))
    : message !== undefined && CONTENT_MESSAGE.test(message)

const label = (context: Context): string =>
  context.operation === "create"
    ? "create"
    : `${context.operation} of ${context.taskId === undefined ? "the task" : context.taskId}`

const common = (context: Context) => ({
  provider: context.provider,
  ...(context.taskId === undefined ? {} : { taskId: context.taskId })
})

/** The vendor's code, scrubbed like its message: a code is the server's text too. */
const quotedCode = (code: string | undefined, context: Context): string | undefined =>
  code === undefined ? undefined : Sanitize.scrub(code, context.secrets).slice(0, 100)

/** `"HTTP 401 invalid_api_key: Invalid API key provided"`, scrubbed. */
const describe = (
  status: number | undefined,
  detail: { readonly code: string | undefined; readonly message: string | undefined },
  context: Context
): string => {
  const head = [status === undefined ? undefined : `HTTP ${status}`, quotedCode(detail.code, context)].filter(
    (part) => part !== undefined
  )
  const message =
    detail.message === undefined ? undefined : Sanitize.scrub(detail.message, context.secrets).slice(0, 300)
  return [head.join(" "), message].filter((part) => part !== undefined && part !== "").join(": ")
}

const decodeErrorBody = Schema.decodeUnknownEither(Schema.parseJson(ErrorBody))

/** The vendor's code, message and type from an error body, if it has the documented shape. */
export const parseErrorBody = (body: string): Detail => {
  const decoded = decodeErrorBody(body)
  return Either.isRight(decoded)
    ? detailOf(decoded.right.error)
    : { code: undefined, message: undefined, type: undefined }
}

const isRead = (operation: Operation) => operation !== "create"

/** Maps an answer's status and error body to a core error. */
const fromAnswer = (context: Context, failure: Extract<WireFailure, { readonly _tag: "Answer" }>): VideoError => {
  const { status } = failure
  const detail = (context.errorDetail ?? parseErrorBody)(failure.body)
  const code = detail.code?.toLowerCase()
  const what = describe(status, detail, context)
  const base = { ...common(context), httpStatus: status }
  const retryAfterMillis = Http.retryAfterMillis(failure.headers, context.now)
  const retryAfter = retryAfterMillis === undefined ? {} : { retryAfterMillis }

  if (
    status === 401 ||
    status === 403 ||
    (code !== undefined && AUTH_CODES.has(code)) ||
    detail.type === "authentication_error"
  ) {
    return new AuthenticationFailed({
      ...base,
      message: `${label(context)}: ${context.provider} refused the API key (${what})${context.keyHint === undefined ? "" : `; ${context.keyHint}`}`
    })
  }
  if (
    status === 402 ||
    (code !== undefined && BALANCE_CODES.has(code)) ||
    detail.type === "billing_error" ||
    detail.type === "insufficient_quota"
  ) {
    return new InsufficientBalance({
      ...base,
      ...(detail.code === undefined ? {} : { vendorCode: quotedCode(detail.code, context) }),
      message: `${label(context)}: the ${context.provider} account cannot pay for this (${what}); top up, then try again`
    })
  }
  if (status < 500 && isContentViolation(code, detail.message)) {
    return new ContentRejected({
      ...base,
      ...(detail.code === undefined ? {} : { vendorCode: quotedCode(detail.code, context) }),
      message: `${label(context)}: ${context.provider} refused the content under its safety policy (${what}); change the prompt or image`
    })
  }
  if (status === 429 || (code !== undefined && RATE_CODES.has(code))) {
    return new RateLimited({
      ...base,
      ...retryAfter,
      message: `${label(context)}: ${context.provider} is rate limiting (${what})`
    })
  }
  if (code === "video_not_ready" && isRead(context.operation)) {
    // Asked for only after the task reported completion: the video is on its way, so a later read succeeds.
    return new ProviderUnavailable({
      ...base,
      stage: "response",
      ...retryAfter,
      message: `${label(context)}: ${context.provider} says the video is not ready yet (${what})`
    })
  }
  if (status === 404 || (code !== undefined && NOT_FOUND_CODES.has(code))) {
    return isRead(context.operation)
      ? new TaskNotFound({
          ...base,
          message: `${label(context)}: ${context.provider} does not know this task (${what}); the id is wrong, belongs to another key, or the task expired`
        })
      : new InvalidRequest({
          ...base,
          message: `${label(context)}: ${context.provider} answered 404 (${what}); check the base URL and the model name`
        })
  }
  if (status >= 500 || status === 408) {
    // A gateway error means an intermediary lost the upstream's answer: the upstream may have
    // created the task, so a create is ambiguous, not refused. Reads are always safe to repeat.
    const ambiguous = context.operation === "create" && (status === 502 || status === 504)
    return new ProviderUnavailable({
      ...base,
      stage: ambiguous ? "exchange" : "response",
      ...retryAfter,
      message: ambiguous
        ? `${label(context)}: a gateway in front of ${context.provider} answered ${what}; the create may have reached ${context.provider}`
        : `${label(context)}: ${context.provider} is unavailable (${what})`
    })
  }
  if (status >= 400) {
    const field = code === "invalid_model" ? "model" : code === "invalid_prompt" ? "prompt" : undefined
    return new InvalidRequest({
      ...base,
      ...(field === undefined ? {} : { field }),
      message: `${label(context)}: ${context.provider} refused the request (${what})`
    })
  }
  return new MalformedResponse({
    ...base,
    excerpt: Sanitize.excerpt(failure.body, context.secrets),
    message: `${label(context)}: ${context.provider} answered HTTP ${status} with ${detail.code === undefined && detail.message === undefined ? "an unexpected body" : `an error reelay does not know (${what})`}`
  })
}

/**
 * Maps any failed exchange of the protocol to a core error. The one mapping function: every call
 * of every `/v1/videos` provider goes through it.
 */
export const toVideoError = (context: Context, failure: WireFailure): VideoError => {
  switch (failure._tag) {
    case "Transport": {
      if (failure.error.reason === "InvalidUrl") {
        return new InvalidRequest({
          ...common(context),
          field: "baseUrl",
          message: `${label(context)}: the ${context.provider} base URL does not make a valid request URL; check the configuration`
        })
      }
      return Http.unavailableFromRequestError(failure.error, {
        provider: context.provider,
        operation: label(context),
        taskId: context.taskId
      })
    }
    case "Answer":
      return fromAnswer(context, failure)
    case "Unreadable": {
      const codes = Http.errorCodes(failure.cause)
      return new ProviderUnavailable({
        ...common(context),
        httpStatus: failure.status,
        stage: "exchange",
        message:
          failure.problem === undefined
            ? `${label(context)}: the connection to ${context.provider} broke while its answer was read${codes.length > 0 ? ` (${codes[0]})` : ""}`
            : `${label(context)}: ${context.provider} ${failure.problem}; the answer was not read further`
      })
    }
    case "Undecodable":
      return new MalformedResponse({
        ...common(context),
        httpStatus: failure.status,
        excerpt: Sanitize.excerpt(failure.body, context.secrets),
        message: `${label(context)}: ${context.provider} answered HTTP ${failure.status} with a body reelay cannot read (${failure.problem})`
      })
  }
}

/**
 * The error of a task the vendor reports as `failed`: `ContentRejected` when its code (or message)
 * names a content-policy refusal, `GenerationFailed` with the vendor's code and message otherwise.
 */
export const failedTask = (
  context: Context,
  error: ErrorDetail | string | null | undefined
): ContentRejected | GenerationFailed => {
  const detail = detailOf(error)
  const vendorMessage =
    detail.message === undefined ? undefined : Sanitize.scrub(detail.message, context.secrets).slice(0, 500)
  const what = describe(undefined, { code: detail.code, message: vendorMessage }, context)
  const suffix = what === "" ? "" : ` (${what})`
  if (isContentViolation(detail.code?.toLowerCase(), detail.message)) {
    return new ContentRejected({
      ...common(context),
      ...(detail.code === undefined ? {} : { vendorCode: quotedCode(detail.code, context) }),
      message: `${context.provider} rejected task ${context.taskId ?? ""} under its content policy${suffix}`.replace(
        "  ",
        " "
      )
    })
  }
  return new GenerationFailed({
    ...common(context),
    ...(detail.code === undefined ? {} : { vendorCode: quotedCode(detail.code, context) }),
    ...(vendorMessage === undefined ? {} : { vendorMessage }),
    message: `${context.provider} could not generate task ${context.taskId ?? ""}${suffix}`.replace("  ", " ")
  })
}
