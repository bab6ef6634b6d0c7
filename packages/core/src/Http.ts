/**
 * Reading what an HTTP exchange says about retrying and pacing, shared by every provider that
 * speaks HTTP: server hints (`Retry-After`, `retry-after-ms`, `openai-poll-after-ms`) and how far a
 * failed exchange got, which decides whether a create may have happened.
 *
 * @since 0.1.0
 */

import type * as Headers from "@effect/platform/Headers"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import { ProviderUnavailable } from "./VideoError.js"

const header = (headers: Headers.Headers, name: string): string | undefined => {
  const value = headers[name.toLowerCase()]
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined
}

const nonNegativeNumber = (text: string | undefined): number | undefined => {
  if (text === undefined || !/^\d+(\.\d+)?$/.test(text)) return undefined
  return Number(text)
}

/**
 * The server's "try again after" hint in milliseconds: `retry-after-ms` (OpenAI style) wins over
 * `Retry-After` (delta seconds or an HTTP date, RFC 9110 §10.2.3). `undefined` when absent or invalid.
 */
export const retryAfterMillis = (headers: Headers.Headers, now: number = Date.now()): number | undefined => {
  const millis = nonNegativeNumber(header(headers, "retry-after-ms"))
  if (millis !== undefined) return millis
  const retryAfter = header(headers, "retry-after")
  if (retryAfter === undefined) return undefined
  const seconds = nonNegativeNumber(retryAfter)
  if (seconds !== undefined) return seconds * 1000
  const date = Date.parse(retryAfter)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** The server's hint for the next status poll (`openai-poll-after-ms`), falling back to `Retry-After`. */
export const pollAfterMillis = (headers: Headers.Headers, now: number = Date.now()): number | undefined =>
  nonNegativeNumber(header(headers, "openai-poll-after-ms")) ?? retryAfterMillis(headers, now)

/** System error codes that mean no connection was made, so nothing reached the server. */
const connectCodes = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_NONAME",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_CONNECT",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "CERT_HAS_EXPIRED",
  "SELF_SIGNED_CERT_IN_CHAIN"
])

/** The error codes found along a `cause` chain (fetch and undici nest the system error). */
export const errorCodes = (error: unknown): ReadonlyArray<string> => {
  const codes: Array<string> = []
  let current: unknown = error
  for (let depth = 0; depth < 8 && current !== null && typeof current === "object"; depth++) {
    const code = (current as { code?: unknown }).code
    // Only code-shaped strings: some libraries put free text (possibly a URL) in `code`.
    if (typeof code === "string" && /^[A-Z0-9_]{2,40}$/.test(code)) codes.push(code)
    const errors = (current as { errors?: unknown }).errors
    if (Array.isArray(errors)) for (const inner of errors) codes.push(...errorCodes(inner))
    current = (current as { cause?: unknown }).cause
  }
  return codes
}

/** Whether a transport failure happened before any byte of the request could reach the server. */
export const failedBeforeSending = (error: unknown): boolean => errorCodes(error).some((code) => connectCodes.has(code))

/**
 * Maps a transport failure (no HTTP answer) to `ProviderUnavailable`, with `stage` telling whether
 * the request may have reached the server (`exchange`) or certainly did not (`connect`).
 */
export const unavailableFromRequestError = (
  error: HttpClientError.RequestError,
  context: { readonly provider: string; readonly operation: string; readonly taskId?: string | undefined }
): ProviderUnavailable => {
  const before = error.reason !== "Transport" || failedBeforeSending(error.cause)
  const codes = errorCodes(error.cause)
  const detail = codes.length > 0 ? codes[0] : (error.description ?? error.reason)
  return new ProviderUnavailable({
    provider: context.provider,
    ...(context.taskId === undefined ? {} : { taskId: context.taskId }),
    stage: before ? "connect" : "exchange",
    message: before
      ? `${context.operation}: could not connect to ${context.provider} (${detail}); nothing was sent`
      : `${context.operation}: the connection to ${context.provider} broke (${detail})`
  })
}
