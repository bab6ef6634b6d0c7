import { assert, describe, expectTypeOf, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as Billing from "../src/Billing.js"
import * as ErrorTraits from "../src/ErrorTraits.js"
import * as Money from "../src/Money.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { TaskHandle } from "../src/TaskHandle.js"
import * as VideoError from "../src/VideoError.js"

const handle = new TaskHandle({
  provider: "acme",
  model: "m",
  taskId: "t1",
  mode: "async",
  createdAt: new Date(0)
})

/** One instance of every error (ProviderUnavailable once per stage, DownloadFailed both ways). */
const errors: ReadonlyArray<readonly [string, VideoError.VideoError]> = [
  ["InvalidRequest", new VideoError.InvalidRequest({ message: "x" })],
  ["AuthenticationFailed", new VideoError.AuthenticationFailed({ message: "x" })],
  ["InsufficientBalance", new VideoError.InsufficientBalance({ message: "x" })],
  ["ContentRejected", new VideoError.ContentRejected({ message: "x" })],
  ["RateLimited", new VideoError.RateLimited({ message: "x", retryAfterMillis: 1000 })],
  ["ProviderUnavailable(connect)", new VideoError.ProviderUnavailable({ message: "x", stage: "connect" })],
  ["ProviderUnavailable(response)", new VideoError.ProviderUnavailable({ message: "x", stage: "response" })],
  ["ProviderUnavailable(exchange)", new VideoError.ProviderUnavailable({ message: "x", stage: "exchange" })],
  ["TaskNotFound", new VideoError.TaskNotFound({ message: "x" })],
  ["TaskExpired", new VideoError.TaskExpired({ message: "x" })],
  ["GenerationFailed", new VideoError.GenerationFailed({ message: "x" })],
  ["PollTimeout", new VideoError.PollTimeout({ message: "x", handle, waitedMillis: 1 })],
  ["UncertainSubmission", new VideoError.UncertainSubmission({ message: "x", idempotencyKey: "k" })],
  ["DownloadFailed(transient)", new VideoError.DownloadFailed({ message: "x", transient: true })],
  ["DownloadFailed(final)", new VideoError.DownloadFailed({ message: "x", transient: false })],
  ["MalformedResponse", new VideoError.MalformedResponse({ message: "x" })],
  [
    "BudgetExceeded",
    new VideoError.BudgetExceeded({
      message: "x",
      limit: Money.usd("1"),
      requested: Money.usd("1"),
      committed: Money.usd("1")
    })
  ]
]

/**
 * The expected decision for each error: [submit, status, task-level under on-success,
 * task-level under per-request, task-level under on-response].
 */
const expected: Record<
  string,
  readonly [
    RetryPolicy.Decision,
    RetryPolicy.Decision,
    RetryPolicy.Decision,
    RetryPolicy.Decision,
    RetryPolicy.Decision
  ]
> = {
  InvalidRequest: ["fail", "fail", "fail", "fail", "fail"],
  AuthenticationFailed: ["fail", "fail", "fail", "fail", "fail"],
  InsufficientBalance: ["fail", "fail", "fail", "fail", "fail"],
  ContentRejected: ["fail", "fail", "fail", "fail", "fail"],
  RateLimited: ["retry", "retry", "fail", "fail", "fail"],
  "ProviderUnavailable(connect)": ["retry", "retry", "fail", "fail", "fail"],
  "ProviderUnavailable(response)": ["retry", "retry", "fail", "fail", "fail"],
  "ProviderUnavailable(exchange)": ["fail", "retry", "fail", "fail", "fail"],
  TaskNotFound: ["fail", "fail", "fail", "fail", "fail"],
  TaskExpired: ["fail", "fail", "fail", "fail", "fail"],
  GenerationFailed: ["fail", "fail", "regenerate", "fail", "fail"],
  PollTimeout: ["fail", "fail", "fail", "fail", "fail"],
  UncertainSubmission: ["fail", "fail", "fail", "fail", "fail"],
  "DownloadFailed(transient)": ["retry", "retry", "fail", "fail", "fail"],
  "DownloadFailed(final)": ["fail", "fail", "fail", "fail", "fail"],
  MalformedResponse: ["fail", "retry", "fail", "fail", "fail"],
  BudgetExceeded: ["fail", "fail", "fail", "fail", "fail"]
}

/** At least one instance per tag (one per value of a field that decides a trait); a new tag needs one. */
const fixtures: {
  readonly [T in ErrorTraits.Tag]: readonly [ErrorTraits.ErrorOf<T>, ...Array<ErrorTraits.ErrorOf<T>>]
} = {
  InvalidRequest: [new VideoError.InvalidRequest({ message: "x" })],
  AuthenticationFailed: [new VideoError.AuthenticationFailed({ message: "x" })],
  InsufficientBalance: [new VideoError.InsufficientBalance({ message: "x" })],
  ContentRejected: [new VideoError.ContentRejected({ message: "x" })],
  RateLimited: [new VideoError.RateLimited({ message: "x" })],
  ProviderUnavailable: [
    new VideoError.ProviderUnavailable({ message: "x", stage: "connect" }),
    new VideoError.ProviderUnavailable({ message: "x", stage: "response" }),
    new VideoError.ProviderUnavailable({ message: "x", stage: "exchange" })
  ],
  TaskNotFound: [new VideoError.TaskNotFound({ message: "x" })],
  TaskExpired: [new VideoError.TaskExpired({ message: "x" })],
  GenerationFailed: [new VideoError.GenerationFailed({ message: "x" })],
  PollTimeout: [new VideoError.PollTimeout({ message: "x", handle, waitedMillis: 1 })],
  UncertainSubmission: [new VideoError.UncertainSubmission({ message: "x", idempotencyKey: "k" })],
  DownloadFailed: [
    new VideoError.DownloadFailed({ message: "x", transient: true }),
    new VideoError.DownloadFailed({ message: "x", transient: false })
  ],
  MalformedResponse: [new VideoError.MalformedResponse({ message: "x" })],
  BudgetExceeded: [
    new VideoError.BudgetExceeded({
      message: "x",
      limit: Money.usd("1"),
      requested: Money.usd("2"),
      committed: Money.usd("0")
    })
  ]
}

describe("RetryPolicy and ErrorTraits", () => {
  it("classifies every error tag, at compile time", () => {
    expectTypeOf<keyof typeof ErrorTraits.table>().toEqualTypeOf<VideoError.VideoError["_tag"]>()
    // @ts-expect-error a table that leaves a class out does not compile
    const incomplete: ErrorTraits.Table = { InvalidRequest: ErrorTraits.table.InvalidRequest }
    assert.isDefined(incomplete)
  })

  for (const tag of VideoError.tags) {
    it(`decides ${tag} as the table says`, () => {
      const traits = ErrorTraits.table[tag] as ErrorTraits.Traits
      for (const error of fixtures[tag] as ReadonlyArray<VideoError.VideoError>) {
        const name =
          "stage" in error ? `${tag}(${error.stage})` : "transient" in error ? `${tag}(${error.transient})` : tag
        assert.strictEqual(error._tag, tag)
        for (const operation of ErrorTraits.operations) {
          assert.strictEqual(
            RetryPolicy.isRetryable(error, operation),
            ErrorTraits.holds(traits.retryable[operation], error),
            `${name} ${operation}`
          )
        }
        assert.strictEqual(
          RetryPolicy.provesNothingCreated(error),
          ErrorTraits.holds(traits.provesNothingCreated, error),
          name
        )
        assert.strictEqual(RetryPolicy.endsTask(error), traits.endsTask, name)
      }
    })
  }

  it("has fixtures for both outcomes of every trait a field decides", () => {
    for (const tag of VideoError.tags) {
      const traits = ErrorTraits.table[tag] as ErrorTraits.Traits
      const errors = fixtures[tag] as ReadonlyArray<VideoError.VideoError>
      for (const [name, trait] of [
        ...ErrorTraits.operations.map((operation) => [`retryable.${operation}`, traits.retryable[operation]] as const),
        ["provesNothingCreated", traits.provesNothingCreated] as const
      ]) {
        if (typeof trait === "boolean") continue
        const outcomes = new Set(errors.map((error) => trait(error)))
        assert.strictEqual(outcomes.size, 2, `${tag}.${name} depends on a field: its fixtures must show both outcomes`)
      }
    }
  })
})

describe("RetryPolicy", () => {
  it("covers every error tag", () => {
    const covered = new Set(errors.map(([, error]) => error._tag))
    for (const tag of VideoError.tags) assert.isTrue(covered.has(tag), tag)
  })

  for (const [name, error] of errors) {
    it(`decides ${name} for every operation and charge policy`, () => {
      const [submit, status, onSuccess, perRequest, onResponse] = expected[name]!
      assert.strictEqual(RetryPolicy.decide(error, "submit", "on-success"), submit)
      assert.strictEqual(RetryPolicy.decide(error, "status", "on-success"), status)
      assert.strictEqual(RetryPolicy.decide(error, "task", "on-success"), onSuccess)
      assert.strictEqual(RetryPolicy.decide(error, "task", "per-request"), perRequest)
      assert.strictEqual(RetryPolicy.decide(error, "task", "on-response"), onResponse)
    })
  }

  it("regenerates a paid generation only when the caller opted in", () => {
    const failed = new VideoError.GenerationFailed({ message: "x" })
    assert.isFalse(RetryPolicy.shouldRegenerate(failed, "per-request", 0))
    assert.isTrue(RetryPolicy.shouldRegenerate(failed, "per-request", 0, { maxAttempts: 1, allowPaid: true }))
    assert.isFalse(RetryPolicy.shouldRegenerate(failed, "on-success", 1, { maxAttempts: 1, allowPaid: false }))
  })

  it("turns an ambiguous submit failure into UncertainSubmission and keeps provable ones", () => {
    for (const [name, error] of errors) {
      const final = RetryPolicy.submitFailure(error, "key-1")
      if (RetryPolicy.provesNothingCreated(error) || error._tag === "UncertainSubmission") {
        assert.strictEqual(final, error, name)
      } else {
        assert.strictEqual(final._tag, "UncertainSubmission", name)
        assert.strictEqual((final as VideoError.UncertainSubmission).idempotencyKey, "key-1")
        assert.include(final.message, error._tag)
      }
    }
  })

  it("bills each stage by the charge policy", () => {
    const table: ReadonlyArray<readonly [Billing.ChargePolicy, Billing.Stage, Billing.BillingOutcome]> = [
      ["on-success", "refused", "not-charged"],
      ["on-success", "ambiguous", "unknown"],
      ["on-success", "accepted", "not-charged"],
      ["on-success", "completed", "charged"],
      ["per-request", "refused", "not-charged"],
      ["per-request", "ambiguous", "unknown"],
      ["per-request", "accepted", "charged"],
      ["per-request", "completed", "charged"],
      ["on-response", "refused", "not-charged"],
      ["on-response", "ambiguous", "unknown"],
      ["on-response", "accepted", "charged"],
      ["on-response", "completed", "charged"]
    ]
    for (const [policy, stage, outcome] of table) {
      assert.strictEqual(Billing.outcome(policy, stage), outcome, `${policy} ${stage}`)
    }
    assert.strictEqual(Billing.outcome("on-success", "accepted", { stillRunning: true }), "unknown")
  })

  it.effect("backs off exponentially with a cap, and honours the server's delay", () =>
    Effect.gen(function* () {
      const steps: Array<RetryPolicy.RetryStep> = []
      const schedule = RetryPolicy.schedule(
        { jitter: 0, maxRetries: 7, baseDelay: "1 second", maxDelay: "10 seconds" },
        { onRetry: (step) => Effect.sync(() => steps.push(step)) }
      )
      const unavailable = new VideoError.ProviderUnavailable({ message: "x", stage: "response" })
      const limited = new VideoError.RateLimited({ message: "x", retryAfterMillis: 7_000 })
      let calls = 0
      const failing = Effect.suspend(() => {
        calls++
        return Effect.fail(calls === 3 ? limited : unavailable)
      })
      const fiber = yield* Effect.fork(Effect.either(Effect.retry(failing, schedule)))
      yield* TestClock.adjust("10 minutes")
      yield* Fiber.join(fiber)
      assert.strictEqual(calls, 8)
      assert.deepStrictEqual(
        steps.map((step) => step.delayMillis),
        [1000, 2000, 7000, 8000, 10000, 10000, 10000]
      )
    })
  )

  it.effect("stops when the server asks for longer than we are willing to wait", () =>
    Effect.gen(function* () {
      let calls = 0
      const failing = Effect.suspend(() => {
        calls++
        return Effect.fail(new VideoError.RateLimited({ message: "x", retryAfterMillis: 3_600_000 }))
      })
      const fiber = yield* Effect.fork(Effect.either(Effect.retry(failing, RetryPolicy.schedule())))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(fiber)
      assert.strictEqual(calls, 1)
    })
  )

  it.effect("ends at once, unreported, on a failure its predicate refuses", () =>
    Effect.gen(function* () {
      const reported: Array<RetryPolicy.RetryStep> = []
      let calls = 0
      const failing = Effect.suspend(() => {
        calls++
        return Effect.fail(
          calls === 1
            ? new VideoError.ProviderUnavailable({ message: "x", stage: "connect" })
            : new VideoError.AuthenticationFailed({ message: "x" })
        )
      })
      const schedule = RetryPolicy.schedule(
        { jitter: 0 },
        {
          while: (error) => RetryPolicy.isRetryable(error, "submit"),
          onRetry: (step) => Effect.sync(() => reported.push(step))
        }
      )
      const fiber = yield* Effect.fork(Effect.either(Effect.retry(failing, schedule)))
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(calls, 2)
      assert.strictEqual(reported.length, 1, "only the retry that happened is reported")
      assert.isTrue(result._tag === "Left" && result.left._tag === "AuthenticationFailed")
    })
  )

  it.effect("jitters within bounds", () =>
    Effect.gen(function* () {
      const delays: Array<number> = []
      const schedule = RetryPolicy.schedule(
        { jitter: 0.2, maxRetries: 50, baseDelay: "1 second", maxDelay: "1 second" },
        { onRetry: (step) => Effect.sync(() => delays.push(step.delayMillis)) }
      )
      const fiber = yield* Effect.fork(
        Effect.either(
          Effect.retry(Effect.fail(new VideoError.ProviderUnavailable({ message: "x", stage: "connect" })), schedule)
        )
      )
      yield* TestClock.adjust("10 minutes")
      yield* Fiber.join(fiber)
      assert.strictEqual(delays.length, 50)
      for (const delay of delays) assert.isTrue(delay >= 800 && delay <= 1200, String(delay))
      assert.isTrue(new Set(delays).size > 10, "delays vary")
    })
  )
})
