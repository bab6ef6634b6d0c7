/**
 * Run as a child process by the claims tests: opens the journal at `argv[2]` (a SQLite path or a
 * PostgreSQL URL) for writing, opens batch `held` with item `a`, claims it, records a create's
 * intent (validated, then submitting: its answer never comes), prints `ready`, and holds on until
 * it is killed — a process that dies mid-create.
 */

import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as GenerationEvent from "@reelay/core/GenerationEvent"
import * as JobStore from "@reelay/core/JobStore"
import * as Money from "@reelay/core/Money"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Journal from "../../src/Journal.js"

const location = process.argv[2]
if (location === undefined) throw new Error("usage: holdWriter <journal path or postgres url>")

const request = GenerateRequest.make({ prompt: "held" })
const layer = /^postgres/.test(location)
  ? Journal.layerPg({ url: Redacted.make(location) })
  : Journal.layerSqlite({ path: location })

Effect.gen(function* () {
  const store = yield* JobStore.JobStore
  yield* store.open("held", [{ key: "a", request, fingerprint: JobStore.fingerprint(request), output: "/tmp/a.mp4" }])
  const claim = yield* store.claims!.claim("held", "a")
  if (claim._tag !== "Claimed") throw new Error(`the holder could not claim the item: ${claim.holder}`)
  yield* store.record(
    "held",
    "a",
    new GenerationEvent.Validated({
      key: "a",
      provider: "scripted",
      model: "held-model",
      estimatedCost: Money.usd("0.40"),
      chargePolicy: "on-success",
      warnings: []
    })
  )
  yield* store.record(
    "held",
    "a",
    new GenerationEvent.Submitting({ key: "a", provider: "scripted", model: "held-model", idempotencyKey: "idem-held" })
  )
  process.stdout.write("ready\n")
  return yield* Effect.never
}).pipe(Effect.provide(layer), Effect.runPromise)
