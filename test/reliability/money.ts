/**
 * The machinery of the money tests (`money.test.ts`): following a spawned `reelay` from its first
 * byte, waiting for what proves a moment has come (a line, an NDJSON event, a request in the
 * simulator's log) instead of sleeping, reading a journal (also a copy taken out of a full disk),
 * and a CDN in front of the simulator's that refuses the first transfer of each link.
 *
 * Nothing here asserts on time: every wait ends on an event, and its bound only turns a hang into
 * a failure that says what was awaited.
 */
import type { ChildProcess } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeHttp from "node:http"
import type { AddressInfo } from "node:net"
import * as Journal from "@reelay/journal/Journal"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Harness from "../cli/harness.js"

/** A running `reelay`, followed from the start: what it printed so far, and its end. */
export interface Watched {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves once `predicate` holds for everything printed so far; rejects after `timeoutMs` (saying what it waited for). */
  readonly until: (
    what: string,
    predicate: (output: { readonly stdout: string; readonly stderr: string }) => boolean,
    timeoutMs?: number
  ) => Promise<void>
  /** The process's end; a process still running after `hardTimeoutMs` is killed and this rejects. */
  readonly ended: Promise<Harness.Result>
}

/** Follows `child` from now on (call right after spawning it). */
export const watch = (child: ChildProcess, hardTimeoutMs = 60_000): Watched => {
  let stdout = ""
  let stderr = ""
  const waiters = new Set<() => void>()
  const check = () => {
    for (const waiter of [...waiters]) waiter()
  }
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk
    check()
  })
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk
    check()
  })
  const ended = new Promise<Harness.Result>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`reelay did not end within ${hardTimeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }, hardTimeoutMs)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, lines: stdout.split("\n").filter((line) => line.trim() !== "") })
    })
  })
  const until: Watched["until"] = (what, predicate, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      let done = false
      const finish = (error?: Error) => {
        if (done) return
        done = true
        waiters.delete(waiter)
        clearTimeout(timer)
        if (error === undefined) resolve()
        else reject(error)
      }
      const waiter = () => {
        if (predicate({ stdout, stderr })) finish()
      }
      const timer = setTimeout(
        () => finish(new Error(`timed out waiting for ${what}\nstdout:\n${stdout}\nstderr:\n${stderr}`)),
        timeoutMs
      )
      // A process that ended without it will never print it.
      child.once("close", () =>
        setImmediate(() => finish(new Error(`reelay ended before ${what}\nstdout:\n${stdout}\nstderr:\n${stderr}`)))
      )
      waiters.add(waiter)
      waiter()
    })
  return { child, stdout: () => stdout, stderr: () => stderr, until, ended }
}

/** Polls `condition` (every 20 ms) until it holds; rejects after `timeoutMs`, naming `what`. */
export const eventually = async (what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** The JSON objects among `text`'s lines (NDJSON; other lines skipped). */
export const objects = (text: string): ReadonlyArray<Record<string, unknown>> =>
  text.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return []
    try {
      return [JSON.parse(line) as Record<string, unknown>]
    } catch {
      return []
    }
  })

/** The NDJSON events of `tag` in `text`. */
export const events = (text: string, tag: string) => objects(text).filter((object) => object._tag === tag)

/** Non-empty lines. */
export const linesOf = (text: string) => text.split("\n").filter((line) => line.trim() !== "")

/** What a journal holds about one batch, through its read API; `undefined` when there is no journal file. */
export const readJournal = (path: string, batch: string) =>
  NodeFs.existsSync(path)
    ? Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const journal = Context.get(yield* Layer.build(Journal.layerSqliteReader({ path })), Journal.Journal)
            return {
              items: yield* journal.items(batch),
              charges: yield* journal.charges({ batch }),
              events: yield* journal.events(batch)
            }
          })
        )
      )
    : Promise.resolve(undefined)

/** Every charge of a journal (all batches), or none when there is no journal file. */
export const allCharges = (path: string) =>
  NodeFs.existsSync(path)
    ? Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const journal = Context.get(yield* Layer.build(Journal.layerSqliteReader({ path })), Journal.Journal)
            return yield* journal.charges({})
          })
        )
      )
    : Promise.resolve([] as ReadonlyArray<Journal.Charge>)

/** A request the CDN proxy received: its path and the status it answered. */
export interface Proxied {
  readonly path: string
  readonly status: number
}

/**
 * A CDN in front of the simulator's: the first request for each path is refused with `refuse(path)`
 * (a status such as 403, 404 or 410, as a CDN answers an expired or revoked signed link); every
 * later one is passed to the simulator's CDN and its answer streamed back as it is.
 */
export const refusingCdn = async (
  upstream: string,
  refuse: (path: string) => number
): Promise<{ readonly origin: string; readonly seen: ReadonlyArray<Proxied>; readonly stop: () => Promise<void> }> => {
  const seen: Array<Proxied> = []
  const refused = new Set<string>()
  const sockets = new Set<import("node:net").Socket>()
  const server = NodeHttp.createServer((request, response) => {
    const path = request.url ?? "/"
    if (!refused.has(path)) {
      refused.add(path)
      const status = refuse(path)
      seen.push({ path, status })
      response.writeHead(status, { "content-type": "text/plain" }).end("this link has expired\n")
      return
    }
    const forwarded = NodeHttp.request(
      `${upstream}${path}`,
      { method: request.method, headers: { ...request.headers, host: new URL(upstream).host } },
      (answer) => {
        seen.push({ path, status: answer.statusCode ?? 0 })
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
      }
    )
    forwarded.on("error", () => response.destroy())
    request.pipe(forwarded)
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}
