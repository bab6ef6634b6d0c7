/**
 * The journal against every dialect (SQLite, and PostgreSQL on a throwaway server): the same tests,
 * each on a fresh, empty journal.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { UrlAsset } from "@reelay/core/AssetSource"
import * as Budget from "@reelay/core/Budget"
import * as Engine from "@reelay/core/Engine"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as GenerationEvent from "@reelay/core/GenerationEvent"
import * as JobStore from "@reelay/core/JobStore"
import * as Money from "@reelay/core/Money"
import * as VideoError from "@reelay/core/VideoError"
import * as BigDecimal from "effect/BigDecimal"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as JobState from "../src/JobState.js"
import * as Journal from "../src/Journal.js"
import * as Migrations from "../src/Migrations.js"
import * as Dialects from "./helpers/dialects.js"
import { collect, engineLayer, tempDir } from "./helpers/engine.js"
import { dayMillis, model, scripted } from "./helpers/provider.js"

const request = (prompt: string) => GenerateRequest.make({ prompt })

const item = (key: string, prompt = `video ${key}`, output = `/tmp/out/${key}.mp4`): JobStore.JobItem => {
  const req = request(prompt)
  return { key, request: req, fingerprint: JobStore.fingerprint(req), output }
}

const usd = (text: string) => Money.usd(text)
const same = (a: Money.Usd, b: Money.Usd) => BigDecimal.equals(a, b)

const submitting = (key: string, idempotencyKey = `idem-${key}`) =>
  new GenerationEvent.Submitting({ key, provider: "scripted", model: model.id, idempotencyKey })
const validated = (key: string) =>
  new GenerationEvent.Validated({
    key,
    provider: "scripted",
    model: model.id,
    estimatedCost: model.price,
    chargePolicy: model.chargePolicy,
    warnings: []
  })
const charged = (key: string, billing: "charged" | "unknown", taskId?: string) =>
  new GenerationEvent.Charged({
    key,
    provider: "scripted",
    model: model.id,
    amount: model.price,
    chargePolicy: model.chargePolicy,
    billing,
    ...(taskId === undefined ? {} : { taskId })
  })

/** Claims items for this process, as the engine does before it records anything about them. */
const claim = (store: JobStore.Service, batch: string, ...keys: ReadonlyArray<string>) =>
  Effect.forEach(keys, (key) => store.claims!.claim(batch, key), { discard: true })

const tagsOf = (plans: ReadonlyArray<{ readonly resumption: JobStore.Resumption }>) =>
  plans.map((plan) => plan.resumption._tag)

/** A download link that expired: the engine asks the provider for the video again. */
const expiredLink = () => new UrlAsset({ url: "http://127.0.0.1:9/never.mp4", expiresAt: new Date(Date.now() - 1000) })

const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex")

const dialects = Dialects.forTests()

for (const dialect of dialects) {
  describe(`journal on ${dialect.name}`, () => {
    /** Runs `body` with a fresh journal's writer and its other connection. */
    const withJournal = <A, E>(
      body: (db: Dialects.Database) => Effect.Effect<A, E, JobStore.JobStore | Journal.Journal>
    ) =>
      Effect.gen(function* () {
        const db = yield* dialect.fresh
        return yield* body(db).pipe(Effect.provide(db.writer))
      })

    describe("migrations", () => {
      it.live("create the tables once; opening again runs nothing", () =>
        Effect.gen(function* () {
          const db = yield* dialect.fresh
          yield* Effect.gen(function* () {
            const store = yield* JobStore.JobStore
            yield* store.open("b", [item("a")])
          }).pipe(Effect.provide(db.writer))
          // A second open of the same database finds the schema and the data in place.
          const items = yield* Effect.flatMap(Journal.Journal, (journal) => journal.items("b")).pipe(
            Effect.provide(db.writer)
          )
          assert.deepStrictEqual(
            items.map((it) => [it.key, it.state]),
            [["a", "planned"]]
          )
          const again = yield* Effect.scoped(
            Effect.gen(function* () {
              const sql = yield* SqlClient.SqlClient
              const ran = yield* Migrations.run
              const recorded = yield* sql<{ readonly migration_id: number }>`SELECT migration_id FROM reelay_migrations`
              return { ran, recorded: recorded.map((row) => Number(row.migration_id)) }
            }).pipe(Effect.provide(db.client))
          )
          assert.deepStrictEqual(again, {
            ran: [],
            recorded: Object.keys(Migrations.migrations).map((id) => Number.parseInt(id, 10))
          })
        })
      )

      it.live("records what a batch was run with, for the next resume", () =>
        Effect.gen(function* () {
          const db = yield* dialect.fresh
          const batches = yield* Effect.gen(function* () {
            const store = yield* JobStore.JobStore
            const journal = yield* Journal.Journal
            yield* store.open("b", [item("a")])
            yield* journal.describe("b", { profile: "cheap", config: "/srv/reelay.config.json" })
            yield* journal.describe("b", { profile: "draft" })
            return yield* journal.batches
          }).pipe(Effect.provide(db.writer))
          assert.deepStrictEqual(
            batches.map((batch) => [batch.batch, batch.settings]),
            [["b", { profile: "draft" }]]
          )
        })
      )

      if (dialect.name === "postgres") {
        it.live("a server that cannot be reached is a JournalError that does not show the password", () =>
          Effect.gen(function* () {
            const url = Dialects.postgresUrl("postgres")!
              .replace("reelay@", "reelay:hunter2@")
              .replace(/:\d+\//, ":1/")
            const error = yield* Effect.flip(Effect.scoped(Layer.build(Journal.layerPg({ url: Redacted.make(url) }))))
            assert.strictEqual(error._tag, "JournalError")
            assert.include(error.message, "cannot connect to the PostgreSQL journal")
            assert.notInclude(error.message, "hunter2")
            assert.notInclude(JSON.stringify(error), "hunter2")
          })
        )
      }
    })

    describe("open", () => {
      it.live("records new items as planned and answers Fresh, in the order given", () =>
        withJournal(() =>
          Effect.gen(function* () {
            const store = yield* JobStore.JobStore
            const plans = yield* store.open("b", [item("a"), item("b"), item("c")])
            assert.deepStrictEqual(
              plans.map((plan) => plan.key),
              ["a", "b", "c"]
            )
            assert.deepStrictEqual(tagsOf(plans), ["Fresh", "Fresh", "Fresh"])
            const journal = yield* Journal.Journal
            const items = yield* journal.items("b")
            assert.deepStrictEqual(
              items.map((it) => [it.key, it.position, it.state]),
              [
                ["a", 0, "planned"],
                ["b", 1, "planned"],
                ["c", 2, "planned"]
              ]
            )
            assert.strictEqual(items[0]!.request.prompt, "video a")
            assert.strictEqual(items[0]!.output, "/tmp/out/a.mp4")
          })
        )
      )

      it.live("the same key, opened again, is the same item", () =>
        withJournal(() =>
          Effect.gen(function* () {
            const store = yield* JobStore.JobStore
            yield* store.open("b", [item("a")])
            yield* claim(store, "b", "a")
            yield* store.record("b", "a", validated("a"))
            yield* store.record("b", "a", submitting("a"))
            const again = yield* store.open("b", [item("a"), item("a")])
            assert.deepStrictEqual(tagsOf(again), ["Uncertain", "Duplicate"])
            const items = yield* (yield* Journal.Journal).items("b")
            assert.strictEqual(items.length, 1)
          })
        )
      )

      it.live("the same request under another key is a duplicate of the first, in one call or later", () =>
        withJournal(() =>
          Effect.gen(function* () {
            const store = yield* JobStore.JobStore
            const first = yield* store.open("b", [item("a", "same"), item("b", "same"), item("c", "other")])
            assert.deepStrictEqual(
              first.map((plan) => plan.resumption),
              [{ _tag: "Fresh" }, { _tag: "Duplicate", of: "a" }, { _tag: "Fresh" }]
            )
            const later = yield* store.open("b", [item("d", "same")])
            assert.deepStrictEqual(later[0]!.resumption, { _tag: "Duplicate", of: "a" })
            const items = yield* (yield* Journal.Journal).items("b")
            assert.deepStrictEqual(
              items.map((it) => [it.key, it.state, it.duplicateOf]),
              [
                ["a", "planned", undefined],
                ["b", "duplicate", "a"],
                ["c", "planned", undefined],
                ["d", "duplicate", "a"]
              ]
            )
            // Other batches are other batches.
            const elsewhere = yield* store.open("other", [item("d", "same")])
            assert.deepStrictEqual(tagsOf(elsewhere), ["Fresh"])
          })
        )
      )

      it.live("a key reused for another request ends with InvalidRequest and leaves the original alone", () =>
        withJournal(() =>
          Effect.gen(function* () {
            const store = yield* JobStore.JobStore
            yield* store.open("b", [item("a", "first")])
            const plans = yield* store.open("b", [item("a", "second")])
            const resumption = plans[0]!.resumption
            assert.strictEqual(resumption._tag, "Ended")
            if (resumption._tag === "Ended") {
              assert.strictEqual(resumption.error._tag, "InvalidRequest")
              assert.match(resumption.error.message, /recorded with another request/)
            }
            // The engine reports it; that report must not overwrite the original item.
            yield* store.record("b", "a", new GenerationEvent.Failed({ key: "a", error: JobState.keyReused("b", "a") }))
            const original = yield* (yield* Journal.Journal).item("b", "a")
            assert.strictEqual(Option.getOrThrow(original).state, "planned")
            assert.strictEqual(Option.getOrThrow(original).request.prompt, "first")
          })
        )
      )

      it.live("an item found submitting, its process gone, is uncertain once claimed, in the journal too", () =>
        Effect.gen(function* () {
          const db = yield* dialect.fresh
          // The first process records the intent of a create, then stops without its answer.
          yield* Effect.gen(function* () {
            const store = yield* JobStore.JobStore
            yield* store.open("b", [item("a")])
            yield* claim(store, "b", "a")
            yield* store.record("b", "a", validated("a"))
            yield* store.record("b", "a", submitting("a", "idem-42"))
          }).pipe(Effect.provide(db.writer))
          yield* Effect.gen(function* () {
            const store = yield* JobStore.JobStore
            const plans = yield* store.open("b", [item("a")])
            assert.deepStrictEqual(plans[0]!.resumption, {
              _tag: "Uncertain",
              idempotencyKey: "idem-42",
              route: { provider: "scripted", model: model.id }
            })
            const claimed = yield* store.claims!.claim("b", "a")
            assert.deepStrictEqual(claimed, {
              _tag: "Claimed",
              resumption: {
                _tag: "Uncertain",
                idempotencyKey: "idem-42",
                route: { provider: "scripted", model: model.id }
              }
            })
            const stored = Option.getOrThrow(yield* (yield* Journal.Journal).item("b", "a"))
            assert.strictEqual(stored.state, "uncertain")
            assert.strictEqual(stored.error?._tag, "UncertainSubmission")
            assert.strictEqual(stored.idempotencyKey, "idem-42")
            // Its worst case stays counted as possibly charged.
            assert.isTrue(same((yield* (yield* Journal.Journal).batchCosts("b")).unknown, model.price))
          }).pipe(Effect.provide(db.writer))
        })
      )
    })

    describe("record", () => {
      it.live("a record that returned is visible to a new connection", () =>
        Effect.gen(function* () {
          const db = yield* dialect.fresh
          const { createTask } = scripted()
          const handle = createTask(Date.now())
          yield* Effect.gen(function* () {
            const store = yield* JobStore.JobStore
            yield* store.open("b", [item("a")])
            yield* claim(store, "b", "a")
            yield* store.record("b", "a", submitting("a"))
            yield* store.record("b", "a", new GenerationEvent.Submitted({ key: "a", handle }))
            // Read through another connection while the writer is still open.
            const seen = yield* Effect.flatMap(Journal.Journal, (journal) => journal.item("b", "a")).pipe(
              Effect.provide(db.reader)
            )
            assert.strictEqual(Option.getOrThrow(seen).state, "submitted")
            assert.strictEqual(Option.getOrThrow(seen).taskId, handle.taskId)
            assert.strictEqual(Option.getOrThrow(seen).idempotencyKey, "idem-a")
          }).pipe(Effect.provide(db.writer))
        })
      )

      it.live("keeps events in order, and leaves progress readings and download ticks out of the log", () =>
        withJournal(() =>
          Effect.gen(function* () {
            const store = yield* JobStore.JobStore
            const { createTask } = scripted()
            yield* store.open("b", [item("a")])
            yield* claim(store, "b", "a")
            const sequence: ReadonlyArray<GenerationEvent.GenerationEvent> = [
              validated("a"),
              submitting("a"),
              new GenerationEvent.Submitted({ key: "a", handle: createTask(Date.now()) }),
              new GenerationEvent.Queued({ key: "a", taskId: "task-1" }),
              ...[1, 2, 5, 11, 12, 30].map(
                (percent) => new GenerationEvent.Progress({ key: "a", taskId: "task-1", percent })
              ),
              new GenerationEvent.Downloading({ key: "a", receivedBytes: 10 }),
              new GenerationEvent.Warning({ key: "a", code: "x", message: "y" })
            ]
            for (const event of sequence) yield* store.record("b", "a", event)
            const journal = yield* Journal.Journal
            const entries = yield* journal.events("b", "a")
            assert.deepStrictEqual(
              entries.map((entry) => entry.tag),
              ["Validated", "Submitting", "Submitted", "Queued", "Warning"]
            )
            assert.isTrue(entries.every((entry, index) => index === 0 || entry.seq > entries[index - 1]!.seq))
            assert.strictEqual(entries[2]!.event?._tag, "Submitted")
            const stored = Option.getOrThrow(yield* journal.item("b", "a"))
            assert.strictEqual(stored.state, "running")
            assert.strictEqual(stored.progress, 30)
          })
        )
      )

      it.live(
        "release makes an uncertain item planned and says so; until its new create is sent it stays uncertain",
        () =>
          withJournal(() =>
            Effect.gen(function* () {
              const store = yield* JobStore.JobStore
              yield* store.open("b", [item("a"), item("b")])
              yield* claim(store, "b", "a", "b")
              yield* store.record("b", "a", submitting("a"))
              yield* store.release!("b", "a")
              // Only uncertain items can be released.
              yield* store.release!("b", "b")
              const journal = yield* Journal.Journal
              const a = Option.getOrThrow(yield* journal.item("b", "a"))
              assert.strictEqual(a.state, "planned")
              assert.strictEqual(a.releases, 1)
              assert.isDefined(a.releasedAt)
              // The consent to create it again was the releasing run's: stopped before its new create, a
              // later run finds it uncertain again, with its key and its route, never simply fresh.
              const reopened = yield* store.open("b", [item("a"), item("b")])
              assert.deepStrictEqual(tagsOf(reopened), ["Uncertain", "Fresh"])
              assert.deepStrictEqual(reopened[0]!.resumption, {
                _tag: "Uncertain",
                idempotencyKey: "idem-a",
                route: { provider: "scripted", model: model.id }
              })
              assert.strictEqual(Option.getOrThrow(yield* journal.item("b", "b")).releases, 0)
              const log = yield* journal.events("b", "a")
              assert.deepStrictEqual(
                log.map((entry) => entry.tag),
                ["Submitting", "Released"]
              )
            })
          )
      )

      it.live("finds the item of a task", () =>
        withJournal(() =>
          Effect.gen(function* () {
            const store = yield* JobStore.JobStore
            const { createTask } = scripted()
            yield* store.open("b", [item("a"), item("b")])
            yield* claim(store, "b", "b")
            const handle = createTask(Date.now())
            yield* store.record("b", "b", submitting("b"))
            yield* store.record("b", "b", new GenerationEvent.Submitted({ key: "b", handle }))
            const found = yield* (yield* Journal.Journal).byTaskId(handle.taskId)
            assert.deepStrictEqual(
              found.map((it) => [it.batch, it.key]),
              [["b", "b"]]
            )
            assert.strictEqual(found[0]!.handle?.taskId, handle.taskId)
            assert.deepStrictEqual(yield* (yield* Journal.Journal).byTaskId("nope"), [])
          })
        )
      )
    })

    describe("charges and costs", () => {
      it.live("one row per task, upgraded from unknown to charged; summaries per provider, model and day", () =>
        withJournal(() =>
          Effect.gen(function* () {
            const store = yield* JobStore.JobStore
            const { createTask } = scripted()
            yield* store.open("b", [item("a"), item("b"), item("c")])
            yield* claim(store, "b", "a", "b", "c")
            for (const key of ["a", "b", "c"]) yield* store.record("b", key, validated(key))
            const ta = createTask(Date.now())
            const tb = createTask(Date.now())
            yield* store.record("b", "a", submitting("a"))
            yield* store.record("b", "a", new GenerationEvent.Submitted({ key: "a", handle: ta }))
            yield* store.record("b", "a", charged("a", "unknown", ta.taskId))
            yield* store.record("b", "a", charged("a", "charged", ta.taskId))
            yield* store.record("b", "a", charged("a", "charged", ta.taskId))
            yield* store.record(
              "b",
              "a",
              new GenerationEvent.Succeeded({ key: "a", taskId: ta.taskId, asset: expiredLink() })
            )
            yield* store.record("b", "b", submitting("b"))
            yield* store.record("b", "b", new GenerationEvent.Submitted({ key: "b", handle: tb }))
            yield* store.record("b", "b", charged("b", "unknown", tb.taskId))
            // c: an ambiguous create, no task id: one unknown charge per create.
            yield* store.record("b", "c", submitting("c"))
            yield* store.record("b", "c", charged("c", "unknown"))
            yield* store.record("b", "c", charged("c", "unknown"))
            const journal = yield* Journal.Journal
            const all = yield* journal.charges()
            assert.deepStrictEqual(
              all.map((charge) => [charge.key, charge.billing, charge.taskId]),
              [
                ["a", "charged", ta.taskId],
                ["b", "unknown", tb.taskId],
                ["c", "unknown", undefined]
              ]
            )
            assert.deepStrictEqual(
              (yield* journal.charges({ billing: "charged" })).map((charge) => charge.key),
              ["a"]
            )
            assert.deepStrictEqual(yield* journal.charges({ provider: "nobody" }), [])
            assert.deepStrictEqual(yield* journal.charges({ since: new Date(Date.now() + dayMillis) }), [])
            const summary = yield* journal.costSummary()
            assert.strictEqual(summary.length, 1)
            const row = summary[0]!
            assert.strictEqual(row.provider, "scripted")
            assert.strictEqual(row.model, model.id)
            assert.strictEqual(row.day, new Date().toISOString().slice(0, 10))
            assert.isTrue(same(row.estimated, usd("0.75")))
            assert.strictEqual(row.estimatedItems, 3)
            assert.isTrue(same(row.charged, usd("0.25")))
            assert.strictEqual(row.chargedCount, 1)
            assert.isTrue(same(row.unknown, usd("0.50")))
            assert.strictEqual(row.unknownCount, 2)
            const costs = yield* journal.batchCosts("b")
            assert.isTrue(same(costs.estimated, usd("0.75")))
            assert.isTrue(same(costs.charged, usd("0.25")))
            assert.isTrue(same(costs.unknown, usd("0.50")))
            assert.isTrue(same(costs.budget.spent, usd("0.25")))
            assert.isTrue(same(costs.budget.uncertain, usd("0.50")))
            // b's task is polled again on resume: the engine is told its charge was counted `unknown`.
            const plans = yield* store.open("b", [item("a"), item("b"), item("c")])
            assert.deepStrictEqual(
              plans.map((plan) => [
                plan.resumption._tag,
                plan.resumption._tag === "Poll" ? plan.resumption.billed : undefined
              ]),
              [
                ["Fetch", undefined],
                ["Poll", "unknown"],
                ["Uncertain", undefined]
              ]
            )
            const batches = yield* journal.batches
            assert.deepStrictEqual(
              batches.map((batch) => [batch.batch, batch.items, batch.states]),
              // c's create is this live process's: it is never called uncertain while it holds it.
              [["b", 3, { succeeded: 1, submitted: 1, submitting: 1 }]]
            )
          })
        )
      )
    })

    describe("with the engine", () => {
      /** The journal through another connection, open for the rest of the test. */
      const readerOf = (db: Dialects.Database) =>
        Effect.map(Layer.build(db.reader), (context) => Context.get(context, Journal.Journal))

      const provide = (db: Dialects.Database, providers: Parameters<typeof engineLayer>[0]) =>
        Effect.provide(engineLayer(providers).pipe(Layer.provideMerge(db.writer)))

      it.scopedLive("runs a batch to verified files, then a second run creates nothing", () =>
        Effect.gen(function* () {
          const db = yield* dialect.fresh
          const { provider, calls } = scripted()
          const dir = tempDir()
          const items = ["a", "b", "c"].map((key) => ({ key, request: request(`video ${key}`) }))
          const first = yield* Engine.runMany(items, { batch: "run", outputDir: dir }).pipe(provide(db, [provider]))
          assert.strictEqual(first.saved.size, 3)
          assert.strictEqual(calls.submits.length, 3)
          const journal = yield* readerOf(db)
          const stored = yield* journal.items("run")
          for (const it of stored) {
            assert.strictEqual(it.state, "downloaded")
            assert.strictEqual(it.sha256, sha256(it.path!))
            assert.strictEqual(it.billing, "charged")
          }
          const summary = yield* journal.costSummary({ batch: "run" })
          assert.isTrue(same(summary[0]!.charged, usd("0.75")))
          // Again: verified from disk, nothing submitted, polled or fetched.
          const before = { submits: calls.submits.length, statuses: calls.statuses, contents: calls.contents }
          const second = yield* Engine.runMany(items, { batch: "run", outputDir: dir }).pipe(provide(db, [provider]))
          assert.strictEqual(second.saved.size, 3)
          assert.deepStrictEqual(
            { submits: calls.submits.length, statuses: calls.statuses, contents: calls.contents },
            before
          )
          // A damaged file is fetched again, still without a new task.
          fs.writeFileSync(path.join(dir, "b.mp4"), "garbage")
          const third = yield* Engine.runMany(items, { batch: "run", outputDir: dir }).pipe(provide(db, [provider]))
          assert.strictEqual(third.saved.size, 3)
          assert.strictEqual(calls.submits.length, before.submits)
          assert.strictEqual(calls.contents, before.contents + 1)
          assert.strictEqual(sha256(path.join(dir, "b.mp4")), stored[1]!.sha256)
        })
      )

      it.scopedLive(
        "resumes each crashed state as the journal says: polls, fetches, reports uncertain, retries refused creates",
        () =>
          Effect.gen(function* () {
            const db = yield* dialect.fresh
            const { provider, calls, createTask } = scripted()
            const dir = tempDir()
            const keys = ["fresh", "intent", "created", "finished", "refused"]
            const items = keys.map((key) => ({
              key,
              request: request(`video ${key}`),
              output: path.join(dir, `${key}.mp4`)
            }))
            const jobItems = items.map((it) => item(it.key, it.request.prompt, it.output))
            // The state a crashed run left behind.
            const created = createTask(Date.now() - 1000)
            const finished = createTask(Date.now() - 1000)
            yield* Effect.gen(function* () {
              const store = yield* JobStore.JobStore
              yield* store.open("crash", jobItems)
              yield* claim(store, "crash", ...keys)
              yield* store.record("crash", "intent", submitting("intent", "idem-intent"))
              yield* store.record("crash", "created", submitting("created"))
              yield* store.record(
                "crash",
                "created",
                new GenerationEvent.Submitted({ key: "created", handle: created })
              )
              yield* store.record("crash", "finished", submitting("finished"))
              yield* store.record(
                "crash",
                "finished",
                new GenerationEvent.Submitted({ key: "finished", handle: finished })
              )
              yield* store.record(
                "crash",
                "finished",
                new GenerationEvent.Succeeded({ key: "finished", taskId: finished.taskId, asset: expiredLink() })
              )
              yield* store.record("crash", "refused", submitting("refused"))
              yield* store.record(
                "crash",
                "refused",
                new GenerationEvent.Failed({
                  key: "refused",
                  error: new VideoError.RateLimited({ message: "429", billing: "not-charged" })
                })
              )
            }).pipe(Effect.provide(db.writer))
            const events = yield* collect(Engine.generateMany(items, { batch: "crash" })).pipe(provide(db, [provider]))
            const savedKeys = events.flatMap((event) => (event._tag === "Saved" ? [event.key] : [])).sort()
            assert.deepStrictEqual(savedKeys, ["created", "finished", "fresh", "refused"])
            // Two new tasks: the fresh item and the refused one; none for the rest.
            assert.strictEqual(calls.submits.length, 2)
            const failed = events.flatMap((event) => (event._tag === "Failed" ? [[event.key, event.error._tag]] : []))
            assert.deepStrictEqual(failed, [["intent", "UncertainSubmission"]])
            const journal = yield* readerOf(db)
            const byKey = new Map((yield* journal.items("crash")).map((it) => [it.key, it]))
            assert.strictEqual(byKey.get("intent")!.state, "uncertain")
            assert.strictEqual(byKey.get("created")!.taskId, created.taskId)
            assert.strictEqual(byKey.get("finished")!.taskId, finished.taskId)
            for (const key of ["fresh", "created", "finished", "refused"])
              assert.strictEqual(byKey.get(key)!.state, "downloaded")
            // The user accepts a possible second charge: only then is the uncertain item created.
            const report = yield* Engine.runMany(items, { batch: "crash", recreateUncertain: true }).pipe(
              provide(db, [provider])
            )
            assert.strictEqual(report.saved.size, 5)
            assert.strictEqual(calls.submits.length, 3)
            const intent = Option.getOrThrow(yield* journal.item("crash", "intent"))
            assert.strictEqual(intent.state, "downloaded")
            assert.strictEqual(intent.releases, 1)
            assert.strictEqual(intent.attempts, 2)
          })
      )

      it.scopedLive("a task past its 24 hours is reported TaskExpired, not re-created", () =>
        Effect.gen(function* () {
          const db = yield* dialect.fresh
          const { provider, calls, createTask } = scripted()
          const dir = tempDir()
          const items = [
            { key: "old", request: request("video old"), output: path.join(dir, "old.mp4") },
            { key: "done", request: request("video done"), output: path.join(dir, "done.mp4") }
          ]
          const old = createTask(Date.now() - 25 * 3600 * 1000)
          const done = createTask(Date.now() - 25 * 3600 * 1000)
          yield* Effect.gen(function* () {
            const store = yield* JobStore.JobStore
            yield* store.open(
              "late",
              items.map((it) => item(it.key, it.request.prompt, it.output))
            )
            yield* claim(store, "late", ...items.map((it) => it.key))
            yield* store.record("late", "old", submitting("old"))
            yield* store.record("late", "old", new GenerationEvent.Submitted({ key: "old", handle: old }))
            yield* store.record("late", "done", submitting("done"))
            yield* store.record("late", "done", new GenerationEvent.Submitted({ key: "done", handle: done }))
            yield* store.record(
              "late",
              "done",
              new GenerationEvent.Succeeded({ key: "done", taskId: done.taskId, asset: expiredLink() })
            )
          }).pipe(Effect.provide(db.writer))
          const report = yield* Engine.runMany(items, { batch: "late" }).pipe(provide(db, [provider]))
          assert.strictEqual(report.saved.size, 0)
          assert.strictEqual(report.failed.get("old")?._tag, "TaskExpired")
          assert.strictEqual(report.failed.get("done")?._tag, "TaskExpired")
          assert.strictEqual(calls.submits.length, 0)
          assert.strictEqual(calls.statuses, 0)
          assert.strictEqual(calls.contents, 0)
          const journal = yield* readerOf(db)
          const states = (yield* journal.items("late")).map((it) => [it.key, it.state])
          assert.deepStrictEqual(states, [
            ["old", "expired"],
            ["done", "expired"]
          ])
          // And again: still reported, still nothing sent.
          const again = yield* Engine.runMany(items, { batch: "late" }).pipe(provide(db, [provider]))
          assert.strictEqual(again.failed.get("old")?._tag, "TaskExpired")
          assert.strictEqual(calls.submits.length + calls.statuses + calls.contents, 0)
        })
      )

      it.scopedLive("a resumed task is not reported or counted as charged twice", () =>
        Effect.gen(function* () {
          const db = yield* dialect.fresh
          // Billed at the create: the crashed run reported the charge right after the task id.
          const { provider, createTask } = scripted({ chargePolicy: "per-request" })
          const dir = tempDir()
          const items = [{ key: "a", request: request("video a"), output: path.join(dir, "a.mp4") }]
          const task = createTask(Date.now() - 1000)
          const perRequest = new GenerationEvent.Charged({
            key: "a",
            provider: "scripted",
            model: model.id,
            amount: model.price,
            chargePolicy: "per-request",
            billing: "charged",
            taskId: task.taskId
          })
          yield* Effect.gen(function* () {
            const store = yield* JobStore.JobStore
            yield* store.open("billed", [item("a", "video a", items[0]!.output)])
            yield* claim(store, "billed", "a")
            yield* store.record("billed", "a", submitting("a"))
            yield* store.record("billed", "a", new GenerationEvent.Submitted({ key: "a", handle: task }))
            yield* store.record("billed", "a", perRequest)
          }).pipe(Effect.provide(db.writer))
          const journal = yield* readerOf(db)
          const costs = yield* journal.batchCosts("billed")
          const budget = yield* Budget.make({ spent: costs.budget.spent, uncertain: costs.budget.uncertain })
          const events = yield* collect(Engine.generateMany(items, { batch: "billed" })).pipe(
            provide(db, [provider]),
            Effect.provideService(Budget.Budget, budget)
          )
          assert.deepStrictEqual(
            events.flatMap((event) => (event._tag === "Saved" ? [event.key] : [])),
            ["a"]
          )
          assert.deepStrictEqual(
            events.filter((event) => event._tag === "Charged"),
            [],
            "the charge was reported by the run that made it"
          )
          const charges = yield* journal.charges({ batch: "billed" })
          assert.strictEqual(charges.length, 1)
          const snapshot = yield* budget.snapshot
          assert.isTrue(same(snapshot.spent, usd("0.25")))
          assert.isTrue(same(snapshot.uncertain, usd("0")))
        })
      )

      it.scopedLive("the same request under two keys is generated once", () =>
        Effect.gen(function* () {
          const db = yield* dialect.fresh
          const { provider, calls } = scripted()
          const dir = tempDir()
          const items = [
            { key: "one", request: request("the same") },
            { key: "two", request: request("the same") }
          ]
          const report = yield* Engine.runMany(items, { batch: "dup", outputDir: dir }).pipe(provide(db, [provider]))
          assert.strictEqual(calls.submits.length, 1)
          assert.deepStrictEqual([...report.saved.keys()], ["one"])
          assert.deepStrictEqual([...report.duplicates.keys()], ["two"])
          yield* Engine.runMany([{ key: "three", request: request("the same") }], {
            batch: "dup",
            outputDir: dir
          }).pipe(provide(db, [provider]))
          assert.strictEqual(calls.submits.length, 1)
        })
      )

      it.scopedLive("seeds a budget from what a batch already spent", () =>
        Effect.gen(function* () {
          const db = yield* dialect.fresh
          const { provider } = scripted()
          const dir = tempDir()
          const items = ["a", "b"].map((key) => ({ key, request: request(`video ${key}`) }))
          yield* Engine.runMany(items, { batch: "money", outputDir: dir }).pipe(provide(db, [provider]))
          const costs = yield* Effect.flatMap(Journal.Journal, (journal) => journal.batchCosts("money")).pipe(
            Effect.provide(db.reader)
          )
          assert.isTrue(same(costs.budget.spent, usd("0.50")))
          const budget = yield* Budget.make({
            limit: usd("0.60"),
            spent: costs.budget.spent,
            uncertain: costs.budget.uncertain
          })
          const refused = yield* Effect.flip(budget.reserve(model.price))
          assert.strictEqual(refused._tag, "BudgetExceeded")
        })
      )
    })
  })
}
