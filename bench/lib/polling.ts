/**
 * The polling benchmark: one workload of N tasks, the same for every contestant, through one
 * simulator process; contestants one after another (the simulator is reset in between), each in its
 * own process, so none competes with another for the two cores or the simulator. Paired rounds: each
 * round runs every contestant once, the order reversed every other round, so a drift of the machine
 * over the scenario touches all alike; each figure is reported as the min and the median over rounds.
 */
import { execFileSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { benchDir, type Contestant } from "./bundle.js"
import { replay } from "./plan.js"
import { log, quantile, runContestant, type Sim, startSim } from "./proc.js"
import type { Analysis, ContestantResult } from "./protocol.js"
import { makeWorkload, type Workload } from "./workload.js"

export interface Entrant {
  readonly id: string
  readonly label: string
  readonly contestant: Contestant
  readonly settings: Readonly<Record<string, number | string | boolean>>
}

export const entrantsFor = (tasks: number, timeScale: number): ReadonlyArray<Entrant> => [
  {
    id: "reelay",
    label: "reelay, defaults (submit 10, status 10, download 5)",
    contestant: "reelay-polling",
    settings: {}
  },
  {
    id: "reelay-wide",
    label: "reelay, gates ≥ batch size, ≤ 256 connections per origin",
    contestant: "reelay-polling",
    // No fiber waits in reelay's gates; requests queue in undici's own FIFO instead, behind 256
    // sockets per origin (10,000 at once would exhaust the 20,000 file descriptors a process may open
    // here, files included).
    settings: { submit: tasks, status: tasks, statusConcurrency: tasks, download: tasks, connections: 256 }
  },
  {
    id: "central",
    label: "central poller: one timer, min-heap, Polling.plan (submit 10, status 10, download 5)",
    contestant: "central-polling",
    settings: {}
  },
  { id: "fixed", label: "reference loop: fixed 5 s, pool of 5", contestant: "fixed-polling", settings: { workers: 5 } },
  {
    id: "openai-scaled",
    label: "openai: 5 s × scale, all at once",
    contestant: "openai-polling",
    settings: { pollIntervalMs: 5000 * timeScale }
  },
  {
    id: "openai",
    label: "openai: 5 s unscaled, all at once",
    contestant: "openai-polling",
    settings: { pollIntervalMs: 5000 }
  },
  ...(tasks >= 10_000
    ? [
        {
          id: "openai-pooled",
          label: "openai: 5 s × scale, ≤ 256 connections per origin",
          contestant: "openai-polling" as const,
          settings: { pollIntervalMs: 5000 * timeScale, connections: 256 }
        }
      ]
    : [])
]

/** A figure over the rounds: the best and the typical. */
export interface Stat {
  readonly min: number
  readonly median: number
}

/** Min and median of the finite values, or `undefined` when there are none. */
export const stat = (values: ReadonlyArray<number | undefined>): Stat | undefined => {
  const finite = values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b)
  return finite.length === 0 ? undefined : { min: finite[0]!, median: quantile(finite, 0.5)! }
}

/** One contestant's run: what the simulator saw and what the process reported. */
interface Sample {
  readonly saved: number
  readonly failed: number
  readonly firstError: string | undefined
  readonly timedOut: boolean
  readonly wallSeconds: number
  readonly createdSeconds: number | undefined
  readonly statusPerVideo: number
  readonly contentPerVideo: number
  readonly requestsPerVideo: number
  readonly p50: number | undefined
  readonly p95: number | undefined
  readonly cpuSeconds: number
  readonly peakRssMB: number
  readonly eventLoopP99: number | undefined
}

export interface Row {
  readonly id: string
  readonly label: string
  readonly tasks: number
  /** Rounds run. */
  readonly rounds: number
  /** The fewest saved in a round, and the most failed. */
  readonly saved: number
  readonly failed: number
  readonly firstError: string | undefined
  /** Whether a round was stopped at the time limit (or crashed). */
  readonly timedOut: boolean
  readonly wall: Stat | undefined
  /** Wall time over the scenario's common ideal. */
  readonly ratio: Stat | undefined
  /** When the simulator received the contestant's last create, from its start. */
  readonly created: Stat | undefined
  readonly statusPerVideo: Stat | undefined
  readonly contentPerVideo: Stat | undefined
  readonly requestsPerVideo: Stat | undefined
  readonly p50: Stat | undefined
  readonly p95: Stat | undefined
  readonly cpuSeconds: Stat | undefined
  /** CPU ms per saved video, start-up included. */
  readonly cpuMsPerVideo: Stat | undefined
  readonly peakRssMB: Stat | undefined
  readonly eventLoopP99: Stat | undefined
}

/** One scenario: a workload, its common ideal, the plan's own figure, and every contestant's row. */
export interface Scenario {
  readonly workload: Workload
  readonly tasks: number
  readonly rounds: number
  readonly timeScale: number
  /** The longest task, creation to completion, s. */
  readonly longestSeconds: number
  /** That task's video fetched alone by curl (median of 3, `time_total`), s. */
  readonly downloadSeconds: number
  /** The common ideal: the longest task created at the start, detected at once, downloaded: s. */
  readonly idealSeconds: number
  /** `Polling.plan` replayed with zero latency over the workload (`plan.ts`). */
  readonly plan: { readonly p50: number; readonly p95: number; readonly max: number; readonly statusPerVideo: number }
  readonly rows: ReadonlyArray<Row>
}

const warmUp = async (sim: Sim) => {
  // The simulator's code paths are JIT-compiled before the first contestant, not during it.
  const auth = { authorization: "Bearer sk-bench-warmup" }
  const ids: Array<string> = []
  for (let i = 0; i < 200; i++) {
    const response = await fetch(`${sim.urls.laozhang}/videos`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ model: "veo-3.1-fast", prompt: `warm-up ${i} @sim:timing(queue=0,run=0.001)` })
    })
    ids.push(((await response.json()) as { id: string }).id)
  }
  await new Promise((resolve) => setTimeout(resolve, 20))
  for (const id of ids) {
    await (await fetch(`${sim.urls.laozhang}/videos/${id}`, { headers: auth })).arrayBuffer()
    const content = (await (await fetch(`${sim.urls.laozhang}/videos/${id}/content`, { headers: auth })).json()) as {
      url: string
    }
    await (await fetch(content.url)).arrayBuffer()
  }
  await sim.ask({ op: "analyze", key: "sk-bench-warmup" })
  await sim.ask({ op: "reset" })
}

/**
 * The common ideal's last step: one video of the longest task's model, fetched alone by curl
 * (transfer time only, median of 3).
 */
const idealDownloadSeconds = async (sim: Sim, model: string): Promise<number> => {
  const auth = { authorization: "Bearer sk-bench-ideal" }
  const created = (await (
    await fetch(`${sim.urls.laozhang}/videos`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ model, prompt: "ideal @sim:timing(queue=0,run=0.001)" })
    })
  ).json()) as { id: string }
  await new Promise((resolve) => setTimeout(resolve, 20))
  const { url } = (await (
    await fetch(`${sim.urls.laozhang}/videos/${created.id}/content`, { headers: auth })
  ).json()) as { url: string }
  const times = [1, 2, 3].map((): number =>
    Number(execFileSync("curl", ["-s", "-o", "/dev/null", "-w", "%{time_total}", url], { encoding: "utf8" }))
  )
  await sim.ask({ op: "reset" })
  return quantile(
    times.sort((a, b) => a - b),
    0.5
  )!
}

export const runPolling = async (options: {
  readonly tasks: number
  readonly timeScale: number
  readonly workload?: Workload | undefined
  /** Paired rounds (default 3). */
  readonly rounds?: number | undefined
  readonly only?: ReadonlyArray<string> | undefined
  /** A contestant still running after this long is stopped and reported as such. Default 240 s. */
  readonly timeLimitMs?: number | undefined
}): Promise<Scenario> => {
  const { tasks, timeScale } = options
  const workload = options.workload ?? "linear"
  const rounds = options.rounds ?? 3
  // The process id keeps two runs of the bench on one machine out of each other's files.
  const work = NodePath.join(benchDir, ".work", `polling-${workload}-${tasks}-${process.pid}`)
  NodeFs.rmSync(work, { recursive: true, force: true })
  NodeFs.mkdirSync(work, { recursive: true })
  const items = makeWorkload(tasks, timeScale, workload)
  const workloadPath = NodePath.join(work, "workload.json")
  NodeFs.writeFileSync(workloadPath, JSON.stringify(items))
  const longest = items.reduce((a, b) => (b.queueMs + b.runMs > a.queueMs + a.runMs ? b : a))
  const planned = replay(items, timeScale)
  const entrants = entrantsFor(tasks, timeScale).filter(
    (e) => options.only === undefined || options.only.includes(e.id)
  )
  const samples = new Map<string, Array<Sample>>(entrants.map((e) => [e.id, []]))
  const sim = await startSim({ timeScale })
  let downloadSeconds = 0
  try {
    await warmUp(sim)
    downloadSeconds = await idealDownloadSeconds(sim, longest.model)
    const ideal = (longest.queueMs + longest.runMs) / 1000 + downloadSeconds
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? entrants : [...entrants].reverse()
      for (const entrant of order) {
        const outDir = NodePath.join(work, entrant.id)
        const apiKey = `sk-bench-${entrant.id}`
        log(`polling ${workload} ${tasks}, round ${round}/${rounds}: ${entrant.label}…`)
        const result = await runContestant(
          entrant.contestant,
          { urls: sim.urls, apiKey, workload: workloadPath, outDir, timeScale, settings: entrant.settings },
          options.timeLimitMs ?? 240_000
        )
        const analysis = await sim.ask<Analysis>({ op: "analyze", key: apiKey })
        await sim.ask({ op: "reset" })
        NodeFs.rmSync(outDir, { recursive: true, force: true })
        const sample = toSample(result, analysis)
        samples.get(entrant.id)!.push(sample)
        log(
          `  ${sample.saved}/${tasks} saved in ${sample.wallSeconds.toFixed(2)} s (${(sample.wallSeconds / ideal).toFixed(3)} × ideal ${ideal.toFixed(2)} s), ` +
            `${sample.requestsPerVideo.toFixed(2)} req/video, p50 ${sample.p50} ms, p95 ${sample.p95} ms, ` +
            `${sample.cpuSeconds.toFixed(1)} CPU s, ${sample.peakRssMB.toFixed(0)} MB, ` +
            `event loop p99 ${sample.eventLoopP99?.toFixed(0) ?? "—"} ms` +
            (sample.firstError === undefined ? "" : `; first error: ${sample.firstError}`)
        )
      }
    }
  } finally {
    await sim.stop()
    NodeFs.rmSync(work, { recursive: true, force: true })
  }
  const idealSeconds = (longest.queueMs + longest.runMs) / 1000 + downloadSeconds
  return {
    workload,
    tasks,
    rounds,
    timeScale,
    longestSeconds: (longest.queueMs + longest.runMs) / 1000,
    downloadSeconds,
    idealSeconds,
    plan: {
      p50: quantile(planned.delays, 0.5)!,
      p95: quantile(planned.delays, 0.95)!,
      max: planned.delays.at(-1)!,
      statusPerVideo: planned.statusPerVideo
    },
    rows: entrants.map((entrant) => toRow(entrant, tasks, samples.get(entrant.id)!, idealSeconds))
  }
}

const toSample = (result: ContestantResult, analysis: Analysis): Sample => {
  const videos = Math.max(1, analysis.tasks)
  const timedOut = result.timedOut === true
  return {
    saved: timedOut ? analysis.cdn : result.saved,
    failed: result.failed,
    firstError: result.firstError,
    timedOut,
    wallSeconds: (result.endedAt - result.startedAt) / 1000,
    createdSeconds: analysis.lastCreateAt === undefined ? undefined : (analysis.lastCreateAt - result.startedAt) / 1000,
    statusPerVideo: analysis.status / videos,
    contentPerVideo: analysis.content / videos,
    requestsPerVideo: (analysis.status + analysis.content) / videos,
    p50: quantile(analysis.delays, 0.5),
    p95: quantile(analysis.delays, 0.95),
    cpuSeconds: result.cpuSeconds,
    peakRssMB: result.peakRss / 1e6,
    eventLoopP99: result.eventLoop?.p99
  }
}

const toRow = (entrant: Entrant, tasks: number, samples: ReadonlyArray<Sample>, idealSeconds: number): Row => {
  const finished = samples.filter((s) => !s.timedOut)
  const over = (f: (s: Sample) => number | undefined, from: ReadonlyArray<Sample> = samples) => stat(from.map(f))
  return {
    id: entrant.id,
    label: entrant.label,
    tasks,
    rounds: samples.length,
    saved: Math.min(...samples.map((s) => s.saved)),
    failed: Math.max(...samples.map((s) => s.failed)),
    firstError: samples.find((s) => s.firstError !== undefined)?.firstError,
    timedOut: samples.some((s) => s.timedOut),
    wall: over((s) => s.wallSeconds, finished),
    ratio: over((s) => s.wallSeconds / idealSeconds, finished),
    created: over((s) => s.createdSeconds),
    statusPerVideo: over((s) => s.statusPerVideo),
    contentPerVideo: over((s) => s.contentPerVideo),
    requestsPerVideo: over((s) => s.requestsPerVideo),
    p50: over((s) => s.p50),
    p95: over((s) => s.p95),
    cpuSeconds: over((s) => s.cpuSeconds),
    cpuMsPerVideo: over((s) => (s.saved > 0 ? (s.cpuSeconds * 1000) / s.saved : undefined), finished),
    peakRssMB: over((s) => s.peakRssMB),
    eventLoopP99: over((s) => s.eventLoopP99)
  }
}
