/**
 * laozhang's Veo 3.1 official forward through the engine, over real sockets, against the simulator:
 * multipart creates mapped onto the page's combinations, MP4 bytes fetched from the API origin with
 * the key (never a CDN), and per-request billing — every accepted create is charged, whatever
 * happens next.
 */
import * as path from "node:path"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Engine from "@reelay/core/Engine"
import { BytesSource, GenerateRequest, ImageInput } from "@reelay/core/GenerateRequest"
import * as Money from "@reelay/core/Money"
import { Simulator } from "@reelay/simulator"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as LaozhangOfficial from "../src/LaozhangOfficial.js"
import * as LaozhangOfficialCatalog from "../src/LaozhangOfficialCatalog.js"
import { collect, engineLayer, failureOf, png, savedVideo, tempDir, timeScale } from "./support.js"

const KEY = "sk-official-test"

const run = (
  request: GenerateRequest,
  options: { readonly key?: string; readonly provider?: Partial<LaozhangOfficial.Options> } = {}
) =>
  Effect.gen(function* () {
    const sim = yield* Simulator.make({ timeScale })
    const output = path.join(tempDir(), "video.mp4")
    const provider = LaozhangOfficial.make({
      baseUrl: sim.urls.laozhang,
      apiKey: Redacted.make(options.key ?? KEY),
      ...options.provider
    })
    const { events, exit } = yield* collect(Engine.generate(request, { output })).pipe(
      Effect.provide(engineLayer([provider]))
    )
    return { sim, events, exit, output }
  })

const routes = (sim: Simulator.Service, route: string) =>
  Effect.map(sim.requests, (requests) => requests.filter((request) => request.route === route))

const request = (fields: Partial<ConstructorParameters<typeof GenerateRequest>[0]> = {}) =>
  GenerateRequest.make({ prompt: "a lighthouse in a storm", ...fields })

describe("LaozhangOfficial catalog", () => {
  it("lists the two preview models at the page's per-call prices", () => {
    assert.deepStrictEqual(
      LaozhangOfficialCatalog.models.map((model) => [model.id, Money.format(model.price), model.chargePolicy]),
      [
        ["veo-3.1-fast-generate-preview", "$0.30", "per-request"],
        ["veo-3.1-generate-preview", "$1.20", "per-request"]
      ]
    )
    const caps = LaozhangOfficialCatalog.fast.capabilities
    assert.deepStrictEqual(caps.sizes, ["1280x720", "720x1280", "1920x1080", "1080x1920", "3840x2160"])
    assert.strictEqual(caps.durations[0], 8)
    assert.strictEqual(caps.imageInput, "first-frame")
    assert.isTrue(caps.negativePrompt && caps.seed && caps.audio)
  })
})

describe("LaozhangOfficial over the simulator", () => {
  it.scopedLive("720p by default: multipart create, bytes from /content with the key, charged per request", () =>
    Effect.gen(function* () {
      const { sim, events, exit } = yield* run(request())
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      const video = savedVideo(events)
      assert.strictEqual(video.probe.size, "1280x720")
      assert.strictEqual(Math.round(video.probe.durationSeconds), 8)
      const task = sim.state.tasks.find(video.taskId ?? "")!
      assert.deepStrictEqual(
        [task.size, task.seconds, task.resolution, task.aspectRatio],
        ["1280x720", 8, "720p", "16:9"]
      )
      const [create] = yield* routes(sim, "create")
      assert.match(create!.headers["content-type"] ?? "", /^multipart\/form-data/)
      assert.strictEqual(create!.authorization.scheme, "bearer")
      assert.isNotNull(create!.idempotencyKey)
      const content = yield* routes(sim, "content")
      assert.isAbove(content.length, 0)
      assert.isTrue(content.every((record) => record.authorization.fingerprint === Simulator.fingerprint(KEY)))
      assert.strictEqual((yield* sim.cdnRequests).length, 0, "the official forward serves no CDN link")
      const ledger = yield* sim.ledger
      assert.deepStrictEqual(
        ledger.map((entry) => [entry.model, entry.amount, entry.rule]),
        [["veo-3.1-fast-generate-preview", "0.30", "per-request"]]
      )
    })
  )

  it.scopedLive(
    "maps generic requests onto the page's combinations: 1080p portrait, 4k with its metadata, 720p at 4 s",
    () =>
      Effect.gen(function* () {
        const cases = [
          { fields: { aspectRatio: "9:16", resolution: "1080p" }, size: "1080x1920", seconds: 8 },
          { fields: { resolution: "4k", model: "veo-3.1-generate-preview" }, size: "3840x2160", seconds: 8 },
          { fields: { size: "720x1280", seconds: 4 }, size: "720x1280", seconds: 4 }
        ] as const
        for (const { fields, size, seconds } of cases) {
          const { sim, events, exit } = yield* run(request(fields))
          assert.isTrue(Exit.isSuccess(exit), `${JSON.stringify(fields)}: ${String(exit)}`)
          const video = savedVideo(events)
          assert.strictEqual(video.probe.size, size)
          assert.strictEqual(Math.round(video.probe.durationSeconds), seconds)
          const task = sim.state.tasks.find(video.taskId ?? "")!
          assert.strictEqual(task.size, size)
          assert.strictEqual(task.seconds, seconds)
          assert.strictEqual((yield* sim.ledger).length, 1)
        }
      })
  )

  it.scopedLive("refuses locally what the page forbids: 1080p / 4k shorter than 8 s, 4k portrait, a last frame", () =>
    Effect.gen(function* () {
      const refused = [
        request({ resolution: "1080p", seconds: 4 }),
        request({ size: "3840x2160", seconds: 6 }),
        request({ resolution: "4k", aspectRatio: "9:16" }),
        request({
          images: [
            new ImageInput({ role: "first-frame", source: new BytesSource({ bytes: png }) }),
            new ImageInput({ role: "last-frame", source: new BytesSource({ bytes: png }) })
          ]
        })
      ]
      for (const candidate of refused) {
        const { sim, exit } = yield* run(candidate)
        const error = failureOf(exit)
        assert.strictEqual(error._tag, "InvalidRequest")
        assert.strictEqual(error.billing, "not-charged")
        assert.strictEqual((yield* sim.requests).length, 0)
      }
      const short = failureOf((yield* run(request({ resolution: "1080p", seconds: 4 }))).exit)
      assert.isTrue(
        short._tag === "InvalidRequest" && short.field === "seconds" && short.provider === "laozhang-official"
      )
    })
  )

  it.scopedLive("image to video with a negative prompt and a seed", () =>
    Effect.gen(function* () {
      const { sim, events, exit } = yield* run(
        request({
          negativePrompt: "blurry, watermark",
          seed: 42,
          images: [
            new ImageInput({ role: "first-frame", source: new BytesSource({ bytes: png, fileName: "start.png" }) })
          ]
        })
      )
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      assert.strictEqual(sim.state.tasks.find(savedVideo(events).taskId ?? "")?.images, 1)
    })
  )

  it.scopedLive("per-request billing in every failure: an accepted create is charged, a refused one is not", () =>
    Effect.gen(function* () {
      const scenarios = [
        { directive: "@sim:fail", tag: "GenerationFailed", billing: "charged", creates: 1, charges: 1 },
        { directive: "@sim:content-policy", tag: "ContentRejected", billing: "charged", creates: 1, charges: 1 },
        {
          directive: "@sim:content-policy(on=create)",
          tag: "ContentRejected",
          billing: "not-charged",
          creates: 1,
          charges: 0
        },
        {
          directive: "@sim:insufficient-balance",
          tag: "InsufficientBalance",
          billing: "not-charged",
          creates: 1,
          charges: 0
        },
        {
          directive: "@sim:reset-after-create",
          tag: "UncertainSubmission",
          billing: "unknown",
          creates: 1,
          charges: 1
        },
        {
          directive: "@sim:malformed(on=create)",
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
        { directive: "@sim:expire(after=0.05)", tag: "TaskNotFound", billing: "charged", creates: 1, charges: 1 }
      ] as const
      for (const scenario of scenarios) {
        const { sim, exit } = yield* run(request({ prompt: `a fox ${scenario.directive}` }))
        const error = failureOf(exit)
        assert.strictEqual(error._tag, scenario.tag, scenario.directive)
        assert.strictEqual(error.billing, scenario.billing, scenario.directive)
        assert.strictEqual((yield* routes(sim, "create")).length, scenario.creates, scenario.directive)
        yield* sim.advance("1 hour")
        const ledger = yield* sim.ledger
        assert.strictEqual(ledger.length, scenario.charges, scenario.directive)
        assert.isTrue(ledger.every((entry) => entry.rule === "per-request" && entry.amount === "0.30"))
      }
    })
  )

  it.scopedLive("transient faults are retried without a second charge; a cut download resumes on the API origin", () =>
    Effect.gen(function* () {
      for (const directive of [
        "@sim:503(times=2)",
        "@sim:429(retry-after=0.01)",
        "@sim:unknown-status",
        "@sim:truncate"
      ]) {
        const { sim, exit } = yield* run(request({ prompt: `a fox ${directive}` }))
        assert.isTrue(Exit.isSuccess(exit), `${directive}: ${String(exit)}`)
        const creates = yield* routes(sim, "create")
        assert.strictEqual(new Set(creates.map((record) => record.idempotencyKey)).size, 1, directive)
        assert.strictEqual((yield* sim.ledger).length, 1, directive)
        if (directive === "@sim:truncate") {
          const content = yield* routes(sim, "content")
          assert.isAtLeast(content.length, 2)
          assert.isTrue(content.some((record) => record.headers["range"] !== undefined))
          assert.isTrue(content.every((record) => record.authorization.present))
        }
      }
    })
  )

  it.scopedLive("polls the compatibility path when asked", () =>
    Effect.gen(function* () {
      const { sim, exit } = yield* run(request(), { provider: { compatibilityStatusPath: true } })
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      assert.isAbove((yield* routes(sim, "compat-status")).length, 0)
      assert.strictEqual((yield* routes(sim, "status")).length, 0)
    })
  )

  it.scopedLive(
    "keys from the environment: the dedicated token first, then LAOZHANG_API_KEY; none fails before sending",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.make({ timeScale })
        const env = (entries: ReadonlyArray<readonly [string, string]>) =>
          Effect.withConfigProvider(
            ConfigProvider.fromMap(new Map([["LAOZHANG_BASE_URL", sim.urls.laozhang], ...entries]))
          )
        const generate = (name: string) =>
          Engine.generateTo(request(), path.join(tempDir(), `${name}.mp4`)).pipe(
            Effect.provide(engineLayer([LaozhangOfficial.makeConfig()]))
          )
        yield* generate("dedicated").pipe(
          env([
            ["LAOZHANG_OFFICIAL_API_KEY", "sk-dedicated"],
            ["LAOZHANG_API_KEY", "sk-general"]
          ])
        )
        yield* generate("fallback").pipe(env([["LAOZHANG_API_KEY", "sk-general"]]))
        const keys = (yield* sim.ledger).map((entry) => entry.key)
        assert.deepStrictEqual(keys, [Simulator.fingerprint("sk-dedicated"), Simulator.fingerprint("sk-general")])
        const before = (yield* sim.requests).length
        const { exit } = yield* collect(Engine.generate(request())).pipe(
          Effect.provide(engineLayer([LaozhangOfficial.makeConfig()])),
          env([])
        )
        const error = failureOf(exit)
        assert.strictEqual(error._tag, "AuthenticationFailed")
        assert.include(error.message, "LAOZHANG_OFFICIAL_API_KEY")
        assert.include(error.message, "LAOZHANG_API_KEY")
        assert.strictEqual((yield* sim.requests).length, before)
      })
  )
})

describe("LaozhangOfficial.check", () => {
  it.effect("names the registry id it runs under, and warns on 4k image to video", () =>
    Effect.gen(function* () {
      const provider = yield* LaozhangOfficial.make({ id: "lz-official-2", apiKey: Redacted.make("sk-x") }).pipe(
        Effect.provide(FetchHttpClient.layer)
      )
      const model = LaozhangOfficialCatalog.fast
      const refused = yield* Effect.flip(
        provider.check!({ model, request: { prompt: "x", images: [], resolution: "1080p", seconds: 6 } })
      )
      assert.strictEqual(refused.provider, "lz-official-2")
      assert.deepStrictEqual(refused.supported, ["8"])
      const warnings = yield* provider.check!({
        model,
        request: {
          prompt: "x",
          resolution: "4k",
          images: [{ role: "first-frame", source: new BytesSource({ bytes: png }) }]
        }
      })
      assert.strictEqual(warnings.length, 1)
      assert.deepStrictEqual(yield* provider.check!({ model, request: { prompt: "x", images: [] } }), [])
    })
  )
})
