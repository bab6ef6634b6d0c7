/**
 * Running the real `reelay` process in end-to-end tests: the built bundle (rebuilt first when a
 * source is newer), a clean environment (never the machine's keys), a fresh working directory per
 * test, and a simulator started in this process that the CLI is pointed at by environment
 * variables, whose request log and ledger are the truth about what was sent and charged.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { Simulator } from "@reelay/simulator"
import { afterAll, beforeAll } from "vitest"

const repo = NodePath.resolve(NodePath.dirname(fileURLToPath(import.meta.url)), "../..")
const buildScript = NodePath.join(repo, "apps/cli/scripts/build.mjs")
export const bundle = NodePath.join(repo, "apps/cli/dist/reelay.mjs")

interface BuildModule {
  readonly isStale: () => boolean
  readonly build: () => Promise<void>
}

/**
 * Builds the bundle when it is missing or stale. Test files run in parallel processes: a lock
 * directory makes one of them build while the others wait.
 */
export const ensureBundle = async (): Promise<void> => {
  const { isStale, build } = (await import(buildScript)) as BuildModule
  const lock = NodePath.join(NodeOs.tmpdir(), "reelay-cli-build.lock")
  const deadline = Date.now() + 120_000
  for (;;) {
    try {
      NodeFs.mkdirSync(lock)
      break
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} is held for too long; remove it if no build runs`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  try {
    if (isStale()) await build()
  } finally {
    NodeFs.rmSync(lock, { recursive: true, force: true })
  }
}

/** The simulator time scale the tests run at: a fast video takes well under a second. */
export const timeScale = 1 / 100

export interface Result {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  /** stdout's non-empty lines. */
  readonly lines: ReadonlyArray<string>
}

export interface RunOptions {
  readonly cwd: string
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly timeoutMs?: number
}

/** Only what the CLI needs: never the machine's own keys or configuration. */
export const baseEnv = (): Record<string, string> => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: process.env.HOME ?? "/tmp",
  NO_COLOR: "1",
  REELAY_TIME_SCALE: `1/${Math.round(1 / timeScale)}`
})

const collect = (child: ChildProcess, timeoutMs: number): Promise<Result> =>
  new Promise((resolve, reject) => {
    let stdout = ""
    let stderr = ""
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
    })
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
    })
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`reelay did not finish within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }, timeoutMs)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, lines: stdout.split("\n").filter((line) => line.trim() !== "") })
    })
  })

/** Starts `reelay args...` and returns the child (for tests that signal it). */
export const start = (args: ReadonlyArray<string>, options: RunOptions): ChildProcess => {
  const env: Record<string, string> = { ...baseEnv() }
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name]
    else env[name] = value
  }
  return spawn(process.execPath, [bundle, ...args], { cwd: options.cwd, env, stdio: ["ignore", "pipe", "pipe"] })
}

/** Runs `reelay args...` to its end. */
export const run = (args: ReadonlyArray<string>, options: RunOptions): Promise<Result> =>
  collect(start(args, options), options.timeoutMs ?? 60_000)

/** Waits for the child's end, collecting what it printed from now on. */
export const finish = (child: ChildProcess, timeoutMs = 60_000) => collect(child, timeoutMs)

const workdirs: Array<string> = []

/** A fresh working directory, removed by `cleanup`. */
export const workdir = (name: string): string => {
  const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), `reelay-${name}-`))
  workdirs.push(dir)
  return dir
}

/** Removes the working directories of this test file. */
export const cleanup = () => {
  for (const dir of workdirs.splice(0)) NodeFs.rmSync(dir, { recursive: true, force: true })
}

/** A simulator for a test file, and the environment pointing the CLI at it. */
export const simulator = async () => {
  const sim = await Simulator.start({ timeScale, seed: `cli-${process.pid}` })
  let keys = 0
  return {
    sim,
    /** A key no other test uses, so ledger and request log entries can be told apart. */
    freshKey: (prefix = "sk-e2e") => `${prefix}-${process.pid}-${++keys}-${Date.now().toString(36)}`,
    /** Everything sent with `key`, in order. */
    requestsOf: (key: string) =>
      sim.state.requests.list().filter((request) => request.authorization.fingerprint === Simulator.fingerprint(key)),
    /** Every charge made with `key`. */
    chargesOf: (key: string) => sim.ledger().filter((entry) => entry.key === Simulator.fingerprint(key)),
    /** The environment of a CLI that uses `key` for every provider, pointed at this simulator. */
    env: (key: string): Record<string, string> => ({
      LAOZHANG_BASE_URL: sim.urls.laozhang,
      APIYI_BASE_URL: sim.urls.apiyi,
      LAOZHANG_API_KEY: key,
      APIYI_API_KEY: key
    })
  }
}

export type Harness = Awaited<ReturnType<typeof simulator>>

/**
 * For a test file: the CLI bundle and one simulator, started before its tests and stopped after
 * them. The object is filled in when the tests start.
 */
export const forFile = (): Harness => {
  const harness = {} as Harness
  beforeAll(async () => {
    await ensureBundle()
    Object.assign(harness, await simulator())
  }, 120_000)
  afterAll(async () => {
    await (harness.sim as Harness["sim"] | undefined)?.stop()
    cleanup()
  })
  return harness
}

/** The file's first bytes name an MP4 (`ftyp` box) and it has some size. */
export const isMp4 = (path: string): boolean => {
  const bytes = NodeFs.readFileSync(path)
  return bytes.length > 1000 && bytes.subarray(4, 8).toString("latin1") === "ftyp"
}

/** Parses NDJSON stdout. */
export const ndjson = (result: Result): ReadonlyArray<Record<string, unknown>> =>
  result.lines.map((line) => JSON.parse(line) as Record<string, unknown>)

/** Waits until `predicate` holds for what `child` printed on stdout so far. */
export const waitFor = (child: ChildProcess, predicate: (stdout: string) => boolean, timeoutMs = 30_000) =>
  new Promise<string>((resolve, reject) => {
    let seen = ""
    const timer = setTimeout(() => reject(new Error(`timed out waiting; stdout so far:\n${seen}`)), timeoutMs)
    const listener = (chunk: Buffer | string) => {
      seen += chunk.toString()
      if (predicate(seen)) {
        clearTimeout(timer)
        child.stdout?.off("data", listener)
        resolve(seen)
      }
    }
    child.stdout?.on("data", listener)
  })
