/**
 * What every contestant process shares: its input, and its report (the last line of stdout).
 * CPU seconds and peak RSS come from the process's own `getrusage`, start-up included.
 */
import * as NodeFs from "node:fs"
import type { ContestantInput, ContestantResult, WorkItem } from "../lib/protocol.js"

export const input = (): ContestantInput => {
  const raw = process.env.BENCH_INPUT
  if (raw === undefined) throw new Error("BENCH_INPUT is not set: contestants are started by bench/run.ts")
  return JSON.parse(raw) as ContestantInput
}

export const workload = (path: string): ReadonlyArray<WorkItem> =>
  JSON.parse(NodeFs.readFileSync(path, "utf8")) as ReadonlyArray<WorkItem>

/** Writes the result line and exits (keep-alive sockets must not hold the process open). */
export const report = (result: Omit<ContestantResult, "cpuSeconds" | "peakRss">): void => {
  const usage = process.resourceUsage()
  const full: ContestantResult = {
    ...result,
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    peakRss: usage.maxRSS * 1024
  }
  process.stdout.write(`RESULT ${JSON.stringify(full)}\n`, () => process.exit(0))
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
