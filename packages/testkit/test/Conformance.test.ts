import { assert, describe, it } from "@effect/vitest"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Conformance from "../src/Conformance.js"
import * as Broken from "./helpers/Broken.js"
import * as MiniAsync from "./helpers/MiniAsync.js"

const options = (flaw: MiniAsync.Flaw): Conformance.Options => ({
  name: `mini (${flaw})`,
  host: "laozhang",
  protocol: "async",
  provider: ({ baseUrl, apiKey, urls }) => MiniAsync.make({ baseUrl, apiKey, flaw, cdn: urls.cdn }),
  textModel: "veo-3.1-fast",
  imageModel: "veo-3.1-fast-fl"
})

// A correct (if minimal) provider passes every scenario that applies to it.
Conformance.run(options("none"))

describe("the suite catches a provider that", () => {
  const catches = (flaw: MiniAsync.Flaw, scenario: Conformance.ScenarioName, reason: RegExp, what: string) =>
    it.live(`${what} (${scenario})`, () =>
      Effect.gen(function* () {
        const found = Conformance.scenarios(options(flaw)).find((each) => each.name === scenario)
        assert.isDefined(found, `scenario ${scenario} applies`)
        const exit = yield* Effect.exit(found!.run)
        assert.isTrue(Exit.isFailure(exit), `the flawed provider (${flaw}) passed ${scenario}`)
        if (Exit.isFailure(exit)) assert.match(Cause.pretty(exit.cause), reason)
      })
    )

  catches(
    "credentials-to-cdn",
    "text-to-video",
    /Authorization on the CDN|credential reached the CDN/,
    "sends its key to the CDN"
  )
  catches("no-idempotency-key", "text-to-video", /Idempotency-Key/, "sends no Idempotency-Key")
  catches("wrong-price", "catalog", /costs 0\.15 at laozhang/, "publishes a price the vendor does not charge")
  catches(
    "reset-looks-like-refused",
    "reset-after-create",
    /UncertainSubmission/,
    "retries a create that may have happened"
  )
  catches("policy-as-failure", "content-policy-task", /ContentRejected/, "reports a content refusal as a plain failure")
  catches("ignores-images", "image-bytes", /received one image|expected a saved video/, "drops the images")
})

describe("the suite catches a working provider wrapped to", () => {
  const wrapped = (wrap: (provider: VideoProvider.AsyncVideoProvider) => VideoProvider.AsyncVideoProvider) => ({
    ...options("none"),
    provider: (context: Conformance.ProviderContext) =>
      Effect.map(MiniAsync.make({ baseUrl: context.baseUrl, apiKey: context.apiKey }), wrap)
  })
  const catches = (
    wrap: (provider: VideoProvider.AsyncVideoProvider) => VideoProvider.AsyncVideoProvider,
    scenario: Conformance.ScenarioName,
    reason: RegExp,
    what: string
  ) =>
    it.live(`${what} (${scenario})`, () =>
      Effect.gen(function* () {
        const found = Conformance.scenarios(wrapped(wrap)).find((each) => each.name === scenario)
        assert.isDefined(found, `scenario ${scenario} applies`)
        const exit = yield* Effect.exit(found!.run)
        assert.isTrue(Exit.isFailure(exit), `the broken provider passed ${scenario}`)
        if (Exit.isFailure(exit)) assert.match(Cause.pretty(exit.cause), reason)
      })
    )

  // The case: 4 creates, 4 tasks the vendor charges, and reelay reporting nothing charged.
  catches(
    Broken.ownCreateTimeout("200 millis"),
    "late-create-answer",
    /must not be repeated as a fresh one — the vendor received 4 create\(s\) \((aborted|pending)(, (aborted|pending)){3}\), created 4 task\(s\) and charges 4 \(\$0\.60\) by its on-success rule; reelay reported ProviderUnavailable \(billing not-charged\).*\$0\.00 charged and \$0\.00 unknown/,
    "time out its own create and call it retryable, not charged"
  )
  for (const status of [502, 504] as const) {
    catches(
      Broken.gatewayMeansNothingCreated,
      `${status}-create`,
      new RegExp(
        `must not be repeated as a fresh one — the vendor received 2 create\\(s\\) \\(${status}, 200\\), created 2 task\\(s\\) and charges 2 \\(\\$0\\.30\\) by its on-success rule; reelay reported success, \\$0\\.15 charged`
      ),
      `read a gateway's ${status} to a create as "nothing created"`
    )
  }
  for (const route of ["status", "content"] as const) {
    catches(
      Broken.ignoresRetryAfter,
      `${route}-retry-after`,
      new RegExp(
        `asked to wait 300 ms \\(Retry-After\\) after a 429 on ${route}; the next ${route} request came \\d+ ms later`
      ),
      `ignore the Retry-After of a 429 on ${route}`
    )
  }
})

describe("Conformance.scenarios", () => {
  it("follows the protocol and the catalog", () => {
    const names = Conformance.scenarios(options("none")).map((each) => each.name)
    assert.includeMembers(names, ["text-to-video", "image-bytes", "first-last-frame", "poll-timeout-resume"])
    assert.notInclude(names, "image-url", "the frame model takes uploads only")
    assert.notInclude(names, "sse-cut")
    assert.notInclude(names, "sizes-and-durations", "one size and one duration: nothing more to deliver")
    const sora = Conformance.scenarios({ ...options("none"), protocol: "sora" }).map((each) => each.name)
    assert.includeMembers(sora, ["sse-cut", "stream-deadline", "malformed-event"])
    assert.notInclude(sora, "status-retried")
  })

  it("carries the reason of a skipped scenario", () => {
    const skipped = Conformance.scenarios({ ...options("none"), skip: { "task-expired": "not today" } }).find(
      (each) => each.name === "task-expired"
    )
    assert.strictEqual(skipped?.skip, "not today")
  })
})
