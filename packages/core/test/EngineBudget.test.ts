/**
 * The engine against a budget that can wait: items refused while other items' reservations may
 * still come back wait for them, and fail only when no release could make room.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { ChargePolicy } from "../src/Billing.js"
import * as Budget from "../src/Budget.js"
import * as Engine from "../src/Engine.js"
import { GenerateRequest } from "../src/GenerateRequest.js"
import * as Money from "../src/Money.js"
import * as TaskStatus from "../src/TaskStatus.js"
import * as VideoError from "../src/VideoError.js"
import type * as VideoProvider from "../src/VideoProvider.js"
import { portrait } from "./helpers/catalog.js"
import { advancing } from "./helpers/clock.js"
import { engineLayer, tempDir } from "./helpers/engine.js"
import { fileAsset, fixture, scripted, scriptedStream } from "./helpers/ScriptedProvider.js"

/** A scripted provider whose tasks for prompts starting with "reject" end in a content rejection. */
const rejecting = (chargePolicy: ChargePolicy) => {
  const { provider, recorder } = scripted({ models: [portrait(chargePolicy)] })
  const rejected = new Set<string>()
  const wrapped: VideoProvider.AsyncVideoProvider = {
    ...provider,
    submit: (input) =>
      Effect.tap(provider.submit(input), (handle) =>
        Effect.sync(() => {
          if (input.request.prompt.startsWith("reject")) rejected.add(handle.taskId)
        })
      ),
    status: (handle) =>
      rejected.has(handle.taskId)
        ? Effect.succeed(
            new TaskStatus.Failed({
              error: new VideoError.ContentRejected({ message: "the prompt was refused by the safety filter" })
            })
          )
        : provider.status(handle)
  }
  return { provider: wrapped, recorder }
}

// The rejected items come first: the good ones behind them are refused by a budget that only waits
// for nothing, since the rejections' reservations are still open when they ask.
const items = ["reject-1", "reject-2", "good-3", "good-4", "good-5"].map((key) => ({
  key,
  request: GenerateRequest.make({ prompt: `${key}: a fox in the snow` })
}))

// $0.25 a video: three fit.
const limit = Money.usd("0.75")

describe("Engine with a budget", () => {
  it.effect("free content rejections give their reservations to the items waiting behind them", () => {
    const { provider, recorder } = rejecting("on-success")
    return Effect.gen(function* () {
      // One create at a time: the reservations are asked for in batch order.
      const report = yield* Engine.runMany(items, { outputDir: tempDir(), concurrency: { submit: 1 } })
      assert.deepStrictEqual([...report.saved.keys()].sort(), ["good-3", "good-4", "good-5"])
      assert.deepStrictEqual(
        [...report.failed.entries()].map(([key, error]) => [key, error._tag, error.billing]).sort(),
        [
          ["reject-1", "ContentRejected", "not-charged"],
          ["reject-2", "ContentRejected", "not-charged"]
        ]
      )
      assert.strictEqual(recorder.submits.length, 5)
      const snapshot = yield* Effect.flatMap(Budget.Budget, (budget) => budget.snapshot)
      assert.strictEqual(Money.format(snapshot.spent), "$0.75")
      assert.strictEqual(Money.format(snapshot.reserved), "$0.00")
      assert.strictEqual(Money.format(snapshot.uncertain), "$0.00")
    }).pipe(Effect.provide(engineLayer([provider], { limit })), advancing)
  })

  it.effect("paid rejections leave no room: the waiting items fail BudgetExceeded, nothing sent for them", () => {
    const { provider, recorder } = rejecting("per-request")
    return Effect.gen(function* () {
      // One create at a time: the reservations are asked for in batch order.
      const report = yield* Engine.runMany(items, { outputDir: tempDir(), concurrency: { submit: 1 } })
      assert.deepStrictEqual([...report.saved.keys()], ["good-3"])
      assert.deepStrictEqual(
        [...report.failed.entries()].map(([key, error]) => [key, error._tag, error.billing]).sort(),
        [
          ["good-4", "BudgetExceeded", "not-charged"],
          ["good-5", "BudgetExceeded", "not-charged"],
          ["reject-1", "ContentRejected", "charged"],
          ["reject-2", "ContentRejected", "charged"]
        ]
      )
      assert.strictEqual(recorder.submits.length, 3)
      const snapshot = yield* Effect.flatMap(Budget.Budget, (budget) => budget.snapshot)
      assert.strictEqual(Money.format(snapshot.spent), "$0.75")
      assert.strictEqual(Money.format(snapshot.reserved), "$0.00")
    }).pipe(Effect.provide(engineLayer([provider], { limit })), advancing)
  })

  // A deadlock this guards against: were a streaming attempt to reserve under one submit slot and
  // stream under another, an item holding a reservation could wait for a slot while the slots are
  // all held by items waiting in `reserve` for that very reservation (s1's stream fails, free under
  // on-success, so it regenerates; s2 takes the only slot and reserves; s1's new attempt takes the
  // slot back and waits for s2's money; s2 waits for the slot). The engine holds one slot from the
  // reservation to the end of the stream. Which of the two gets the one video the budget allows
  // depends on which reaches the slot first; that one of them does is the point.
  it.effect("a streaming item holding a reservation never waits for a submit slot", () => {
    const { provider } = scriptedStream({
      models: [portrait("on-success", "acme-stream")],
      runs: [
        {
          events: [{ _tag: "Accepted", taskId: "stream-1" }],
          failure: new VideoError.GenerationFailed({ message: "no video" })
        },
        {
          events: [
            { _tag: "Accepted", taskId: "stream-2" },
            { _tag: "Completed", asset: fileAsset(fixture("720x1280-8s.mp4")) }
          ]
        }
      ]
    })
    const two = ["s1", "s2"].map((key) => ({ key, request: GenerateRequest.make({ prompt: key }) }))
    return Effect.gen(function* () {
      const report = yield* Engine.runMany(two, { outputDir: tempDir(), concurrency: { submit: 1 } }).pipe(
        // Clock time: a stuck batch leaves this timer the only one pending, so the clock moves to it
        // at once; a working one ends long before (nothing in it polls).
        Effect.timeout("15 seconds"),
        Effect.either
      )
      assert.isTrue(Either.isRight(report), "the batch ends")
      if (Either.isLeft(report)) return
      assert.strictEqual(report.right.saved.size, 1)
      assert.deepStrictEqual(
        [...report.right.failed.values()].map((error) => error._tag),
        ["BudgetExceeded"]
      )
    }).pipe(Effect.provide(engineLayer([provider], { limit: Money.usd("0.25") })), advancing)
  })
})
