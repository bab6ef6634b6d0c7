/**
 * The gateway benchmark: N videos (1,000) through `reelay serve`'s gateway, asked for by C polling
 * clients (200), against the engine alone running the same N as one batch on the same journal
 * (SQLite): what the API, its per-video batches and its clients' polling cost on top of the engine.
 *
 * Both run the polling workload (`makeWorkload`, linear, pinned durations) against one simulator
 * process at the same time scale, in paired rounds (the order reversed every other round). The
 * common ideal is the same for both: the longest task's own duration, as if every create were
 * answered at once and every finish seen the instant it happened.
 *
 * The gateway runs in its own process (`contestants/gateway-server.ts`): its CPU and peak RSS are its
 * own, start-up included. The clients run here, each one connection that asks for its videos one
 * request at a time: it creates them (`POST /v1/videos`), then retrieves each when the previous
 * answer's `openai-poll-after-ms` says, until every one is `completed` or `failed`. Latencies are
 * measured here, request sent to answer read. The engine alone is `contestants/reelay-polling.ts`
 * with the journal: it has no API, so no latency.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import type { Readable } from "node:stream"
import { Agent } from "undici"
import { benchDir, bundled } from "./bundle.js"
import { type Stat, stat } from "./polling.js"
import { captured, log, quantile, runContestant, startSim } from "./proc.js"
import type { Analysis, ContestantResult, WorkItem } from "./protocol.js"
import { makeWorkload } from "./workload.js"

export interface GatewayRow {
  readonly id: "gateway" | "engine"
  readonly label: string
  readonly rounds: number
  /** Videos completed, the fewest over the rounds. */
  readonly completed: number
  readonly firstError: string | undefined
  /** First create to last video done (completed at the gateway / saved by the engine), s. */
  readonly wallSeconds: Stat | undefined
  /** `wallSeconds` / the common ideal. */
  readonly wallOverIdeal: Stat | undefined
  readonly cpuMsPerVideo: Stat | undefined
  readonly peakRssMB: Stat | undefined
  /** Status requests the simulator saw per video (the engine's own polling, upstream). */
  readonly upstreamStatusPerVideo: Stat | undefined
  /** The clients' API requests per video (creates and retrieves); gateway only. */
  readonly apiRequestsPerVideo: Stat | undefined
  /** Create latency p50 / p99, ms; gateway only. */
  readonly createP50: Stat | undefined
  readonly createP99: Stat | undefined
  /** Retrieve latency p50 / p99, ms; gateway only. */
  readonly retrieveP50: Stat | undefined
  readonly retrieveP99: Stat | undefined
}

export interface GatewayScenario {
  readonly jobs: number
  readonly clients: number
  readonly rounds: number
  readonly timeScale: number
  /** The longest task's duration at this scale, s: the common ideal. */
  readonly idealSeconds: number
  readonly rows: ReadonlyArray<GatewayRow>
}

interface Round {
  readonly result: ContestantResult
  readonly completed: number
  readonly wallSeconds: number | undefined
  readonly analysis: Analysis
  readonly api?: {
    readonly requests: number
    readonly create: ReadonlyArray<number>
    readonly retrieve: ReadonlyArray<number>
  }
}

const tenantKey = "sk-bench-tenant-0123456789"

/** Starts the gateway process; its base URL once it prints it. */
const startGateway = (input: object) =>
  new Promise<{ readonly child: ChildProcessByStdio<null, Readable, Readable>; readonly baseUrl: string }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, [bundled("gateway-server")], {
        cwd: benchDir,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", BENCH_INPUT: JSON.stringify(input) },
        stdio: ["ignore", "pipe", "pipe"]
      })
      const output = captured(child)
      const timer = setInterval(() => {
        const ready = /READY (\S+)/.exec(output.stdout)
        if (ready === null) return
        clearInterval(timer)
        resolve({ child, baseUrl: ready[1]! })
      }, 20)
      child.once("exit", (code) => {
        clearInterval(timer)
        reject(new Error(`the gateway exited (${code}) before it listened: ${output.stderr.slice(-2000)}`))
      })
    }
  )

/** Stops the gateway with SIGTERM; its result line. */
const stopGateway = (child: ChildProcessByStdio<null, Readable, Readable>) =>
  new Promise<ContestantResult>((resolve, reject) => {
    const output = captured(child)
    child.removeAllListeners("exit")
    child.once("exit", () => {
      const line = output.stdout.split("\n").find((l) => l.startsWith("RESULT "))
      if (line === undefined) return reject(new Error(`the gateway left no result: ${output.stderr.slice(-2000)}`))
      resolve(JSON.parse(line.slice("RESULT ".length)) as ContestantResult)
    })
    child.kill("SIGTERM")
  })

/**
 * The clients: each one connection, asking one thing at a time; its share of the videos created
 * first, then each retrieved when the gateway said to ask again, until all are done.
 */
const drive = async (baseUrl: string, items: ReadonlyArray<WorkItem>, clients: number) => {
  const agent = new Agent({ connections: clients, pipelining: 0 })
  const create: Array<number> = []
  const retrieve: Array<number> = []
  let requests = 0
  let completed = 0
  let lastDoneAt = 0
  let firstError: string | undefined
  const call = async (path: string, init: RequestInit, into: Array<number>) => {
    const started = performance.now()
    const response = await fetch(`${baseUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${tenantKey}`, "content-type": "application/json" },
      // @ts-expect-error undici's dispatcher option, accepted by Node's fetch
      dispatcher: agent
    })
    const body = (await response.json()) as {
      readonly id: string
      readonly status: string
      readonly error?: { readonly message?: string } | null
    }
    into.push(performance.now() - started)
    requests++
    if (!response.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${response.status} ${JSON.stringify(body)}`)
    return { body, after: Number(response.headers.get("openai-poll-after-ms") ?? 1000) }
  }
  const client = async (mine: ReadonlyArray<WorkItem>) => {
    const due: Array<{ id: string; at: number }> = []
    for (const item of mine) {
      const { body } = await call(
        "/videos",
        { method: "POST", body: JSON.stringify({ prompt: item.prompt, model: item.model }) },
        create
      )
      due.push({ id: body.id, at: Date.now() })
    }
    while (due.length > 0) {
      due.sort((a, b) => a.at - b.at)
      const next = due[0]!
      const wait = next.at - Date.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      const { body, after } = await call(`/videos/${next.id}`, { method: "GET" }, retrieve)
      if (body.status === "completed" || body.status === "failed") {
        due.shift()
        lastDoneAt = Date.now()
        if (body.status === "completed") completed++
        else firstError ??= body.error?.message
      } else {
        next.at = Date.now() + after
      }
    }
  }
  const startedAt = Date.now()
  const shares = Array.from({ length: clients }, (_, index) => items.filter((_, at) => at % clients === index))
  await Promise.all(shares.filter((share) => share.length > 0).map(client))
  await agent.close()
  return {
    startedAt,
    lastDoneAt,
    completed,
    firstError,
    api: { requests, create, retrieve }
  }
}

export const runGateway = async (options: {
  readonly jobs: number
  readonly clients: number
  readonly rounds: number
  readonly timeScale: number
}): Promise<GatewayScenario> => {
  const { jobs, clients, rounds, timeScale } = options
  const work = NodePath.join(benchDir, ".work", `gateway-${jobs}-${process.pid}`)
  NodeFs.rmSync(work, { recursive: true, force: true })
  NodeFs.mkdirSync(work, { recursive: true })
  const items = makeWorkload(jobs, timeScale, "linear")
  const workloadPath = NodePath.join(work, "workload.json")
  NodeFs.writeFileSync(workloadPath, JSON.stringify(items))
  const idealSeconds = Math.max(...items.map((item) => item.queueMs + item.runMs)) / 1000
  const results = { gateway: [] as Array<Round>, engine: [] as Array<Round> }
  const sim = await startSim({ timeScale })
  try {
    for (let round = 1; round <= rounds; round++) {
      const order: ReadonlyArray<"gateway" | "engine"> = round % 2 === 1 ? ["engine", "gateway"] : ["gateway", "engine"]
      for (const id of order) {
        const apiKey = `sk-bench-gateway-${id}-${round}`
        const outDir = NodePath.join(work, `${id}-${round}`)
        NodeFs.mkdirSync(outDir, { recursive: true })
        const input = { urls: sim.urls, apiKey, workload: workloadPath, outDir, timeScale }
        log(`gateway ${jobs} jobs, round ${round}/${rounds}: ${id}…`)
        if (id === "engine") {
          const result = await runContestant("reelay-polling", {
            ...input,
            settings: { journal: NodePath.join(outDir, "journal.db") }
          })
          const analysis = await sim.ask<Analysis>({ op: "analyze", key: apiKey })
          results.engine.push({
            result,
            completed: result.saved,
            wallSeconds:
              analysis.firstCreateAt === undefined ? undefined : (result.endedAt - analysis.firstCreateAt) / 1000,
            analysis
          })
        } else {
          const { child, baseUrl } = await startGateway({ ...input, settings: { tenantKey } })
          const driven = await drive(baseUrl, items, clients).catch((error: unknown) => {
            child.kill("SIGKILL")
            throw error
          })
          const result = await stopGateway(child)
          const analysis = await sim.ask<Analysis>({ op: "analyze", key: apiKey })
          results.gateway.push({
            result: { ...result, firstError: driven.firstError },
            completed: driven.completed,
            wallSeconds:
              analysis.firstCreateAt === undefined ? undefined : (driven.lastDoneAt - analysis.firstCreateAt) / 1000,
            analysis,
            api: driven.api
          })
        }
        const last = results[id].at(-1)!
        log(
          `  ${last.completed}/${jobs} done in ${last.wallSeconds?.toFixed(1) ?? "—"} s (ideal ${idealSeconds.toFixed(1)} s), ` +
            `${((last.result.cpuSeconds * 1000) / jobs).toFixed(1)} CPU ms/video, ${(last.result.peakRss / 1e6).toFixed(0)} MB peak, ` +
            `${(last.analysis.status / jobs).toFixed(2)} upstream status/video` +
            (last.api === undefined
              ? ""
              : `, ${(last.api.requests / jobs).toFixed(2)} API requests/video, retrieve p50/p99 ` +
                `${quantile(sorted(last.api.retrieve), 0.5)?.toFixed(1)}/${quantile(sorted(last.api.retrieve), 0.99)?.toFixed(1)} ms`)
        )
        await sim.ask({ op: "reset" })
      }
    }
  } finally {
    await sim.stop()
    NodeFs.rmSync(work, { recursive: true, force: true })
  }
  return {
    jobs,
    clients,
    rounds,
    timeScale,
    idealSeconds,
    rows: [
      toRow(
        "gateway",
        `gateway: reelay serve, ${clients} clients polling as told, one batch per video`,
        jobs,
        idealSeconds,
        results.gateway
      ),
      toRow(
        "engine",
        "engine alone: Engine.runMany, one batch, the same SQLite journal",
        jobs,
        idealSeconds,
        results.engine
      )
    ]
  }
}

const sorted = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)

const toRow = (
  id: GatewayRow["id"],
  label: string,
  jobs: number,
  idealSeconds: number,
  rounds: ReadonlyArray<Round>
): GatewayRow => {
  const over = (f: (round: Round) => number | undefined) => stat(rounds.map(f))
  const latency = (pick: (api: NonNullable<Round["api"]>) => ReadonlyArray<number>, q: number) =>
    over((round) => (round.api === undefined ? undefined : quantile(sorted(pick(round.api)), q)))
  return {
    id,
    label,
    rounds: rounds.length,
    completed: Math.min(...rounds.map((round) => round.completed)),
    firstError: rounds.find((round) => round.result.firstError !== undefined)?.result.firstError,
    wallSeconds: over((round) => round.wallSeconds),
    wallOverIdeal: over((round) => (round.wallSeconds === undefined ? undefined : round.wallSeconds / idealSeconds)),
    cpuMsPerVideo: over((round) => (round.result.cpuSeconds * 1000) / jobs),
    peakRssMB: over((round) => round.result.peakRss / 1e6),
    upstreamStatusPerVideo: over((round) => round.analysis.status / jobs),
    apiRequestsPerVideo: over((round) => (round.api === undefined ? undefined : round.api.requests / jobs)),
    createP50: latency((api) => api.create, 0.5),
    createP99: latency((api) => api.create, 0.99),
    retrieveP50: latency((api) => api.retrieve, 0.5),
    retrieveP99: latency((api) => api.retrieve, 0.99)
  }
}
