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
    const stepperOf = (db: Dialects.Database, provider: ReturnType<typeof scripted>["provider"]) =>
      Effect.gen(function* () {
        const context = yield* Layer.build(engineLayer([provider]).pipe(Layer.provideMerge(db.writer)))
        return yield* Context.get(context, Engine.Engine).stepper()
      })

    it.scopedLive("creates once, polls once per stage, saves on the last, and repeats nothing when replayed", () =>
      Effect.gen(function* () {
        const db = yield* dialect.fresh
        const { provider, calls } = scripted({ doneMillis: 60 })
        const stepper = yield* stepperOf(db, provider)
        const output = path.join(tempDir(), "fox.mp4")
        const item = { key: "fox", request: GenerateRequest.make({ prompt: "a red fox" }), output }

        const first = yield* stepper.advance("b", item)
        assert.strictEqual(first._tag, "Waiting")
        assert.deepStrictEqual({ submits: calls.submits.length, statuses: calls.statuses }, { submits: 1, statuses: 0 })
        // The same stage again (a workflow step replayed after a crash): the journal says a task
        // exists, so it is polled, never created again.
        const replayed = yield* stepper.advance("b", item)
        assert.include(["Waiting", "Ready"], replayed._tag)
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
        const context = yield* Layer.build(
          engineLayer([provider], { polling: { deadline: "300 millis" } }).pipe(Layer.provideMerge(db.writer))
        )
        const stepper = yield* Context.get(context, Engine.Engine).stepper()
        const item = {
          key: "slow",
          request: GenerateRequest.make({ prompt: "slow" }),
          output: path.join(tempDir(), "s.mp4")
        }
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
        const stepper = yield* stepperOf(db, provider)
        const blocker = path.join(tempDir(), "a-file")
        fs.writeFileSync(blocker, "")
        const item = {
          key: "fox",
          request: GenerateRequest.make({ prompt: "a red fox" }),
          output: path.join(blocker, "fox.mp4")
        }
        const step = yield* stepper.advance("b", item)
        assert.strictEqual(step._tag, "Unwritable")
        assert.strictEqual(calls.submits.length, 0)
        const reader = Context.get(yield* Layer.build(db.reader), Journal.Journal)
        const stored = yield* reader.item("b", "fox")
        assert.strictEqual(stored._tag === "Some" ? stored.value.attempts : -1, 0)
      })
    )
  })
}
