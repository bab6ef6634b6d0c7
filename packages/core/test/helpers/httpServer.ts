/**
 * A real HTTP server on 127.0.0.1, port 0, for download tests: it records every request it
 * receives (method, path, headers) and answers with a per-test handler. Two servers are two
 * origins.
 */

import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

export interface SeenRequest {
  readonly method: string
  readonly path: string
  readonly headers: Http.IncomingHttpHeaders
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  readonly url: (path: string) => string
  readonly requests: Array<SeenRequest>
}

export type Handler = (request: Http.IncomingMessage, response: Http.ServerResponse, index: number) => void

/** Starts a server for the scope's lifetime. */
export const serve = (handler: Handler): Effect.Effect<TestServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Http.Server; readonly test: TestServer }>((resume) => {
      const requests: Array<SeenRequest> = []
      const server = Http.createServer((request, response) => {
        requests.push({ method: request.method ?? "", path: request.url ?? "", headers: request.headers })
        handler(request, response, requests.length - 1)
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        const origin = `http://127.0.0.1:${port}`
        resume(Effect.succeed({ server, test: { origin, url: (path) => `${origin}${path}`, requests } }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ test }) => test))

export interface SendOptions {
  /** Answer 200 with the whole body even when a `Range` is asked for. */
  readonly ignoreRange?: boolean
  /** Send only this many body bytes, then drop the connection. */
  readonly cutAfter?: number
  /** Send this many body bytes, then stall without closing. */
  readonly stallAfter?: number
  /** Send the body `bytes` at a time, one piece every `everyMillis`, until the client goes away. */
  readonly trickle?: { readonly bytes: number; readonly everyMillis: number }
}

/** Serves `data` with `Content-Length`, honouring `Range: bytes=N-` (206, or 416 past the end). */
export const sendBytes = (
  request: Http.IncomingMessage,
  response: Http.ServerResponse,
  data: Uint8Array,
  options: SendOptions = {}
): void => {
  const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? "")
  let start = 0
  if (range !== null && options.ignoreRange !== true) {
    start = Number(range[1])
    if (start >= data.length) {
      response.writeHead(416, { "content-range": `bytes */${data.length}` })
      response.end()
      return
    }
    response.writeHead(206, {
      "content-length": data.length - start,
      "content-range": `bytes ${start}-${data.length - 1}/${data.length}`,
      "accept-ranges": "bytes"
    })
  } else {
    response.writeHead(200, { "content-length": data.length, "accept-ranges": "bytes" })
  }
  const body = data.subarray(start)
  if (options.cutAfter !== undefined && options.cutAfter < body.length) {
    response.write(body.subarray(0, options.cutAfter), () => request.socket.destroy())
    return
  }
  if (options.stallAfter !== undefined && options.stallAfter < body.length) {
    response.write(body.subarray(0, options.stallAfter))
    return
  }
  if (options.trickle !== undefined) {
    const { bytes, everyMillis } = options.trickle
    let sent = 0
    const timer = setInterval(() => {
      response.write(body.subarray(sent, sent + bytes))
      sent += bytes
      if (sent >= body.length) {
        clearInterval(timer)
        response.end()
      }
    }, everyMillis)
    response.once("close", () => clearInterval(timer))
    return
  }
  response.end(body)
}
