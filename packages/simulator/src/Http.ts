/**
 * Wire helpers over `node:http`: reading bodies with a limit, answering JSON and documented errors,
 * and the deliberate misbehaviours (a reset socket, a malformed body) that only raw sockets allow.
 *
 * @since 0.1.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Socket } from "node:net"
import type { Host } from "./Models.js"
import type { RequestRecord } from "./RequestLog.js"
import type { State } from "./State.js"
import * as VendorError from "./VendorError.js"

/** One API request being answered. */
export interface Exchange {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly url: URL
  readonly host: Host | undefined
  readonly record: RequestRecord
  readonly state: State
}

/** Sends a JSON body. */
export const sendJson = (
  x: Exchange,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {}
): void => {
  if (x.res.headersSent || x.res.destroyed) return
  const text = JSON.stringify(body)
  x.record.status = status
  x.record.outcome = "responded"
  x.res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers
  })
  x.res.end(x.req.method === "HEAD" ? undefined : text)
}

/** Sends the host's documented error body for `failure`. */
export const sendError = (
  x: Exchange,
  failure: VendorError.Failure,
  message: string,
  headers: Readonly<Record<string, string>> = {}
): void => {
  const spelling = VendorError.spelling(x.host, failure)
  x.record.error = spelling.code
  sendJson(x, spelling.status, VendorError.body(x.host, failure, message), headers)
}

const gatewayTitles = { 502: "502 Bad Gateway", 504: "504 Gateway Timeout" } as const

/**
 * Answers as the reverse proxy in front of a vendor does when the service behind it fails or is too
 * slow: 502 or 504 with the proxy's own HTML page (nginx's), not the vendor's JSON error body. The
 * vendors' pages document neither status; this is what their gateways send.
 */
export const sendGateway = (x: Exchange, status: 502 | 504): void => {
  if (x.res.headersSent || x.res.destroyed) return
  const title = gatewayTitles[status]
  const text = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`
  x.record.status = status
  x.record.outcome = "responded"
  x.res.writeHead(status, { "content-type": "text/html", "content-length": Buffer.byteLength(text) })
  x.res.end(x.req.method === "HEAD" ? undefined : text)
}

/** Answers 200 with a body that is not valid JSON (the start of an object, cut off). */
export const sendMalformed = (x: Exchange, partial: string): void => {
  if (x.res.headersSent || x.res.destroyed) return
  x.record.status = 200
  x.record.outcome = "responded"
  const text = partial.slice(0, Math.max(1, Math.floor(partial.length / 2)))
  x.res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) })
  x.res.end(text)
}

/**
 * Destroys a socket with a TCP RST, so the client sees ECONNRESET rather than a clean close.
 */
export const resetSocket = (socket: Socket | null | undefined): void => {
  if (socket === null || socket === undefined || socket.destroyed) return
  const s = socket as Socket & { resetAndDestroy?: () => void }
  if (typeof s.resetAndDestroy === "function") s.resetAndDestroy()
  else s.destroy()
}

/** Cuts the connection without answering (a `reset-*` fault). */
export const reset = (x: Exchange): void => {
  x.record.outcome = "reset"
  x.record.status = null
  resetSocket(x.req.socket)
}

/** Waits `ms` of wall-clock time, ending early when the simulator stops or the client leaves. */
export const sleep = (ms: number, signal: AbortSignal, socket?: Socket): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener("abort", done)
      socket?.removeListener("close", done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener("abort", done, { once: true })
    socket?.once("close", done)
  })

/** Reads the whole request body, or `undefined` (after answering 413) when it exceeds `limit`. */
export const readBody = (x: Exchange, limit: number): Promise<Buffer | undefined> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    let size = 0
    let done = false
    x.req.on("data", (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limit) {
        done = true
        sendError(x, "too_large", `Request body larger than ${limit} bytes`, { connection: "close" })
        resolve(undefined)
        return
      }
      chunks.push(chunk)
    })
    x.req.on("end", () => {
      if (done) return
      done = true
      resolve(Buffer.concat(chunks))
    })
    x.req.on("error", () => {
      if (done) return
      done = true
      resolve(undefined)
    })
  })

/** A request body, by what its `Content-Type` says it is. */
export type Body =
  | { readonly _tag: "Json"; readonly value: unknown }
  | { readonly _tag: "Multipart"; readonly form: FormData }
  | { readonly _tag: "Empty" }
  | { readonly _tag: "Other"; readonly contentType: string }
  | { readonly _tag: "Invalid"; readonly message: string }

/** Parses a body as JSON or multipart according to its `Content-Type`. */
export const parseBody = async (contentType: string | undefined, bytes: Buffer): Promise<Body> => {
  const type = (contentType ?? "").toLowerCase()
  if (type.startsWith("multipart/form-data")) {
    try {
      const form = await new Response(bytes, { headers: { "content-type": contentType ?? "" } }).formData()
      return { _tag: "Multipart", form }
    } catch {
      return { _tag: "Invalid", message: "Could not parse the multipart/form-data body" }
    }
  }
  if (bytes.length === 0) return { _tag: "Empty" }
  // JSON is the default: the vendors' samples (and `requests.post(json=...)`) always declare it, but
  // a body sent without a type is still read as JSON, as the real gateways do.
  if (type === "" || type.includes("json")) {
    try {
      return { _tag: "Json", value: JSON.parse(bytes.toString("utf8")) }
    } catch {
      return { _tag: "Invalid", message: "Request body is not valid JSON" }
    }
  }
  return { _tag: "Other", contentType: type }
}

/** The single value of a header. */
export const header = (x: Exchange, name: string): string | undefined => {
  const value = x.req.headers[name]
  return Array.isArray(value) ? value[0] : value
}
