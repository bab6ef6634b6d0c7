/**
 * The polling benchmark: one workload of N tasks, the same for every contestant, through one
 * simulator process; contestants one after another (the simulator is reset in between), each in its
 * own process, so none competes with another for the two cores or the simulator.
 */
import { execFileSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { benchDir, type Contestant } from "./bundle.js"
import { log, quantile, runContestant, type Sim, startSim } from "./proc.js"
import type { Analysis, ContestantResult, WorkItem } from "./protocol.js"

/** The reference pages' generation times, vendor seconds. */
const ranges = { fast: [30, 60], standard: [60, 120], sora: [120, 300] } as const
const models = { fast: "veo-3.1-fast", standard: "veo-3.1", sora: "veo-3.1-landscape" } as const

/** A small seeded generator (mulberry32): the same workload on every run. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/**
 * N tasks, a third in each class, durations uniform in the class's range, 10-30 % of it queued (the
 * simulator's own default split), scaled by `timeScale` and fixed per task with `@sim:timing`, so
 * every contestant gets exactly the same tasks whatever order it creates them in.
 */
export const makeWorkload = (tasks: number, timeScale: number): ReadonlyArray<WorkItem> => {
  const next = random(20251122)
  return Array.from({ length: tasks }, (_, index) => {
    const kind = (["fast", "standard", "sora"] as const)[index % 3]!
    const [min, max] = ranges[kind]
    const totalMs = Math.round((min + next() * (max - min)) * 1000 * timeScale)
    const queueMs = Math.round(totalMs * (0.1 + next() * 0.2))
    const runMs = totalMs - queueMs
    return {
      key: `clip-${String(index + 1).padStart(5, "0")}`,
      kind,
      model: models[kind],
      prompt: `Benchmark clip ${index + 1}, a ${kind} generation @sim:timing(queue=${queueMs / 1000},run=${runMs / 1000})`
    }
  })
}

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

export interface Row {
  readonly id: string
  readonly label: string
  readonly tasks: number
  readonly saved: number
  readonly failed: number
  readonly firstError: string | undefined
  readonly wallSeconds: number
  readonly idealSeconds: number
  /** When the simulator received the contestant's last create, from its start. */
  readonly createdSeconds: number | undefined
  readonly ratio: number
  readonly statusPerVideo: number
  readonly contentPerVideo: number
  readonly requestsPerVideo: number
  readonly cdnPerVideo: number
  readonly errors: number
  readonly detected: number
  readonly p50: number | undefined
  readonly p95: number | undefined
  readonly max: number | undefined
  readonly cpuSeconds: number
  readonly peakRssMB: number
  readonly lastDownloadMs: number
  readonly timedOut: boolean
}

/** The ideal run's last step: the last video alone, fetched by curl (transfer time only). */
const idealDownloadMs = (url: string | undefined): number => {
  if (url === undefined) return 0
  const out = execFileSync("curl", ["-s", "-o", "/dev/null", "-w", "%{time_total}", url], { encoding: "utf8" })
  return Number(out) * 1000
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

export const runPolling = async (options: {
  readonly tasks: number
  readonly timeScale: number
  readonly only?: ReadonlyArray<string> | undefined
  /** A contestant still running after this long is stopped and reported as such. Default 240 s. */
  readonly timeLimitMs?: number | undefined
}): Promise<ReadonlyArray<Row>> => {
  const { tasks, timeScale } = options
  const work = NodePath.join(benchDir, ".work", `polling-${tasks}`)
  NodeFs.rmSync(work, { recursive: true, force: true })
  NodeFs.mkdirSync(work, { recursive: true })
  const workloadPath = NodePath.join(work, "workload.json")
  NodeFs.writeFileSync(workloadPath, JSON.stringify(makeWorkload(tasks, timeScale)))
  const sim = await startSim({ timeScale })
  const rows: Array<Row> = []
  try {
    await warmUp(sim)
    for (const entrant of entrantsFor(tasks, timeScale)) {
      if (options.only !== undefined && !options.only.includes(entrant.id)) continue
      const outDir = NodePath.join(work, entrant.id)
      const apiKey = `sk-bench-${entrant.id}`
      log(`polling ${tasks}: ${entrant.label}…`)
      const result = await runContestant(
        entrant.contestant,
        { urls: sim.urls, apiKey, workload: workloadPath, outDir, timeScale, settings: entrant.settings },
        options.timeLimitMs ?? 240_000
      )
      const analysis = await sim.ask<Analysis>({ op: "analyze", key: apiKey })
      const lastDownloadMs = idealDownloadMs(analysis.lastUrl)
      await sim.ask({ op: "reset" })
      NodeFs.rmSync(outDir, { recursive: true, force: true })
      const row = toRow(entrant, tasks, result, analysis, lastDownloadMs)
      rows.push(row)
      log(
        `  ${row.saved}/${tasks} saved in ${row.wallSeconds.toFixed(2)} s (ideal ${row.idealSeconds.toFixed(2)} s), ` +
          `${row.requestsPerVideo.toFixed(2)} req/video, p50 ${row.p50} ms, p95 ${row.p95} ms, ` +
          `${row.cpuSeconds.toFixed(1)} CPU s, ${row.peakRssMB.toFixed(0)} MB` +
          (row.firstError === undefined ? "" : `; first error: ${row.firstError}`)
      )
    }
  } finally {
    await sim.stop()
    NodeFs.rmSync(work, { recursive: true, force: true })
  }
  return rows
}

const toRow = (
  entrant: Entrant,
  tasks: number,
  result: ContestantResult,
  analysis: Analysis,
  lastDownloadMs: number
): Row => {
  const wall = (result.endedAt - result.startedAt) / 1000
  const ideal = ((analysis.lastEndsAt ?? result.endedAt) - result.startedAt + lastDownloadMs) / 1000
  const videos = Math.max(1, analysis.tasks)
  return {
    id: entrant.id,
    label: entrant.label,
    tasks,
    saved: result.timedOut === true ? analysis.cdn : result.saved,
    failed: result.failed,
    firstError: result.firstError,
    wallSeconds: wall,
    idealSeconds: ideal,
    createdSeconds: analysis.lastCreateAt === undefined ? undefined : (analysis.lastCreateAt - result.startedAt) / 1000,
    ratio: wall / ideal,
    statusPerVideo: analysis.status / videos,
    contentPerVideo: analysis.content / videos,
    requestsPerVideo: (analysis.status + analysis.content) / videos,
    cdnPerVideo: analysis.cdn / videos,
    errors: analysis.errors,
    detected: analysis.delays.length,
    p50: quantile(analysis.delays, 0.5),
    p95: quantile(analysis.delays, 0.95),
    max: analysis.delays.at(-1),
    cpuSeconds: result.cpuSeconds,
    peakRssMB: result.peakRss / 1e6,
    lastDownloadMs,
    timedOut: result.timedOut === true
  }
}
