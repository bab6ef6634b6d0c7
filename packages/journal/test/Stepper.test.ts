/**
 * `Engine.stepper` on the journal: one item carried on stage by stage, as a durable workflow drives
 * it (waiting between stages itself), with the journal deciding where the item stands each time.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Engine from "@reelay/core/Engine"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as JobStore from "@reelay/core/JobStore"
import type * as Polling from "@reelay/core/Polling"
import type * as Stepper from "@reelay/core/Stepper"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Journal from "../src/Journal.js"
import * as Dialects from "./helpers/dialects.js"
import { engineLayer, tempDir } from "./helpers/engine.js"
import { scripted } from "./helpers/provider.js"

const sha256 = (file: string) => createHash("sha256").update(fs.readFileSync(file)).digest("hex")

/** Advances `item` until it ends, sleeping each wait it hands back; returns every step. */
const drive = (stepper: Stepper.Stepper, batch: string, item: Stepper.StepItem) =>
  Effect.gen(function* () {
    const steps: Array<Stepper.Step> = []
    let polling: Polling.TrackerState | undefined
    while (true) {
      const step = yield* stepper.advance(batch, item, polling)
      steps.push(step)
      if (step._tag === "Waiting") {
        polling = step.polling
        yield* Effect.sleep(Duration.millis(step.delayMillis))
        continue
      }
      if (step._tag === "Ready") continue
      return steps
    }
  })

for (const dialect of Dialects.forTests()) {
  describe(`the stepper on ${dialect.name}`, () => {
    /** A stepper on the journal, and `item` opened in it (as handing a batch to the workers does). */
    const stepperOf = (
      db: Dialects.Database,
      provider: ReturnType<typeof scripted>["provider"],
      item: Stepper.StepItem,
      polling: Parameters<typeof engineLayer>[1] = {}
    ) =>
      Effect.gen(function* () {
        const context = yield* Layer.build(engineLayer([provider], polling).pipe(Layer.provideMerge(db.writer)))
        yield* Context.get(context, JobStore.JobStore).open("b", [
          {
            key: item.key,
            fingerprint: JobStore.fingerprint(item.request),
            request: item.request,
            output: item.output
          }
        ])
        return yield* Context.get(context, Engine.Engine).stepper()
      })

    it.scopedLive("creates once, polls once per stage, saves on the last, and repeats nothing when replayed", () =>
      Effect.gen(function* () {
        const db = yield* dialect.fresh
        // Long enough that the replayed stage right after the create cannot find the video made.
        const { provider, calls } = scripted({ doneMillis: 300 })
        const output = path.join(tempDir(), "fox.mp4")
        const item = { key: "fox", request: GenerateRequest.make({ prompt: "a red fox" }), output }
        const stepper = yield* stepperOf(db, provider, item)

        const first = yield* stepper.advance("b", item)
        assert.strictEqual(first._tag, "Waiting")
        assert.deepStrictEqual({ submits: calls.submits.length, statuses: calls.statuses }, { submits: 1, statuses: 0 })
        // The same stage again (a workflow step replayed after a crash): the journal says a task
        // exists, so it is polled, never created again.
        const replayed = yield* stepper.advance("b", item)
        assert.strictEqual(replayed._tag, "Waiting")
        assert.deepStrictEqual({ submits: calls.submits.length, statuses: calls.statuses }, { submits: 1, statuses: 1 })

        const steps = yield* drive(stepper, "b", item)
        const last = steps.at(-1)!
        assert.strictEqual(last._tag, "Saved")
        // One status call per stage: the waits were the caller's. This provider's video is a stream,
        // which does not outlive a stage, so it is saved in the stage that saw it made.
        assert.strictEqual(calls.statuses, 1 + steps.length)
        assert.strictEqual(calls.submits.length, 1)
        assert.strictEqual(calls.contents, 1)
        if (last._tag === "Saved") assert.strictEqual(last.video.sha256, sha256(output))

        const reader = Context.get(yield* Layer.build(db.reader), Journal.Journal)
        const stored = yield* reader.item("b", "fox")
        assert.strictEqual(stored._tag === "Some" ? stored.value.state : undefined, "downloaded")
        // Once saved, a stage only verifies the file.
        const again = yield* stepper.advance("b", item)
        assert.strictEqual(again._tag, "Saved")
        assert.deepStrictEqual([calls.submits.length, calls.contents], [1, 1])
      })
    )

    it.scopedLive("carries the polling state over: the deadline counts from the first look, not each stage", () =>
      Effect.gen(function* () {
        const db = yield* dialect.fresh
        const { provider } = scripted({ doneMillis: 60_000 })
        const item = {
          key: "slow",
          request: GenerateRequest.make({ prompt: "slow" }),
          output: path.join(tempDir(), "s.mp4")
        }
        const stepper = yield* stepperOf(db, provider, item, { polling: { deadline: "300 millis" } })
        const steps = yield* drive(stepper, "b", item)
        const last = steps.at(-1)!
        assert.strictEqual(last._tag, "Failed")
        if (last._tag === "Failed") assert.strictEqual(last.error._tag, "PollTimeout")
        const waits = steps.filter((step) => step._tag === "Waiting")
        const started = waits.map((step) => (step._tag === "Waiting" ? step.polling.startedAt : 0))
        assert.isAbove(waits.length, 1)
        assert.strictEqual(new Set(started.slice(1)).size, 1, "every stage after the first look keeps its start")
      })
    )

    it.scopedLive("leaves an item whose output it cannot write, recording and sending nothing", () =>
      Effect.gen(function* () {
        const db = yield* dialect.fresh
        const { provider, calls } = scripted()
        const blocker = path.join(tempDir(), "a-file")
        fs.writeFileSync(blocker, "")
        const item = {
          key: "fox",
          request: GenerateRequest.make({ prompt: "a red fox" }),
          output: path.join(blocker, "fox.mp4")
        }
        const stepper = yield* stepperOf(db, provider, item)
        const step = yield* stepper.advance("b", item)
        assert.strictEqual(step._tag, "Unwritable")
        assert.strictEqual(calls.submits.length, 0)
        const reader = Context.get(yield* Layer.build(db.reader), Journal.Journal)
        const stored = yield* reader.item("b", "fox")
        assert.strictEqual(stored._tag === "Some" ? stored.value.attempts : -1, 0)
        // Given back as it stands: another process may take it at once.
        assert.strictEqual(stored._tag === "Some" ? stored.value.claimedBy : "?", undefined)
      })
    )
  })
}
