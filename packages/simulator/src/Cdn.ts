/**
 * The CDN: a separate origin serving the videos behind the URLs the async hosts return. It answers
 * only while a URL is valid, honours `Range` (206 / 416), and records every request's headers so
 * tests can check that no credential ever reaches it.
 *
 * The same `serve` function delivers the official forward's `/content` bytes on the API origin.
 *
 * @since 0.1.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Directive } from "./Directive.js"
import * as Http from "./Http.js"
import * as Pipeline from "./Pipeline.js"
import * as RequestLog from "./RequestLog.js"
import type { State } from "./State.js"
import type { Task } from "./Tasks.js"
import * as Tasks from "./Tasks.js"
import * as Videos from "./Videos.js"

/** What a transfer did, updated as it goes (a `CdnRecord` is one). */
export interface Transfer {
  status: number | null
  contentLength: number | null
  bytesSent: number
  truncated: boolean
}

/** The entity tag of a task's video: stable for its lifetime, so `If-Range` can guard a resume. */
export const etag = (task: Task): string => `"${task.id}-${task.asset.size}"`

/**
 * Sends a task's video with `Range` support. `truncate` (a directive) cuts the connection after `at`
 * bytes of the body (default: half of it) while the headers promise the full length, the way a
 * dropped transfer looks to a client.
 */
export const serve = (
  req: IncomingMessage,
  res: ServerResponse,
  task: Task,
  truncate: Directive | undefined,
  transfer: Transfer
): void => {
  const size = task.asset.size
  const tag = etag(task)
  const ifRange = req.headers["if-range"]
  const requested = ifRange === undefined || ifRange === tag ? req.headers.range : undefined
  const range = Videos.parseRange(requested, size)
  const common = {
    "accept-ranges": "bytes",
    etag: tag,
    "last-modified": new Date(task.timeline.createdAt).toUTCString(),
    "cache-control": "private, max-age=86400"
  }
  if (range === "unsatisfiable") {
    transfer.status = 416
    transfer.contentLength = 0
    res.writeHead(416, { ...common, "content-range": `bytes */${size}`, "content-length": 0 })
    res.end()
    return
  }
  const start = range?.start ?? 0
  const end = range?.end ?? size - 1
  const length = end - start + 1
  const status = range === undefined ? 200 : 206
  transfer.status = status
  transfer.contentLength = length
  res.writeHead(status, {
    ...common,
    "content-type": "video/mp4",
    "content-length": length,
    ...(range === undefined ? {} : { "content-range": `bytes ${start}-${end}/${size}` })
  })
  if (req.method === "HEAD") {
    res.end()
    return
  }
  const cut =
    truncate === undefined ? undefined : Math.min(length - 1, Math.max(0, truncate.at ?? Math.floor(length / 2)))
  const body = Videos.stream(task.asset, start, cut === undefined ? end : start + cut - 1)
  body.on("data", (chunk: Buffer) => {
    transfer.bytesSent += chunk.length
  })
  res.on("close", () => body.destroy())
  if (cut === undefined) {
    body.pipe(res)
    return
  }
  transfer.truncated = true
  // End the socket (after what was written is flushed) without ending the response: the client
  // receives `cut` bytes of a body whose Content-Length promised more.
  body.pipe(res, { end: false })
  body.on("end", () => {
    const socket = res.socket
    socket?.end()
    setTimeout(() => socket?.destroy(), 1000).unref()
  })
}

const sendText = (res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) => {
  res.writeHead(status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers
  })
  res.end(text)
}

const cdnErrorText = {
  "500": "Internal Server Error",
  "502": "Bad Gateway",
  "503": "Service Unavailable",
  "504": "Gateway Timeout"
} as const

/** The CDN's request handler. */
export const handler =
  (state: State) =>
  async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://cdn.invalid")
    const now = state.now()
    const record = state.cdnRequests.push((seq) => ({
      seq,
      at: new Date(now).toISOString(),
      method: req.method ?? "GET",
      path: req.url ?? "/",
      headers: RequestLog.redactHeaders(req.headers),
      authorization: RequestLog.describeAuthorization(req.headers.authorization),
      range: req.headers.range ?? null,
      taskId: null,
      status: null,
      contentLength: null,
      bytesSent: 0,
      truncated: false
    }))
    const finish = (status: number) => {
      record.status = status
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      finish(405)
      return sendText(res, 405, "Method Not Allowed", { allow: "GET, HEAD" })
    }
    const task = state.tasks.byCdnPath(url.pathname)
    if (task === undefined || !Tasks.videoAvailable(task, now)) {
      if (task !== undefined) record.taskId = task.id
      finish(404)
      return sendText(res, 404, "Not Found: no such video, or its URL has expired")
    }
    record.taskId = task.id
    const faults = Pipeline.faultsAt(state, task, "download")
    for (const d of faults) {
      if (d.kind !== "slow") continue
      await Http.sleep(d.ms ?? 0, state.shutdown.signal, req.socket)
      if (res.destroyed) return
    }
    for (const d of faults) {
      if (d.kind === "429") {
        finish(429)
        return sendText(res, 429, "Too Many Requests", { "retry-after": String(Math.ceil(d.retryAfter ?? 1)) })
      }
      if (d.kind === "500" || d.kind === "503" || d.kind === "502" || d.kind === "504") {
        finish(Number(d.kind))
        return sendText(res, Number(d.kind), cdnErrorText[d.kind])
      }
    }
    serve(req, res, task, Pipeline.find(faults, "truncate"), record)
  }
