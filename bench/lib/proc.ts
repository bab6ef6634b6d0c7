/**
 * Starting the simulator and the contestants as child processes, and small statistics.
 */
import { type ChildProcess, type ChildProcessByStdio, execFileSync, fork, spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import type { Readable } from "node:stream"
import { benchDir, bundled, type Contestant } from "./bundle.js"
import type { ContestantInput, ContestantResult, ProgressLine, SimAsk, SimReply, SimUrls } from "./protocol.js"

export const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`)
}

/** The simulator of one scenario, in its own process. */
export interface Sim {
  readonly urls: SimUrls
  readonly ask: <A>(request: SimAsk) => Promise<A>
  readonly stop: () => Promise<void>
}

export const startSim = (options: { readonly timeScale: number }): Promise<Sim> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = fork(NodePath.join(benchDir, "lib", "sim.ts"), [], {
      cwd: benchDir,
      execArgv: ["--conditions=@reelay/source", "--import", "tsx", "--expose-gc", "--max-old-space-size=8192"],
      env: { ...process.env, BENCH_SIM_OPTIONS: JSON.stringify(options) },
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    const waiting = new Map<number, (value: unknown) => void>()
    let next = 1
    child.on("message", (reply: SimReply) => {
      const done = waiting.get(reply.id)
      waiting.delete(reply.id)
      done?.(reply.result)
    })
    child.once("exit", (code) => {
      if (waiting.has(0)) reject(new Error(`the simulator exited (${code}) before it listened`))
    })
    waiting.set(0, (urls) =>
      resolve({
        urls: urls as SimUrls,
        ask: <A>(request: SimAsk) =>
          new Promise<A>((done) => {
            const id = next++
            waiting.set(id, done as (value: unknown) => void)
            child.send({ ...request, id })
          }),
        stop: () =>
          new Promise<void>((done) => {
            child.once("exit", () => done())
            child.send({ op: "stop", id: next++ })
          })
      })
    )
  })

/** The last `PROGRESS` line a contestant printed, as a phrase for a stopped run. */
const progressOf = (stdout: string): string => {
  const lines = stdout.split("\n").filter((line) => line.startsWith("PROGRESS "))
  // The last line may be cut mid-way: the one before it is then the last whole one.
  for (const line of lines.slice(-2).reverse()) {
    try {
      const progress = JSON.parse(line.slice("PROGRESS ".length)) as ProgressLine
      return ` (${progress.submitted.toLocaleString("en")} submitted${progress.ended > 0 ? `, ${progress.ended} ended` : ""})`
    } catch {}
  }
  return ""
}

/** Runs one bundled contestant to its result line. `nodeArgs`: Node flags for it (`--expose-gc`). */
export const runContestant = (
  name: Contestant,
  input: ContestantInput,
  timeoutMs = Number.POSITIVE_INFINITY,
  nodeArgs: ReadonlyArray<string> = []
): Promise<ContestantResult> =>
  new Promise((resolve, reject) => {
    const spawnedAt = Date.now()
    // BENCH_NODE_ARGS: extra Node flags for the contestant (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
    const extra = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((arg) => arg !== "")
    const child = spawn(process.execPath, [...nodeArgs, ...extra, bundled(name)], {
      cwd: benchDir,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", BENCH_INPUT: JSON.stringify(input) },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const output = captured(child)
    // A contestant that does not finish in time is stopped; its figures so far are read from /proc.
    const timer = Number.isFinite(timeoutMs)
      ? setTimeout(() => {
          const usage = procUsage(child.pid!)
          child.kill("SIGKILL")
          resolve({
            startedAt: spawnedAt,
            endedAt: Date.now(),
            saved: 0,
            failed: 0,
            firstError: `stopped: not finished after ${Math.round(timeoutMs / 1000)} s${progressOf(output.stdout)}`,
            timedOut: true,
            ...usage
          })
        }, timeoutMs)
      : undefined
    // Sampled while it runs, so a contestant that crashes (out of memory, say) still has figures.
    let last = { cpuSeconds: Number.NaN, peakRss: Number.NaN }
    let ticks = 0
    const sampler = setInterval(() => {
      // A zombie's status has no VmHWM: keep the last real reading.
      const usage = procUsage(child.pid!)
      if (usage.peakRss > 0) last = usage
      // A long run says how far it got every half minute.
      if (++ticks % 120 === 0) {
        const progress = progressOf(output.stdout)
        if (progress !== "")
          log(
            `  … ${Math.round((Date.now() - spawnedAt) / 1000)} s${progress}, ${(last.peakRss / 1e6).toFixed(0)} MB peak`
          )
      }
    }, 250)
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      clearInterval(sampler)
      if (signal === "SIGKILL") return
      const line = output.stdout.split("\n").find((l) => l.startsWith("RESULT "))
      if (line !== undefined) return resolve(JSON.parse(line.slice("RESULT ".length)) as ContestantResult)
      const fatal = /FATAL ERROR: ([^\n]+)/.exec(output.stderr)?.[1]
      if (fatal === undefined && code !== 0 && !/heap out of memory/.test(output.stderr)) {
        return reject(new Error(`${name} exited ${code ?? signal} without a result:\n${output.stderr.slice(-4000)}`))
      }
      resolve({
        startedAt: spawnedAt,
        endedAt: Date.now(),
        saved: 0,
        failed: 0,
        firstError: `crashed after ${Math.round((Date.now() - spawnedAt) / 1000)} s${progressOf(output.stdout)}: ${fatal ?? `exit ${code ?? signal}`}`,
        timedOut: true,
        ...last
      })
    })
  })

/** CPU seconds and peak RSS of a running process, from /proc (clock ticks of 1/100 s). */
const procUsage = (pid: number): { readonly cpuSeconds: number; readonly peakRss: number } => {
  try {
    const stat = NodeFs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    const status = NodeFs.readFileSync(`/proc/${pid}/status`, "utf8")
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status)
    return { cpuSeconds: (Number(stat[11]) + Number(stat[12])) / 100, peakRss: Number(hwm?.[1] ?? 0) * 1024 }
  } catch {
    return { cpuSeconds: Number.NaN, peakRss: Number.NaN }
  }
}

/** Runs a command under GNU time: wall seconds, CPU seconds and peak RSS of that process. */
export const timed = (
  command: string,
  args: ReadonlyArray<string>
): { readonly wall: number; readonly cpu: number; readonly peakRss: number; readonly stdout: string } => {
  const out = execFileSync("/usr/bin/time", ["-f", "TIME %e %U %S %M", command, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024
  })
  return { ...parseTime(out), stdout: out }
}

/**
 * What a child writes, kept as it arrives; stderr keeps its last 50-100 KB (a crashing contestant can
 * print a lot, and only the end says why).
 */
export const captured = (child: ChildProcessByStdio<null, Readable, Readable>) => {
  const output = { stdout: "", stderr: "" }
  child.stdout.on("data", (chunk: Buffer) => {
    output.stdout += chunk.toString()
  })
  child.stderr.on("data", (chunk: Buffer) => {
    output.stderr += chunk.toString()
    if (output.stderr.length > 100_000) output.stderr = output.stderr.slice(-50_000)
  })
  return output
}

export const timedAsync = (
  command: string,
  args: ReadonlyArray<string>
): Promise<{ readonly wall: number; readonly cpu: number; readonly peakRss: number; readonly stdout: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/time", ["-f", "TIME %e %U %S %M", command, ...args], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    const output = captured(child)
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`${command} exited ${code}: ${output.stderr.slice(-2000)}`))
      resolve({ ...parseTime(output.stderr), stdout: output.stdout })
    })
  })

const parseTime = (text: string) => {
  const match = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(text)
  if (match === null) throw new Error(`no GNU time line in: ${text.slice(-500)}`)
  return { wall: Number(match[1]), cpu: Number(match[2]) + Number(match[3]), peakRss: Number(match[4]) * 1024 }
}

export const quantile = (sorted: ReadonlyArray<number>, q: number): number | undefined => {
  if (sorted.length === 0) return undefined
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[index]
}

export const median = (values: ReadonlyArray<number>): number =>
  quantile(
    [...values].sort((a, b) => a - b),
    0.5
  )!

/** The machine, for the report. */
export const machine = () => {
  const cpus = NodeOs.cpus()
  let disk = ""
  try {
    disk = execFileSync("df", ["-h", "--output=source,fstype", NodeOs.tmpdir()], { encoding: "utf8" })
      .trim()
      .split("\n")[1]!
      .trim()
      .replace(/\s+/g, " ")
  } catch {
    disk = "unknown"
  }
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    ramGiB: Math.round(NodeOs.totalmem() / 1024 ** 3),
    node: process.version,
    os: `${NodeOs.type()} ${NodeOs.release()} ${NodeOs.arch()}`,
    disk
  }
}
