/**
 * The steps every request shares, whatever its protocol: authenticate, collect the faults that apply,
 * answer transient failures before anything happens, check the balance, then create the task and
 * charge it by the protocol's rule. Keeping them in one place keeps the protocols' billing and fault
 * behaviour identical wherever the vendors' rules are.
 *
 * @since 0.1.0
 */
import * as BigDecimal from "effect/BigDecimal"
import * as Auth from "./Auth.js"
import type { Directive, Kind, Stage } from "./Directive.js"
import * as Faults from "./Faults.js"
import type { Exchange } from "./Http.js"
import * as Http from "./Http.js"
import type { Account, Charge } from "./Ledger.js"
import type { Model } from "./Models.js"
import * as Seeded from "./Seeded.js"
import type { State } from "./State.js"
import type { Task } from "./Tasks.js"
import * as Tasks from "./Tasks.js"
import * as Timeline from "./Timeline.js"
import * as Videos from "./Videos.js"

/** Checks the credentials for the request's host; answers 401 when they are refused. */
export const authorize = (x: Exchange): Account | undefined => {
  const result = Auth.authenticate(x.host ?? "laozhang", Http.header(x, "authorization"), x.state.keys)
  if (result._tag === "Refused") {
    Http.sendError(x, "invalid_api_key", result.message)
    return undefined
  }
  return result.account
}

/**
 * The identity of a logical request, so retries share fault counts: the `Idempotency-Key` when the
 * client sends one, otherwise the key, route, model and prompt (a retry repeats all four).
 */
export const identity = (x: Exchange, account: Account, model: string, prompt: string): string => {
  const key = Http.header(x, "idempotency-key")
  return [account.fingerprint, x.host, ...(key === undefined ? [x.record.route, model, prompt] : ["key", key])].join(
    "\u0000"
  )
}

/** The faults of one create, split by when they act. */
export interface CreateFaults {
  /** Acting on this create (transient errors, resets, malformed answer, refusals). */
  readonly now: ReadonlyArray<Directive>
  /** Shaping the new task (outcome, expiry, padding, timing, SSE cut). */
  readonly task: ReadonlyArray<Directive>
  /** Acting on later requests about the task. */
  readonly later: ReadonlyArray<Directive>
}

/**
 * The create faults that answer the request in place of the service: before it acts (a reset, 429,
 * 500, 503), or, for a gateway's 502 / 504, after the service behind the gateway created the task.
 */
const answersInstead: ReadonlySet<Kind> = new Set<Kind>(["reset-before-create", "429", "500", "503", "502", "504"])

/**
 * A gateway's errors. On a create they come after the request was forwarded and the task created
 * (see `answerCreated`); on any other request, before anything happens.
 */
const gatewayErrors: ReadonlySet<Kind> = new Set<Kind>(["502", "504"])

/** Sorts the prompt's directives and the global rules that fire for this create. */
export const collect = (
  x: Exchange,
  directives: ReadonlyArray<Directive>,
  requestIdentity: string,
  model: Model
): CreateFaults => {
  const now: Array<Directive> = []
  const task: Array<Directive> = []
  const later: Array<Directive> = []
  // One request gets at most one answer: once a directive that answers in place of the service
  // (429, 5xx, a reset) is taken, the others keep their hits for the retries that follow, so
  // `@sim:429 @sim:503` answers 429, then 503, then the real thing.
  let answered = false
  directives.forEach((d, index) => {
    const stage = Faults.actsAt(d)
    // A cut stream is retried by sending the same request again: it counts per logical request like a
    // create fault. The other task-shaping directives describe every task made from the prompt.
    if (stage === "task" && d.kind === "sse-cut") {
      if (x.state.faults.takeBurst(requestIdentity, index, d)) task.push(d)
    } else if (stage === "task") task.push(d)
    else if (stage !== "create") later.push(d)
    else if (answersInstead.has(d.kind) && answered) return
    else if (x.state.faults.takeBurst(requestIdentity, index, d)) {
      now.push(d)
      if (answersInstead.has(d.kind)) answered = true
    }
  })
  const facts = { host: x.host, protocol: model.protocol, model: model.id }
  now.push(...x.state.faults.fire({ ...facts, stage: "create" }))
  task.push(...x.state.faults.fire({ ...facts, stage: "task" }))
  return { now, task, later }
}

/** The first directive of `kind`, if any. */
export const find = (ds: ReadonlyArray<Directive>, kind: Kind): Directive | undefined => ds.find((d) => d.kind === kind)

const note = (x: Exchange, d: Directive) => {
  x.record.faults.push(d.text)
}

/**
 * Applies the faults that answer before the request is processed: `slow` (a delay), then
 * `reset-before-create`, `429`, `500`, `503`, and `502` / `504` except on a create (`stage`), where
 * the gateway answers them after the task exists. Returns `true` when the request has been answered.
 */
export const transient = async (x: Exchange, ds: ReadonlyArray<Directive>, stage: Stage): Promise<boolean> => {
  for (const d of ds) {
    if (d.kind !== "slow") continue
    note(x, d)
    await Http.sleep(d.ms ?? 0, x.state.shutdown.signal, x.req.socket)
    if (x.res.destroyed) return true
  }
  for (const d of ds) {
    switch (d.kind) {
      case "reset-before-create":
        note(x, d)
        Http.reset(x)
        return true
      case "429":
        note(x, d)
        Http.sendError(x, "rate_limited", "Too many requests, please slow down (simulated)", {
          "retry-after": String(Math.ceil(d.retryAfter ?? 1)),
          "retry-after-ms": String(Math.round((d.retryAfter ?? 1) * 1000))
        })
        return true
      case "500":
        note(x, d)
        Http.sendError(x, "internal", "Internal server error (simulated)")
        return true
      case "503":
        note(x, d)
        Http.sendError(
          x,
          "unavailable",
          "Service temporarily unavailable (simulated)",
          d.retryAfter === undefined ? {} : { "retry-after": String(Math.ceil(d.retryAfter)) }
        )
        return true
      case "502":
      case "504":
        if (stage === "create") continue
        note(x, d)
        Http.sendGateway(x, d.kind === "502" ? 502 : 504)
        return true
    }
  }
  return false
}

/**
 * The gateway's error that answers a create whose task the service behind it has just created, if
 * any: `502` (the service's answer was lost on its way back) or `504` (the gateway stopped waiting
 * for it). The task stays, and is charged by its rule as if the answer had arrived.
 */
export const gatewayError = (ds: ReadonlyArray<Directive>): Directive | undefined =>
  ds.find((d) => gatewayErrors.has(d.kind))

/** Sends the gateway's error `d` (a `502` or `504` directive) in place of the create's answer. */
export const answerGateway = (x: Exchange, d: Directive): void => {
  note(x, d)
  Http.sendGateway(x, d.kind === "504" ? 504 : 502)
}

/**
 * Holds the answer to a create whose task exists for `slow-after-create`'s `ms` (wall clock), the
 * way a busy service answers after the client's own timeout. Returns `true` when the client left
 * meanwhile (the task stays, and is charged by its rule): there is nobody left to answer.
 */
export const holdAnswer = async (x: Exchange, ds: ReadonlyArray<Directive>): Promise<boolean> => {
  const late = find(ds, "slow-after-create")
  if (late === undefined) return false
  note(x, late)
  await Http.sleep(late.ms ?? 0, x.state.shutdown.signal, x.req.socket)
  return x.res.destroyed || x.req.socket.destroyed
}

/**
 * Refuses a create the account cannot pay for (402 / `quota_exceeded`), or that an
 * `insufficient-balance` directive refuses. Returns `true` when the request has been answered.
 */
export const refuseUnfunded = (x: Exchange, account: Account, model: Model, ds: ReadonlyArray<Directive>): boolean => {
  const forced = find(ds, "insufficient-balance")
  if (forced !== undefined) note(x, forced)
  const balance = x.state.ledger.balance(account)
  if (forced === undefined && !BigDecimal.lessThan(balance, BigDecimal.unsafeFromString(model.price))) return false
  Http.sendError(
    x,
    "insufficient_balance",
    x.host === "apiyi"
      ? "Quota exceeded: the key's balance does not cover this request"
      : `Insufficient balance: ${model.id} costs $${model.price} per video`
  )
  return true
}

/** Refuses a create with `content-policy(on=create)`. Returns `true` when answered. */
export const refuseByPolicy = (x: Exchange, ds: ReadonlyArray<Directive>): boolean => {
  const d = find(ds, "content-policy")
  if (d === undefined) return false
  note(x, d)
  Http.sendError(x, "content_policy", "The prompt was rejected by the content safety system (simulated)")
  return true
}

/**
 * A create repeating an `Idempotency-Key` already used by the same account: answered with the first
 * task's own create response, marked as replayed. Returns `true` when it has answered.
 */
export const replayIdempotent = (x: Exchange, account: Account): boolean => {
  const scope = idempotencyScope(x, account)
  const previous = scope === undefined ? undefined : x.state.tasks.byIdempotencyKey(scope)
  if (previous === undefined) return false
  x.record.taskId = previous.id
  // The first create may still be waiting for its save: its id goes out only once it is on disk.
  whenDurable(x, () => Http.sendJson(x, 200, previous.createResponse, { "idempotent-replayed": "true" }))
  return true
}

/** Remembers a new task under the create's `Idempotency-Key`, if it carried one that counts. */
export const rememberIdempotent = (x: Exchange, account: Account, task: Task): void => {
  const scope = idempotencyScope(x, account)
  if (scope !== undefined) x.state.tasks.rememberIdempotencyKey(scope, task)
}

/** How the task-shaping directives change a new task. */
export interface Shape {
  readonly outcome: Timeline.Outcome
  readonly expireAfterMs: number | undefined
  readonly padTo: number | undefined
  readonly timing:
    | { readonly queueMs: number; readonly runMs: number; readonly curve?: Timeline.Curve | undefined }
    | undefined
  readonly sseCut: Directive | undefined
}

/**
 * Reads the task-shaping directives. `streams`: whether the protocol answers with an SSE stream;
 * where it does not, `sse-cut` has nothing to cut and is not logged as applied.
 */
export const shape = (x: Exchange, ds: ReadonlyArray<Directive>, streams: boolean): Shape => {
  for (const d of ds) if (streams || d.kind !== "sse-cut") note(x, d)
  const policy = find(ds, "content-policy")
  const fail = find(ds, "fail")
  const outcome: Timeline.Outcome =
    policy !== undefined
      ? {
          _tag: "Failure",
          code: "content_policy_violation",
          message: "The request was rejected by the content safety system (simulated)",
          at: 0
        }
      : fail !== undefined
        ? {
            _tag: "Failure",
            code: fail.value ?? "generation_failed",
            message: "Video generation failed (simulated)",
            at: fail.at ?? 0.5
          }
        : { _tag: "Success" }
  const timing = find(ds, "timing")
  return {
    outcome,
    expireAfterMs: find(ds, "expire")?.afterMs,
    padTo: find(ds, "pad")?.bytes,
    timing:
      timing === undefined
        ? undefined
        : { queueMs: timing.queueMs ?? 0, runMs: timing.runMs ?? 1000, curve: timing.curve },
    sseCut: streams ? find(ds, "sse-cut") : undefined
  }
}

/** What a protocol decided about a new task. */
export interface NewTask {
  readonly model: Model
  readonly account: Account
  readonly prompt: string
  readonly idPrefix: string
  /** The CDN folder: `flow` for Veo, `sora` for Sora. */
  readonly cdnFolder: string
  readonly size: string
  readonly seconds: number
  readonly resolution?: string
  readonly aspectRatio?: string
  readonly images: number
  readonly shape: Shape
  readonly later: ReadonlyArray<Directive>
}

/**
 * Creates the task and charges it by its model's rule: `per-request` and `on-response` now;
 * `on-success` when the task completes, and only if it completes before it expires.
 */
export const createTask = (x: Exchange, spec: NewTask): Task => {
  const state = x.state
  const seq = state.nextSeq()
  const now = state.now()
  const seed = state.config.seed
  const timeline = Timeline.plan(state.config, spec.model, seq, now, spec.shape.timing)
  const expiresAt = now + (spec.shape.expireAfterMs ?? state.taskTtlMs())
  const completesAt = Timeline.completesAt(timeline)
  const fixture = state.fixtures.get(Videos.fixtureName(spec.size, spec.seconds))
  if (fixture === undefined) throw new Error(`no video file for ${spec.size} ${spec.seconds}s`)
  const task: Task = {
    id: `${spec.idPrefix}${Seeded.hex(spec.idPrefix.startsWith("foaicmpl") ? 32 : 24, seed, "id", seq)}`,
    seq,
    host: x.host ?? "laozhang",
    model: spec.model,
    prompt: spec.prompt,
    account: spec.account,
    timeline,
    outcome: spec.shape.outcome,
    expiresAt,
    urlExpiresAt: Math.min(expiresAt, completesAt + state.urlTtlMs()),
    asset: Videos.asset(fixture, spec.shape.padTo),
    cdnPath: `/assets/${spec.cdnFolder}/${Seeded.hex(32, seed, "asset", seq)}.mp4`,
    size: spec.size,
    seconds: spec.seconds,
    resolution: spec.resolution,
    aspectRatio: spec.aspectRatio,
    images: spec.images,
    directives: spec.later,
    hits: new Map(),
    idempotencyKey: Http.header(x, "idempotency-key") ?? null,
    createResponse: undefined
  }
  state.tasks.add(task)
  x.record.taskId = task.id
  if (spec.model.rule !== "on-success") state.ledger.charge(spec.account, chargeOf(task), now)
  else scheduleOnSuccess(state, task)
  return task
}

/** What `task` is charged, by its model's price and rule. */
export const chargeOf = (task: Task): Charge => ({
  host: task.host,
  protocol: task.model.protocol,
  model: task.model.id,
  taskId: task.id,
  key: task.account.fingerprint,
  amount: task.model.price,
  currency: "USD",
  rule: task.model.rule
})

/**
 * Schedules an `on-success` task's charge at its completion, if it succeeds and completes before it
 * expires and was not charged already (a task resumed from a state file may have been).
 */
export const scheduleOnSuccess = (state: State, task: Task): void => {
  const completesAt = Timeline.completesAt(task.timeline)
  if (task.model.rule !== "on-success" || task.outcome._tag !== "Success" || completesAt >= task.expiresAt) return
  if (state.ledger.charged(task.id)) return
  state.ledger.schedule(task.account, chargeOf(task), completesAt)
}

/** The scope of an idempotency key: one key, one account, one host. */
export const idempotencyScope = (x: Exchange, account: Account): string | undefined => {
  const key = Http.header(x, "idempotency-key")
  if (!x.state.config.honourIdempotencyKey || key === undefined) return undefined
  return [x.host, account.fingerprint, key].join("\u0000")
}

/**
 * Answers a create whose task exists: `slow-after-create` first holds the answer; then
 * `reset-after-create` cuts the connection, `502` / `504` answer as the gateway, `malformed` sends a
 * broken body, otherwise `body`. In every case the task stays, charged where its rule says so.
 */
export const answerCreated = (x: Exchange, ds: ReadonlyArray<Directive>, body: unknown): void => {
  whenDurable(x, () =>
    holdAnswer(x, ds).then((left) => {
      if (!left) answerNow(x, ds, body)
    })
  )
}

/**
 * Runs `answer` once every change so far is on disk (at once without a state file). A task's id then
 * reaches the client only after the task is saved, so a client that recorded the id finds the task
 * in a later run even if this process dies right after answering.
 */
const whenDurable = (x: Exchange, answer: () => void | Promise<void>): void => {
  const failed = (error: unknown) => {
    console.error("[reelay simulator] answering a create failed:", error)
    x.res.destroy()
  }
  const saved = x.state.persist.durable()
  if (saved === undefined) {
    answer()?.catch(failed)
    return
  }
  saved.then(answer).catch(failed)
}

const answerNow = (x: Exchange, ds: ReadonlyArray<Directive>, body: unknown): void => {
  const cut = find(ds, "reset-after-create")
  if (cut !== undefined) {
    note(x, cut)
    Http.reset(x)
    return
  }
  const gateway = gatewayError(ds)
  if (gateway !== undefined) {
    answerGateway(x, gateway)
    return
  }
  const malformed = ds.find((d) => d.kind === "malformed")
  if (malformed !== undefined) {
    note(x, malformed)
    Http.sendMalformed(x, JSON.stringify(body))
    return
  }
  Http.sendJson(x, 200, body)
}

/** The faults acting on a request about `task` at `stage`: the task's own directives, then global rules. */
export const faultsAt = (state: State, task: Task, stage: Stage): ReadonlyArray<Directive> => [
  ...Tasks.takeFaults(task, stage),
  ...state.faults.fire({ stage, host: task.host, protocol: task.model.protocol, model: task.model.id })
]

/** Records that a fault was applied to this request. */
export const noteFault = note
