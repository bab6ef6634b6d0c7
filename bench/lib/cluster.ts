/**
 * The cluster benchmark: N videos (10,000) handed to the workers of a PostgreSQL journal with
 * `reelay batch --enqueue`, run by 1, 2 and 3 `reelay worker` processes: what a durable workflow per
 * video costs, and how it scales on this machine.
 *
 * Every contestant runs the same polling workload (`makeWorkload`, linear, pinned durations) against
 * one simulator process at the same time scale, on a fresh database of one PostgreSQL server, in
 * paired rounds (the order rotated each round). The common ideal is the same for all: the longest
 * task's own duration, as if every create were answered at once and every finish seen the instant
 * it happened.
 *
 * Measured: wall time from the first create the simulator saw to the last video recorded saved in
 * the journal; status requests per video (the simulator's count); each worker's peak RSS and CPU
 * (from /proc, start-up included); and the database's transactions per video (`pg_stat_database`
 * commits and rollbacks over the run: each is at least one round trip; the workers' idle polling and
 * heartbeats count too).
 */
import { type ChildProcessByStdio, execFileSync, spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import type { Readable } from "node:stream"
import * as JobState from "@reelay/journal/JobState"
import * as Postgres from "../../packages/journal/test/helpers/postgres.js"
import { benchDir } from "./bundle.js"
import { type Stat, stat } from "./polling.js"
import { captured, log, startSim } from "./proc.js"
import type { Analysis } from "./protocol.js"
import { makeWorkload } from "./workload.js"

const repo = NodePath.resolve(benchDir, "..")
const cliBundle = NodePath.join(repo, "apps", "cli", "dist", "reelay.mjs")

export interface ClusterRow {
  readonly workers: number
  readonly rounds: number
  /** Videos saved, the fewest over the rounds. */
  readonly completed: number
  readonly firstError: string | undefined
  readonly wallSeconds: Stat | undefined
  readonly wallOverIdeal: Stat | undefined
  readonly statusPerVideo: Stat | undefined
  /** The largest peak RSS of one worker. */
  readonly rssPerWorkerMB: Stat | undefined
  /** Every worker's CPU together, per video. */
  readonly cpuMsPerVideo: Stat | undefined
  readonly transactionsPerVideo: Stat | undefined
  /** Seconds from the first `batch --enqueue` line to its return. */
  readonly enqueueSeconds: Stat | undefined
}

export interface ClusterScenario {
  readonly jobs: number
  readonly rounds: number
  readonly timeScale: number
  readonly idealSeconds: number
  readonly pollInterval: string
  readonly rows: ReadonlyArray<ClusterRow>
}

interface Round {
  readonly completed: number
  readonly failed: number
  readonly firstError: string | undefined
  readonly wallSeconds: number | undefined
  readonly statusPerVideo: number
  readonly rssMB: number
  readonly cpuSeconds: number
  readonly transactions: number
  readonly enqueueSeconds: number
}

type Child = ChildProcessByStdio<null, Readable, Readable>

/** CPU seconds and peak RSS of a running process, from /proc (clock ticks of 1/100 s). */
const usageOf = (pid: number) => {
  const stat = NodeFs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  const status = NodeFs.readFileSync(`/proc/${pid}/status`, "utf8")
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status)
  return { cpuSeconds: (Number(stat[11]) + Number(stat[12])) / 100, peakRss: Number(hwm?.[1] ?? 0) * 1024 }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const runCluster = async (options: {
  readonly jobs: number
  readonly rounds: number
  readonly timeScale: number
  readonly workerCounts?: ReadonlyArray<number> | undefined
  /** A contestant not done by then is stopped and reported so (default 30 minutes). */
  readonly timeLimitMs?: number | undefined
}): Promise<ClusterScenario> => {
  const { jobs, rounds, timeScale } = options
  const counts = options.workerCounts ?? [1, 2, 3]
  const timeLimitMs = options.timeLimitMs ?? 30 * 60_000
  const pollInterval = "250ms"
  log("cluster: building the CLI bundle…")
  execFileSync(process.execPath, [NodePath.join(repo, "apps", "cli", "scripts", "build.mjs")], { stdio: "ignore" })
  const work = NodePath.join(benchDir, ".work", `cluster-${jobs}-${process.pid}`)
  NodeFs.rmSync(work, { recursive: true, force: true })
  NodeFs.mkdirSync(work, { recursive: true })
  const items = makeWorkload(jobs, timeScale, "linear")
  const batchFile = NodePath.join(work, "batch.jsonl")
  NodeFs.writeFileSync(
    batchFile,
    items.map((item) => JSON.stringify({ key: item.key, prompt: item.prompt, model: item.model })).join("\n")
  )
  const idealSeconds = Math.max(...items.map((item) => item.queueMs + item.runMs)) / 1000
  if (Postgres.findBinaries() === undefined) {
    throw new Error("the cluster benchmark needs PostgreSQL (apt-get install postgresql)")
  }
  const pg = await Postgres.start()
  const sim = await startSim({ timeScale })
  const results = new Map<number, Array<Round>>(counts.map((n) => [n, []]))
  try {
    for (let round = 1; round <= rounds; round++) {
      const order = counts.map((_, index) => counts[(index + round - 1) % counts.length]!)
      for (const workers of order) {
        const database = `bench_${workers}_${round}`
        pg.createDatabase(database)
        const sql = (statement: string) => pg.query(database, statement)
        const apiKey = `sk-bench-cluster-${workers}-${round}`
        const env = {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "/tmp",
          NO_COLOR: "1",
          REELAY_JOURNAL: pg.url(database),
          REELAY_TIME_SCALE: String(timeScale),
          LAOZHANG_BASE_URL: sim.urls.laozhang,
          LAOZHANG_API_KEY: apiKey
        }
        log(`cluster ${jobs} jobs, round ${round}/${rounds}: ${workers} worker(s)…`)
        const children: Array<Child> = []
        for (let index = 0; index < workers; index++) {
          const child = spawn(
            process.execPath,
            [cliBundle, "worker", "--address", `127.0.0.1:${34600 + index}`, "--poll-interval", pollInterval],
            { cwd: work, env, stdio: ["ignore", "pipe", "pipe"] }
          )
          children.push(child)
        }
        const outputs = children.map((child) => captured(child))
        while (outputs.some((output) => !output.stdout.includes("127.0.0.1:"))) {
          if (children.some((child) => child.exitCode !== null)) {
            throw new Error(`a worker exited: ${outputs.map((output) => output.stderr.slice(-1500)).join("\n")}`)
          }
          await sleep(100)
        }
        const transactions = () =>
          Number(sql(`SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '${database}'`) || "0")
        const before = transactions()
        const enqueueStarted = Date.now()
        const outDir = NodePath.join(work, `out-${workers}-${round}`)
        execFileSync(
          process.execPath,
          [
            cliBundle,
            "batch",
            batchFile,
            "--enqueue",
            "--provider",
            "laozhang",
            "--out-dir",
            outDir,
            "--batch",
            "bench"
          ],
          { cwd: work, env, stdio: ["ignore", "ignore", "pipe"] }
        )
        const enqueueSeconds = (Date.now() - enqueueStarted) / 1000
        const ended = `(${JobState.ended.map((state) => `'${state}'`).join(",")})`
        const deadline = Date.now() + timeLimitMs
        let done = 0
        while (Date.now() < deadline) {
          done = Number(sql(`SELECT COUNT(*) FROM reelay_jobs WHERE batch = 'bench' AND state IN ${ended}`))
          if (done >= jobs) break
          await sleep(1000)
        }
        const usage = children.map((child) => usageOf(child.pid!))
        const saved = Number(sql("SELECT COUNT(*) FROM reelay_jobs WHERE batch = 'bench' AND state = 'downloaded'"))
        const lastSavedAt = Number(
          sql("SELECT COALESCE(MAX(updated_at), 0) FROM reelay_jobs WHERE batch = 'bench' AND state = 'downloaded'")
        )
        const firstError = sql("SELECT error FROM reelay_jobs WHERE batch = 'bench' AND state <> 'downloaded' LIMIT 1")
        // The statistics are flushed by each backend within a second or so of its last transaction.
        await sleep(1500)
        const after = transactions()
        await Promise.all(
          children.map(
            (child) =>
              new Promise<void>((resolve) => {
                child.once("exit", () => resolve())
                child.kill(done >= jobs ? "SIGTERM" : "SIGKILL")
              })
          )
        )
        const analysis = await sim.ask<Analysis>({ op: "analyze", key: apiKey })
        const run: Round = {
          completed: saved,
          failed: jobs - saved,
          firstError: done < jobs ? `stopped: ${done}/${jobs} ended after the time limit` : firstError || undefined,
          wallSeconds:
            analysis.firstCreateAt === undefined || lastSavedAt === 0
              ? undefined
              : (lastSavedAt - analysis.firstCreateAt) / 1000,
          statusPerVideo: analysis.status / jobs,
          rssMB: Math.max(...usage.map((entry) => entry.peakRss)) / 1e6,
          cpuSeconds: usage.reduce((sum, entry) => sum + entry.cpuSeconds, 0),
          transactions: after - before,
          enqueueSeconds
        }
        results.get(workers)!.push(run)
        log(
          `  ${saved}/${jobs} saved in ${run.wallSeconds?.toFixed(1) ?? "—"} s (ideal ${idealSeconds.toFixed(1)} s), ` +
            `${((run.cpuSeconds * 1000) / jobs).toFixed(1)} CPU ms/video, ${run.rssMB.toFixed(0)} MB peak per worker, ` +
            `${run.statusPerVideo.toFixed(2)} status/video, ${(run.transactions / jobs).toFixed(1)} transactions/video, ` +
            `enqueue ${enqueueSeconds.toFixed(1)} s`
        )
        await sim.ask({ op: "reset" })
        NodeFs.rmSync(outDir, { recursive: true, force: true })
      }
    }
  } finally {
    await sim.stop()
    pg.stop()
    NodeFs.rmSync(work, { recursive: true, force: true })
  }
  return {
    jobs,
    rounds,
    timeScale,
    idealSeconds,
    pollInterval,
    rows: counts.map((workers) => {
      const runs = results.get(workers)!
      const over = (f: (run: Round) => number | undefined) => stat(runs.map(f))
      return {
        workers,
        rounds: runs.length,
        completed: Math.min(...runs.map((run) => run.completed)),
        firstError: runs.find((run) => run.firstError !== undefined)?.firstError,
        wallSeconds: over((run) => run.wallSeconds),
        wallOverIdeal: over((run) => (run.wallSeconds === undefined ? undefined : run.wallSeconds / idealSeconds)),
        statusPerVideo: over((run) => run.statusPerVideo),
        rssPerWorkerMB: over((run) => run.rssMB),
        cpuMsPerVideo: over((run) => (run.cpuSeconds * 1000) / jobs),
        transactionsPerVideo: over((run) => run.transactions / jobs),
        enqueueSeconds: over((run) => run.enqueueSeconds)
      }
    })
  }
}
