/**
 * The control endpoint, `/_sim` on the API port: the ledger, the request logs, the tasks, the
 * balances, global fault rules, the clock and the configuration, all as JSON. It needs no key: the
 * simulator listens on loopback and is a development tool.
 *
 * @since 0.1.0
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Directive from "./Directive.js"
import * as Ledger from "./Ledger.js"
import * as Models from "./Models.js"
import { fingerprint } from "./RequestLog.js"
import type { State } from "./State.js"
import * as Tasks from "./Tasks.js"

const Host = Schema.Literal("laozhang", "apiyi")
const Protocol = Schema.Literal("async", "official", "sora")
const Timing = Schema.Struct({ minSeconds: Schema.NonNegative, maxSeconds: Schema.NonNegative })

/** `POST /_sim/faults`. */
export const FaultRuleInput = Schema.Struct({
  /** A directive without or with the `@sim:` prefix: `503(times=2)`, `fail`, `truncate(at=1000)`. */
  directive: Schema.String,
  host: Schema.optional(Host),
  protocol: Schema.optional(Protocol),
  model: Schema.optional(Schema.String),
  /** Overrides the directive's stage (same as `on=` inside it). */
  route: Schema.optional(Schema.Literal("create", "status", "content", "download")),
  /** How many requests it hits in total (default: unlimited). */
  count: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** The chance that it hits a matching request (default 1). */
  probability: Schema.optional(Schema.Number.pipe(Schema.between(0, 1)))
})

/** `POST /_sim/config`. */
export const ConfigInput = Schema.Struct({
  seed: Schema.optional(Schema.Union(Schema.String, Schema.Number)),
  timeScale: Schema.optional(Schema.Number.pipe(Schema.positive())),
  timings: Schema.optional(Schema.Record({ key: Schema.String, value: Timing })),
  queueFraction: Schema.optional(Schema.Tuple(Schema.Number, Schema.Number)),
  taskTtlSeconds: Schema.optional(Schema.NullOr(Schema.Number.pipe(Schema.positive()))),
  urlTtlSeconds: Schema.optional(Schema.NullOr(Schema.Number.pipe(Schema.positive()))),
  honourIdempotencyKey: Schema.optional(Schema.Boolean),
  soraProgressLines: Schema.optional(Schema.Int.pipe(Schema.between(0, 100)))
})

/** `POST /_sim/time`. */
export const TimeInput = Schema.Struct({
  advanceMs: Schema.optional(Schema.NonNegative),
  advanceSeconds: Schema.optional(Schema.NonNegative)
})

/** `POST /_sim/balances`: by raw key or by fingerprint. */
export const BalanceInput = Schema.Struct({
  host: Host,
  key: Schema.optional(Schema.String),
  fingerprint: Schema.optional(Schema.String),
  balance: Schema.String
})

/** Adds a global fault rule; returns it or why the directive is invalid. */
export const addRule = (state: State, input: typeof FaultRuleInput.Type) => {
  const withRoute =
    input.route === undefined
      ? input.directive
      : /\)\s*$/.test(input.directive)
        ? input.directive.replace(/\)\s*$/, `,on=${input.route})`)
        : `${input.directive}(on=${input.route})`
  const directive = Directive.parseOne(withRoute)
  if (typeof directive === "string") return Either.left(directive)
  const match = {
    ...(input.host === undefined ? {} : { host: input.host }),
    ...(input.protocol === undefined ? {} : { protocol: input.protocol }),
    ...(input.model === undefined ? {} : { model: input.model })
  }
  return Either.right(state.faults.add(directive, match, input.count ?? null, input.probability ?? 1))
}

/** The configuration as `GET /_sim/config` shows it. */
export const describeConfig = (state: State) => ({
  ...state.config,
  taskTtlMs: state.taskTtlMs(),
  urlTtlMs: state.urlTtlMs(),
  urls: state.urls,
  models: Object.fromEntries(
    (["laozhang", "apiyi"] as const).map((host) => [
      host,
      [...Models.catalog[host].values()].map((m) => ({ id: m.id, protocol: m.protocol, price: m.price, rule: m.rule }))
    ])
  )
})

const readJson = (req: IncomingMessage): Promise<unknown> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8")
      if (text.trim() === "") return resolve({})
      try {
        resolve(JSON.parse(text))
      } catch {
        resolve(undefined)
      }
    })
    req.on("error", () => resolve(undefined))
  })

const send = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body, null, 2)
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text)
  })
  res.end(text)
}

const bad = (res: ServerResponse, message: string) => send(res, 400, { error: { message } })

const decode = async <A, I>(req: IncomingMessage, schema: Schema.Schema<A, I>): Promise<A | string> => {
  const json = await readJson(req)
  if (json === undefined) return "body is not valid JSON"
  const result = Schema.decodeUnknownEither(schema)(json)
  return result._tag === "Right" ? result.right : `invalid body: ${result.left.message}`
}

const int = (value: string | null, fallback: number) => {
  const n = value === null ? Number.NaN : Number(value)
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : fallback
}

/** Handles `/_sim/...`; `path` is the part after `/_sim`. */
export const handle = async (
  state: State,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  path: ReadonlyArray<string>
): Promise<void> => {
  const method = req.method ?? "GET"
  const route = `${method} /${path.join("/")}`
  const q = url.searchParams
  const now = state.now()
  switch (route) {
    case "GET /":
    case "GET /health":
      return send(res, 200, { ok: true, urls: state.urls, tasks: state.tasks.size(), now: new Date(now).toISOString() })
    case "GET /config":
      return send(res, 200, describeConfig(state))
    case "POST /config": {
      const input = await decode(req, ConfigInput)
      if (typeof input === "string") return bad(res, input)
      const c = state.config
      if (input.seed !== undefined) c.seed = String(input.seed)
      if (input.timeScale !== undefined) c.timeScale = input.timeScale
      if (input.timings !== undefined) c.timings = { ...c.timings, ...input.timings }
      if (input.queueFraction !== undefined) c.queueFraction = [input.queueFraction[0], input.queueFraction[1]]
      if (input.taskTtlSeconds !== undefined) {
        c.taskTtlMs = input.taskTtlSeconds === null ? undefined : input.taskTtlSeconds * 1000
      }
      if (input.urlTtlSeconds !== undefined) {
        c.urlTtlMs = input.urlTtlSeconds === null ? undefined : input.urlTtlSeconds * 1000
      }
      if (input.honourIdempotencyKey !== undefined) c.honourIdempotencyKey = input.honourIdempotencyKey
      if (input.soraProgressLines !== undefined) c.soraProgressLines = input.soraProgressLines
      return send(res, 200, describeConfig(state))
    }
    case "GET /time":
      return send(res, 200, { now, iso: new Date(now).toISOString(), offsetMs: state.clock.offsetMs() })
    case "POST /time": {
      const input = await decode(req, TimeInput)
      if (typeof input === "string") return bad(res, input)
      state.clock.advance((input.advanceMs ?? 0) + (input.advanceSeconds ?? 0) * 1000)
      const after = state.now()
      return send(res, 200, { now: after, iso: new Date(after).toISOString(), offsetMs: state.clock.offsetMs() })
    }
    case "GET /ledger": {
      const entries = state.ledger
        .entries()
        .filter(
          (e) =>
            (q.get("host") === null || e.host === q.get("host")) &&
            (q.get("key") === null || e.key === q.get("key")) &&
            (q.get("taskId") === null || e.taskId === q.get("taskId")) &&
            (q.get("model") === null || e.model === q.get("model"))
        )
      return send(res, 200, {
        entries,
        count: entries.length,
        total: Ledger.total(entries),
        pending: state.ledger.pending()
      })
    }
    case "GET /balances":
      return send(res, 200, { balances: state.ledger.balances() })
    case "POST /balances": {
      const input = await decode(req, BalanceInput)
      if (typeof input === "string") return bad(res, input)
      const amount = Ledger.parseUsd(input.balance)
      const fp = input.fingerprint ?? (input.key === undefined ? undefined : fingerprint(input.key))
      if (amount === undefined || fp === undefined) return bad(res, "need key or fingerprint, and a decimal balance")
      state.ledger.setBalance(input.host, fp, amount)
      return send(res, 200, { host: input.host, key: fp, balance: Ledger.formatUsd(amount) })
    }
    case "GET /requests": {
      const requests = state.requests
        .list(int(q.get("since"), 0), int(q.get("limit"), Number.POSITIVE_INFINITY))
        .filter((r) => q.get("taskId") === null || r.taskId === q.get("taskId"))
      return send(res, 200, { requests, total: state.requests.count() })
    }
    case "GET /cdn/requests": {
      const requests = state.cdnRequests.list(int(q.get("since"), 0), int(q.get("limit"), Number.POSITIVE_INFINITY))
      return send(res, 200, { requests, total: state.cdnRequests.count() })
    }
    case "GET /faults":
      return send(res, 200, { rules: state.faults.list() })
    case "POST /faults": {
      const input = await decode(req, FaultRuleInput)
      if (typeof input === "string") return bad(res, input)
      const rule = addRule(state, input)
      return Either.isLeft(rule) ? bad(res, rule.left) : send(res, 201, rule.right)
    }
    case "DELETE /faults":
      state.faults.clear()
      return send(res, 200, { rules: [] })
    case "GET /tasks":
      return send(res, 200, {
        tasks: [...state.tasks.all()]
          .filter((t) => q.get("host") === null || t.host === q.get("host"))
          .map((t) => Tasks.snapshot(t, now, state.urls.cdn))
      })
    case "POST /reset":
      state.reset()
      return send(res, 200, { ok: true })
  }
  if (method === "DELETE" && path[0] === "faults" && path.length === 2) {
    return state.faults.remove(path[1]!)
      ? send(res, 200, { removed: path[1] })
      : send(res, 404, { error: { message: `no rule ${path[1]}` } })
  }
  if (method === "GET" && path[0] === "tasks" && path.length === 2) {
    const task = state.tasks.find(path[1]!)
    return task === undefined
      ? send(res, 404, { error: { message: `no task ${path[1]}` } })
      : send(res, 200, Tasks.snapshot(task, now, state.urls.cdn))
  }
  return send(res, 404, { error: { message: `no control route ${route}` } })
}
