/**
 * A vendor-neutral fault-injecting HTTP proxy, put in front of any server (a provider author's fake,
 * the simulator): requests are forwarded as they are, except those a rule picks, which get a fault
 * instead — the connection reset before or after forwarding, an error status (429 with
 * `Retry-After`, 500, 502, 503, 504), a slow start, an answer held until after the client gave up,
 * or a body cut after some bytes (a truncated download, a cut stream). Links in answers that point at
 * a proxied origin are rewritten to the proxy, so a provider that follows them stays behind it.
 *
 * Every request is logged with the operation it was classified as, the fault it met and whether it
 * reached the server: the kit counts creates from this log when the server reports none itself.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import type { AddressInfo, Socket } from "node:net"

/** What a request does, as the target classifies it: faults are aimed at operations. */
export type Operation = "create" | "status" | "content" | "download" | "other"

export type Fault =
  /** The connection is reset before anything is forwarded: nothing reached the server. */
  | { readonly _tag: "ResetBefore" }
  /** Forwarded and answered by the server, then the connection is reset before the answer. */
  | { readonly _tag: "ResetAfter" }
  /** Answered by the proxy with `status` (nothing forwarded), with `Retry-After` when given. */
  | { readonly _tag: "Status"; readonly status: number; readonly retryAfterSeconds?: number | undefined }
  /** Waits `millis` before forwarding. */
  | { readonly _tag: "Slow"; readonly millis: number }
  /** Forwarded at once; the answer is held for `millis` (a create answered after the client's timeout). */
  | { readonly _tag: "Late"; readonly millis: number }
  /** Forwarded; the answer's headers go out whole and its body is cut after `bytes` (truncated, or a cut stream). */
  | { readonly _tag: "Cut"; readonly bytes: number }

export interface Rule {
  readonly operation: Operation
  readonly fault: Fault
  /** How many matching requests it hits (default 1). */
  readonly times?: number | undefined
}

export interface Logged {
  readonly method: string
  readonly path: string
  readonly operation: Operation
  readonly fault: Fault["_tag"] | undefined
  /** Whether the request was forwarded to the server. */
  readonly forwarded: boolean
  readonly idempotencyKey: string | undefined
  /** When the proxy received it (epoch milliseconds). */
  readonly at: number
}

export interface Options {
  /** The origins to stand in front of (`http://127.0.0.1:PORT`), each given a port of its own. */
  readonly origins: ReadonlyArray<string>
  /** What a request to `origin` does. */
  readonly classify: (request: { readonly method: string; readonly path: string; readonly origin: string }) => Operation
}

export interface FaultProxy {
  /** `origin`'s stand-in on the proxy: replace the origin of any URL with it. */
  readonly urlFor: (url: string) => string
  /** Adds a rule; rules are tried in the order added, and a request meets at most one fault. */
  readonly inject: (rule: Rule) => void
  readonly log: () => ReadonlyArray<Logged>
  readonly close: () => Promise<void>
}

const textual = /json|text|javascript|xml|x-www-form-urlencoded/i

/** Headers of one connection, never forwarded (RFC 9110 §7.6.1). */
const hopByHop = ["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"]
const withoutHopByHop = (headers: Http.IncomingHttpHeaders): Http.OutgoingHttpHeaders => {
  const kept: Http.OutgoingHttpHeaders = { ...headers }
  for (const name of hopByHop) delete kept[name]
  return kept
}

/** Starts the proxy on 127.0.0.1, one free port per origin. */
export const start = async (options: Options): Promise<FaultProxy> => {
  const rules: Array<{ rule: Rule; left: number }> = []
  const log: Array<Logged> = []
  const servers: Array<Http.Server> = []
  const sockets = new Set<Socket>()
  // Held answers and slow starts: cleared on close, so nothing is forwarded after teardown.
  const timers = new Set<NodeJS.Timeout>()
  const later = (millis: number, then: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      then()
    }, millis)
    timers.add(timer)
  }
  const stand = new Map<string, string>()

  const rewrite = (text: string) => {
    let out = text
    for (const [origin, proxied] of stand) out = out.split(origin).join(proxied)
    return out
  }

  const pick = (operation: Operation): Fault | undefined => {
    const found = rules.find((entry) => entry.left > 0 && entry.rule.operation === operation)
    if (found === undefined) return undefined
    found.left -= 1
    return found.rule.fault
  }

  const handler =
    (origin: string) =>
    (req: Http.IncomingMessage, res: Http.ServerResponse): void => {
      const method = req.method ?? "GET"
      const path = req.url ?? "/"
      const operation = options.classify({ method, path, origin })
      const fault = pick(operation)
      const header = req.headers["idempotency-key"]
      const entry: { -readonly [K in keyof Logged]: Logged[K] } = {
        method,
        path,
        operation,
        fault: fault?._tag,
        forwarded: false,
        idempotencyKey: typeof header === "string" ? header : undefined,
        at: Date.now()
      }
      log.push(entry)
      if (fault?._tag === "ResetBefore") {
        req.socket.destroy()
        return
      }
      if (fault?._tag === "Status") {
        const headers: Record<string, string> = { "content-type": "text/plain" }
        if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds)
        res.writeHead(fault.status, headers)
        res.end(`the fault proxy answered ${fault.status}`)
        return
      }
      const forward = () => {
        entry.forwarded = true
        const target = new URL(path, origin)
        const upstream = Http.request(
          target,
          { method, headers: { ...withoutHopByHop(req.headers), host: target.host }, agent: false },
          (answer) => {
            const deliver = (body: Buffer | undefined) => {
              if (fault?._tag === "ResetAfter") {
                answer.resume()
                req.socket.destroy()
                return
              }
              const headers = withoutHopByHop(answer.headers)
              if (typeof headers.location === "string") headers.location = rewrite(headers.location)
              if (body !== undefined) {
                const text = rewrite(body.toString("utf8"))
                headers["content-length"] = String(Buffer.byteLength(text))
                delete headers["content-encoding"]
                res.writeHead(answer.statusCode ?? 502, headers)
                res.end(text)
                return
              }
              res.writeHead(answer.statusCode ?? 502, headers)
              if (fault?._tag === "Cut") {
                let sent = 0
                answer.on("data", (chunk: Buffer) => {
                  if (sent >= fault.bytes) return
                  const part = chunk.subarray(0, fault.bytes - sent)
                  sent += part.length
                  res.write(part)
                  if (sent >= fault.bytes) {
                    answer.destroy()
                    // The bytes written so far go out, then the connection drops mid-body.
                    res.socket?.end(() => res.socket?.destroy())
                  }
                })
                answer.on("end", () => {
                  // The body ended before the cut: the fault never took effect.
                  if (sent < fault.bytes) entry.fault = undefined
                  res.end()
                })
                return
              }
              answer.pipe(res)
            }
            const contentType = String(answer.headers["content-type"] ?? "")
            // Only a plain text answer is rewritten; a compressed one passes as it is.
            const buffered =
              textual.test(contentType) &&
              !/event-stream/i.test(contentType) &&
              answer.headers["content-encoding"] === undefined &&
              fault?._tag !== "Cut"
            const hold = (then: () => void) => (fault?._tag === "Late" ? later(fault.millis, then) : then())
            if (!buffered) return hold(() => deliver(undefined))
            const chunks: Array<Buffer> = []
            answer.on("data", (chunk: Buffer) => chunks.push(chunk))
            answer.on("end", () => hold(() => deliver(Buffer.concat(chunks))))
          }
        )
        upstream.on("error", () => req.socket.destroy())
        req.pipe(upstream)
      }
      if (fault?._tag === "Slow") later(fault.millis, forward)
      else forward()
    }

  for (const origin of options.origins) {
    const server = Http.createServer(handler(origin))
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const address = server.address() as AddressInfo
    stand.set(origin.replace(/\/+$/, ""), `http://127.0.0.1:${address.port}`)
    servers.push(server)
  }

  return {
    urlFor: (url) => rewrite(url),
    inject: (rule) => {
      rules.push({ rule, left: rule.times ?? 1 })
    },
    log: () => [...log],
    close: async () => {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      for (const socket of sockets) socket.destroy()
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
    }
  }
}
