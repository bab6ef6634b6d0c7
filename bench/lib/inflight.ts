/**
 * The in-flight benchmark: N tasks (10,000, 100,000) that all run far longer than creating them
 * takes (`inflightWorkload`), so once the last is submitted every one is in flight at once. `hold`
 * later the contestant forces a full GC and measures itself (`common.inflight`): RSS, the live heap
 * over its baseline per task, CPU per task so far, event-loop delay. Then it exits, leaving the tasks
 * running in the simulator, which is asked for its own footprint before it forgets them.
 *
 * Time scale 1 by default: the plan's waits are vendor waits, so the status traffic of N tasks is
 * what a real client would send (at 1/30 it would be thirty times denser than any vendor sees).
 * Paired rounds as in the polling benchmark; a run that does not get every task in flight within the
 * time limit is stopped and reported with how many it had submitted.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { benchDir, type Contestant } from "./bundle.js"
import { type Stat, stat } from "./polling.js"
import { log, runContestant, startSim } from "./proc.js"
import type { ContestantResult, SimUsage } from "./protocol.js"
import { inflightWorkload } from "./workload.js"

interface Entrant {
  readonly id: string
  readonly label: string
  readonly contestant: Contestant
  readonly settings: Readonly<Record<string, number | string | boolean>>
}

const entrants = (settings: Readonly<Record<string, number>>): ReadonlyArray<Entrant> => [
  {
    id: "reelay",
    label: "reelay today: Engine.generateMany, defaults (submit 10, status 10)",
    contestant: "reelay-polling",
    settings
  },
  {
    id: "central",
    label: "central poller: one timer, min-heap, Polling.plan (submit 10, status 10)",
    contestant: "central-polling",
    settings
  }
]

export interface InflightRow {
  readonly id: string
  readonly label: string
  readonly tasks: number
  readonly rounds: number
  /** Rounds in which every task was in flight when measured. */
  readonly measured: number
  readonly firstError: string | undefined
  /** Tasks in flight when measured (the fewest over the rounds). */
  readonly inflight: number | undefined
  /** From the first create to the last task submitted, s. */
  readonly submitSeconds: Stat | undefined
  /**
   * Bytes per task added: (heap after GC with all in flight − heap after GC at half) / the tasks
   * between. What the process allocates once (modules loaded on first use, sockets, code) is not in it.
   */
  readonly heapPerTask: Stat | undefined
  /** (heap after GC − heap after GC before the first create) / tasks in flight: one-off costs included. */
  readonly heapOverBaseline: Stat | undefined
  /** Heap after GC, everything included, MB. */
  readonly heapMB: Stat | undefined
  /** RSS right after the GC, MB. */
  readonly rssMB: Stat | undefined
  /** The process's peak RSS up to the measure (or the stop), MB. */
  readonly peakRssMB: Stat | undefined
  /** CPU up to the measure (start-up, creates, polls so far) per task, ms. */
  readonly cpuMsPerTask: Stat | undefined
  readonly eventLoopP99: Stat | undefined
}

export interface InflightScenario {
  readonly tasks: number
  readonly rounds: number
  readonly timeScale: number
  readonly runSeconds: number
  readonly holdSeconds: number
  readonly rows: ReadonlyArray<InflightRow>
  /** The simulator holding one contestant's tasks (the largest reading): MB after a full GC. */
  readonly sim: { readonly rssMB: number; readonly heapMB: number; readonly tasks: number; readonly requests: number }
}

export const runInflight = async (options: {
  readonly tasks: number
  readonly rounds?: number | undefined
  /** Default 1: vendor time. */
  readonly timeScale?: number | undefined
  /** How long after the last submit to measure, ms (default 30 s). */
  readonly holdMs?: number | undefined
  /** How long each task runs, simulator seconds (default 3600). */
  readonly runSeconds?: number | undefined
  readonly only?: ReadonlyArray<string> | undefined
  /** A run not measured after this long is stopped and reported (default 20 minutes). */
  readonly timeLimitMs?: number | undefined
}): Promise<InflightScenario> => {
  const { tasks } = options
  const rounds = options.rounds ?? 3
  const timeScale = options.timeScale ?? 1
  const holdMs = options.holdMs ?? 30_000
  const runSeconds = options.runSeconds ?? 3600
  const work = NodePath.join(benchDir, ".work", `inflight-${tasks}-${process.pid}`)
  NodeFs.rmSync(work, { recursive: true, force: true })
  NodeFs.mkdirSync(work, { recursive: true })
  const workloadPath = NodePath.join(work, "workload.json")
  NodeFs.writeFileSync(workloadPath, JSON.stringify(inflightWorkload(tasks, runSeconds)))
  // The deadline outlasts the whole run: no task may leave flight by timing out before the measure.
  const settings = { hold: holdMs, deadlineMs: 2 * runSeconds * 1000 }
  const chosen = entrants(settings).filter((e) => options.only === undefined || options.only.includes(e.id))
  const results = new Map<string, Array<ContestantResult>>(chosen.map((e) => [e.id, []]))
  let simFigures = { rssMB: 0, heapMB: 0, tasks: 0, requests: 0 }
  const sim = await startSim({ timeScale })
  try {
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? chosen : [...chosen].reverse()
      for (const entrant of order) {
        log(`in flight ${tasks}, round ${round}/${rounds}: ${entrant.label}…`)
        const simBefore = await sim.ask<SimUsage>({ op: "usage" })
        const result = await runContestant(
          entrant.contestant,
          {
            urls: sim.urls,
            apiKey: `sk-bench-${entrant.id}`,
            workload: workloadPath,
            outDir: NodePath.join(work, entrant.id),
            timeScale,
            settings: entrant.settings
          },
          options.timeLimitMs ?? 20 * 60_000,
          ["--expose-gc"]
        )
        const usage = await sim.ask<SimUsage>({ op: "usage" })
        if (usage.rss / 1e6 > simFigures.rssMB) {
          simFigures = {
            rssMB: usage.rss / 1e6,
            heapMB: usage.heapUsed / 1e6,
            tasks: usage.tasks,
            requests: usage.requests
          }
        }
        await sim.ask({ op: "reset" })
        results.get(entrant.id)!.push(result)
        const f = result.inflight
        log(
          f === undefined
            ? `  not measured: ${result.firstError ?? "no figures"}; ${result.cpuSeconds.toFixed(1)} CPU s, ${(result.peakRss / 1e6).toFixed(0)} MB peak`
            : `  ${f.submitted - f.ended} in flight after ${(f.submitMs / 1000).toFixed(1)} s of creates: ` +
                `heap ${(f.heapUsed / 1e6).toFixed(0)} MB (${((f.heapUsed - f.heapHalf) / Math.max(1, f.submitted - f.ended - f.submittedHalf)).toFixed(0)} B/task added after half, ` +
                `${((f.heapUsed - f.heapBefore) / Math.max(1, f.submitted - f.ended)).toFixed(0)} B/task over the baseline), ` +
                `RSS ${(f.rss / 1e6).toFixed(0)} MB (peak ${(result.peakRss / 1e6).toFixed(0)}), ` +
                `${((f.cpuSeconds * 1000) / tasks).toFixed(2)} CPU ms/task, event loop p99 ${result.eventLoop?.p99.toFixed(0) ?? "—"} ms; ` +
                `simulator ${(usage.rss / 1e6).toFixed(0)} MB RSS, ${(usage.heapUsed / 1e6).toFixed(0)} MB heap, ` +
                `${(usage.cpuSeconds - simBefore.cpuSeconds).toFixed(1)} CPU s`
        )
      }
    }
  } finally {
    await sim.stop()
    NodeFs.rmSync(work, { recursive: true, force: true })
  }
  return {
    tasks,
    rounds,
    timeScale,
    runSeconds,
    holdSeconds: holdMs / 1000,
    sim: simFigures,
    rows: chosen.map((entrant) => toRow(entrant, tasks, results.get(entrant.id)!))
  }
}

const toRow = (entrant: Entrant, tasks: number, results: ReadonlyArray<ContestantResult>): InflightRow => {
  const measured = results.filter((r) => r.inflight !== undefined && r.inflight.submitted - r.inflight.ended === tasks)
  const over = (f: (r: ContestantResult) => number | undefined, from: ReadonlyArray<ContestantResult> = measured) =>
    stat(from.map(f))
  const figures = (r: ContestantResult) => r.inflight!
  const flying = (r: ContestantResult) => figures(r).submitted - figures(r).ended
  const inflight = results.flatMap((r) => (r.inflight === undefined ? [] : [flying(r)]))
  return {
    id: entrant.id,
    label: entrant.label,
    tasks,
    rounds: results.length,
    measured: measured.length,
    firstError: results.find((r) => r.firstError !== undefined)?.firstError,
    inflight: inflight.length === 0 ? undefined : Math.min(...inflight),
    submitSeconds: over((r) => figures(r).submitMs / 1000),
    heapPerTask: over((r) =>
      figures(r).submittedHalf > 0 && flying(r) > figures(r).submittedHalf
        ? (figures(r).heapUsed - figures(r).heapHalf) / (flying(r) - figures(r).submittedHalf)
        : undefined
    ),
    heapOverBaseline: over((r) => (figures(r).heapUsed - figures(r).heapBefore) / flying(r)),
    heapMB: over((r) => figures(r).heapUsed / 1e6),
    rssMB: over((r) => figures(r).rss / 1e6),
    peakRssMB: over((r) => r.peakRss / 1e6, results),
    cpuMsPerTask: over((r) => (figures(r).cpuSeconds * 1000) / tasks),
    eventLoopP99: over((r) => r.eventLoop?.p99)
  }
}
