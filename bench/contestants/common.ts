/**
 * What every contestant process shares: its input, and its report (the last line of stdout).
 * CPU seconds and peak RSS come from the process's own `getrusage`, start-up included; the event-loop
 * delay from `monitorEventLoopDelay`, from `begin()` (just before the first create) to the report.
 */
import * as NodeFs from "node:fs"
import { monitorEventLoopDelay } from "node:perf_hooks"
import type { ContestantInput, ContestantResult, InflightFigures, WorkItem } from "../lib/protocol.js"

export const input = (): ContestantInput => {
  const raw = process.env.BENCH_INPUT
  if (raw === undefined) throw new Error("BENCH_INPUT is not set: contestants are started by bench/run.ts")
  return JSON.parse(raw) as ContestantInput
}

export const workload = (path: string): ReadonlyArray<WorkItem> =>
  JSON.parse(NodeFs.readFileSync(path, "utf8")) as ReadonlyArray<WorkItem>

// A 10 ms sampling timer: the delay it sees is how late a timer (a poll) fires behind the work
// queued on the loop.
const loop = monitorEventLoopDelay({ resolution: 10 })
let heapBefore = 0

/** A full collection (when Node runs with `--expose-gc`), then the process's memory. */
const collect = (): NodeJS.MemoryUsage => {
  // Twice: the first pass can leave objects that only weak callbacks release.
  globalThis.gc?.()
  globalThis.gc?.()
  return process.memoryUsage()
}

/**
 * Call just before the first create: the heap after a full GC with the inputs loaded (the in-flight
 * baseline), and the event-loop monitor starts. Returns the start time.
 */
export const begin = (): number => {
  heapBefore = collect().heapUsed
  loop.enable()
  return Date.now()
}

const eventLoop = () =>
  loop.count === 0 ? undefined : { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 }

/** Writes the result line and exits (keep-alive sockets must not hold the process open). */
export const report = (result: Omit<ContestantResult, "cpuSeconds" | "peakRss">): void => {
  const usage = process.resourceUsage()
  const full: ContestantResult = {
    eventLoop: eventLoop(),
    ...result,
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    peakRss: usage.maxRSS * 1024
  }
  process.stdout.write(`RESULT ${JSON.stringify(full)}\n`, () => process.exit(0))
}

/**
 * An in-flight run (`settings.hold`): counts tasks as they are submitted (or end before), prints a
 * `PROGRESS` line every second (so a run stopped at the time limit still says how far it got), and
 * `hold` ms after the last task is submitted measures the process with every task in flight, reports
 * and exits, leaving the tasks to the simulator.
 */
export const inflight = (options: { readonly total: number; readonly holdMs: number; readonly startedAt: number }) => {
  let submitted = 0
  let ended = 0
  let submitMs = 0
  let heapHalf = Number.NaN
  let submittedHalf = 0
  const half = Math.floor(options.total / 2)
  let firstError: string | undefined
  let measuring = false
  const line = () => `PROGRESS ${JSON.stringify({ submitted, ended })}\n`
  setInterval(() => process.stdout.write(line()), 1000).unref()
  const measure = () => {
    // CPU and event loop first: the forced collection below is the benchmark's, not the contestant's.
    const usage = process.resourceUsage()
    const loopFigures = eventLoop()
    const memory = collect()
    const figures: InflightFigures = {
      submitted,
      ended,
      submitMs,
      heapBefore,
      heapHalf,
      submittedHalf,
      heapUsed: memory.heapUsed,
      external: memory.external,
      rss: memory.rss,
      cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6
    }
    report({
      startedAt: options.startedAt,
      endedAt: Date.now(),
      saved: 0,
      failed: ended,
      firstError,
      eventLoop: loopFigures,
      inflight: figures
    })
  }
  const check = () => {
    if (measuring || submitted + ended < options.total) return
    measuring = true
    setTimeout(measure, options.holdMs)
  }
  return {
    submitted: () => {
      submitted++
      submitMs = Date.now() - options.startedAt
      if (submitted === half) {
        // One forced collection mid-way (a pause the event-loop figure may show once).
        heapHalf = collect().heapUsed
        submittedHalf = submitted - ended
      }
      check()
    },
    ended: (error: string) => {
      ended++
      firstError ??= error
      check()
    }
  }
}

/** Runs `items` through `worker` with at most `limit` at once, in order of submission. */
export const pool = async <A>(
  items: ReadonlyArray<A>,
  limit: number,
  worker: (item: A) => Promise<void>
): Promise<void> => {
  let next = 0
  const run = async () => {
    while (next < items.length) await worker(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run))
}

/** The message, and the first error code in its causes (`fetch failed` alone says little). */
export const errorText = (error: unknown): string => {
  let code: string | undefined
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 5; depth++) {
    code ??= (cause as Error & { code?: string }).code
    cause = cause.cause
  }
  const message = error instanceof Error ? error.message : String(error)
  return code === undefined ? message : `${message} (${code})`
}
