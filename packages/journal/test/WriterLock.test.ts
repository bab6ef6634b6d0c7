/** One writer per SQLite journal: the second gets a clear error, a killed writer leaves no lock behind. */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as JobStore from "@reelay/core/JobStore"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Journal from "../src/Journal.js"
import { tempDir } from "./helpers/engine.js"

const here = path.dirname(fileURLToPath(import.meta.url))

/** Starts a process that holds the journal at `file`, once it says it does. */
const holder = (file: string) =>
  Effect.acquireRelease(
    Effect.async<ChildProcess, Error>((resume) => {
      const child = spawn(process.execPath, ["--import", "tsx", path.join(here, "helpers/holdWriter.ts"), file], {
        cwd: path.resolve(here, ".."),
        stdio: ["ignore", "pipe", "inherit"]
      })
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

const openWriter = (file: string) => Layer.build(Journal.layerSqlite({ path: file }))

describe("the SQLite writer lock", () => {
  it.scopedLive("a second writer in the same process is refused with the file and the pid", () =>
    Effect.gen(function* () {
      const file = path.join(tempDir(), "journal.db")
      yield* openWriter(file)
      const error = yield* Effect.flip(Effect.scoped(openWriter(file)))
      assert.strictEqual(error._tag, "JournalLocked")
      if (error._tag === "JournalLocked") {
        assert.strictEqual(error.path, file)
        assert.strictEqual(error.pid, process.pid)
        assert.include(error.message, file)
        assert.include(error.message, `pid ${process.pid}`)
      }
    })
  )

  it.scopedLive("is released when the writer closes", () =>
    Effect.gen(function* () {
      const file = path.join(tempDir(), "journal.db")
      yield* Effect.scoped(openWriter(file))
      yield* Effect.scoped(openWriter(file))
    })
  )

  it.scopedLive("a writer in another process: refused while it runs, readers unaffected, free once it is killed", () =>
    Effect.gen(function* () {
      const file = path.join(tempDir(), "journal.db")
      const child = yield* holder(file)
      const error = yield* Effect.flip(Effect.scoped(openWriter(file)))
      assert.strictEqual(error._tag, "JournalLocked")
      if (error._tag === "JournalLocked") {
        assert.strictEqual(error.pid, child.pid)
        assert.match(error.message, new RegExp(`open for writing by another process \\(pid ${child.pid} on `))
      }
      // `reelay status` while the batch runs.
      const reader = yield* Effect.scoped(
        Effect.flatMap(
          Layer.build(Journal.layerSqliteReader({ path: file })),
          (context) => Context.get(context, Journal.Journal).batches
        )
      )
      assert.deepStrictEqual(
        reader.map((batch) => [batch.batch, batch.items]),
        [["held", 1]]
      )
      // SIGKILL: no chance to clean up. The lock goes with the process.
      yield* killed(child)
      const context = yield* openWriter(file)
      const plans = yield* Context.get(context, JobStore.JobStore).open("held", [])
      assert.deepStrictEqual(plans, [])
      const batches = yield* Context.get(context, Journal.Journal).batches
      assert.strictEqual(batches[0]?.items, 1)
    })
  )

  it.scopedLive("a reader needs an existing journal", () =>
    Effect.gen(function* () {
      const file = path.join(tempDir(), "missing.db")
      const error = yield* Effect.flip(Layer.build(Journal.layerSqliteReader({ path: file })))
      assert.strictEqual(error._tag, "JournalError")
      assert.include(error.message, "there is no journal at")
    })
  )
})
