/**
 * The journal's kill-and-resume test with random kill points, many rounds. Each round runs a fresh
 * batch in a child process (`test/crash/runner.ts`: the real engine, SQLite journal and laozhang
 * provider against the simulator) and kills it with SIGKILL one to four times before letting it
 * finish. Each kill is drawn at random: an injected point (before a create, after a create returned
 * but before its task id was committed, after the commit, mid-download) at a random occurrence, or
 * — half of the time — a kill from outside at a random instant after the batch opened, wherever the
 * child happens to be (inside a journal commit, a rename, an fsync...). The submit concurrency is
 * drawn per round too. The checks are the crash test's (`test/crash/harness.ts`): one verified video
 * per item, no `.part` left, no item charged twice unless the journal reported it uncertain first.
 *
 * Everything is drawn from one seed, printed first; a failure names it. Replay with
 * `REELAY_CRASH_RANDOM_SEED=<seed>`. `REELAY_CRASH_RANDOM_ROUNDS` (default 6: under a minute on two
 * cores) and `REELAY_CRASH_RANDOM_ITEMS` (default 12) size the run.
 */
import { randomBytes } from "node:crypto"
import { describe, it } from "@effect/vitest"
import { Simulator } from "@reelay/simulator"
import * as Effect from "effect/Effect"
import { KillPoint, timeScale } from "../crash/batch.js"
import { type Figures, formatFigures, type Kill, random, runRound } from "../crash/harness.js"

const rounds = Number(process.env.REELAY_CRASH_RANDOM_ROUNDS ?? 6)
const count = Number(process.env.REELAY_CRASH_RANDOM_ITEMS ?? 12)
const seed = process.env.REELAY_CRASH_RANDOM_SEED ?? randomBytes(4).toString("hex")

/** Where a kill falls in a batch's life: submit-phase points first, so later runs still have creates to kill. */
const phase = (kill: Kill) => (kill._tag === "Timer" ? 3 : KillPoint.indexOf(kill.point))

/**
 * One to four kills, each an injected point at a random occurrence or a timer at a random instant,
 * in batch order (a kill before any create leaves every item fresh or uncertain, and a point of the
 * submit phase drawn after it would have nothing left to hit).
 */
const drawKills = (draw: () => number): ReadonlyArray<Kill> =>
  Array.from({ length: 1 + Math.floor(draw() * 4) }, (): Kill => {
    // A batch of 12 finishes about 1.5 s after it opened.
    if (draw() < 0.5) return { _tag: "Timer", afterMillis: Math.floor(draw() * 1200) }
    const point = KillPoint[Math.floor(draw() * KillPoint.length)]!
    // A run after a kill has only the items left to create (and the cut half of them to download):
    // occurrences are drawn among the first ones, so that most planned kills happen.
    const occurrences = Math.max(1, Math.floor((point === "mid-download" ? count / 4 : count / 2) + 0.5))
    return { _tag: "Point", point, at: 1 + Math.floor(draw() * occurrences) }
  }).sort((a, b) => phase(a) - phase(b))

describe("reliability: crash", () => {
  it.scopedLive(
    `${rounds} rounds of ${count} items killed at random points (seed ${seed}): one verified video each, no unexplained second charge`,
    () =>
      Effect.gen(function* () {
        const started = Date.now()
        process.stdout.write(
          `[crash-random] seed ${seed} (replay: REELAY_CRASH_RANDOM_SEED=${seed}), ${rounds} rounds of ${count} items\n`
        )
        const sim = yield* Simulator.make({ timeScale, seed: `crash-random-${seed}` })
        const draw = random(seed)
        const figures: Array<Figures> = []
        for (let round = 1; round <= rounds; round++) {
          const kills = drawKills(draw)
          const submitConcurrency = String([1, 3, 10][Math.floor(draw() * 3)])
          figures.push(
            yield* runRound({
              sim,
              round,
              count,
              kills,
              submitConcurrency,
              label: `seed ${seed}, round ${round}, submit concurrency ${submitConcurrency}`
            })
          )
        }
        process.stdout.write(
          [
            `[crash-random] seed ${seed}, ${rounds} rounds of ${count} items, time scale 1/${Math.round(1 / timeScale)}`,
            ...formatFigures(figures, (Date.now() - started) / 1000),
            ""
          ].join("\n")
        )
      }),
    // About 6 s a round on two cores; room for a slow machine and a long soak.
    Math.max(240_000, rounds * 40_000)
  )
})
