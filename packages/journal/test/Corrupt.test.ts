/**
 * Damaged journal files (issue 11): random bytes, a file that is not SQLite, a real journal cut
 * short, a real journal with one table's page overwritten. Whether the damage is found when the
 * file is opened, migrated or first read, the error names the file and SQLite's own reason
 * (`SQLITE_NOTADB: file is not a database`, `SQLITE_CORRUPT: database disk image is malformed`),
 * never only the driver's "Failed to prepare statement".
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { assert, describe, it } from "@effect/vitest"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as JobStore from "@reelay/core/JobStore"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Journal from "../src/Journal.js"
import { tempDir } from "./helpers/engine.js"

/** A journal with one batch of 40 items, closed (its log folded into the file). */
const realJournal = (file: string) =>
  Effect.gen(function* () {
    const store = yield* JobStore.JobStore
    const items = Array.from({ length: 40 }, (_, index) => {
      const request = GenerateRequest.make({ prompt: `video ${index} ${"of a fox in the snow ".repeat(8)}` })
      return { key: `item-${index}`, request, fingerprint: JobStore.fingerprint(request), output: `/tmp/${index}.mp4` }
    })
    yield* store.open("b", items)
  }).pipe(Effect.provide(Journal.layerSqlite({ path: file })), Effect.orDie)

/** The page size and the first page of `table`, read before the file is damaged. */
const rootPage = (file: string, table: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [size] = yield* sql<{ readonly page_size: number }>`PRAGMA page_size`
    const [root] = yield* sql<{ readonly rootpage: number }>`SELECT rootpage FROM sqlite_master WHERE name = ${table}`
    return { pageSize: Number(size!.page_size), page: Number(root!.rootpage) }
  }).pipe(Effect.provide(SqliteClient.layer({ filename: file, readonly: true })), Effect.scoped, Effect.orDie)

/**
 * Everything a command does with a journal, as a writer and as a reader: the first error, or
 * undefined when nothing failed.
 */
const firstFailure = (file: string, role: "writer" | "reader") =>
  Effect.gen(function* () {
    const journal = yield* Journal.Journal
    yield* journal.batches
    yield* journal.items("b")
    yield* journal.charges({ batch: "b" })
  }).pipe(
    Effect.provide(role === "writer" ? Journal.layerSqlite({ path: file }) : Journal.layerSqliteReader({ path: file })),
    Effect.exit,
    Effect.map((exit) => {
      if (Exit.isSuccess(exit)) return undefined
      const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      assert.isDefined(failure, `${file}: a typed failure, not a defect`)
      return failure!
    })
  )

const damages: ReadonlyArray<{
  readonly name: string
  readonly damage: (file: string) => Effect.Effect<void>
  readonly reason: RegExp
}> = [
  {
    name: "random bytes",
    damage: (file) => Effect.sync(() => fs.writeFileSync(file, randomBytes(16 * 1024))),
    reason: /SQLITE_NOTADB: file is not a database/
  },
  {
    name: "a text file",
    damage: (file) => Effect.sync(() => fs.writeFileSync(file, "prompt,output\na fox,fox.mp4\n")),
    reason: /SQLITE_NOTADB: file is not a database/
  },
  {
    name: "a real journal cut short",
    damage: (file) =>
      Effect.gen(function* () {
        yield* realJournal(file)
        const { pageSize } = yield* rootPage(file, "reelay_jobs")
        fs.truncateSync(file, pageSize * 2 + 100)
      }),
    reason: /SQLITE_CORRUPT: database disk image is malformed/
  },
  {
    name: "a real journal with its items' page overwritten",
    damage: (file) =>
      Effect.gen(function* () {
        yield* realJournal(file)
        const { pageSize, page } = yield* rootPage(file, "reelay_jobs")
        const handle = fs.openSync(file, "r+")
        fs.writeSync(handle, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (page - 1) * pageSize)
        fs.closeSync(handle)
      }),
    reason: /SQLITE_CORRUPT: database disk image is malformed/
  }
]

describe("a damaged SQLite journal", () => {
  for (const { name, damage, reason } of damages) {
    for (const role of ["writer", "reader"] as const) {
      it.live(`${name}: the ${role}'s error names the file and SQLite's reason`, () =>
        Effect.gen(function* () {
          const file = path.join(tempDir(), "journal.db")
          yield* damage(file)
          const error = yield* firstFailure(file, role)
          assert.isDefined(error, "the damage was found")
          assert.strictEqual(error!._tag, "JournalError")
          const names = [file, fs.realpathSync(file)]
          assert.isTrue(
            names.some((name) => error!.message.includes(name)),
            `the message names the file: ${error!.message}`
          )
          assert.match(error!.message, reason)
          assert.match(error!.message, /the file is damaged or not a database/)
          assert.notMatch(error!.message, /Failed to (prepare|execute) statement/)
        })
      )
    }
  }
})
