/**
 * Several `reelay` processes on one batch, killed at random: issue 10's multi-process stress test.
 *
 * Per journal kind (SQLite; PostgreSQL on a throwaway server): one simulator in this process, a
 * batch of 60 items (`multiprocess.ts`: unique prompts, a seeded share of them carrying a create
 * reset before / after the create is processed, a 503 on the create, or a CDN download cut once or
 * twice), three `reelay batch` processes on the same batch id — on SQLite through the journal's path,
 * a symlink and a hard link, on PostgreSQL through its URL — each with a random submit concurrency.
 * Then a few rounds: at a random instant, SIGKILL one or two running processes and start
 * replacements (`reelay batch` again or `reelay resume`, through any of the names). The survivors
 * finish; a last `reelay resume` must leave every item saved or reported.
 *
 * Checked (`Multiprocess.check`), from the simulator's tasks, request log and ledger, the journal,
 * the output directory and `reelay status --json` / `reelay cost --json`: no prompt has two tasks;
 * every item is saved once (its file's sha256 is the journal's and the simulator's video's, no
 * `.part` or stray file left) or reported with its error; reelay's certain charges equal the ledger's
 * for every item that is not uncertain, never exceed it, and charged + uncertain covers the ledger;
 * an uncertain item's possible charge is visible; every process not killed ends 0 or 3, having
 * reported every item. No assertion depends on time: the clock only spaces the kills.
 *
 * The seed is printed first; `REELAY_MULTIPROCESS_SEED` replays a run's plan (the kill instants are
 * real time, so what a kill interrupts may differ), `REELAY_MULTIPROCESS_ROUNDS` (default 4) sets
 * the kill rounds and `REELAY_MULTIPROCESS_ITEMS` (default 60) the batch size.
 */
import { randomBytes } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Journal from "@reelay/journal/Journal"
import { Simulator } from "@reelay/simulator"
import * as BigDecimal from "effect/BigDecimal"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Postgres from "../../packages/journal/test/helpers/postgres.js"
import * as Harness from "../cli/harness.js"
import * as Multiprocess from "./multiprocess.js"

const seed = process.env.REELAY_MULTIPROCESS_SEED ?? randomBytes(4).toString("hex")
const rounds = Number(process.env.REELAY_MULTIPROCESS_ROUNDS ?? 4)
const count = Number(process.env.REELAY_MULTIPROCESS_ITEMS ?? 60)
const withPostgres = Postgres.available()

/** Submit concurrencies a process is started with. */
const concurrencies = [1, 2, 3, 5, 10] as const
/** A kill round's instant: this long after the previous round (or the start), at random. */
const gap = { minMillis: 300, spreadMillis: 2200 }
/** A process still running this long after it started is reported hung (a normal one takes seconds). */
const hangMillis = 75_000

/** One kill round, drawn up front from the seed (which process it hits depends on which still run). */
interface Round {
  readonly afterMillis: number
  readonly kills: number
  /** Which running processes are hit: fractions of the running list. */
  readonly victims: ReadonlyArray<number>
  readonly replacements: ReadonlyArray<{
    readonly command: "batch" | "resume"
    readonly journal: number
    readonly concurrency: number
  }>
}

const pick = <A>(draw: () => number, values: ReadonlyArray<A>): A => values[Math.floor(draw() * values.length)]!

const drawRounds = (draw: () => number): ReadonlyArray<Round> =>
  Array.from({ length: rounds }, () => {
    const kills = draw() < 0.5 ? 1 : 2
    return {
      afterMillis: Math.floor(gap.minMillis + draw() * gap.spreadMillis),
      kills,
      victims: Array.from({ length: kills }, () => draw()),
      replacements: Array.from({ length: kills }, () => ({
        command: draw() < 0.5 ? ("batch" as const) : ("resume" as const),
        journal: Math.floor(draw() * 3),
        concurrency: pick(draw, concurrencies)
      }))
    }
  })

const textOf = (amount: BigDecimal.BigDecimal) => BigDecimal.format(BigDecimal.normalize(amount))

/** What the journal holds about the batch, through the read API. */
const readJournal = (layer: Layer.Layer<Journal.Journal, unknown>, batch: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const journal = Context.get(yield* Layer.build(layer), Journal.Journal)
      return {
        items: yield* journal.items(batch),
        charges: yield* journal.charges({ batch }),
        events: yield* journal.events(batch)
      }
    })
  ).pipe(Effect.orDie)

const states = (items: ReadonlyArray<Journal.Item>) => {
  const counts: Record<string, number> = {}
  for (const item of items) counts[item.state] = (counts[item.state] ?? 0) + 1
  return counts
}

const run = (kind: "sqlite" | "postgres") =>
  Effect.gen(function* () {
    const started = Date.now()
    const runSeed = `${seed}-${kind}`
    const label = `${kind}, seed ${seed} (replay: REELAY_MULTIPROCESS_SEED=${seed})`
    process.stdout.write(
      `[multiprocess] ${kind}: seed ${seed} (replay: REELAY_MULTIPROCESS_SEED=${seed}), ${rounds} kill rounds, ${count} items\n`
    )
    const draw = Multiprocess.random(runSeed)
    const sim = yield* Simulator.make({ timeScale: Multiprocess.timeScale, seed: `multiprocess-${runSeed}` })
    const cwd = Harness.workdir(`multiprocess-${kind}`)
    const apiKey = `sk-multiprocess-${kind}-${seed}`
    const fingerprint = Simulator.fingerprint(apiKey)
    const env = { LAOZHANG_API_KEY: apiKey, REELAY_TIME_SCALE: `1/${Math.round(1 / Multiprocess.timeScale)}` }
    const planned = Multiprocess.planItems(draw, count, `multiprocess ${runSeed}`)
    const file = NodePath.join(cwd, "batch.jsonl")
    NodeFs.writeFileSync(file, Multiprocess.batchFile(planned))
    const batch = `mp-${kind}-${seed}`
    const outDir = NodePath.join(cwd, "out")

    // The journal's names. SQLite: created first by a warm-up batch of one (another key, another
    // batch id), so the hard link has a file to link to; PostgreSQL: three processes migrate at once.
    let names: ReadonlyArray<Multiprocess.JournalName>
    let reader: Layer.Layer<Journal.Journal, unknown>
    if (kind === "sqlite") {
      const path = NodePath.join(cwd, "journal", "journal.db")
      NodeFs.writeFileSync(
        NodePath.join(cwd, "warm-up.jsonl"),
        `${JSON.stringify({ key: "warm-up", prompt: `multiprocess ${runSeed}: warm-up`, model: "veo-3.1-fast" })}\n`
      )
      const warmUp = yield* Effect.promise(() =>
        Harness.run(
          [
            "batch",
            "warm-up.jsonl",
            "--provider",
            "laozhang",
            "--base-url",
            sim.urls.laozhang,
            "--journal",
            path,
            "--batch",
            "warm-up",
            "--out-dir",
            "warm-up"
          ],
          { cwd, env: { ...env, LAOZHANG_API_KEY: `${apiKey}-warm-up` } }
        )
      )
      assert.strictEqual(warmUp.code, 0, `the warm-up batch failed: ${warmUp.stderr}`)
      names = Multiprocess.sqliteNames(cwd, path)
      reader = Journal.layerSqliteReader({ path })
    } else {
      const server = yield* Effect.acquireRelease(
        Effect.promise(() => Postgres.start()),
        (server) => Effect.sync(() => server.stop())
      )
      const url = server.url("postgres")
      names = [0, 1, 2].map(() => ({ label: "URL", value: url }))
      // PostgreSQL's read API comes with a writer's layer: it registers an owner, and claims nothing.
      reader = Journal.layerPg({ url: Redacted.make(url) })
    }

    // Three processes on one batch, one per name; then the kill rounds.
    const fleet = Multiprocess.fleet({ cwd, env, file, batch, outDir, baseUrl: sim.urls.laozhang, hangMillis })
    yield* Effect.addFinalizer(() => Effect.sync(fleet.stop))
    for (const name of names) fleet.start("batch", name, pick(draw, concurrencies))
    const plan = drawRounds(draw)
    let roundsDone = 0
    let kills = 0
    const killedAt: Array<number> = []
    const fleetStarted = Date.now()
    for (const round of plan) {
      yield* Effect.sleep(Duration.millis(round.afterMillis))
      const running = fleet.running()
      // The batch ended before this round: nothing left to kill.
      if (running.length === 0) break
      const candidates = [...running]
      const victims = round.victims
        .slice(0, candidates.length)
        .map((fraction) => candidates.splice(Math.floor(fraction * candidates.length), 1)[0]!)
      for (const victim of victims) yield* Effect.promise(() => fleet.kill(victim))
      kills += victims.filter((victim) => victim.killed).length
      killedAt.push(Date.now() - fleetStarted)
      const replacements = round.replacements.slice(0, victims.length)
      // `reelay resume ID` needs the batch in the journal: a round that came before any process
      // opened it (the killed ones were still starting) replaces them with `reelay batch`.
      const resumable =
        replacements.some((replacement) => replacement.command === "resume") &&
        (yield* Effect.promise(() =>
          Harness.run(["status", batch, "--json", "--journal", names[0]!.value], { cwd, env })
        )).code === 0
      for (const replacement of replacements) {
        fleet.start(
          replacement.command === "resume" && !resumable ? "batch" : replacement.command,
          names[replacement.journal]!,
          replacement.concurrency
        )
      }
      roundsDone++
    }
    yield* Effect.promise(() => fleet.settle())
    const settledAt = Date.now() - fleetStarted

    // The last resume, until it leaves every item saved or reported (one run should do it).
    const finals = Multiprocess.fleet({ cwd, env, file, batch, outDir, baseUrl: sim.urls.laozhang, hangMillis })
    yield* Effect.addFinalizer(() => Effect.sync(finals.stop))
    let final: Multiprocess.Process | undefined
    for (let attempt = 0; attempt < 3; attempt++) {
      final = finals.start("resume", pick(draw, names), 10)
      const ending = yield* Effect.promise(() => final!.ending)
      const after = yield* readJournal(reader, batch)
      const open = after.items.filter((item) => !["downloaded", "uncertain", "failed", "expired"].includes(item.state))
      if (ending._tag === "Exited" && open.length === 0) break
    }

    // Tasks orphaned by a kill or a reset still run, and are charged when they complete: wait
    // until the simulator has nothing running before reading its ledger.
    for (let waited = 0; waited < 300; waited++) {
      const tasks = (yield* sim.tasks).filter((task) => task.key === fingerprint)
      if (tasks.every((task) => task.status !== "queued" && task.status !== "running")) break
      yield* Effect.sleep(Duration.millis(100))
    }

    const journal = yield* readJournal(reader, batch)
    const snapshots = new Map((yield* sim.tasks).map((task) => [task.id, task]))
    const videoHash = new Map<string, string>()
    const tasks = [...sim.state.tasks.all()]
      .filter((task) => task.account.fingerprint === fingerprint)
      .map((task): Multiprocess.SimTask => {
        const fixture = task.asset.fixture
        const hash = videoHash.get(fixture.name) ?? Multiprocess.sha256(fixture.bytes)
        videoHash.set(fixture.name, hash)
        return {
          id: task.id,
          prompt: task.prompt,
          status: snapshots.get(task.id)?.status ?? "unknown",
          idempotencyKey: task.idempotencyKey,
          sha256: task.asset.size === fixture.bytes.length ? hash : "(padded)",
          bytes: task.asset.size
        }
      })
    const taskIds = new Set(tasks.map((task) => task.id))
    const status = yield* Effect.promise(() =>
      Harness.run(["status", batch, "--json", "--journal", names[0]!.value], { cwd, env })
    )
    const cost = yield* Effect.promise(() =>
      Harness.run(["cost", "--batch", batch, "--json", "--journal", names[0]!.value], { cwd, env })
    )
    assert.strictEqual(status.code, 0, `reelay status: ${status.stderr}`)
    assert.strictEqual(cost.code, 0, `reelay cost: ${cost.stderr}`)

    const observed: Multiprocess.Observed = {
      planned,
      tasks,
      creates: sim.state.requests
        .list()
        .filter((request) => request.route === "create" && request.authorization.fingerprint === fingerprint)
        .map((request) => ({
          taskId: request.taskId,
          idempotencyKey: request.idempotencyKey,
          status: request.status,
          outcome: request.outcome,
          faults: request.faults
        })),
      downloads: sim.state.cdnRequests
        .list()
        .filter((request) => request.taskId !== null && taskIds.has(request.taskId))
        .map((request) => ({
          seq: request.seq,
          taskId: request.taskId,
          range: request.range,
          truncated: request.truncated
        })),
      ledger: (yield* sim.ledger)
        .filter((entry) => entry.key === fingerprint)
        .map((entry) => ({ taskId: entry.taskId, amount: Multiprocess.micros(entry.amount) })),
      items: journal.items.map((item) => ({
        key: item.key,
        state: item.state,
        prompt: item.request.prompt ?? "",
        taskId: item.taskId,
        path: item.path,
        sha256: item.sha256,
        bytes: item.bytes,
        output: item.output,
        error: item.error === undefined ? undefined : { _tag: item.error._tag, message: item.error.message }
      })),
      charges: journal.charges.map((charge) => ({
        key: charge.key,
        taskId: charge.taskId,
        amount: Multiprocess.micros(textOf(charge.amount)),
        billing: charge.billing
      })),
      saved: journal.events.flatMap((entry) =>
        entry.event?._tag === "Saved"
          ? [{ key: entry.key, path: entry.event.video.path, sha256: entry.event.video.sha256 }]
          : []
      ),
      interrupted: journal.events.filter((entry) => entry.tag === "Interrupted").map((entry) => entry.key),
      events: journal.events.reduce((byKey, entry) => {
        const described =
          entry.event?._tag === "Warning"
            ? `Warning(${entry.event.code})`
            : entry.event?._tag === "Failed"
              ? `Failed(${entry.event.error._tag})`
              : entry.tag
        return byKey.set(entry.key, [...(byKey.get(entry.key) ?? []), described])
      }, new Map<string, ReadonlyArray<string>>()),
      outDir,
      files: Multiprocess.filesUnder(outDir),
      cli: { status: JSON.parse(status.stdout), cost: JSON.parse(cost.stdout) },
      processes: yield* Effect.promise(() =>
        Promise.all(
          [
            ...fleet.processes.map((p) => ({ p, name: `process ${p.id}` })),
            ...finals.processes.filter((p) => p !== final).map((p) => ({ p, name: `final resume ${p.id}` }))
          ].map(async ({ p, name }) => ({
            label: `${name} (${p.command} via the ${p.journal}, submit concurrency ${p.concurrency})`,
            killed: p.killed,
            ending: await p.ending
          }))
        )
      ),
      final: {
        label: `the final resume (${finals.processes.length} run(s))`,
        killed: false,
        ending: yield* Effect.promise(() => final!.ending)
      }
    }
    const { violations, figures } = Multiprocess.check(observed)
    const processesStarted = {
      batch: fleet.processes.filter((p) => p.command === "batch").length,
      resume: fleet.processes.filter((p) => p.command === "resume").length + finals.processes.length
    }
    process.stdout.write(
      `${Multiprocess.summary(
        kind,
        {
          seed,
          rounds,
          roundsDone,
          kills,
          killedAt,
          settledAt,
          started: processesStarted,
          seconds: (Date.now() - started) / 1000
        },
        figures
      )}\n`
    )
    assert.strictEqual(
      violations.length,
      0,
      `${label}: ${violations.length} violation(s); the journal ends ${JSON.stringify(states(journal.items))}\n${violations
        .map((violation) => `  - ${violation}`)
        .join("\n")}`
    )
  })

describe("reliability: multi-process", () => {
  beforeAll(() => Harness.ensureBundle(), 120_000)
  afterAll(() => Harness.cleanup())

  it.scopedLive(
    `SQLite through its path, a symlink and a hard link: 3 processes × ${count} items, ${rounds} kill rounds (seed ${seed})`,
    () => run("sqlite"),
    180_000
  )
  it.scopedLive.skipIf(!withPostgres)(
    `PostgreSQL: 3 processes × ${count} items, ${rounds} kill rounds (seed ${seed})`,
    () => run("postgres"),
    180_000
  )
})
