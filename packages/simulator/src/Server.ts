/**
 * The two listening sockets: the API origin (both hosts under their path prefixes, and `/_sim`) and
 * the CDN origin on a port of its own, so a client sees two different origins exactly as with the
 * real vendors. Plain `node:http`, because faults need the raw socket: a reset before or after the
 * create, a body cut short, a stream cut mid-way.
 *
 * @since 0.1.0
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import * as AsyncVideos from "./AsyncVideos.js"
import * as Cdn from "./Cdn.js"
import * as Control from "./Control.js"
import type { Exchange } from "./Http.js"
import * as Http from "./Http.js"
import * as Models from "./Models.js"
import * as OfficialForward from "./OfficialForward.js"
import * as Pipeline from "./Pipeline.js"
import * as RequestLog from "./RequestLog.js"
import * as SoraChat from "./SoraChat.js"
import { hostOf, type State, type Urls } from "./State.js"
import * as TaskRoutes from "./TaskRoutes.js"

/** Where to listen. Port 0 picks a free port. */
export interface ListenOptions {
  readonly hostname: string
  readonly port: number
  readonly cdnPort: number
  /** Ports to try first (a resumed simulator's last ones), falling back to `port` / `cdnPort` when taken. */
  readonly preferred?: { readonly port?: number | undefined; readonly cdnPort?: number | undefined } | undefined
}

/** Two listening servers. */
export interface Running {
  readonly urls: Urls
  readonly close: () => Promise<void>
}

type Route = "create" | "status" | "content" | "compat-status" | "chat" | "unknown"

const routeOf = (method: string, host: string, rest: ReadonlyArray<string>): { route: Route; id?: string } => {
  const [a, b, c] = rest
  if (method === "POST" && rest.length === 1 && a === "videos") return { route: "create" }
  if (method === "GET" && rest.length === 2 && a === "videos") return { route: "status", id: b! }
  if ((method === "GET" || method === "HEAD") && rest.length === 3 && a === "videos" && c === "content") {
    return { route: "content", id: b! }
  }
  if (host === "laozhang" && method === "GET" && rest.length === 3 && a === "video" && b === "generations") {
    return { route: "compat-status", id: c! }
  }
  if (host === "laozhang" && method === "POST" && rest.length === 2 && a === "chat" && b === "completions") {
    return { route: "chat" }
  }
  return { route: "unknown" }
}

/** `POST /v1/videos`: authenticate, read the body, dispatch on the model as the real host does. */
const create = async (x: Exchange): Promise<void> => {
  const account = Pipeline.authorize(x)
  if (account === undefined) return
  const bytes = await Http.readBody(x, x.state.maxBodyBytes)
  if (bytes === undefined) return
  const body = await Http.parseBody(Http.header(x, "content-type"), bytes)
  if (body._tag === "Invalid") return Http.sendError(x, "invalid_request", body.message)
  const raw =
    body._tag === "Json"
      ? (body.value as { model?: unknown } | null)?.model
      : body._tag === "Multipart"
        ? body.form.get("model")
        : undefined
  if (typeof raw !== "string" || raw.trim() === "") {
    return Http.sendError(x, "invalid_request", "model is required")
  }
  x.record.model = raw
  const host = x.host ?? "laozhang"
  const model = Models.find(host, raw)
  if (model === undefined) {
    const known = [...Models.catalog[host].values()].filter((m) => m.protocol !== "sora").map((m) => m.id)
    return Http.sendError(x, "invalid_model", `Model ${raw} does not exist. Available models: ${known.join(", ")}`)
  }
  switch (model.protocol) {
    case "async":
      return AsyncVideos.create(x, account, body, model)
    case "official":
      return OfficialForward.create(x, account, body, model)
    case "sora":
      return Http.sendError(x, "invalid_model", `Model ${raw} is served by /v1/chat/completions, not /v1/videos`)
  }
}

const chat = async (x: Exchange): Promise<void> => {
  const account = Pipeline.authorize(x)
  if (account === undefined) return
  const bytes = await Http.readBody(x, x.state.maxBodyBytes)
  if (bytes === undefined) return
  const body = await Http.parseBody(Http.header(x, "content-type"), bytes)
  if (body._tag === "Invalid") return Http.sendError(x, "invalid_request", body.message)
  return SoraChat.create(x, account, body)
}

const apiHandler =
  (state: State) =>
  async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://api.invalid")
    const segments = url.pathname.split("/").filter((s) => s !== "")
    if (segments[0] === "_sim") return Control.handle(state, req, res, url, segments.slice(1))
    const host = hostOf(segments[0])
    const method = req.method ?? "GET"
    const { route, id } =
      host !== undefined && segments[1] === "v1"
        ? routeOf(method, host, segments.slice(2))
        : { route: "unknown" as const, id: undefined }
    const record = state.requests.push((seq) => ({
      seq,
      at: new Date(state.clock.now()).toISOString(),
      method,
      path: req.url ?? "/",
      host: host ?? null,
      route,
      model: null,
      taskId: id ?? null,
      headers: RequestLog.redactHeaders(req.headers),
      authorization: RequestLog.describeAuthorization(req.headers.authorization),
      idempotencyKey: (req.headers["idempotency-key"] as string | undefined) ?? null,
      status: null,
      faults: [],
      outcome: "pending",
      error: null,
      phase: null
    }))
    res.once("close", () => {
      if (record.outcome === "pending") record.outcome = "aborted"
    })
    const x: Exchange = { req, res, url, host, record, state }
    try {
      switch (route) {
        case "create":
          return await create(x)
        case "chat":
          return await chat(x)
        case "status":
          return await TaskRoutes.status(x, id!, false)
        case "compat-status":
          return await TaskRoutes.status(x, id!, true)
        case "content":
          return await TaskRoutes.content(x, id!)
        case "unknown":
          return Http.sendError(x, "route_not_found", `Invalid URL (${method} ${url.pathname})`)
      }
    } catch (error) {
      console.error("[reelay simulator] handler failed:", error)
      if (!res.headersSent) Http.sendError(x, "internal", "Internal server error")
      else res.destroy()
    }
  }

const listenOn = (server: Server, hostname: string, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once("error", reject)
    // A deep backlog: the benchmark opens thousands of connections at once.
    server.listen({ host: hostname, port, backlog: 4096 }, () => {
      server.off("error", reject)
      resolve((server.address() as AddressInfo).port)
    })
  })

const listenPreferring = async (
  server: Server,
  hostname: string,
  preferred: number | undefined,
  port: number
): Promise<number> => {
  if (preferred !== undefined && preferred > 0) {
    try {
      return await listenOn(server, hostname, preferred)
    } catch {
      // Taken (or not ours to take): a fresh port, as without a preference. Node lets a server
      // listen again after a failed listen.
    }
  }
  return listenOn(server, hostname, port)
}

const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    if (!server.listening) return resolve()
    server.close(() => resolve())
    server.closeAllConnections()
  })

const tune = (server: Server): Server => {
  // Long SSE streams and slow-fault responses must not be cut by Node's own request timeout.
  server.requestTimeout = 0
  server.keepAliveTimeout = 30_000
  server.headersTimeout = 60_000
  return server
}

/** Starts both servers and fills in `state.urls`. */
export const listen = async (state: State, options: ListenOptions): Promise<Running> => {
  const onApi = apiHandler(state)
  const onCdn = Cdn.handler(state)
  const api = tune(createServer((req, res) => void onApi(req, res)))
  const cdn = tune(createServer((req, res) => void onCdn(req, res)))
  try {
    const apiPort = await listenPreferring(api, options.hostname, options.preferred?.port, options.port)
    const cdnPort = await listenPreferring(cdn, options.hostname, options.preferred?.cdnPort, options.cdnPort)
    const origin = (port: number) =>
      `http://${options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname}:${port}`
    state.urls = {
      laozhang: `${origin(apiPort)}/laozhang/v1`,
      apiyi: `${origin(apiPort)}/apiyi/v1`,
      cdn: origin(cdnPort),
      control: `${origin(apiPort)}/_sim`
    }
  } catch (error) {
    await Promise.all([closeServer(api), closeServer(cdn)])
    throw error
  }
  return {
    urls: state.urls,
    close: async () => {
      state.shutdown.abort()
      await Promise.all([closeServer(api), closeServer(cdn)])
    }
  }
}
