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
 * figures are printed at the end. The runner, the kills and the checks live in `harness.ts`, shared
 * with the reliability suite's random-kill version (`test/reliability/crash.test.ts`).
 */
import { describe, it } from "@effect/vitest"
import { Simulator } from "@reelay/simulator"
import * as Effect from "effect/Effect"
import { type KillPoint, timeScale } from "./batch.js"
import { type Figures, formatFigures, type Kill, random, runRound } from "./harness.js"

const rounds = Number(process.env.REELAY_CRASH_ROUNDS ?? 3)
const count = Number(process.env.REELAY_CRASH_ITEMS ?? 50)
const seed = process.env.REELAY_CRASH_SEED ?? "reelay"
/** Creates in flight at once: at a kill, every one of them is in the ambiguous window. */
const submitConcurrency = process.env.REELAY_CRASH_SUBMIT_CONCURRENCY

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
          // The submit-phase points in a random order (one of them twice), then two kills mid-download.
          const submitPoints: Array<KillPoint> = ["before-submit", "after-create", "after-commit"]
          submitPoints.push(submitPoints[Math.floor(draw() * 3)]!)
          submitPoints.sort(() => draw() - 0.5)
          const kills: ReadonlyArray<Kill> = [
            ...submitPoints.map((point) => ({ _tag: "Point" as const, point, at: 1 + Math.floor(draw() * 6) })),
            ...(["mid-download", "mid-download"] as const).map((point) => ({
              _tag: "Point" as const,
              point,
              at: 1 + Math.floor(draw() * 3)
            }))
          ]
          figures.push(yield* runRound({ sim, round, count, kills, submitConcurrency }))
        }

        process.stdout.write(
          [
            `[crash] seed ${JSON.stringify(seed)}, ${rounds} rounds of ${count} items, submit concurrency ${submitConcurrency ?? "10 (default)"}, time scale 1/${Math.round(1 / timeScale)}`,
            ...formatFigures(figures, (Date.now() - started) / 1000),
            ""
          ].join("\n")
        )
      }),
    240_000
  )
})
