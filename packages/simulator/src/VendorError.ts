/**
 * The error vocabulary of the simulated hosts, in the documented body
 * `{ "error": { "code", "message", "type" } }`. apiyi's codes are the six on its page; laozhang
 * documents only HTTP statuses and the body shape, so its codes are chosen here (and listed in the
 * README) with the same names wherever the two overlap.
 *
 * @since 0.1.0
 */
import type { Host } from "./Models.js"

/** A failure the simulator can answer with, independent of the host's spelling. */
export type Failure =
  | "invalid_request"
  | "invalid_api_key"
  | "invalid_model"
  | "invalid_prompt"
  | "content_policy"
  | "insufficient_balance"
  | "video_not_found"
  | "video_not_ready"
  | "rate_limited"
  | "internal"
  | "unavailable"
  | "route_not_found"
  | "too_large"

/** The documented error body. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly type: string }
}

interface Spelling {
  readonly status: number
  readonly code: string
  readonly type: string
}

const common: Readonly<Record<Failure, Spelling>> = {
  invalid_request: { status: 400, code: "invalid_request", type: "invalid_request_error" },
  invalid_api_key: { status: 401, code: "invalid_api_key", type: "authentication_error" },
  invalid_model: { status: 400, code: "invalid_model", type: "invalid_request_error" },
  invalid_prompt: { status: 400, code: "invalid_prompt", type: "invalid_request_error" },
  content_policy: { status: 400, code: "content_policy_violation", type: "invalid_request_error" },
  insufficient_balance: { status: 402, code: "insufficient_balance", type: "billing_error" },
  video_not_found: { status: 404, code: "video_not_found", type: "not_found_error" },
  video_not_ready: { status: 400, code: "video_not_ready", type: "invalid_request_error" },
  rate_limited: { status: 429, code: "rate_limit_exceeded", type: "rate_limit_error" },
  internal: { status: 500, code: "internal_error", type: "server_error" },
  unavailable: { status: 503, code: "service_unavailable", type: "server_error" },
  route_not_found: { status: 404, code: "not_found", type: "invalid_request_error" },
  too_large: { status: 413, code: "request_too_large", type: "invalid_request_error" }
}

/** apiyi spells an empty balance with its documented `quota_exceeded`. */
const apiyi: Partial<Record<Failure, Spelling>> = {
  insufficient_balance: { status: 402, code: "quota_exceeded", type: "billing_error" }
}

/** The HTTP status, code and type `host` uses for `failure`. */
export const spelling = (host: Host | undefined, failure: Failure): Spelling =>
  (host === "apiyi" ? apiyi[failure] : undefined) ?? common[failure]

/** The documented body for `failure` on `host`. */
export const body = (host: Host | undefined, failure: Failure, message: string): ErrorBody => {
  const s = spelling(host, failure)
  return { error: { code: s.code, message, type: s.type } }
}
