/**
 * The gateway's guard on the engine's journal: the intent of a create is refused for a video that
 * has ended or was deleted (whichever gateway would create it again), before anything is sent;
 * every other record, and a create for a video still running, goes through unchanged; an end is
 * recorded on the video as soon as the journal has it.
 */
import { assert, describe, it } from "@effect/vitest"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import { Failed, Submitting, Warning } from "@reelay/core/GenerationEvent"
import * as JobStore from "@reelay/core/JobStore"
import { GenerationFailed } from "@reelay/core/VideoError"
import type { Videos } from "@reelay/journal"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Tenancy from "../src/Tenancy.js"

const video = (id: string, ended: Partial<Pick<Videos.Video, "endedAt" | "deletedAt">>): Videos.Video => ({
  tenant: "team-a",
  id,
  batch: `gw-team-a-${id}`,
  key: id,
  request: new GenerateRequest({ prompt: "x", provider: "laozhang" }),
  fingerprint: "f",
  output: `/videos/${id}.mp4`,
  idempotencyKey: undefined,
  notify: false,
  price: undefined,
  createdAt: new Date(0),
  endedAt: ended.endedAt,
  deletedAt: ended.deletedAt
})

const stored = new Map([
  ["running", video("running", {})],
  ["ended", video("ended", { endedAt: new Date(1) })],
  ["deleted", video("deleted", { deletedAt: new Date(1) })]
])

const recorded: Array<string> = []
const videos: Pick<Videos.Service, "get" | "end"> = {
  get: (_tenant, id) => Effect.succeed(Option.fromNullable(stored.get(id))),
  end: (_tenant, id) => Effect.sync(() => void recorded.push(`${id}:ended`))
}

const submitting = (key: string) =>
  new Submitting({ key, provider: "laozhang", model: "veo-3.1-fast", idempotencyKey: "k" })

describe("the gateway's create guard", () => {
  it.effect("refuses the create's intent for an ended or deleted video, and passes everything else", () =>
    Effect.gen(function* () {
      const store: JobStore.Service = {
        ...JobStore.memory,
        record: (_batch, key, event) => Effect.sync(() => void recorded.push(`${key}:${event._tag}`))
      }
      const guarded = Tenancy.guarded("team-a", Context.make(JobStore.JobStore, store), videos)
      for (const key of ["ended", "deleted"]) {
        const exit = yield* Effect.exit(guarded.record(`gw-team-a-${key}`, key, submitting(key)))
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit) && exit.cause._tag === "Fail") assert.strictEqual(exit.cause.error._tag, "ClaimLost")
      }
      yield* guarded.record("gw-team-a-running", "running", submitting("running"))
      yield* guarded.record(
        "gw-team-a-ended",
        "ended",
        new Warning({ key: "ended", code: "note", message: "not a create" })
      )
      // An end is recorded in the journal, then on the video, before the engine moves on.
      yield* guarded.record(
        "gw-team-a-running",
        "running",
        new Failed({
          key: "running",
          error: new GenerationFailed({ billing: "not-charged", message: "the provider failed it" })
        })
      )
      assert.deepStrictEqual(recorded, ["running:Submitting", "ended:Warning", "running:Failed", "running:ended"])
    })
  )
})
