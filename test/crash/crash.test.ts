/**
 * The journal's promise, tested the hard way: a batch runs in a child process (`runner.ts`: the
 * real engine, journal and laozhang provider) against the simulator, which runs here so its
 * billing ledger outlives the child. The child SIGKILLs itself at injected points (before a
 * create, after a create returned but before its task id was committed, after the commit, in the
 * middle of a download) and is started again until the batch is done; items whose create was in
 * flight at a kill are reported uncertain and re-created only when the user allows it.
 *
 * Then: every item has exactly one file whose sha256 matches the journal and which probes as the
 * video asked for, no `.part` is left, and the ledger shows no item charged twice except items the
 * journal reported uncertain before they were re-created.
 *
 * REELAY_CRASH_ROUNDS (default 3), REELAY_CRASH_ITEMS (default 50), REELAY_CRASH_SEED (default
 * "reelay") and REELAY_CRASH_SUBMIT_CONCURRENCY (default: the engine's 10) change the run; the
 * figures are printed at the end.
 */
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Probe from "@reelay/core/Probe"
import * as Journal from "@reelay/journal/Journal"
import { Simulator } from "@reelay/simulator"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { items, KillPoint, type Report, timeScale } from "./batch.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const runner = path.join(here, "runner.ts")

const rounds = Number(process.env.REELAY_CRASH_ROUNDS ?? 3)
const count = Number(process.env.REELAY_CRASH_ITEMS ?? 50)
const seed = process.env.REELAY_CRASH_SEED ?? "reelay"
/** Creates in flight at once: at a kill, every one of them is in the ambiguous window. */
const submitConcurrency = process.env.REELAY_CRASH_SUBMIT_CONCURRENCY

/** A small seeded generator (mulberry32), so a failing run can be repeated exactly. */
const random = (text: string) => {
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

interface Run {
  readonly seconds: number
  /** How many items the journal resumed how (`Fresh`, `Poll`, `Fetch`, `Verify`, `Uncertain`, ...). */
  readonly opened: Readonly<Record<string, number>>
  readonly killed: boolean
  readonly code: number | null
  readonly report: Report | undefined
  readonly stderr: string
}

/** Runs the batch runner once with `env`; never fails, the caller judges the outcome. */
const runOnce = (env: Record<string, string>) =>
  Effect.async<Run>((resume) => {
    const began = Date.now()
    const child = spawn(process.execPath, ["--import", "tsx", runner], {
      cwd: here,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const timer = setTimeout(() => child.kill("SIGTERM"), 60_000)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
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

interface Figures {
  readonly round: number
  readonly items: number
  readonly runs: number
  readonly timings: ReadonlyArray<string>
  /** Items resumed by polling / fetching / verifying in the runs after the first. */
  readonly resumed: { readonly Poll: number; readonly Fetch: number; readonly Verify: number }
  readonly kills: Record<KillPoint, number>
  readonly notReached: ReadonlyArray<KillPoint>
  readonly uncertain: number
  readonly duplicates: number
  readonly duplicatesOutsideUncertain: number
  readonly charges: number
  readonly ledgerTotal: string
  readonly seconds: number
}

describe("crash safety", () => {
  it.scopedLive(
    `a batch of ${count} items, killed at every point and resumed, ${rounds} rounds: one verified video each, no unexplained second charge`,
    () =>
      Effect.gen(function* () {
        const started = Date.now()
        const sim = yield* Simulator.make({ timeScale, seed: `crash-${seed}` })
        const draw = random(seed)
        const figures: Array<Figures> = []

        for (let round = 1; round <= rounds; round++) {
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
            ...(submitConcurrency === undefined ? {} : { CRASH_SUBMIT_CONCURRENCY: submitConcurrency })
          }

          // The submit-phase points in a random order (one of them twice), then two kills mid-download.
          const submitPoints: Array<KillPoint> = ["before-submit", "after-create", "after-commit"]
          submitPoints.push(submitPoints[Math.floor(draw() * 3)]!)
          submitPoints.sort(() => draw() - 0.5)
          const plan = [
            ...submitPoints.map((point) => ({ point, at: 1 + Math.floor(draw() * 6) })),
            ...["mid-download", "mid-download"].map((point) => ({
              point: point as KillPoint,
              at: 1 + Math.floor(draw() * 3)
            }))
          ]
          const kills: Record<KillPoint, number> = {
            "before-submit": 0,
            "after-create": 0,
            "after-commit": 0,
            "mid-download": 0
          }
          const notReached: Array<KillPoint> = []
          let runs = 0
          const timings: Array<string> = []
          const resumed = { Poll: 0, Fetch: 0, Verify: 0 }
          const countResumed = (run: Run) => {
            resumed.Poll += run.opened.Poll ?? 0
            resumed.Fetch += run.opened.Fetch ?? 0
            resumed.Verify += run.opened.Verify ?? 0
          }
          for (const step of plan) {
            const run = yield* runOnce({ ...base, CRASH_KILL: step.point, CRASH_KILL_AT: String(step.at) })
            runs++
            countResumed(run)
            timings.push(`${step.point}#${step.at}${run.killed ? " killed" : ""} ${run.seconds.toFixed(1)}s`)
            if (run.killed) {
              kills[step.point]++
              continue
            }
            // The point was not reached: the run finished the batch (or failed, judged below).
            assert.strictEqual(
              run.code,
              0,
              `round ${round}, run ${runs} (${step.point}): exit ${run.code}\n${run.stderr}`
            )
            notReached.push(step.point)
          }

          // Resume until the child exits 0 with everything saved or reported uncertain.
          let final: Run | undefined
          for (let attempt = 0; attempt < 3 && final?.code !== 0; attempt++) {
            final = yield* runOnce({ ...base, CRASH_KILL: "none" })
            runs++
            countResumed(final)
            timings.push(`resume ${final.seconds.toFixed(1)}s`)
          }
          assert.strictEqual(final?.code, 0, `round ${round}: the batch did not finish\n${final?.stderr}`)
          const report = final!.report!
          assert.strictEqual(report.saved.length + report.uncertain.length, count, JSON.stringify(report))

          // The journal itself lists the uncertain items, before anyone re-creates them.
          const uncertain = yield* Effect.scoped(
            Effect.gen(function* () {
              const journal = Context.get(
                yield* Layer.build(Journal.layerSqliteReader({ path: journalPath })),
                Journal.Journal
              )
              return (yield* journal.items(batch)).filter((item) => item.state === "uncertain").map((item) => item.key)
            })
          )
          assert.deepStrictEqual(uncertain, [...report.uncertain])

          if (uncertain.length > 0) {
            const recreated = yield* runOnce({ ...base, CRASH_KILL: "none", CRASH_RECREATE: "1" })
            runs++
            countResumed(recreated)
            timings.push(`recreate ${recreated.seconds.toFixed(1)}s`)
            assert.strictEqual(recreated.code, 0, recreated.stderr)
            assert.strictEqual(recreated.report?.saved.length, count)
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
          )
          assert.strictEqual(stored.length, count)
          const expected = items(round, count)
          for (const [index, item] of stored.entries()) {
            assert.strictEqual(item.key, expected[index]!.key)
            assert.strictEqual(item.state, "downloaded", `${item.key}: ${item.state} ${item.error?.message}`)
            const file = path.join(outputDir, `${item.key}.mp4`)
            assert.strictEqual(item.path, file)
            assert.strictEqual(sha256(file), item.sha256, `${item.key}: the file does not match the journal`)
            assert.strictEqual(fs.statSync(file).size, item.bytes)
            const probe = yield* Probe.probe(file)
            assert.strictEqual(probe.size, "720x1280", item.key)
            assert.isTrue(Math.abs(probe.durationSeconds - 8) < 0.5, `${item.key}: ${probe.durationSeconds} s`)
            assert.isTrue(probe.hasAudio)
          }
          const files = fs.readdirSync(outputDir).sort()
          assert.deepStrictEqual(
            files,
            expected.map((item) => `${item.key}.mp4`),
            "exactly one file per item, no .part or .rejected left"
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
            assert.isDefined(key, `charge for task ${entry.taskId} has no intent in the journal`)
            chargesPerItem.set(key!, (chargesPerItem.get(key!) ?? 0) + 1)
          }
          for (const item of expected)
            assert.isAtLeast(chargesPerItem.get(item.key) ?? 0, 1, `${item.key} was never charged`)
          const twice = [...chargesPerItem.entries()].filter(([, charges]) => charges > 1)
          const unexplained = twice.filter(([key]) => !uncertain.includes(key))
          assert.deepStrictEqual(unexplained, [], "charged more than once without having been reported uncertain")

          figures.push({
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
          })
          fs.rmSync(dir, { recursive: true, force: true })
        }

        const total = (pick: (figure: Figures) => number) => figures.reduce((sum, figure) => sum + pick(figure), 0)
        const lines = figures.map(
          (f) =>
            `  round ${f.round}: ${f.items} items, ${f.runs} runs, kills ${KillPoint.map((point) => `${point} ${f.kills[point]}`).join(", ")}` +
            `${f.notReached.length === 0 ? "" : ` (not reached: ${f.notReached.join(", ")})`}; uncertain ${f.uncertain}, ` +
            `second charges ${f.duplicates} (all on uncertain items: ${f.duplicatesOutsideUncertain === 0 ? "yes" : "NO"}); ` +
            `resumed by polling ${f.resumed.Poll}, by fetching ${f.resumed.Fetch}, verified ${f.resumed.Verify} (item-runs); ` +
            `ledger ${f.charges} charges, $${f.ledgerTotal}; ${f.seconds.toFixed(1)} s (${f.timings.join(", ")})`
        )
        process.stdout.write(
          [
            `[crash] seed ${JSON.stringify(seed)}, ${rounds} rounds of ${count} items, submit concurrency ${submitConcurrency ?? "10 (default)"}, time scale 1/${Math.round(1 / timeScale)}`,
            ...lines,
            `  total: ${total((f) => f.items)} items, ${total((f) => f.runs)} runs, ${total((f) => KillPoint.reduce((sum, point) => sum + f.kills[point], 0))} kills ` +
              `(${KillPoint.map((point) => `${point} ${total((f) => f.kills[point])}`).join(", ")}), ` +
              `uncertain ${total((f) => f.uncertain)}, second charges ${total((f) => f.duplicates)}, ` +
              `resumed by polling ${total((f) => f.resumed.Poll)}, by fetching ${total((f) => f.resumed.Fetch)}, ` +
              `unexplained second charges ${total((f) => f.duplicatesOutsideUncertain)}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
            ""
          ].join("\n")
        )
      }),
    240_000
  )
})
