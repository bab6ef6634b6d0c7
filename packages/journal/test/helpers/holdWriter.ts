/**
 * Run as a child process by the lock tests: opens the SQLite journal at `argv[2]` for writing,
 * records one batch, prints `ready`, and holds the journal until it is killed.
 */

import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as JobStore from "@reelay/core/JobStore"
import * as Effect from "effect/Effect"
import * as Journal from "../../src/Journal.js"

const file = process.argv[2]
if (file === undefined) throw new Error("usage: holdWriter <journal path>")

const request = GenerateRequest.make({ prompt: "held" })

Effect.gen(function* () {
  const store = yield* JobStore.JobStore
  yield* store.open("held", [{ key: "a", request, fingerprint: JobStore.fingerprint(request), output: "/tmp/a.mp4" }])
  process.stdout.write("ready\n")
  return yield* Effect.never
}).pipe(Effect.provide(Journal.layerSqlite({ path: file })), Effect.runPromise)
