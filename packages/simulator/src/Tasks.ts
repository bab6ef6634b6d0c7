/**
 * The tasks a simulated host has accepted. A task is immutable apart from its fault counters: its
 * state at any instant comes from `Timeline.phaseAt`, and it disappears (404) after its expiry.
 *
 * @since 0.1.0
 */
import type { Directive, Stage } from "./Directive.js"
import type { Account } from "./Ledger.js"
import type { Host, Model } from "./Models.js"
import * as Timeline from "./Timeline.js"
import type { Asset } from "./Videos.js"

/** One accepted generation (an async or official task, or a Sora chat completion). */
export interface Task {
  readonly id: string
  readonly seq: number
  readonly host: Host
  readonly model: Model
  readonly prompt: string
  readonly account: Account
  readonly timeline: Timeline.Timeline
  readonly outcome: Timeline.Outcome
  /** The task answers 404 from this instant (simulator clock). */
  readonly expiresAt: number
  /** The video URL answers 404 from this instant. */
  readonly urlExpiresAt: number
  readonly asset: Asset
  /** The CDN path of the video, e.g. `/assets/flow/<token>.mp4`. */
  readonly cdnPath: string
  /** `WxH`, e.g. `720x1280`. */
  readonly size: string
  readonly seconds: number
  /** Extra fields of the official forward (`resolution`, `aspectRatio`). */
  readonly resolution: string | undefined
  readonly aspectRatio: string | undefined
  readonly images: number
  /** Directives acting on later requests about this task. */
  readonly directives: ReadonlyArray<Directive>
  /** Hits per directive (by index), so `times=N` counts requests about this task. */
  readonly hits: Map<number, number>
  readonly idempotencyKey: string | null
  /** The create response, replayed when idempotency keys are honoured. */
  createResponse: unknown
}

/** The task store. */
export interface Tasks {
  readonly add: (task: Task) => void
  /** The task `id`, unless unknown, expired (at `now`) or of another host. */
  readonly get: (host: Host, id: string, now: number) => Task | undefined
  /** The task `id` whatever its state (for the control endpoint). */
  readonly find: (id: string) => Task | undefined
  readonly byCdnPath: (path: string) => Task | undefined
  readonly byIdempotencyKey: (scope: string) => Task | undefined
  readonly rememberIdempotencyKey: (scope: string, task: Task) => void
  /** Every remembered `Idempotency-Key` scope with its task. */
  readonly idempotencyRecords: () => Iterable<readonly [string, Task]>
  readonly all: () => Iterable<Task>
  readonly size: () => number
  readonly clear: () => void
}

/** An empty store; `onChange` hears of every task added and every idempotency key remembered. */
export const make = (onChange: () => void = () => {}): Tasks => {
  const byId = new Map<string, Task>()
  const byPath = new Map<string, Task>()
  const byKey = new Map<string, Task>()
  let added = 0
  // A long-running simulator forgets tasks once both they and their URL have expired; swept now
  // and then on creation rather than by timers.
  const sweep = (now: number) => {
    for (const [id, task] of byId) {
      if (task.expiresAt > now || task.urlExpiresAt > now) continue
      byId.delete(id)
      byPath.delete(task.cdnPath)
    }
    for (const [scope, task] of byKey) if (!byId.has(task.id)) byKey.delete(scope)
  }
  return {
    add: (task) => {
      if (++added % 4096 === 0) sweep(task.timeline.createdAt)
      byId.set(task.id, task)
      byPath.set(task.cdnPath, task)
      onChange()
    },
    get: (host, id, now) => {
      const task = byId.get(id)
      if (task === undefined || task.host !== host || now >= task.expiresAt) return undefined
      return task
    },
    find: (id) => byId.get(id),
    byCdnPath: (path) => byPath.get(path),
    byIdempotencyKey: (scope) => byKey.get(scope),
    rememberIdempotencyKey: (scope, task) => {
      byKey.set(scope, task)
      onChange()
    },
    idempotencyRecords: () => byKey.entries(),
    all: () => byId.values(),
    size: () => byId.size,
    clear: () => {
      byId.clear()
      byPath.clear()
      byKey.clear()
    }
  }
}

/** The task's directives acting at `stage` that still have hits left, counting this hit. */
export const takeFaults = (task: Task, stage: Stage): ReadonlyArray<Directive> => {
  const fired: Array<Directive> = []
  task.directives.forEach((d, index) => {
    if (d.on !== stage) return
    const used = task.hits.get(index) ?? 0
    if (used >= d.times) return
    task.hits.set(index, used + 1)
    fired.push(d)
  })
  return fired
}

/** The task's state at `now`. */
export const phase = (task: Task, now: number): Timeline.Phase => Timeline.phaseAt(task.timeline, task.outcome, now)

/** Whether the video can be fetched at `now` (completed, URL not expired). */
export const videoAvailable = (task: Task, now: number): boolean =>
  now < task.urlExpiresAt && phase(task, now).status === "completed"

/** A task as the control endpoint shows it. */
export interface Snapshot {
  readonly id: string
  readonly host: Host
  readonly protocol: string
  readonly model: string
  /** `queued`, `running`, `completed`, `failed` or `expired` (the simulator's neutral vocabulary). */
  readonly status: string
  readonly progress: number
  readonly key: string
  readonly createdAt: string
  readonly queueMs: number
  readonly runMs: number
  /** When the task ends (completes or fails). */
  readonly endsAt: string
  readonly expiresAt: string
  readonly urlExpiresAt: string
  /** The CDN URL (also for official tasks, whose clients fetch `/content` instead). */
  readonly url: string
  readonly size: string
  readonly seconds: number
  readonly bytes: number
  readonly outcome: Timeline.Outcome
  readonly faults: ReadonlyArray<string>
  readonly idempotencyKey: string | null
}

/** Describes a task at `now`; `cdn` is the CDN's base URL. */
export const snapshot = (task: Task, now: number, cdn: string): Snapshot => {
  const p = phase(task, now)
  const iso = (ms: number) => new Date(ms).toISOString()
  return {
    id: task.id,
    host: task.host,
    protocol: task.model.protocol,
    model: task.model.id,
    status: now >= task.expiresAt ? "expired" : p.status,
    progress: p.progress,
    key: task.account.fingerprint,
    createdAt: iso(task.timeline.createdAt),
    queueMs: task.timeline.queueMs,
    runMs: task.timeline.runMs,
    endsAt: iso(Timeline.endsAt(task.timeline, task.outcome)),
    expiresAt: iso(task.expiresAt),
    urlExpiresAt: iso(task.urlExpiresAt),
    url: `${cdn}${task.cdnPath}`,
    size: task.size,
    seconds: task.seconds,
    bytes: task.asset.size,
    outcome: task.outcome,
    faults: task.directives.map((d) => d.text),
    idempotencyKey: task.idempotencyKey
  }
}
