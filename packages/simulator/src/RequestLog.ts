/**
 * What the simulator received: every API request (with its outcome and any fault applied) and every
 * CDN request (with the headers that reached it). Keys never appear: an `Authorization` value is kept
 * as its scheme and a short fingerprint, enough to tell which key was used and whether a credential
 * leaked to the CDN.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import type { IncomingHttpHeaders } from "node:http"
import type { Host } from "./Models.js"

const known = new Map<string, string>()

/** A short, stable, non-reversible identity for a secret: `fp:` and 12 hex digits of its SHA-256. */
export const fingerprint = (secret: string): string => {
  // Every request is fingerprinted and clients reuse a handful of keys: remember the recent ones.
  const cached = known.get(secret)
  if (cached !== undefined) return cached
  const fp = `fp:${createHash("sha256").update(secret).digest("hex").slice(0, 12)}`
  if (known.size >= 1024) known.clear()
  known.set(secret, fp)
  return fp
}

/** How a request authenticated. `raw` is a bare key (apiyi's style), `bearer` an RFC 6750 token. */
export interface AuthorizationInfo {
  readonly present: boolean
  readonly scheme: "bearer" | "raw" | "other" | null
  readonly fingerprint: string | null
}

/** Describes an `Authorization` header without keeping the secret. */
export const describeAuthorization = (value: string | undefined): AuthorizationInfo => {
  if (value === undefined) return { present: false, scheme: null, fingerprint: null }
  const bearer = /^bearer\s+(.*)$/i.exec(value)
  if (bearer !== null) return { present: true, scheme: "bearer", fingerprint: fingerprint((bearer[1] ?? "").trim()) }
  const other = /^(basic|digest|token|negotiate)\s+(.*)$/i.exec(value)
  if (other !== null) return { present: true, scheme: "other", fingerprint: fingerprint((other[2] ?? "").trim()) }
  return { present: true, scheme: "raw", fingerprint: fingerprint(value.trim()) }
}

const secretHeaders = new Set(["authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"])

/** The headers as received, with every credential replaced by its fingerprint. */
export const redactHeaders = (headers: IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue
    const value = Array.isArray(raw) ? raw.join(", ") : raw
    if (name === "authorization" || name === "proxy-authorization") {
      const info = describeAuthorization(value)
      out[name] = info.scheme === "bearer" ? `Bearer ${info.fingerprint}` : `${info.fingerprint} (${info.scheme})`
    } else if (secretHeaders.has(name)) {
      out[name] = fingerprint(value)
    } else {
      out[name] = value
    }
  }
  return out
}

/** One uploaded file as received: enough to tell which bytes arrived, without keeping them. */
export interface Upload {
  readonly field: string
  readonly fileName: string
  readonly contentType: string
  readonly bytes: number
  /** SHA-256 of the bytes, hex. */
  readonly sha256: string
}

/** One API request and what the simulator did with it. */
export interface RequestRecord {
  readonly seq: number
  /** Arrival on the simulator clock. */
  readonly at: string
  readonly method: string
  /** Path and query as received. */
  readonly path: string
  readonly host: Host | null
  /** `create`, `status`, `content`, `compat-status`, `chat`, or `unknown`. */
  readonly route: string
  model: string | null
  taskId: string | null
  readonly headers: Readonly<Record<string, string>>
  readonly authorization: AuthorizationInfo
  readonly idempotencyKey: string | null
  /** The HTTP status sent; `null` when the connection was cut before any response. */
  status: number | null
  /** The fault directives applied, as written (`@sim:503(times=2)`). */
  faults: Array<string>
  /** `responded`, `reset` (socket destroyed by a fault), `cut` (body cut by a fault) or `aborted` (client left). */
  outcome: "pending" | "responded" | "reset" | "cut" | "aborted"
  /** Error code of an error body, if any. */
  error: string | null
  /**
   * Request fields the vendor took without an error and then ignored: laozhang's async `-fl` models
   * ignore an `input_reference` sent as a JSON image URL (the video is made, and charged, without the
   * frame). Absent when nothing was ignored.
   */
  ignored?: ReadonlyArray<string>
  /** The image files uploaded with a create (multipart `input_reference`), in order; absent when none. */
  uploads?: ReadonlyArray<Upload>
  /**
   * On a status route, the task's phase at the instant the answer was computed (`queued`, `running`,
   * `completed`, `failed`), whatever a fault then did to the body; `null` on other routes. Lets a
   * benchmark find exactly the first poll that saw a task completed.
   */
  phase: string | null
}

/** One CDN request. */
export interface CdnRecord {
  readonly seq: number
  readonly at: string
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly authorization: AuthorizationInfo
  readonly range: string | null
  taskId: string | null
  status: number | null
  /** Bytes the response promised (Content-Length) and bytes actually written. */
  contentLength: number | null
  bytesSent: number
  truncated: boolean
}

/** A bounded, append-only log; the oldest records fall off once `capacity` is reached. */
export interface Log<A extends { readonly seq: number }> {
  readonly push: (make: (seq: number) => A) => A
  /** Records with `seq > since`, oldest first, at most `limit`. */
  readonly list: (since?: number, limit?: number) => ReadonlyArray<A>
  readonly count: () => number
  readonly clear: () => void
}

/** A log keeping at most `capacity` records (the benchmark makes hundreds of thousands of polls). */
export const makeLog = <A extends { readonly seq: number }>(capacity: number): Log<A> => {
  let items: Array<A> = []
  let start = 0
  let seq = 0
  return {
    push: (make) => {
      const record = make(++seq)
      items.push(record)
      if (items.length - start > capacity) start++
      // Compact now and then rather than shifting on every push.
      if (start > 4096 && start > items.length / 2) {
        items = items.slice(start)
        start = 0
      }
      return record
    },
    list: (since = 0, limit = Number.POSITIVE_INFINITY) => {
      const first = items[start]
      if (first === undefined) return []
      // Sequence numbers are contiguous, so the first wanted record is found by arithmetic.
      const from = start + Math.max(0, since - first.seq + 1)
      const to = Math.min(items.length, from + limit)
      return items.slice(from, to)
    },
    count: () => seq,
    clear: () => {
      items = []
      start = 0
      seq = 0
    }
  }
}
