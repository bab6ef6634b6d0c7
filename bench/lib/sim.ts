/**
 * The simulator of one benchmark scenario, in its own process (forked by `run.ts` over IPC), so
 * the contestants' CPU and memory figures are their own. Besides serving, it answers the
 * orchestrator's questions from its own records (no request log ever crosses a socket):
 *
 * - `analyze(key)`: what the simulator saw of the client using `key` — creates, status and content
 *   requests per task, CDN downloads, and per task the detection delay: the arrival of the first
 *   status request whose answer described the task as completed (`RequestRecord.phase`), minus the
 *   instant the task completed in the simulated timeline (`Timeline.endsAt`). Both come from the same
 *   clock, the same process, in milliseconds: the measure is exact to the millisecond.
 * - `usage`: the simulator process's own memory (after a full GC) and CPU, with the tasks and
 *   requests it holds: what holding 100,000 tasks costs the simulator itself.
 * - `reset`: forget every task and log before the next contestant.
 */

import { Simulator, Timeline } from "@reelay/simulator"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import type { Analysis, SimReply, SimRequest } from "./protocol.js"

const options = JSON.parse(process.env.BENCH_SIM_OPTIONS ?? "{}") as { timeScale: number; seed?: string }

const analyze = (sim: Simulator.Service, key: string): Analysis => {
  const fp = Simulator.fingerprint(key)
  const state = sim.state
  const now = state.now()
  const tasks = [...state.tasks.all()].filter((task) => task.account.fingerprint === fp)
  const byId = new Map(tasks.map((task) => [task.id, task]))
  const perTask = new Map<string, { status: number; content: number; cdn: number; seenAt: number | undefined }>()
  for (const task of tasks) perTask.set(task.id, { status: 0, content: 0, cdn: 0, seenAt: undefined })
  let creates = 0
  let firstCreateAt = Number.POSITIVE_INFINITY
  let lastCreateAt = Number.NEGATIVE_INFINITY
  let errors = 0
  let other = 0
  const statuses: Record<string, number> = {}
  for (const record of state.requests.list()) {
    if (record.authorization.fingerprint !== fp) continue
    const at = Date.parse(record.at)
    const code = String(record.status ?? record.outcome)
    statuses[code] = (statuses[code] ?? 0) + 1
    if (record.status === null || record.status >= 400) errors++
    if (record.route === "create") {
      creates++
      firstCreateAt = Math.min(firstCreateAt, at)
      lastCreateAt = Math.max(lastCreateAt, at)
      continue
    }
    const entry = record.taskId === null ? undefined : perTask.get(record.taskId)
    if (entry === undefined) {
      other++
      continue
    }
    if (record.route === "status" || record.route === "compat-status") {
      entry.status++
      if (record.phase === "completed" && entry.seenAt === undefined) entry.seenAt = at
    } else if (record.route === "content") {
      entry.content++
    } else {
      other++
    }
  }
  for (const record of state.cdnRequests.list()) {
    const entry = record.taskId === null ? undefined : perTask.get(record.taskId)
    if (entry !== undefined && record.method === "GET") entry.cdn++
  }
  const delays: Array<number> = []
  let lastEndsAt = Number.NEGATIVE_INFINITY
  let lastTask: string | undefined
  let completed = 0
  let status = 0
  let content = 0
  let cdn = 0
  for (const [id, entry] of perTask) {
    const task = byId.get(id)!
    const endsAt = Timeline.endsAt(task.timeline, task.outcome)
    if (endsAt > lastEndsAt) {
      lastEndsAt = endsAt
      lastTask = id
    }
    if (endsAt <= now && task.outcome._tag === "Success") completed++
    if (entry.seenAt !== undefined) delays.push(entry.seenAt - endsAt)
    status += entry.status
    content += entry.content
    cdn += entry.cdn
  }
  const last = lastTask === undefined ? undefined : byId.get(lastTask)
  return {
    tasks: tasks.length,
    completed,
    creates,
    status,
    content,
    cdn,
    other,
    errors,
    statuses,
    delays: delays.sort((a, b) => a - b),
    firstCreateAt: Number.isFinite(firstCreateAt) ? firstCreateAt : undefined,
    lastCreateAt: Number.isFinite(lastCreateAt) ? lastCreateAt : undefined,
    lastEndsAt: Number.isFinite(lastEndsAt) ? lastEndsAt : undefined,
    lastUrl: last === undefined ? undefined : `${state.urls.cdn}${last.cdnPath}`,
    lastBytes: last?.asset.size
  }
}

const main = async () => {
  const scope = Effect.runSync(Scope.make())
  const sim = await Effect.runPromise(
    Simulator.make({
      timeScale: options.timeScale,
      seed: options.seed ?? "bench",
      // Every request of the largest run is kept (the fixed-interval peers make hundreds of thousands).
      logCapacity: 20_000_000
    }).pipe(Scope.extend(scope))
  )
  const send = (reply: SimReply) => process.send?.(reply)
  process.on("message", (message: SimRequest) => {
    switch (message.op) {
      case "analyze":
        return send({ id: message.id, result: analyze(sim, message.key) })
      case "usage": {
        globalThis.gc?.()
        const usage = process.resourceUsage()
        const memory = process.memoryUsage()
        return send({
          id: message.id,
          result: {
            tasks: sim.state.tasks.size(),
            requests: sim.state.requests.count(),
            rss: memory.rss,
            heapUsed: memory.heapUsed,
            cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6
          }
        })
      }
      case "reset":
        Effect.runSync(sim.reset)
        globalThis.gc?.()
        return send({ id: message.id, result: null })
      case "stop":
        return void Effect.runPromise(Scope.close(scope, Exit.void)).then(() => process.exit(0))
    }
  })
  process.on("disconnect", () => process.exit(0))
  send({ id: 0, result: sim.urls })
}

void main()
