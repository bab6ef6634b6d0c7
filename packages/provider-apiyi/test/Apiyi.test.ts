/**
 * apiyi's async API through the engine, over real sockets, against the simulator: raw-key auth,
 * JSON for text, multipart with one or two files for `-fl`, pay on success. Each scenario checks the
 * vendor's ledger, request log and CDN log.
 */
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Engine from "@reelay/core/Engine"
import { BytesSource, GenerateRequest, ImageInput, UrlSource } from "@reelay/core/GenerateRequest"
import * as Money from "@reelay/core/Money"
import { Simulator } from "@reelay/simulator"
import * as Testkit from "@reelay/testkit/Testkit"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Apiyi from "../src/Apiyi.js"
import * as ApiyiCatalog from "../src/ApiyiCatalog.js"
import { collect, engineLayer, failureOf, png, savedVideo, tempDir, timeScale } from "./support.js"

const KEY = "sk-apiyi-test"

const run = (request: GenerateRequest, options: { readonly key?: string } = {}) =>
  Effect.gen(function* () {
    const sim = yield* Simulator.make({ timeScale })
    const output = path.join(tempDir(), "video.mp4")
    const provider = Apiyi.make({ baseUrl: sim.urls.apiyi, apiKey: Redacted.make(options.key ?? KEY) })
    const { events, exit } = yield* collect(Engine.generate(request, { output })).pipe(
      Effect.provide(engineLayer([provider]))
    )
    return { sim, events, exit, output }
  })

const settledLedger = (sim: Simulator.Service) => Effect.zipRight(sim.advance("1 hour"), sim.ledger)

const frame = (role: "first-frame" | "last-frame") =>
  new ImageInput({ role, source: new BytesSource({ bytes: png, fileName: `${role}.png` }) })

describe("Apiyi catalog", () => {
  it("lists the page's eight models: 8 s, audio, $0.25 / $0.15, pay on success, files for -fl", () => {
    assert.strictEqual(ApiyiCatalog.models.length, 8)
    for (const model of ApiyiCatalog.models) {
      assert.strictEqual(Money.format(model.price), model.id.includes("-fast") ? "$0.15" : "$0.25")
      assert.strictEqual(model.chargePolicy, "on-success")
      assert.deepStrictEqual(model.capabilities.durations, [8])
      assert.isTrue(model.capabilities.audio)
      const frames = model.id.endsWith("-fl")
      assert.strictEqual(model.capabilities.imageInput, frames ? "first-last-frame" : "none")
      assert.deepStrictEqual(model.capabilities.imageTransports, frames ? ["bytes"] : [])
    }
    assert.strictEqual(Apiyi.config().baseUrl, "https://api.apiyi.com/v1")
    assert.strictEqual(Apiyi.config().auth, "raw")
  })
})

describe("Apiyi over the simulator", () => {
  it.scopedLive("generates with the raw key, charged once, no key on the CDN", () =>
    Effect.gen(function* () {
      const { sim, events, exit } = yield* run(
        GenerateRequest.make({ prompt: "a kitten in a garden", model: "veo-3.1-landscape-fast" })
      )
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      assert.strictEqual(savedVideo(events).probe.size, "1280x720")
      const [create] = yield* Testkit.creates(sim)
      assert.strictEqual(create!.authorization.scheme, "raw")
      assert.strictEqual(create!.authorization.fingerprint, Simulator.fingerprint(KEY))
      assert.isNotNull(create!.idempotencyKey)
      const ledger = yield* sim.ledger
      assert.deepStrictEqual(
        ledger.map((entry) => [entry.host, entry.model, entry.amount, entry.rule]),
        [["apiyi", "veo-3.1-landscape-fast", "0.15", "on-success"]]
      )
      const cdn = yield* sim.cdnRequests
      assert.isAbove(cdn.length, 0)
      assert.isTrue(cdn.every((request) => !request.authorization.present))
    })
  )

  it.scopedLive("first frame, and first + last frame, as multipart input_reference files", () =>
    Effect.gen(function* () {
      for (const images of [[frame("first-frame")], [frame("first-frame"), frame("last-frame")]]) {
        const { sim, events, exit } = yield* run(
          GenerateRequest.make({ prompt: "camera slowly zooms in", model: "veo-3.1-fl", images })
        )
        assert.isTrue(Exit.isSuccess(exit), String(exit))
        assert.strictEqual(sim.state.tasks.find(savedVideo(events).taskId ?? "")?.images, images.length)
        assert.match((yield* Testkit.creates(sim))[0]!.headers["content-type"] ?? "", /^multipart\/form-data/)
        assert.strictEqual((yield* sim.ledger)[0]!.amount, "0.25")
      }
    })
  )

  it.scopedLive("refuses locally an image URL (apiyi takes files only) and an -fl model without a frame", () =>
    Effect.gen(function* () {
      const url = yield* run(
        GenerateRequest.make({
          prompt: "x",
          model: "veo-3.1-fl",
          images: [new ImageInput({ role: "first-frame", source: new UrlSource({ url: "https://img.example/a.png" }) })]
        })
      )
      assert.strictEqual(failureOf(url.exit)._tag, "InvalidRequest")
      assert.strictEqual((yield* url.sim.requests).length, 0)
      const none = yield* run(GenerateRequest.make({ prompt: "x", model: "veo-3.1-landscape-fl" }))
      const error = failureOf(none.exit)
      assert.strictEqual(error._tag, "InvalidRequest")
      assert.include(error.message, "veo-3.1-landscape")
      assert.strictEqual((yield* none.sim.requests).length, 0)
    })
  )

  it.scopedLive("quota_exceeded and an invalid key end at the create, nothing charged", () =>
    Effect.gen(function* () {
      const broke = yield* run(GenerateRequest.make({ prompt: "x" }), { key: "sk-nofunds-apiyi" })
      const error = failureOf(broke.exit)
      assert.strictEqual(error._tag, "InsufficientBalance")
      if (error._tag === "InsufficientBalance") assert.strictEqual(error.vendorCode, "quota_exceeded")
      assert.strictEqual(error.billing, "not-charged")
      assert.strictEqual((yield* broke.sim.ledger).length, 0)
      const refused = yield* run(GenerateRequest.make({ prompt: "x" }), { key: "sk-invalid-apiyi" })
      const auth = failureOf(refused.exit)
      assert.strictEqual(auth._tag, "AuthenticationFailed")
      assert.include(auth.message, "APIYI_API_KEY")
      assert.notInclude(auth.message, "sk-invalid-apiyi")
    })
  )

  it.scopedLive("retried creates carry one Idempotency-Key and are charged once", () =>
    Effect.gen(function* () {
      const { sim, exit } = yield* run(GenerateRequest.make({ prompt: "x @sim:500(times=2)" }))
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      const attempts = yield* Testkit.creates(sim)
      assert.strictEqual(attempts.length, 3)
      assert.strictEqual(new Set(attempts.map((request) => request.idempotencyKey)).size, 1)
      assert.strictEqual((yield* settledLedger(sim)).length, 1)
    })
  )

  it.scopedLive("the vendor's rule in every failure: free failures, uncertain creates billed on completion", () =>
    Effect.gen(function* () {
      const scenarios = [
        { directive: "@sim:fail", tag: "GenerationFailed", billing: "not-charged", creates: 2, charges: 0 },
        { directive: "@sim:content-policy", tag: "ContentRejected", billing: "not-charged", creates: 1, charges: 0 },
        {
          directive: "@sim:reset-after-create",
          tag: "UncertainSubmission",
          billing: "unknown",
          creates: 1,
          charges: 1
        },
        {
          directive: "@sim:reset-before-create",
          tag: "UncertainSubmission",
          billing: "unknown",
          creates: 1,
          charges: 0
        },
        { directive: "@sim:expire(after=0.05)", tag: "TaskNotFound", billing: "unknown", creates: 1, charges: 0 }
      ] as const
      for (const scenario of scenarios) {
        const { sim, exit } = yield* run(GenerateRequest.make({ prompt: `a fox ${scenario.directive}` }))
        const error = failureOf(exit)
        assert.strictEqual(error._tag, scenario.tag, scenario.directive)
        assert.strictEqual(error.billing, scenario.billing, scenario.directive)
        assert.strictEqual((yield* Testkit.creates(sim)).length, scenario.creates, scenario.directive)
        assert.strictEqual((yield* settledLedger(sim)).length, scenario.charges, scenario.directive)
      }
    })
  )

  it.scopedLive("from the environment: APIYI_BASE_URL and APIYI_API_KEY; without a key nothing is sent", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make({ timeScale })
      const env = (entries: ReadonlyArray<readonly [string, string]>) =>
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries)))
      const video = yield* Engine.generateTo(GenerateRequest.make({ prompt: "x" }), path.join(tempDir(), "e.mp4")).pipe(
        Effect.provide(engineLayer([Apiyi.makeConfig()])),
        env([
          ["APIYI_BASE_URL", sim.urls.apiyi],
          ["APIYI_API_KEY", "sk-apiyi-env"]
        ])
      )
      assert.strictEqual(video.provider, "apiyi")
      assert.strictEqual((yield* sim.ledger)[0]!.key, Simulator.fingerprint("sk-apiyi-env"))
      const before = (yield* sim.requests).length
      const { exit } = yield* collect(Engine.generate(GenerateRequest.make({ prompt: "x" }))).pipe(
        Effect.provide(engineLayer([Apiyi.makeConfig()])),
        env([["APIYI_BASE_URL", sim.urls.apiyi]])
      )
      const error = failureOf(exit)
      assert.strictEqual(error._tag, "AuthenticationFailed")
      assert.include(error.message, "APIYI_API_KEY")
      assert.strictEqual((yield* sim.requests).length, before)
    })
  )
})
