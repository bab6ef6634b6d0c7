/**
 * A hostile vendor for the reliability suite: two plain `node:http` servers on 127.0.0.1 (two
 * origins: the "API" reelay is configured with, and "elsewhere", a CDN or an attacker), each
 * answering with a handler the test writes, recording every request exactly as it arrived (raw
 * path, every header). Bodies are written with back-pressure from one reused chunk, so the server
 * itself holds no more than a socket's buffer however much it sends; `sent` counts what it wrote.
 *
 * Also: memory sampling while a generation runs, and the bits of the two wire protocols a hostile
 * answer needs (a `/v1/videos` task, Sora's SSE chunks).
 */
import * as NodeFs from "node:fs"
import * as NodeHttp from "node:http"
import type { AddressInfo } from "node:net"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** One request as the server received it. */
export interface Seen {
  readonly server: "api" | "elsewhere"
  readonly method: string
  /** The request target exactly as sent (never normalised). */
  readonly url: string
  readonly headers: NodeHttp.IncomingHttpHeaders
  /** The request body (read before the handler runs, up to 1 MiB). */
  readonly body: string
}

export interface Origins {
  /** `http://127.0.0.1:<port>` of the API. */
  readonly api: string
  /** Another origin: a CDN, or somewhere credentials must never go. */
  readonly elsewhere: string
}

export type Handler = (
  request: NodeHttp.IncomingMessage,
  response: NodeHttp.ServerResponse,
  origins: Origins,
  body: string
) => void

export interface Hostile extends Origins {
  /** The API base URL, `/v1` included. */
  readonly baseUrl: string
  readonly seen: ReadonlyArray<Seen>
  /** Body bytes the servers wrote, in total. */
  readonly sent: () => number
}

let sentBytes = 0

const listen = (
  name: Seen["server"],
  seen: Array<Seen>,
  handler: () => Handler,
  origins: () => Origins,
  host = "127.0.0.1"
) => {
  const sockets = new Set<import("node:net").Socket>()
  const server = NodeHttp.createServer((request, response) => {
    const chunks: Array<Buffer> = []
    let size = 0
    request.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size <= 1024 * 1024) chunks.push(chunk)
    })
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8")
      seen.push({ server: name, method: request.method ?? "", url: request.url ?? "", headers: request.headers, body })
      handler()(request, response, origins(), body)
    })
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  return Effect.acquireRelease(
    Effect.async<number>((resume) => {
      server.listen(0, host, () => resume(Effect.succeed((server.address() as AddressInfo).port)))
    }),
    () =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  )
}

/**
 * Starts the two servers for the scope's lifetime, on 127.0.0.1 unless `hosts` says otherwise (an
 * address of a network namespace of the test's own, say, to have an API that is not on loopback).
 */
export const start = (
  handlers: {
    readonly api: Handler
    readonly elsewhere?: Handler | undefined
  },
  hosts: { readonly api?: string | undefined; readonly elsewhere?: string | undefined } = {}
): Effect.Effect<Hostile, never, Scope.Scope> =>
  Effect.gen(function* () {
    const seen: Array<Seen> = []
    let origins: Origins | undefined
    const apiHost = hosts.api ?? "127.0.0.1"
    const elsewhereHost = hosts.elsewhere ?? "127.0.0.1"
    const api = yield* listen(
      "api",
      seen,
      () => handlers.api,
      () => origins!,
      apiHost
    )
    const elsewhere = yield* listen(
      "elsewhere",
      seen,
      () => handlers.elsewhere ?? ((_request, response) => response.writeHead(404).end()),
      () => origins!,
      elsewhereHost
    )
    origins = { api: `http://${apiHost}:${api}`, elsewhere: `http://${elsewhereHost}:${elsewhere}` }
    const start = sentBytes
    return { ...origins, baseUrl: `${origins.api}/v1`, seen, sent: () => sentBytes - start }
  })

const chunkOf = (text: string, size: number) => Buffer.from(text.repeat(Math.ceil(size / text.length)).slice(0, size))

/**
 * Writes `head`, then `filler` (repeated in 64 KiB chunks) until `total` body bytes or forever,
 * then `tail`; stops when the client leaves. Honours back-pressure.
 */
export const stream = (
  response: NodeHttp.ServerResponse,
  options: {
    readonly head?: string | Uint8Array
    readonly filler: string
    readonly total?: number
    readonly tail?: string
    /** Wait this long between chunks (a trickle). */
    readonly intervalMillis?: number
  }
) => {
  const chunk = chunkOf(options.filler, 64 * 1024)
  let written = 0
  const write = (bytes: Uint8Array) => {
    written += bytes.length
    sentBytes += bytes.length
    return response.write(bytes)
  }
  if (options.head !== undefined) write(typeof options.head === "string" ? Buffer.from(options.head) : options.head)
  const pump = () => {
    while (!response.destroyed) {
      if (options.total !== undefined && written >= options.total) {
        response.end(options.tail ?? "")
        return
      }
      const room = options.total === undefined ? chunk.length : Math.min(chunk.length, options.total - written)
      const more = write(room === chunk.length ? chunk : chunk.subarray(0, room))
      if (options.intervalMillis !== undefined) {
        setTimeout(pump, options.intervalMillis)
        return
      }
      if (!more) {
        response.once("drain", pump)
        return
      }
    }
  }
  response.on("error", () => undefined)
  pump()
}

/**
 * Writes `bytes` to `sink` (a response's body, or the raw socket for a trickled status line and
 * headers) a few at a time, `perTick` bytes (default 1) every `everyMillis`, then ends a response;
 * stops when the client leaves.
 */
export const trickle = (
  sink: NodeHttp.ServerResponse | import("node:net").Socket,
  bytes: string | Uint8Array,
  options: { readonly everyMillis: number; readonly perTick?: number }
) => {
  const data = typeof bytes === "string" ? Buffer.from(bytes) : bytes
  const perTick = options.perTick ?? 1
  let written = 0
  const timer = setInterval(() => {
    if (sink.destroyed) return clearInterval(timer)
    if (written >= data.length) {
      clearInterval(timer)
      if ("writeHead" in sink) sink.end()
      return
    }
    const piece = data.subarray(written, written + perTick)
    written += piece.length
    sentBytes += piece.length
    sink.write(piece)
  }, options.everyMillis)
  sink.once("close", () => clearInterval(timer))
  sink.on("error", () => undefined)
}

/**
 * Answers on the raw socket, bypassing `node:http`'s writer: the status line and a header are
 * trickled one byte every `everyMillis`, the end of the headers never reached.
 */
export const trickleHeaders = (request: NodeHttp.IncomingMessage, everyMillis: number) =>
  trickle(request.socket, `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-padding: ${"a".repeat(8192)}`, {
    everyMillis
  })

export const json = (response: NodeHttp.ServerResponse, status: number, body: unknown, headers = {}) => {
  const text = JSON.stringify(body)
  sentBytes += Buffer.byteLength(text)
  response.writeHead(status, { "content-type": "application/json", ...headers }).end(text)
}

/** A real MP4 (the simulator's 1280x720, 8 s fixture), so a download that should succeed can. */
export const video: Buffer = NodeFs.readFileSync(
  NodePath.resolve(NodePath.dirname(fileURLToPath(import.meta.url)), "../../packages/simulator/videos/1280x720-8s.mp4")
)

export const sendVideo = (response: NodeHttp.ServerResponse) => {
  sentBytes += video.length
  response.writeHead(200, { "content-type": "video/mp4", "content-length": String(video.length) }).end(video)
}

/** One Sora chat-completion chunk as an SSE event. */
export const soraChunk = (content: string, id = "foaicmpl-hostile") =>
  `data: ${JSON.stringify({
    id,
    object: "chat.completion.chunk",
    created: 1,
    model: "sora_video2",
    choices: [{ index: 0, delta: { content }, finish_reason: null }]
  })}\n\n`

export const soraLink = (url: string) =>
  soraChunk(`> ✅ Video generated successfully, [Click here](${url}) to view video~~~\n\n`)

export const soraDone = () =>
  `data: ${JSON.stringify({
    id: "foaicmpl-hostile",
    object: "chat.completion.chunk",
    created: 1,
    model: "sora_video2",
    choices: [{ index: 0, delta: {}, finish_reason: "stop" }]
  })}\n\ndata: [DONE]\n\n`

/** Peak growth of the process's memory while `effect` runs, sampled every 10 ms. */
export const measured = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const before = process.memoryUsage()
    let peakRss = before.rss
    let peakHeap = before.heapUsed
    let peakBuffers = before.arrayBuffers
    const timer = setInterval(() => {
      const now = process.memoryUsage()
      peakRss = Math.max(peakRss, now.rss)
      peakHeap = Math.max(peakHeap, now.heapUsed)
      peakBuffers = Math.max(peakBuffers, now.arrayBuffers)
    }, 10)
    const started = Date.now()
    const result = yield* Effect.ensuring(
      effect,
      Effect.sync(() => clearInterval(timer))
    )
    const after = process.memoryUsage()
    return {
      result,
      millis: Date.now() - started,
      /** Growth in bytes over the value before the run. */
      rss: Math.max(peakRss, after.rss) - before.rss,
      heap: Math.max(peakHeap, after.heapUsed) - before.heapUsed,
      arrayBuffers: Math.max(peakBuffers, after.arrayBuffers) - before.arrayBuffers
    }
  })

export const MiB = 1024 * 1024
