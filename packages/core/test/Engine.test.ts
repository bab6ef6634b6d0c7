import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as BigDecimal from "effect/BigDecimal"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { ChargePolicy } from "../src/Billing.js"
import * as Budget from "../src/Budget.js"
import * as Engine from "../src/Engine.js"
import { GenerateRequest } from "../src/GenerateRequest.js"
import type { GenerationEvent } from "../src/GenerationEvent.js"
import * as Money from "../src/Money.js"
import * as TaskStatus from "../src/TaskStatus.js"
import * as VideoError from "../src/VideoError.js"
import { portrait, pro } from "./helpers/catalog.js"
import { advancing } from "./helpers/clock.js"
import { collect, engineLayer, tempDir } from "./helpers/engine.js"
import { fixture, linear, scripted } from "./helpers/ScriptedProvider.js"

const request = GenerateRequest.make({ prompt: "a red fox in fresh snow" })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (failure === undefined) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return failure
}

const ofTag = <T extends GenerationEvent["_tag"]>(events: ReadonlyArray<GenerationEvent>, tag: T) =>
  events.filter((event): event is Extract<GenerationEvent, { _tag: T }> => event._tag === tag)

describe("Engine", () => {
  it.effect("generates, polls, downloads and verifies one video, reporting each step", () => {
    // Queued past the first poll (at 60 % of the typical 45 s), so every kind of event shows.
    const { provider, recorder } = scripted({ models: [portrait()], timeline: linear(35_000, 60_000) })
    const output = path.join(tempDir(), "fox.mp4")
    return Effect.gen(function* () {
      const { events, exit, tags } = yield* collect(Engine.generate(request, { output, key: "fox" }))
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      assert.deepStrictEqual(
        tags.filter((tag) => tag !== "Progress" && tag !== "Downloading"),
        ["Validated", "Submitting", "Submitted", "Queued", "Charged", "Succeeded", "Saved"]
      )
      assert.isTrue(events.every((event) => event.key === "fox"))
      const percents = ofTag(events, "Progress").map((event) => event.percent)
      assert.deepStrictEqual(
        percents,
        [...percents].sort((a, b) => a - b),
        "progress only rises"
      )
      const saved = ofTag(events, "Saved")[0]!.video
      const bytes = fs.readFileSync(output)
      assert.strictEqual(saved.sha256, createHash("sha256").update(bytes).digest("hex"))
      assert.strictEqual(saved.bytes, bytes.length)
      assert.strictEqual(saved.probe.size, "720x1280")
      assert.isTrue(saved.probe.hasAudio)
      assert.isFalse(fs.existsSync(`${output}.part`))
      assert.strictEqual(recorder.submits.length, 1)
      const charged = ofTag(events, "Charged")
      assert.strictEqual(charged.length, 1)
      assert.strictEqual(charged[0]!.billing, "charged")
      assert.isTrue(BigDecimal.equals(charged[0]!.amount, Money.usd("0.25")))
      assert.strictEqual(ofTag(events, "Warning").length, 0)
    }).pipe(Effect.provide(engineLayer([provider])), advancing)
  })

  it.effect("generateTo returns the saved video", () => {
    const { provider } = scripted({ models: [portrait()] })
    const output = path.join(tempDir(), "fox.mp4")
    return Effect.gen(function* () {
      const video = yield* Engine.generateTo(request, output)
      assert.strictEqual(video.path, output)
      assert.strictEqual(video.model, "acme-portrait")
      assert.strictEqual(video.taskId, "task-1")
    }).pipe(Effect.provide(engineLayer([provider])), advancing)
  })

  it.effect("refuses an invalid request without calling the provider", () => {
    const { provider, recorder } = scripted({ models: [portrait()] })
    return Effect.gen(function* () {
      const { exit, tags } = yield* collect(Engine.generate(GenerateRequest.make({ prompt: "x", aspectRatio: "16:9" })))
      const error = failureOf(exit)
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.strictEqual(error.billing, "not-charged")
      assert.deepStrictEqual(tags, ["Failed"])
      assert.strictEqual(recorder.submits.length, 0)
    }).pipe(Effect.provide(engineLayer([provider])), advancing)
  })

  it.effect("refuses over budget with nothing sent", () => {
    const { provider, recorder } = scripted({ models: [portrait()] })
    return Effect.gen(function* () {
      const { exit } = yield* collect(Engine.generate(request))
      const error = failureOf(exit)
      assert.strictEqual(error._tag, "BudgetExceeded")
      assert.strictEqual(error.billing, "not-charged")
      assert.strictEqual(recorder.submits.length, 0)
    }).pipe(Effect.provide(engineLayer([provider], { limit: Money.usd("0.20") })), advancing)
  })

  describe("submit failures × charge policies", () => {
    const cases: ReadonlyArray<readonly [string, VideoError.VideoError, "retried" | "refused" | "uncertain"]> = [
      ["429", new VideoError.RateLimited({ message: "slow down", retryAfterMillis: 2_000 }), "retried"],
      ["503", new VideoError.ProviderUnavailable({ message: "busy", stage: "response", httpStatus: 503 }), "retried"],
      ["refused connection", new VideoError.ProviderUnavailable({ message: "refused", stage: "connect" }), "retried"],
      ["reset after sending", new VideoError.ProviderUnavailable({ message: "reset", stage: "exchange" }), "uncertain"],
      ["garbled answer", new VideoError.MalformedResponse({ message: "not json" }), "uncertain"],
      ["401", new VideoError.AuthenticationFailed({ message: "bad key", httpStatus: 401 }), "refused"],
      ["402", new VideoError.InsufficientBalance({ message: "top up", httpStatus: 402 }), "refused"],
      ["content policy", new VideoError.ContentRejected({ message: "no" }), "refused"],
      ["400", new VideoError.InvalidRequest({ message: "bad", httpStatus: 400 }), "refused"]
    ]
    for (const policy of ["on-success", "per-request", "on-response"] as const satisfies ReadonlyArray<ChargePolicy>) {
      for (const [name, failure, expected] of cases) {
        it.effect(`${name} under ${policy}: ${expected}`, () => {
          const { provider, recorder } = scripted({ models: [portrait(policy)], submitFailures: [failure] })
          return Effect.gen(function* () {
            const { events, exit } = yield* collect(Engine.generate(request))
            const keys = new Set(recorder.submits.map((submit) => submit.idempotencyKey))
            assert.strictEqual(keys.size, 1, "one idempotency key for the logical submission")
            if (expected === "retried") {
              assert.isTrue(Exit.isSuccess(exit))
              assert.strictEqual(recorder.submits.length, 2)
              assert.strictEqual(ofTag(events, "Retrying")[0]!.operation, "submit")
              return
            }
            assert.strictEqual(recorder.submits.length, 1, "never repeated")
            assert.strictEqual(ofTag(events, "Retrying").length, 0, "no retry announced that never happens")
            const error = failureOf(exit)
            if (expected === "uncertain") {
              assert.strictEqual(error._tag, "UncertainSubmission")
              assert.strictEqual(error.billing, "unknown")
              assert.strictEqual(ofTag(events, "Charged")[0]?.billing, "unknown")
            } else {
              assert.strictEqual(error._tag, failure._tag)
              assert.strictEqual(error.billing, "not-charged")
              assert.strictEqual(ofTag(events, "Charged").length, 0)
            }
          }).pipe(Effect.provide(engineLayer([provider])), advancing)
        })
      }
    }
  })

  describe("a failed generation", () => {
    const failed = (attempt: number) =>
      attempt === 0
        ? new TaskStatus.Failed({ error: new VideoError.GenerationFailed({ message: "the model gave up" }) })
        : new TaskStatus.Succeeded({})

    it.effect("is regenerated for free under on-success billing", () => {
      const { provider, recorder } = scripted({
        models: [portrait("on-success")],
        timeline: (_, attempt) => failed(attempt)
      })
      return Effect.gen(function* () {
        const { events, exit } = yield* collect(Engine.generate(request))
        assert.isTrue(Exit.isSuccess(exit))
        assert.strictEqual(recorder.submits.length, 2)
        assert.notStrictEqual(recorder.submits[0]!.idempotencyKey, recorder.submits[1]!.idempotencyKey)
        assert.strictEqual(ofTag(events, "Retrying")[0]!.operation, "generate")
        assert.strictEqual(ofTag(events, "Charged").length, 1)
        const snapshot = yield* Effect.flatMap(Budget.Budget, (budget) => budget.snapshot)
        assert.isTrue(BigDecimal.equals(snapshot.spent, Money.usd("0.25")))
      }).pipe(Effect.provide(engineLayer([provider])), advancing)
    })

    it.effect("is not regenerated where it costs money, and is reported charged", () => {
      const { provider, recorder } = scripted({
        models: [pro("per-request")],
        timeline: (_, attempt) => failed(attempt)
      })
      return Effect.gen(function* () {
        const { events, exit } = yield* collect(Engine.generate(request))
        const error = failureOf(exit)
        assert.strictEqual(error._tag, "GenerationFailed")
        assert.strictEqual(error.billing, "charged")
        assert.strictEqual(error.taskId, "task-1")
        assert.strictEqual(recorder.submits.length, 1)
        assert.strictEqual(ofTag(events, "Charged").length, 1)
        const snapshot = yield* Effect.flatMap(Budget.Budget, (budget) => budget.snapshot)
        assert.isTrue(BigDecimal.equals(snapshot.spent, Money.usd("1.20")))
      }).pipe(Effect.provide(engineLayer([provider])), advancing)
    })

    it.effect("is regenerated where it costs money when the caller opted in", () => {
      const { provider, recorder } = scripted({
        models: [pro("per-request")],
        timeline: (_, attempt) => failed(attempt)
      })
      return Effect.gen(function* () {
        const { exit } = yield* collect(Engine.generate(request))
        assert.isTrue(Exit.isSuccess(exit))
        assert.strictEqual(recorder.submits.length, 2)
      }).pipe(
        Effect.provide(engineLayer([provider], { engine: { regeneration: { maxAttempts: 1, allowPaid: true } } })),
        advancing
      )
    })

    it.effect("content rejections are never regenerated", () => {
      const { provider, recorder } = scripted({
        models: [portrait("on-success")],
        timeline: () => new TaskStatus.Failed({ error: new VideoError.ContentRejected({ message: "policy" }) })
      })
      return Effect.gen(function* () {
        const { exit } = yield* collect(Engine.generate(request))
        const error = failureOf(exit)
        assert.strictEqual(error._tag, "ContentRejected")
        assert.strictEqual(error.billing, "not-charged")
        assert.strictEqual(recorder.submits.length, 1)
      }).pipe(Effect.provide(engineLayer([provider])), advancing)
    })
  })

  it.effect("retries failed status calls, which cost nothing", () => {
    const { provider } = scripted({
      models: [portrait()],
      statusFailures: [
        new VideoError.ProviderUnavailable({ message: "reset", stage: "exchange" }),
        new VideoError.MalformedResponse({ message: "garbage" })
      ]
    })
    return Effect.gen(function* () {
      const { events, exit } = yield* collect(Engine.generate(request))
      assert.isTrue(Exit.isSuccess(exit))
      assert.deepStrictEqual(
        ofTag(events, "Retrying").map((event) => event.operation),
        ["status", "status"]
      )
    }).pipe(Effect.provide(engineLayer([provider])), advancing)
  })

  it.effect("stops waiting at the deadline, and resume collects the same task without a new submit", () => {
    const { provider, recorder } = scripted({ models: [portrait()], timeline: linear(0, 400_000) })
    const output = path.join(tempDir(), "late.mp4")
    return Effect.gen(function* () {
      const first = yield* collect(Engine.generate(request, { output, polling: { deadline: "100 seconds" } }))
      const error = failureOf(first.exit)
      assert.strictEqual(error._tag, "PollTimeout")
      assert.strictEqual(error.billing, "unknown", "on-success: it may still complete and be charged")
      if (error._tag !== "PollTimeout") return
      const budget = yield* Budget.Budget
      assert.isTrue(BigDecimal.equals((yield* budget.snapshot).uncertain, Money.usd("0.25")))
      const second = yield* collect(Engine.resume(error.handle, { output }))
      assert.isTrue(Exit.isSuccess(second.exit), String(second.exit))
      assert.strictEqual(recorder.submits.length, 1)
      assert.isTrue(fs.existsSync(output))
      // The possible charge became a certain one: counted once, no longer uncertain.
      const after = yield* budget.snapshot
      assert.isTrue(BigDecimal.equals(after.spent, Money.usd("0.25")))
      assert.isTrue(BigDecimal.equals(after.uncertain, Money.zero))
      assert.deepStrictEqual(
        [...first.events, ...second.events].filter((event) => event._tag === "Charged").map((event) => event.billing),
        ["unknown", "charged"]
      )
    }).pipe(Effect.provide(engineLayer([provider])), advancing)
  })

  it.effect("resuming a per-request task charged at its create does not charge it again", () => {
    const { provider } = scripted({ models: [pro("per-request")], timeline: linear(0, 400_000) })
    return Effect.gen(function* () {
      const first = yield* collect(Engine.generate(request, { polling: { deadline: "100 seconds" } }))
      const error = failureOf(first.exit)
      assert.strictEqual(error.billing, "charged")
      if (error._tag !== "PollTimeout") return
      const second = yield* collect(Engine.resume(error.handle))
      assert.isTrue(Exit.isSuccess(second.exit), String(second.exit))
      const charged = [...first.events, ...second.events].filter((event) => event._tag === "Charged")
      assert.strictEqual(charged.length, 1)
      const snapshot = yield* Effect.flatMap(Budget.Budget, (budget) => budget.snapshot)
      assert.isTrue(BigDecimal.equals(snapshot.spent, Money.usd("1.20")))
      assert.isTrue(BigDecimal.equals(snapshot.uncertain, Money.zero))
    }).pipe(Effect.provide(engineLayer([provider])), advancing)
  })

  it.effect("warns when the delivered video does not match the request", () => {
    const { provider } = scripted({ models: [pro("per-request")], video: fixture("1920x1080-8s.mp4") })
    const output = path.join(tempDir(), "4k.mp4")
    return Effect.gen(function* () {
      const { events, exit } = yield* collect(
        Engine.generate(GenerateRequest.make({ prompt: "x", resolution: "4k" }), { output })
      )
      assert.isTrue(Exit.isSuccess(exit))
      const warnings = ofTag(events, "Warning")
      assert.strictEqual(warnings[0]?.code, "resolution-mismatch")
      assert.include(warnings[0]!.message, "3840x2160")
      assert.include(warnings[0]!.message, "1920x1080")
    }).pipe(Effect.provide(engineLayer([provider])), advancing)
  })

  describe("generateMany", () => {
    it.effect("runs a batch within its concurrency limits, one failure stopping nothing", () => {
      const { provider, recorder } = scripted({
        models: [portrait()],
        submitFailures: [new VideoError.ContentRejected({ message: "not this one" })]
      })
      const outputDir = tempDir()
      const items = Array.from({ length: 12 }, (_, index) => ({
        key: `clip-${index + 1}`,
        request: GenerateRequest.make({ prompt: `scene ${index + 1}` })
      }))
      return Effect.gen(function* () {
        const report = yield* Engine.runMany(items, { outputDir, concurrency: { submit: 3, status: 2, download: 1 } })
        assert.strictEqual(report.saved.size, 11)
        assert.strictEqual(report.failed.size, 1)
        assert.strictEqual([...report.failed.values()][0]!._tag, "ContentRejected")
        assert.isAtMost(recorder.maxInFlight, 3)
        for (const video of report.saved.values()) {
          assert.strictEqual(path.dirname(video.path), outputDir)
          assert.isTrue(fs.existsSync(video.path))
        }
        assert.isTrue(fs.existsSync(path.join(outputDir, "clip-12.mp4")))
      }).pipe(Effect.provide(engineLayer([provider])), advancing)
    })

    it.effect("refuses a concurrency limit under 1, or not whole, before anything is sent", () => {
      const { provider, recorder } = scripted({ models: [portrait()] })
      const outputDir = tempDir()
      const items = [{ key: "a", request: GenerateRequest.make({ prompt: "one" }) }]
      return Effect.gen(function* () {
        for (const [concurrency, message] of [
          [{ submit: 0 }, "concurrency.submit must be a whole number of at least 1, got 0"],
          [{ status: 2.5 }, "concurrency.status must be a whole number of at least 1, got 2.5"],
          [{ download: -1 }, "concurrency.download must be a whole number of at least 1, got -1"]
        ] as const) {
          const exit = yield* Effect.exit(Engine.runMany(items, { outputDir, concurrency }))
          assert.isTrue(Exit.isFailure(exit))
          assert.include(String(Exit.isFailure(exit) ? Cause.squash(exit.cause) : ""), message)
        }
        assert.strictEqual(recorder.submits.length, 0)
        assert.deepStrictEqual(fs.readdirSync(outputDir), [])
      }).pipe(Effect.provide(engineLayer([provider])), advancing)
    })

    it.effect("generates a repeated key or request once", () => {
      const { provider, recorder } = scripted({ models: [portrait()] })
      const outputDir = tempDir()
      return Effect.gen(function* () {
        const report = yield* Engine.runMany(
          [
            { key: "a", request: GenerateRequest.make({ prompt: "one" }) },
            { key: "a", request: GenerateRequest.make({ prompt: "one" }) },
            { key: "b", request: GenerateRequest.make({ prompt: "one" }) },
            { key: "c", request: GenerateRequest.make({ prompt: "three" }) }
          ],
          { outputDir }
        )
        assert.strictEqual(recorder.submits.length, 2)
        assert.strictEqual(report.saved.size, 2)
        assert.strictEqual(report.duplicates.size, 2)
      }).pipe(Effect.provide(engineLayer([provider])), advancing)
    })

    it.effect("stays within the budget across the batch", () => {
      const { provider, recorder } = scripted({ models: [portrait()] })
      const items = Array.from({ length: 6 }, (_, index) => ({
        request: GenerateRequest.make({ prompt: `p${index}` })
      }))
      return Effect.gen(function* () {
        const report = yield* Engine.runMany(items, { outputDir: tempDir() })
        assert.strictEqual(recorder.submits.length, 4)
        assert.strictEqual(report.saved.size, 4)
        assert.strictEqual(report.failed.size, 2)
        for (const error of report.failed.values()) assert.strictEqual(error._tag, "BudgetExceeded")
      }).pipe(Effect.provide(engineLayer([provider], { limit: Money.usd("1.00") })), advancing)
    })
  })
})
