/**
 * A damaged journal through the real CLI (issue 11, case 10): a file of random bytes where the
 * journal should be, a real journal cut short, and a real journal with one table's page
 * overwritten (found only when that table is first read). Every command that opens it — `status`,
 * `cost`, `resume`, `batch` — exits with the journal's code (4) and one line on stderr that names
 * the file and SQLite's own reason (never only the driver's "Failed to prepare statement"); nothing
 * is sent, nothing is charged, and a file that is not a readable database is left as it was.
 */
import { randomBytes } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { assert, describe, it } from "@effect/vitest"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as JobStore from "@reelay/core/JobStore"
import * as Journal from "@reelay/journal/Journal"
import * as Effect from "effect/Effect"
import * as Harness from "../cli/harness.js"

const harness = Harness.forFile()

/** A real journal: one batch of 40 items, written by the journal itself and closed. */
const writeJournal = (file: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const store = yield* JobStore.JobStore
      const items = Array.from({ length: 40 }, (_, index) => {
        const request = GenerateRequest.make({ prompt: `video ${index} ${"of a fox in the snow ".repeat(8)}` })
        return {
          key: `item-${index}`,
          request,
          fingerprint: JobStore.fingerprint(request),
          output: `/tmp/${index}.mp4`
        }
      })
      yield* store.open("b", items)
    }).pipe(Effect.provide(Journal.layerSqlite({ path: file })))
  )

/** The page size and the first page of `table`. */
const rootPage = (file: string, table: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const [size] = yield* sql<{ readonly page_size: number }>`PRAGMA page_size`
      const [root] = yield* sql<{ readonly rootpage: number }>`SELECT rootpage FROM sqlite_master WHERE name = ${table}`
      return { pageSize: Number(size!.page_size), page: Number(root!.rootpage) }
    }).pipe(Effect.provide(SqliteClient.layer({ filename: file, readonly: true })), Effect.scoped, Effect.orDie)
  )

const damages: ReadonlyArray<{
  readonly name: string
  readonly make: (file: string) => Promise<void>
  readonly reason: RegExp
  /** Whether no command writes it (a writer still records its lease in a journal damaged only in places). */
  readonly untouched: boolean
}> = [
  {
    name: "random bytes",
    make: async (file) => NodeFs.writeFileSync(file, randomBytes(16 * 1024)),
    reason: /SQLITE_NOTADB: file is not a database/,
    untouched: true
  },
  {
    name: "a real journal cut short",
    make: async (file) => {
      await writeJournal(file)
      const { pageSize } = await rootPage(file, "reelay_jobs")
      NodeFs.truncateSync(file, pageSize * 2 + 100)
    },
    reason: /SQLITE_CORRUPT: database disk image is malformed/,
    untouched: true
  },
  {
    name: "a real journal with its items' page overwritten",
    make: async (file) => {
      await writeJournal(file)
      const { pageSize, page } = await rootPage(file, "reelay_jobs")
      const handle = NodeFs.openSync(file, "r+")
      NodeFs.writeSync(handle, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (page - 1) * pageSize)
      NodeFs.closeSync(handle)
    },
    reason: /SQLITE_CORRUPT: database disk image is malformed/,
    untouched: false
  }
]

describe("a damaged journal (CLI): exit 4, the file and SQLite's reason, nothing sent", () => {
  for (const { name, make, reason, untouched } of damages) {
    it(`${name}: status, cost, resume and batch refuse it`, async () => {
      const cwd = Harness.workdir("corrupt-journal")
      const journal = NodePath.join(cwd, "journal.db")
      await make(journal)
      const before = NodeFs.readFileSync(journal)
      NodeFs.writeFileSync(NodePath.join(cwd, "jobs.jsonl"), `${JSON.stringify({ key: "a", prompt: "A fox" })}\n`)
      const key = harness.freshKey("sk-corrupt-journal")
      const env = { ...harness.env(key), REELAY_JOURNAL: journal }
      for (const args of [["status"], ["cost"], ["resume"], ["batch", "jobs.jsonl"]]) {
        const result = await Harness.run(args, { cwd, env })
        const what = `reelay ${args.join(" ")} on ${name}: ${result.stderr}`
        assert.strictEqual(result.code, 4, what)
        // The error is the last line (a batch announces itself first).
        const said = result.stderr.split("\n").filter((line) => line.trim() !== "")
        const error = said.at(-1) ?? ""
        assert.isAtMost(said.length, args[0] === "batch" ? 2 : 1, what)
        assert.match(error, /^reelay: (JournalError|JobStoreError): /, what)
        assert.isTrue(
          [journal, NodeFs.realpathSync(journal)].some((path) => error.includes(path)),
          `names the file: ${what}`
        )
        assert.match(error, reason, what)
        assert.include(error, "the file is damaged or not a database", what)
        assert.notMatch(error, /Failed to (prepare|execute) statement/, what)
      }
      assert.deepStrictEqual(harness.requestsOf(key), [], "nothing sent")
      assert.deepStrictEqual(harness.chargesOf(key), [], "nothing charged")
      if (untouched) assert.isTrue(NodeFs.readFileSync(journal).equals(before), "the damaged file is left as it was")
    }, 120_000)
  }
})
