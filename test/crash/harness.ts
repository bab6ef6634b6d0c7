/**
 * The crash test's machinery, shared by `crash.test.ts` (every kill point, in a seeded order) and
 * `test/reliability/crash.test.ts` (random kill points, many rounds): run the batch runner as a
 * child process, kill it (at an injected point, or on a timer from outside), resume it until the
 * batch is done, then check one round from the journal, the files and the simulator's ledger.
 */
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert } from "@effect/vitest"
import * as Probe from "@reelay/core/Probe"
import * as Journal from "@reelay/journal/Journal"
import type { Simulator } from "@reelay/simulator"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { items, KillPoint, type Report } from "./batch.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const runner = path.join(here, "runner.ts")

/** A small seeded generator (mulberry32), so a failing run can be repeated exactly. */
export const random = (text: string) => {
  let state = 0
  for (const char of text) state = (Math.imul(state ^ char.charCodeAt(0), 16777619) + 0x9e3779b9) >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface Run {
  readonly seconds: number
  /** How many items the journal resumed how (`Fresh`, `Poll`, `Fetch`, `Verify`, `Uncertain`, ...). */
  readonly opened: Readonly<Record<string, number>>
  readonly killed: boolean
  readonly code: number | null
  readonly report: Report | undefined
  readonly stderr: string
}

/**
 * Runs the batch runner once with `env`; never fails, the caller judges the outcome. With
 * `killAfterMillis`, this process SIGKILLs the child that long after it opened the batch (printed
 * `OPENED`): a kill at an instant nobody chose, wherever the child happens to be.
 */
export const runOnce = (env: Record<string, string>, options: { readonly killAfterMillis?: number } = {}) =>
  Effect.async<Run>((resume) => {
    const began = Date.now()
    const child = spawn(process.execPath, ["--conditions=@reelay/source", "--import", "tsx", runner], {
      cwd: here,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let killer: ReturnType<typeof setTimeout> | undefined
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      if (options.killAfterMillis !== undefined && killer === undefined && stdout.includes("OPENED ")) {
        killer = setTimeout(() => child.kill("SIGKILL"), options.killAfterMillis)
      }
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const timer = setTimeout(() => child.kill("SIGTERM"), 60_000)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      if (killer !== undefined) clearTimeout(killer)
      const line = stdout.split("\n").find((text) => text.startsWith("REPORT "))
      const opened = stdout.split("\n").find((text) => text.startsWith("OPENED "))
      resume(
        Effect.succeed({
          seconds: (Date.now() - began) / 1000,
          opened: opened === undefined ? {} : (JSON.parse(opened.slice("OPENED ".length)) as Record<string, number>),
          killed: signal === "SIGKILL",
          code,
          report: line === undefined ? undefined : (JSON.parse(line.slice("REPORT ".length)) as Report),
          stderr: stderr.slice(-4000)
        })
      )
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex")

/** One kill of a round: at an injected point (its `at`-th occurrence), or on a timer from outside. */
export type Kill =
  | { readonly _tag: "Point"; readonly point: KillPoint; readonly at: number }
  | { readonly _tag: "Timer"; readonly afterMillis: number }

export const describeKill = (kill: Kill) =>
  kill._tag === "Point" ? `${kill.point}#${kill.at}` : `timer+${kill.afterMillis}ms`

/** Kill points plus `timer`, the kills from outside. */
export type KillKind = KillPoint | "timer"
export const killKinds: ReadonlyArray<KillKind> = [...KillPoint, "timer"]

export interface Figures {
  readonly round: number
  readonly items: number
  readonly runs: number
  readonly timings: ReadonlyArray<string>
  /** Items resumed by polling / fetching / verifying in the runs after the first. */
  readonly resumed: { readonly Poll: number; readonly Fetch: number; readonly Verify: number }
  /** Kills that happened, per kind. */
  readonly kills: Record<KillKind, number>
  /** Kills planned that did not happen (the batch finished first). */
  readonly notReached: ReadonlyArray<string>
  readonly uncertain: number
  readonly duplicates: number
  readonly duplicatesOutsideUncertain: number
  readonly charges: number
  readonly ledgerTotal: string
  readonly seconds: number
}

export interface RoundOptions {
  readonly sim: Simulator.Service
  readonly round: number
  readonly count: number
  readonly kills: ReadonlyArray<Kill>
  /** Creates in flight at once (default: the engine's 10). */
  readonly submitConcurrency?: string | undefined
  /** Added to every assertion message, so a failure says how to replay it. */
  readonly label?: string | undefined
}

/**
 * One round: a fresh journal and output directory, the batch run under each kill in turn, then
 * resumed until it is done (items reported uncertain re-created, which the user must allow). Then:
 * every item has exactly one file whose sha256 matches the journal and which probes as the video
 * asked for, no `.part` is left, and the ledger shows no item charged twice except items the
 * journal reported uncertain before they were re-created.
 */
export const runRound = (options: RoundOptions): Effect.Effect<Figures> =>
  Effect.gen(function* () {
    const { sim, round, count } = options
    const label = options.label === undefined ? "" : ` [${options.label}]`
    const roundStarted = Date.now()
    yield* sim.reset
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reelay-crash-"))
    const journalPath = path.join(dir, "journal.db")
    const outputDir = path.join(dir, "out")
    const batch = `crash-round-${round}`
    const base = {
      CRASH_JOURNAL: journalPath,
      CRASH_OUTPUT: outputDir,
      CRASH_BATCH: batch,
      CRASH_ROUND: String(round),
      CRASH_ITEMS: String(count),
      CRASH_BASE_URL: sim.urls.laozhang,
      ...(options.submitConcurrency === undefined ? {} : { CRASH_SUBMIT_CONCURRENCY: options.submitConcurrency })
    }
    const kills: Record<KillKind, number> = {
      "before-submit": 0,
      "after-create": 0,
      "after-commit": 0,
      "mid-download": 0,
      timer: 0
    }
    const notReached: Array<string> = []
    let runs = 0
    const timings: Array<string> = []
    const resumed = { Poll: 0, Fetch: 0, Verify: 0 }
    const countResumed = (run: Run) => {
      resumed.Poll += run.opened.Poll ?? 0
      resumed.Fetch += run.opened.Fetch ?? 0
      resumed.Verify += run.opened.Verify ?? 0
    }
    for (const kill of options.kills) {
      const run =
        kill._tag === "Point"
          ? yield* runOnce({ ...base, CRASH_KILL: kill.point, CRASH_KILL_AT: String(kill.at) })
          : yield* runOnce({ ...base, CRASH_KILL: "none" }, { killAfterMillis: kill.afterMillis })
      runs++
      countResumed(run)
      timings.push(`${describeKill(kill)}${run.killed ? " killed" : ""} ${run.seconds.toFixed(1)}s`)
      if (run.killed) {
        kills[kill._tag === "Point" ? kill.point : "timer"]++
        continue
      }
      // The kill did not happen: the run finished the batch (or failed, judged here).
      assert.strictEqual(
        run.code,
        0,
        `round ${round}, run ${runs} (${describeKill(kill)}): exit ${run.code}${label}\n${run.stderr}`
      )
      notReached.push(describeKill(kill))
    }

    // Resume until the child exits 0 with everything saved or reported uncertain.
    let final: Run | undefined
    for (let attempt = 0; attempt < 3 && final?.code !== 0; attempt++) {
      final = yield* runOnce({ ...base, CRASH_KILL: "none" })
      runs++
      countResumed(final)
      timings.push(`resume ${final.seconds.toFixed(1)}s`)
    }
    assert.strictEqual(final?.code, 0, `round ${round}: the batch did not finish${label}\n${final?.stderr}`)
    const report = final!.report!
    assert.strictEqual(report.saved.length + report.uncertain.length, count, `${JSON.stringify(report)}${label}`)

    // The journal itself lists the uncertain items, before anyone re-creates them.
    const uncertain = yield* Effect.scoped(
      Effect.gen(function* () {
        const journal = Context.get(
          yield* Layer.build(Journal.layerSqliteReader({ path: journalPath })),
          Journal.Journal
        )
        return (yield* journal.items(batch)).filter((item) => item.state === "uncertain").map((item) => item.key)
      })
    ).pipe(Effect.orDie)
    assert.deepStrictEqual(uncertain, [...report.uncertain], `the journal's uncertain items${label}`)

    if (uncertain.length > 0) {
      const recreated = yield* runOnce({ ...base, CRASH_KILL: "none", CRASH_RECREATE: "1" })
      runs++
      countResumed(recreated)
      timings.push(`recreate ${recreated.seconds.toFixed(1)}s`)
      assert.strictEqual(recreated.code, 0, `${recreated.stderr}${label}`)
      assert.strictEqual(recreated.report?.saved.length, count, label)
    }

    // Tasks orphaned by a kill still complete, and under on-success billing they are charged
    // then: wait until the simulator has nothing running before reading its ledger.
    for (let waited = 0; waited < 100; waited++) {
      const tasks = yield* sim.tasks
      if (tasks.every((task) => task.status !== "queued" && task.status !== "running")) break
      yield* Effect.sleep("100 millis")
    }

    // Every item: one file, the journal's sha256, the video asked for.
    const { stored, log } = yield* Effect.scoped(
      Effect.gen(function* () {
        const journal = Context.get(
          yield* Layer.build(Journal.layerSqliteReader({ path: journalPath })),
          Journal.Journal
        )
        return { stored: yield* journal.items(batch), log: yield* journal.events(batch) }
      })
    ).pipe(Effect.orDie)
    assert.strictEqual(stored.length, count, label)
    const expected = items(round, count)
    for (const [index, item] of stored.entries()) {
      assert.strictEqual(item.key, expected[index]!.key, label)
      assert.strictEqual(item.state, "downloaded", `${item.key}: ${item.state} ${item.error?.message}${label}`)
      const file = path.join(outputDir, `${item.key}.mp4`)
      assert.strictEqual(item.path, file, label)
      assert.strictEqual(sha256(file), item.sha256, `${item.key}: the file does not match the journal${label}`)
      assert.strictEqual(fs.statSync(file).size, item.bytes, label)
      const probe = yield* Probe.probe(file).pipe(Effect.orDie)
      assert.strictEqual(probe.size, "720x1280", `${item.key}${label}`)
      assert.isTrue(Math.abs(probe.durationSeconds - 8) < 0.5, `${item.key}: ${probe.durationSeconds} s${label}`)
      assert.isTrue(probe.hasAudio, label)
    }
    const files = fs.readdirSync(outputDir).sort()
    assert.deepStrictEqual(
      files,
      expected.map((item) => `${item.key}.mp4`),
      `exactly one file per item, no .part or .rejected left${label}: ${files.filter((name) => !/^item-\d+\.mp4$/.test(name)).join(", ")}`
    )

    // Every charge in the ledger belongs to a create whose intent the journal committed first.
    const byIdempotencyKey = new Map<string, string>()
    for (const entry of log) {
      if (entry.event?._tag === "Submitting") byIdempotencyKey.set(entry.event.idempotencyKey, entry.key)
    }
    const taskKeys = new Map((yield* sim.tasks).map((task) => [task.id, task.idempotencyKey]))
    const ledger = yield* sim.ledger
    const chargesPerItem = new Map<string, number>()
    for (const entry of ledger) {
      const idempotencyKey = taskKeys.get(entry.taskId)
      const key =
        idempotencyKey === null || idempotencyKey === undefined ? undefined : byIdempotencyKey.get(idempotencyKey)
      assert.isDefined(key, `charge for task ${entry.taskId} has no intent in the journal${label}`)
      chargesPerItem.set(key!, (chargesPerItem.get(key!) ?? 0) + 1)
    }
    for (const item of expected) {
      assert.isAtLeast(chargesPerItem.get(item.key) ?? 0, 1, `${item.key} was never charged${label}`)
    }
    const twice = [...chargesPerItem.entries()].filter(([, charges]) => charges > 1)
    const unexplained = twice.filter(([key]) => !uncertain.includes(key))
    assert.deepStrictEqual(unexplained, [], `charged more than once without having been reported uncertain${label}`)

    fs.rmSync(dir, { recursive: true, force: true })
    return {
      round,
      items: count,
      runs,
      timings,
      resumed,
      kills,
      notReached,
      uncertain: uncertain.length,
      duplicates: twice.reduce((sum, [, charges]) => sum + charges - 1, 0),
      duplicatesOutsideUncertain: unexplained.length,
      charges: ledger.length,
      ledgerTotal: yield* sim.total,
      seconds: (Date.now() - roundStarted) / 1000
    }
  })

/** The figures of a run of rounds, one line per round and a total, for stdout. */
export const formatFigures = (figures: ReadonlyArray<Figures>, seconds: number): ReadonlyArray<string> => {
  const total = (pick: (figure: Figures) => number) => figures.reduce((sum, figure) => sum + pick(figure), 0)
  const killCount = (figure: Figures) => killKinds.reduce((sum, kind) => sum + figure.kills[kind], 0)
  const lines = figures.map(
    (f) =>
      `  round ${f.round}: ${f.items} items, ${f.runs} runs, kills ${killKinds.map((kind) => `${kind} ${f.kills[kind]}`).join(", ")}` +
      `${f.notReached.length === 0 ? "" : ` (not reached: ${f.notReached.join(", ")})`}; uncertain ${f.uncertain}, ` +
      `second charges ${f.duplicates} (all on uncertain items: ${f.duplicatesOutsideUncertain === 0 ? "yes" : "NO"}); ` +
      `resumed by polling ${f.resumed.Poll}, by fetching ${f.resumed.Fetch}, verified ${f.resumed.Verify} (item-runs); ` +
      `ledger ${f.charges} charges, $${f.ledgerTotal}; ${f.seconds.toFixed(1)} s (${f.timings.join(", ")})`
  )
  return [
    ...lines,
    `  total: ${total((f) => f.items)} items, ${total((f) => f.runs)} runs, ${total(killCount)} kills ` +
      `(${killKinds.map((kind) => `${kind} ${total((f) => f.kills[kind])}`).join(", ")}), ` +
      `${total((f) => f.notReached.length)} planned kills not reached, ` +
      `uncertain ${total((f) => f.uncertain)}, second charges ${total((f) => f.duplicates)}, ` +
      `resumed by polling ${total((f) => f.resumed.Poll)}, by fetching ${total((f) => f.resumed.Fetch)}, ` +
      `unexplained second charges ${total((f) => f.duplicatesOutsideUncertain)}, ${seconds.toFixed(1)} s`
  ]
}
