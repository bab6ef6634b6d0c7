/**
 * What one `record` costs: one small transaction, committed durably before it returns (SQLite:
 * WAL with `synchronous = FULL`, an fsync per commit; PostgreSQL: its default synchronous commit).
 * Prints the figures; asserts only a generous bound, so a slow disk does not fail CI.
 */
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as GenerationEvent from "@reelay/core/GenerationEvent"
import * as JobStore from "@reelay/core/JobStore"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Sqlite from "../src/Sqlite.js"
import * as Dialects from "./helpers/dialects.js"
import { tempDir } from "./helpers/engine.js"

const dialects = Dialects.forTests()

const events = 400

describe("record cost", () => {
  it.scopedLive("the SQLite writer runs in WAL mode with synchronous = FULL", () =>
    Effect.gen(function* () {
      const sql = yield* Sqlite.openWriter(path.join(tempDir(), "journal.db"))
      const mode = yield* sql<{ journal_mode: string }>`PRAGMA journal_mode`
      const sync = yield* sql<{ synchronous: number }>`PRAGMA synchronous`
      assert.strictEqual(mode[0]?.journal_mode, "wal")
      assert.strictEqual(sync[0]?.synchronous, 2)
    })
  )

  for (const dialect of dialects) {
    it.scopedLive(`per record on ${dialect.name}`, () =>
      Effect.gen(function* () {
        const db = yield* dialect.fresh
        const store = Context.get(yield* Layer.build(db.writer), JobStore.JobStore)
        const keys = Array.from({ length: 10 }, (_, index) => `item-${index}`)
        yield* store.open(
          "cost",
          keys.map((key) => {
            const request = GenerateRequest.make({ prompt: key })
            return { key, request, fingerprint: JobStore.fingerprint(request), output: `/tmp/${key}.mp4` }
          })
        )
        yield* Effect.forEach(keys, (key) => store.claims!.claim("cost", key), { discard: true })
        const warning = (key: string, n: number) =>
          new GenerationEvent.Warning({ key, code: "bench", message: `event ${n}` })
        const sequentialStart = performance.now()
        for (let n = 0; n < events; n++) yield* store.record("cost", "item-0", warning("item-0", n))
        const sequential = (performance.now() - sequentialStart) / events
        const concurrentStart = performance.now()
        yield* Effect.forEach(
          keys,
          (key) =>
            Effect.forEach(
              Array.from({ length: events / keys.length }, (_, n) => n),
              (n) => store.record("cost", key, warning(key, n))
            ),
          { concurrency: "unbounded", discard: true }
        )
        const concurrent = (performance.now() - concurrentStart) / events
        process.stdout.write(
          `[journal] record on ${dialect.name}: ${sequential.toFixed(2)} ms each one after another, ${concurrent.toFixed(2)} ms each with 10 items at once (${events} records)\n`
        )
        assert.isBelow(sequential, 100)
      })
    )
  }
})
