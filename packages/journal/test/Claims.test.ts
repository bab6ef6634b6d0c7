/**
 * Claims: several processes on one journal work each item at most once at a time. A live owner's
 * items are never taken (its create in flight is never called uncertain); a dead owner's are, at
 * once on the same machine, else when its lease runs out. A SQLite journal is one database whatever
 * name it is opened by (a symlink, a hard link).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as GenerationEvent from "@reelay/core/GenerationEvent"
import * as JobStore from "@reelay/core/JobStore"
import * as Money from "@reelay/core/Money"
import * as BigDecimal from "effect/BigDecimal"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Journal from "../src/Journal.js"
import * as Dialects from "./helpers/dialects.js"
import { tempDir } from "./helpers/engine.js"

const here = path.dirname(fileURLToPath(import.meta.url))

const item = (key: string): JobStore.JobItem => {
  const request = GenerateRequest.make({ prompt: `video ${key}` })
  return { key, request, fingerprint: JobStore.fingerprint(request), output: `/tmp/out/${key}.mp4` }
}

const warning = (key: string) => new GenerationEvent.Warning({ key, code: "test", message: "hello" })

/** A writer's services, open for the rest of the test (its own scope: closing it is stopping cleanly). */
const writer = (layer: Layer.Layer<JobStore.JobStore | Journal.Journal, unknown>) =>
  Effect.map(Layer.build(layer), (context) => ({
    store: Context.get(context, JobStore.JobStore),
    journal: Context.get(context, Journal.Journal)
  }))

/** Starts a process that claims item `a` of batch `held` and dies mid-create when killed. */
const holder = (location: string) =>
  Effect.acquireRelease(
    Effect.async<ChildProcess, Error>((resume) => {
      const child = spawn(
        process.execPath,
        ["--conditions=@reelay/source", "--import", "tsx", path.join(here, "helpers/holdWriter.ts"), location],
        {
          cwd: path.resolve(here, ".."),
          stdio: ["ignore", "pipe", "inherit"]
        }
      )
      let output = ""
      child.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes("ready")) resume(Effect.succeed(child))
      })
      child.on("exit", (code) => resume(Effect.fail(new Error(`the holder exited early (${code})`))))
    }),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

const killed = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGKILL")
  })

const dialects = Dialects.forTests()

for (const dialect of dialects) {
  describe(`claims on ${dialect.name}`, () => {
    it.scopedLive("two writers share a batch: an item one holds is refused to the other until it gives it back", () =>
      Effect.gen(function* () {
        const db = yield* dialect.fresh
        const a = yield* writer(db.writer)
        const b = yield* writer(db.writer)
        yield* a.store.open("b", [item("x"), item("y")])
        yield* b.store.open("b", [item("x"), item("y")])
        const first = yield* a.store.claims!.claim("b", "x")
        assert.strictEqual(first._tag, "Claimed")
        const refused = yield* b.store.claims!.claim("b", "x")
        assert.strictEqual(refused._tag, "Held")
        if (refused._tag === "Held") assert.include(refused.holder, `pid ${process.pid}`)
        // The other item is free for the second writer.
        assert.strictEqual((yield* b.store.claims!.claim("b", "y"))._tag, "Claimed")
        // Fencing: a writer cannot record about an item it does not hold.
        const fenced = yield* Effect.exit(b.store.record("b", "x", warning("x")))
        assert.isTrue(Exit.isFailure(fenced))
        if (Exit.isFailure(fenced) && fenced.cause._tag === "Fail") {
          assert.strictEqual(fenced.cause.error._tag, "ClaimLost")
        }
        yield* a.store.record("b", "x", warning("x"))
        yield* a.store.claims!.unclaim("b", "x")
        assert.strictEqual((yield* b.store.claims!.claim("b", "x"))._tag, "Claimed")
        yield* b.store.record("b", "x", warning("x"))
        const items = yield* a.journal.items("b")
        assert.strictEqual(items.length, 2, "opened by both, recorded once")
      })
    )

    it.scopedLive("a process killed mid-create: its item is taken over at once, uncertain, its exposure counted", () =>
      Effect.gen(function* () {
        const db = yield* dialect.fresh
        const child = yield* holder(db.location)
        const me = yield* writer(db.writer)
        yield* me.store.open("held", [item("a")])
        // Alive: its create in flight is its own, never called uncertain by another process.
        const whileAlive = yield* me.store.claims!.claim("held", "a")
        assert.strictEqual(whileAlive._tag, "Held")
        const alive = Option.getOrThrow(yield* me.journal.item("held", "a"))
        assert.strictEqual(alive.state, "submitting")
        assert.isTrue(BigDecimal.equals((yield* me.journal.batchCosts("held")).unknown, Money.usd("0.40")))
        yield* killed(child)
        // Dead (same machine: its pid is gone): taken over without waiting for its lease.
        const taken = yield* me.store.claims!.claim("held", "a")
        assert.deepStrictEqual(taken, {
          _tag: "Claimed",
          resumption: {
            _tag: "Uncertain",
            idempotencyKey: "idem-held",
            route: { provider: "scripted", model: "held-model" }
          }
        })
        const after = Option.getOrThrow(yield* me.journal.item("held", "a"))
        assert.strictEqual(after.state, "uncertain")
        assert.strictEqual(after.error?._tag, "UncertainSubmission")
        const costs = yield* me.journal.batchCosts("held")
        assert.isTrue(BigDecimal.equals(costs.unknown, Money.usd("0.40")), "possibly charged, at its price")
        assert.isTrue(BigDecimal.equals(costs.budget.uncertain, Money.usd("0.40")), "and reserved by a budget")
      })
    )

    it.scopedLive("an owner on another machine keeps its items until its lease expires", () =>
      Effect.gen(function* () {
        const db = yield* dialect.fresh
        const me = yield* writer(db.writer)
        yield* me.store.open("b", [item("x")])
        const sql = Context.get(yield* Layer.build(db.client), SqlClient.SqlClient)
        const elsewhere = (expiresAt: number) =>
          Effect.all([
            sql`DELETE FROM reelay_owners WHERE owner = 'far:7:beef'`,
            sql`INSERT INTO reelay_owners (owner, pid, hostname, pid_namespace, started_at, expires_at)
                VALUES ('far:7:beef', 7, 'far', NULL, 0, ${expiresAt})`,
            sql`UPDATE reelay_jobs SET claimed_by = 'far:7:beef' WHERE batch = 'b' AND item_key = 'x'`
          ])
        // Pid 7 means nothing here: another host's pid is never checked, only its lease.
        yield* elsewhere(Date.now() + 60_000)
        const held = yield* me.store.claims!.claim("b", "x")
        assert.deepStrictEqual(held, { _tag: "Held", holder: "pid 7 on far" })
        yield* elsewhere(Date.now() - 1)
        assert.strictEqual((yield* me.store.claims!.claim("b", "x"))._tag, "Claimed")
      })
    )

    it.scopedLive("a writer that stops cleanly gives its items back", () =>
      Effect.gen(function* () {
        const db = yield* dialect.fresh
        const other = yield* writer(db.writer)
        yield* Effect.scoped(
          Effect.gen(function* () {
            const first = yield* writer(db.writer)
            yield* first.store.open("b", [item("x")])
            assert.strictEqual((yield* first.store.claims!.claim("b", "x"))._tag, "Claimed")
            assert.strictEqual((yield* other.store.claims!.claim("b", "x"))._tag, "Held")
          })
        )
        assert.strictEqual((yield* other.store.claims!.claim("b", "x"))._tag, "Claimed")
      })
    )
  })
}

describe("a SQLite journal under several names", () => {
  it.scopedLive("opened through a symlink and a hard link, it is one database with one log", () =>
    Effect.gen(function* () {
      const dir = tempDir()
      const file = path.join(dir, "journal.db")
      const main = yield* writer(Journal.layerSqlite({ path: file }))
      yield* main.store.open("b", [item("x"), item("y"), item("z")])
      const hard = path.join(tempDir(), "hard.db")
      fs.linkSync(file, hard)
      const soft = path.join(tempDir(), "soft.db")
      fs.symlinkSync(file, soft)
      const viaHard = yield* writer(Journal.layerSqlite({ path: hard }))
      const viaSoft = yield* writer(Journal.layerSqlite({ path: soft }))
      assert.strictEqual((yield* main.store.claims!.claim("b", "x"))._tag, "Claimed")
      assert.strictEqual((yield* viaHard.store.claims!.claim("b", "x"))._tag, "Held")
      assert.strictEqual((yield* viaSoft.store.claims!.claim("b", "x"))._tag, "Held")
      assert.strictEqual((yield* viaHard.store.claims!.claim("b", "y"))._tag, "Claimed")
      assert.strictEqual((yield* viaSoft.store.claims!.claim("b", "z"))._tag, "Claimed")
      yield* viaHard.store.record("b", "y", warning("y"))
      yield* viaSoft.store.record("b", "z", warning("z"))
      // Every name sees every write at once: one write-ahead log, beside the first name.
      const events = yield* main.journal.events("b")
      assert.deepStrictEqual(events.map((entry) => entry.key).sort(), ["y", "z"])
      assert.isFalse(fs.existsSync(`${hard}-wal`), "no log beside the hard link")
      assert.isFalse(fs.existsSync(`${soft}-wal`), "no log beside the symlink")
      assert.isTrue(fs.existsSync(`${file}-wal`))
    })
  )

  it.scopedLive("a journal under /proc is refused at once, without hanging", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(writer(Journal.layerSqlite({ path: "/proc/nope/journal.db" })))
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
        assert.match(String((exit.cause.error as { message: string }).message), /\/proc\/nope/)
      }
    })
  )
})
