/**
 * A fake of the fal-style queue, for tests and for trying the plugin without an account: any
 * non-empty `Key` is accepted; a request waits in the queue, runs, then completes with one of the
 * simulator's MP4 files served from `/files/`. A prompt holding `[fail]` completes with an error,
 * one holding `[unsafe]` with a content-policy error; neither is charged.
 *
 * It reports what it created and charged at `GET /__fake/ledger` (`@reelay/testkit`'s fake-server
 * contract): `{ creates: [{ id, model, prompt }], charges: [{ id, model, usd }] }`.
 */
import { randomUUID } from "node:crypto"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Money from "@reelay/core/Money"
import * as Videos from "@reelay/simulator/Videos"
import * as Catalog from "../src/Catalog.js"

export interface Options {
  readonly port?: number | undefined
  readonly host?: string | undefined
  /** How long a request waits in the queue, then runs (default 1 s and 2 s). */
  readonly queueMillis?: number | undefined
  readonly runMillis?: number | undefined
}

export interface FakeServer {
  /** The base URL a provider is pointed at: `http://127.0.0.1:PORT`. */
  readonly baseUrl: string
  readonly close: () => Promise<void>
}

interface Job {
  readonly id: string
  readonly model: string
  readonly prompt: string
  readonly size: string
  readonly createdAt: number
}

const json = (res: Http.ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify(body))
}

const readBody = (req: Http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

export const start = async (options: Options = {}): Promise<FakeServer> => {
  const queueMillis = options.queueMillis ?? 1000
  const runMillis = options.runMillis ?? 2000
  const fixtures = Videos.load()
  const jobs = new Map<string, Job>()
  const creates: Array<{ id: string; model: string; prompt: string }> = []
  const charges: Array<{ id: string; model: string; usd: string }> = []
  const paths = new Map(Object.entries(Catalog.paths).map(([model, path]) => [`/${path}`, model]))
  let baseUrl = ""

  const phase = (job: Job) => {
    const age = Date.now() - job.createdAt
    return age < queueMillis ? "IN_QUEUE" : age < queueMillis + runMillis ? "IN_PROGRESS" : "COMPLETED"
  }
  const failure = (job: Job) =>
    job.prompt.includes("[unsafe]")
      ? { error: "The prompt was flagged by the content checker", error_type: "content_policy_violation" }
      : job.prompt.includes("[fail]")
        ? { error: "The model could not generate this video", error_type: "generation_error" }
        : undefined
  const charge = (job: Job) => {
    if (failure(job) !== undefined || charges.some((c) => c.id === job.id)) return
    const price = Catalog.models.find((model) => model.id === job.model)!.price
    charges.push({ id: job.id, model: job.model, usd: Money.format(price) })
  }

  const handle = async (req: Http.IncomingMessage, res: Http.ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://fake")
    if (req.method === "GET" && url.pathname === "/__fake/ledger") return json(res, 200, { creates, charges })
    const file = /^\/files\/([\w-]+)\.mp4$/.exec(url.pathname)
    if (req.method === "GET" && file !== null) {
      const job = jobs.get(file[1]!)
      const fixture = job === undefined ? undefined : fixtures.get(Videos.fixtureName(job.size, 8))
      if (fixture === undefined) return json(res, 404, { detail: "Not Found" })
      res.writeHead(200, { "content-type": "video/mp4", "content-length": fixture.bytes.length })
      return res.end(fixture.bytes)
    }
    const key = /^Key (.+)$/.exec(req.headers.authorization ?? "")?.[1]?.trim()
    if (key === undefined || key === "") return json(res, 401, { detail: "No user found for Key ID and Secret" })
    const model = paths.get(url.pathname)
    if (req.method === "POST" && model !== undefined) {
      let input: { prompt?: unknown; aspect_ratio?: unknown; resolution?: unknown }
      try {
        input = JSON.parse(await readBody(req))
      } catch {
        return json(res, 422, { detail: [{ loc: ["body"], msg: "Invalid JSON", type: "value_error" }] })
      }
      if (typeof input.prompt !== "string" || input.prompt.trim() === "") {
        return json(res, 422, { detail: [{ loc: ["body", "prompt"], msg: "Field required", type: "missing" }] })
      }
      const portrait = input.aspect_ratio === "9:16"
      const size =
        input.resolution === "1080p" ? (portrait ? "1080x1920" : "1920x1080") : portrait ? "720x1280" : "1280x720"
      const job = { id: randomUUID(), model, prompt: input.prompt, size, createdAt: Date.now() }
      jobs.set(job.id, job)
      creates.push({ id: job.id, model, prompt: job.prompt })
      const at = `${baseUrl}${url.pathname}/requests/${job.id}`
      return json(res, 200, {
        request_id: job.id,
        status_url: `${at}/status`,
        response_url: at,
        cancel_url: `${at}/cancel`
      })
    }
    const request = /^\/(.+)\/requests\/([\w-]+)(\/status)?$/.exec(url.pathname)
    const job = request === null ? undefined : jobs.get(request[2]!)
    if (req.method !== "GET" || job === undefined) return json(res, 404, { detail: "Request not found" })
    const status = phase(job)
    if (request![3] !== undefined) {
      if (status === "COMPLETED") charge(job)
      const position = status === "IN_QUEUE" ? { queue_position: 0 } : {}
      return json(res, status === "COMPLETED" ? 200 : 202, { status, request_id: job.id, ...position, ...failure(job) })
    }
    if (status !== "COMPLETED") return json(res, 400, { detail: "Request is still in progress" })
    const failed = failure(job)
    if (failed !== undefined) return json(res, 422, { detail: [{ msg: failed.error, type: failed.error_type }] })
    charge(job)
    const bytes = fixtures.get(Videos.fixtureName(job.size, 8))!.bytes.length
    return json(res, 200, {
      video: {
        url: `${baseUrl}/files/${job.id}.mp4`,
        content_type: "video/mp4",
        file_name: "output.mp4",
        file_size: bytes
      }
    })
  }

  const server = Http.createServer((req, res) => {
    handle(req, res).catch((error) => json(res, 500, { detail: String(error) }))
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve))
  const address = server.address() as AddressInfo
  baseUrl = `http://${address.address}:${address.port}`
  return {
    baseUrl,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** What a request to the fake does, for the conformance kit's fault proxy (`Target.fake`). */
export const classify = ({ method, path }: { readonly method: string; readonly path: string }) =>
  method === "POST"
    ? ("create" as const)
    : path.startsWith("/files/")
      ? ("download" as const)
      : path.endsWith("/status")
        ? ("status" as const)
        : path.includes("/requests/")
          ? ("content" as const)
          : ("other" as const)
