/**
 * laozhang's async API through the engine, over real sockets, against the simulator. Every scenario
 * checks the vendor's side: its ledger (charged only on success), its request log (one create per
 * logical request, the same Idempotency-Key on retries) and its CDN log (no key ever reaches it).
 */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Engine from "@reelay/core/Engine"
import { BytesSource, GenerateRequest, ImageInput, UrlSource } from "@reelay/core/GenerateRequest"
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import * as Money from "@reelay/core/Money"
import { Simulator } from "@reelay/simulator"
import * as Videos from "@reelay/simulator/Videos"
import * as Testkit from "@reelay/testkit/Testkit"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Laozhang from "../src/Laozhang.js"
import * as LaozhangCatalog from "../src/LaozhangCatalog.js"
import { collect, engineLayer, failureOf, png, tempDir, timeScale } from "./support.js"

const KEY = "sk-laozhang-test"

const run = (request: GenerateRequest, options: { readonly key?: string } = {}) =>
  Effect.gen(function* () {
    const sim = yield* Simulator.make({ timeScale })
    const output = path.join(tempDir(), "video.mp4")
    const provider = Laozhang.make({ baseUrl: sim.urls.laozhang, apiKey: Redacted.make(options.key ?? KEY) })
    const { events, exit } = yield* collect(Engine.generate(request, { output })).pipe(
      Effect.provide(engineLayer([provider]))
    )
    return { sim, events, exit, output }
  })

/** The ledger once every task the simulator accepted has had time to finish. */
const settledLedger = (sim: Simulator.Service) => Effect.zipRight(sim.advance("1 hour"), sim.ledger)

const noKeyOnCdn = (sim: Simulator.Service) =>
  Effect.map(sim.cdnRequests, (requests) =>
    assert.isTrue(
      requests.every((request) => !request.authorization.present && request.headers["authorization"] === undefined),
      "a credential reached the CDN"
    )
  )

const ofTag = <T extends GenerationEvent["_tag"]>(events: ReadonlyArray<GenerationEvent>, tag: T) =>
  events.filter((event): event is Extract<GenerationEvent, { _tag: T }> => event._tag === tag)

const prompt = (text: string, directive = "") => GenerateRequest.make({ prompt: `${text} ${directive}`.trim() })

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

/** Another valid PNG as the simulator checks images (by magic bytes), with different bytes. */
const lastFrame = Uint8Array.from([...png, 0x00, 0x01, 0x02])

/**
 * An image host on 127.0.0.1: `/frames/first.png` is an image, `/moved` redirects to it; the rest are
 * the ways a link goes wrong (too large, announced or not; a web page; missing).
 */
const imageServer = Testkit.stubServer((request, response) => {
  const limit = 10 * 1024 * 1024
  switch (request.path.split("?")[0]) {
    case "/frames/first.png":
      response.writeHead(200, { "content-type": "image/png", "content-length": png.length })
      return response.end(png)
    case "/moved":
      response.writeHead(302, { location: "/frames/first.png" })
      return response.end()
    case "/big.png":
      // Refused on the announced length: the body never needs to be sent.
      response.writeHead(200, { "content-type": "image/png", "content-length": limit + 1 })
      return response.flushHeaders()
    case "/endless.png":
      // No length announced: reading stops at the limit.
      response.writeHead(200, { "content-type": "image/png" })
      response.write(png)
      return response.end(Buffer.alloc(limit))
    case "/page.png":
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" })
      return response.end("<html><body>Please sign in</body></html>")
    default:
      response.writeHead(404, { "content-type": "text/plain" })
      return response.end("not found")
  }
})

describe("Laozhang catalog", () => {
  it("lists the eight veo-3.1 models with the page's prices, sizes and billing", () => {
    assert.deepStrictEqual(
      LaozhangCatalog.models.map((model) => model.id),
      [
        "veo-3.1",
        "veo-3.1-fl",
        "veo-3.1-fast",
        "veo-3.1-fast-fl",
        "veo-3.1-landscape",
        "veo-3.1-landscape-fl",
        "veo-3.1-landscape-fast",
        "veo-3.1-landscape-fast-fl"
      ]
    )
    for (const model of LaozhangCatalog.models) {
      const fast = model.id.includes("-fast")
      const landscape = model.id.includes("-landscape")
      assert.strictEqual(Money.format(model.price), fast ? "$0.15" : "$0.25")
      assert.strictEqual(model.chargePolicy, "on-success")
      assert.deepStrictEqual(model.capabilities.sizes, [landscape ? "1280x720" : "720x1280"])
      assert.deepStrictEqual(model.capabilities.durations, [8])
      assert.strictEqual(model.capabilities.imageInput, model.id.endsWith("-fl") ? "first-last-frame" : "none")
      assert.strictEqual(model.generationTime.typicalSeconds, fast ? 45 : 90)
    }
  })
})

describe("Laozhang over the simulator", () => {
  it.scopedLive("generates a video, charged once, the key never on the CDN", () =>
    Effect.gen(function* () {
      const { sim, events, exit } = yield* run(prompt("a red fox in fresh snow"))
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      const saved = ofTag(events, "Saved")[0]!.video
      assert.strictEqual(saved.model, "veo-3.1")
      assert.strictEqual(saved.probe.size, "720x1280")
      assert.isTrue(saved.probe.hasAudio)
      const ledger = yield* sim.ledger
      assert.strictEqual(ledger.length, 1)
      assert.strictEqual(ledger[0]!.amount, "0.25")
      assert.strictEqual(ledger[0]!.rule, "on-success")
      assert.strictEqual(ledger[0]!.key, Simulator.fingerprint(KEY))
      const [create] = yield* Testkit.creates(sim)
      assert.strictEqual(create!.authorization.scheme, "bearer")
      assert.match(create!.idempotencyKey ?? "", /^[0-9a-f-]{36}$/)
      assert.isAbove((yield* sim.cdnRequests).length, 0)
      yield* noKeyOnCdn(sim)
    })
  )

  it.scopedLive("an image URL is downloaded by reelay, without credentials, and uploaded as a multipart file", () =>
    Effect.gen(function* () {
      const images = yield* imageServer
      const request = GenerateRequest.make({
        prompt: "the scene comes to life",
        model: "veo-3.1-landscape-fast-fl",
        images: [
          // Through a redirect, with a token in the query, as signed links often are.
          new ImageInput({ role: "first-frame", source: new UrlSource({ url: images.url("/moved?token=s3cret") }) }),
          // URLs and files may be mixed: everything travels as an upload.
          new ImageInput({ role: "last-frame", source: new BytesSource({ bytes: lastFrame, fileName: "last.png" }) })
        ]
      })
      const { sim, events, exit } = yield* run(request)
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      const saved = ofTag(events, "Saved")[0]!.video
      assert.strictEqual(saved.probe.size, "1280x720")
      assert.strictEqual(sim.state.tasks.find(saved.taskId ?? "")?.images, 2)
      const [create, ...others] = yield* Testkit.creates(sim)
      assert.strictEqual(others.length, 0)
      assert.match(create!.headers["content-type"] ?? "", /^multipart\/form-data; boundary=/)
      assert.isUndefined(create!.ignored, "the vendor ignored nothing")
      assert.deepStrictEqual(
        create!.uploads!.map((upload) => [upload.fileName, upload.contentType, upload.bytes, upload.sha256]),
        [
          ["first-frame.png", "image/png", png.length, sha256(png)],
          ["last.png", "image/png", lastFrame.length, sha256(lastFrame)]
        ]
      )
      // Downloaded once (at validation), following the redirect; no credential ever reached the image host.
      assert.deepStrictEqual(
        images.requests.map((seen) => `${seen.method} ${seen.path}`),
        ["GET /moved?token=s3cret", "GET /frames/first.png"]
      )
      for (const seen of images.requests) {
        assert.deepStrictEqual(
          Testkit.credentialHeaders.filter((name) => seen.headers[name] !== undefined),
          []
        )
      }
      assert.strictEqual((yield* sim.ledger)[0]!.amount, "0.15")
    })
  )

  it.scopedLive("an image URL that is too big, not an image, missing or unreachable is refused before any create", () =>
    Effect.gen(function* () {
      const images = yield* imageServer
      const closed = yield* Testkit.closedPort
      const limit = LaozhangCatalog.models.find((model) => model.id === "veo-3.1-fl")!.capabilities.maxImageBytes
      const cases = [
        [images.url("/big.png"), `${limit + 1} bytes; the limit for "veo-3.1-fl" is ${limit} bytes`],
        [images.url("/endless.png"), `more than ${limit} bytes`],
        [images.url("/page.png"), "not a JPEG, PNG, WebP or GIF image (the server said text/html)"],
        [images.url("/missing.png"), "HTTP 404"],
        [`http://127.0.0.1:${closed}/frames/first.png`, "could not be reached"]
      ] as const
      for (const [url, problem] of cases) {
        const { sim, events, exit } = yield* run(
          GenerateRequest.make({
            prompt: "x",
            model: "veo-3.1-fl",
            images: [new ImageInput({ role: "first-frame", source: new UrlSource({ url: `${url}?token=s3cret` }) })]
          })
        )
        const error = failureOf(exit)
        assert.strictEqual(error._tag, "InvalidRequest", url)
        assert.strictEqual(error.billing, "not-charged", url)
        assert.include(error.message, `the first-frame image at ${new URL(url).host}: `, url)
        assert.include(error.message, problem, url)
        assert.notInclude(error.message, "s3cret", url)
        assert.notInclude(
          events.map((event) => event._tag),
          "Submitting"
        )
        assert.strictEqual((yield* sim.requests).length, 0, `${url}: nothing reached laozhang`)
        assert.strictEqual((yield* settledLedger(sim)).length, 0, `${url}: nothing charged`)
      }
    })
  )

  it.scopedLive("a completed status carrying the link as video_url, or as url, is read; /content is not asked", () =>
    Effect.gen(function* () {
      const video = readFileSync(path.join(Videos.defaultDirectory, "720x1280-8s.mp4"))
      const cdn = yield* Testkit.stubServer((_request, response) => {
        response.writeHead(200, { "content-type": "video/mp4", "content-length": video.length })
        response.end(video)
      })
      for (const field of ["video_url", "url"]) {
        const api = yield* Testkit.stubServer((request, response) => {
          const answer = (status: number, body: unknown) => {
            response.writeHead(status, { "content-type": "application/json" })
            response.end(JSON.stringify(body))
          }
          if (request.method === "POST" && request.path === "/v1/videos") {
            return answer(200, { id: "video_1", object: "video", status: "queued", model: "veo-3.1-fast" })
          }
          if (request.method === "GET" && request.path === "/v1/videos/video_1") {
            return answer(200, { id: "video_1", status: "completed", progress: 100, [field]: cdn.url(`/${field}.mp4`) })
          }
          answer(404, { error: { code: "not_found", message: "no such route" } })
        })
        const provider = Laozhang.make({ baseUrl: api.url("/v1"), apiKey: Redacted.make(KEY) })
        const { events, exit } = yield* collect(
          Engine.generate(GenerateRequest.make({ prompt: "a fox", model: "veo-3.1-fast" }), {
            output: path.join(tempDir(), "video.mp4")
          })
        ).pipe(Effect.provide(engineLayer([provider])))
        assert.isTrue(Exit.isSuccess(exit), `${field}: ${String(exit)}`)
        assert.strictEqual(ofTag(events, "Saved")[0]!.video.sha256, sha256(video), field)
        assert.deepStrictEqual(
          api.requests.map((seen) => `${seen.method} ${seen.path}`),
          ["POST /v1/videos", "GET /v1/videos/video_1"],
          field
        )
      }
      assert.deepStrictEqual(
        cdn.requests.map((seen) => seen.path),
        ["/video_url.mp4", "/url.mp4"]
      )
      assert.isTrue(cdn.requests.every((seen) => seen.headers["authorization"] === undefined))
    })
  )

  it.scopedLive("first and last frame as files travel as multipart input_reference", () =>
    Effect.gen(function* () {
      const frame = (role: "first-frame" | "last-frame") =>
        new ImageInput({ role, source: new BytesSource({ bytes: png, fileName: `${role}.png` }) })
      const request = GenerateRequest.make({
        prompt: "day turns to night",
        model: "veo-3.1-fast-fl",
        images: [frame("first-frame"), frame("last-frame")]
      })
      const { sim, events, exit } = yield* run(request)
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      const saved = ofTag(events, "Saved")[0]!.video
      assert.strictEqual(sim.state.tasks.find(saved.taskId ?? "")?.images, 2)
      assert.match((yield* Testkit.creates(sim))[0]!.headers["content-type"] ?? "", /^multipart\/form-data; boundary=/)
      assert.strictEqual((yield* sim.ledger).length, 1)
    })
  )

  it.scopedLive("refuses locally what laozhang cannot take: an -fl model without a frame, a shape it lacks", () =>
    Effect.gen(function* () {
      const noFrame = yield* run(GenerateRequest.make({ prompt: "x", model: "veo-3.1-fl" }))
      const refused = failureOf(noFrame.exit)
      assert.strictEqual(refused._tag, "InvalidRequest")
      assert.include(refused.message, "veo-3.1")
      assert.strictEqual((yield* noFrame.sim.requests).length, 0)
      const wrongShape = yield* run(GenerateRequest.make({ prompt: "x", model: "veo-3.1", aspectRatio: "16:9" }))
      const shape = failureOf(wrongShape.exit)
      assert.strictEqual(shape._tag, "InvalidRequest")
      assert.include(shape.message, "veo-3.1-landscape")
    })
  )

  it.scopedLive("a 429 on create is retried after the server's delay with the same Idempotency-Key", () =>
    Effect.gen(function* () {
      const { sim, exit } = yield* run(prompt("a fox", "@sim:429(retry-after=0.02)"))
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      const attempts = yield* Testkit.creates(sim)
      assert.deepStrictEqual(
        attempts.map((request) => request.status),
        [429, 200]
      )
      assert.strictEqual(new Set(attempts.map((request) => request.idempotencyKey)).size, 1)
      assert.strictEqual((yield* sim.ledger).length, 1)
    })
  )

  it.scopedLive("a 503 burst on create is retried, same key, charged once", () =>
    Effect.gen(function* () {
      const { sim, exit } = yield* run(prompt("a fox", "@sim:503(times=2)"))
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      const attempts = yield* Testkit.creates(sim)
      assert.deepStrictEqual(
        attempts.map((request) => request.status),
        [503, 503, 200]
      )
      assert.strictEqual(new Set(attempts.map((request) => request.idempotencyKey)).size, 1)
      assert.strictEqual((yield* settledLedger(sim)).length, 1)
    })
  )

  it.scopedLive("a connection reset before the answer is an uncertain submission, never retried", () =>
    Effect.gen(function* () {
      const before = yield* run(prompt("a fox", "@sim:reset-before-create"))
      const error = failureOf(before.exit)
      assert.strictEqual(error._tag, "UncertainSubmission")
      assert.strictEqual(error.billing, "unknown")
      assert.strictEqual((yield* Testkit.creates(before.sim)).length, 1)
      assert.strictEqual((yield* settledLedger(before.sim)).length, 0, "the vendor created nothing")

      const after = yield* run(prompt("a fox", "@sim:reset-after-create"))
      assert.strictEqual(failureOf(after.exit)._tag, "UncertainSubmission")
      assert.strictEqual((yield* Testkit.creates(after.sim)).length, 1)
      // The vendor did create the task; on-success, it charges when the task completes.
      const ledger = yield* settledLedger(after.sim)
      assert.strictEqual(ledger.length, 1)
      assert.strictEqual(ledger[0]!.rule, "on-success")
    })
  )

  it.scopedLive("a garbled create answer is uncertain; the vendor's task still bills on completion", () =>
    Effect.gen(function* () {
      const { sim, exit } = yield* run(prompt("a fox", "@sim:malformed(on=create)"))
      const error = failureOf(exit)
      assert.strictEqual(error._tag, "UncertainSubmission")
      assert.include(error.message, "MalformedResponse")
      assert.strictEqual((yield* Testkit.creates(sim)).length, 1)
      assert.strictEqual((yield* settledLedger(sim)).length, 1)
    })
  )

  it.scopedLive("status faults (503, garbled, unknown word) are read again, then the video is saved", () =>
    Effect.gen(function* () {
      for (const directive of [
        "@sim:503(on=status,times=2)",
        "@sim:malformed",
        "@sim:unknown-status",
        "@sim:429(on=status,retry-after=0.01)"
      ]) {
        const { sim, exit, events } = yield* run(prompt("a fox", directive))
        assert.isTrue(Exit.isSuccess(exit), `${directive}: ${String(exit)}`)
        assert.isAbove(ofTag(events, "Retrying").filter((event) => event.operation === "status").length, 0, directive)
        assert.strictEqual((yield* Testkit.creates(sim)).length, 1, directive)
        assert.strictEqual((yield* sim.ledger).length, 1, directive)
      }
    })
  )

  it.scopedLive("a content fault is asked again; a cut download resumes with Range, no key on the CDN", () =>
    Effect.gen(function* () {
      const content = yield* run(prompt("a fox", "@sim:503(on=content)"))
      assert.isTrue(Exit.isSuccess(content.exit), String(content.exit))
      assert.strictEqual((yield* content.sim.ledger).length, 1)

      const cut = yield* run(prompt("a fox", "@sim:truncate"))
      assert.isTrue(Exit.isSuccess(cut.exit), String(cut.exit))
      const cdn = yield* cut.sim.cdnRequests
      assert.isTrue(cdn.some((request) => request.truncated))
      assert.isTrue(cdn.some((request) => request.range !== null))
      yield* noKeyOnCdn(cut.sim)
      assert.strictEqual((yield* cut.sim.ledger).length, 1)
    })
  )

  it.scopedLive("a failed generation is free: regenerated once with a new key, then reported, nothing charged", () =>
    Effect.gen(function* () {
      const { sim, exit } = yield* run(prompt("a fox", "@sim:fail"))
      const error = failureOf(exit)
      assert.strictEqual(error._tag, "GenerationFailed")
      if (error._tag === "GenerationFailed") assert.strictEqual(error.vendorCode, "generation_failed")
      assert.strictEqual(error.billing, "not-charged")
      const attempts = yield* Testkit.creates(sim)
      assert.strictEqual(attempts.length, 2)
      assert.strictEqual(new Set(attempts.map((request) => request.idempotencyKey)).size, 2)
      assert.strictEqual((yield* settledLedger(sim)).length, 0)
    })
  )

  it.scopedLive("content rejections, at create or during the task, are never retried and never charged", () =>
    Effect.gen(function* () {
      for (const directive of ["@sim:content-policy", "@sim:content-policy(on=create)"]) {
        const { sim, exit } = yield* run(prompt("a fox", directive))
        const error = failureOf(exit)
        assert.strictEqual(error._tag, "ContentRejected", directive)
        assert.strictEqual(error.billing, "not-charged", directive)
        assert.strictEqual((yield* Testkit.creates(sim)).length, 1, directive)
        assert.strictEqual((yield* settledLedger(sim)).length, 0, directive)
      }
    })
  )

  it.scopedLive("refused keys and empty balances end at the create, nothing charged", () =>
    Effect.gen(function* () {
      const cases = [
        { key: "sk-invalid-1", tag: "AuthenticationFailed" },
        { key: "sk-nofunds-1", tag: "InsufficientBalance" }
      ] as const
      for (const { key, tag } of cases) {
        const { sim, exit } = yield* run(prompt("a fox"), { key })
        const error = failureOf(exit)
        assert.strictEqual(error._tag, tag)
        assert.strictEqual(error.billing, "not-charged")
        assert.notInclude(error.message, key)
        assert.strictEqual((yield* Testkit.creates(sim)).length, 1)
        assert.strictEqual((yield* sim.ledger).length, 0)
      }
      const balance = yield* run(prompt("a fox", "@sim:insufficient-balance"))
      const error = failureOf(balance.exit)
      assert.strictEqual(error._tag, "InsufficientBalance")
      if (error._tag === "InsufficientBalance") assert.strictEqual(error.vendorCode, "insufficient_balance")
    })
  )

  it.scopedLive(
    "a task that vanishes before it completes is not found: billing unknown, and the vendor charged nothing",
    () =>
      Effect.gen(function* () {
        const { sim, exit } = yield* run(prompt("a fox", "@sim:expire(after=0.05)"))
        const error = failureOf(exit)
        assert.strictEqual(error._tag, "TaskNotFound")
        // From the client, a task that vanished may have completed first (on-success): reelay cannot know.
        assert.strictEqual(error.billing, "unknown")
        assert.strictEqual((yield* settledLedger(sim)).length, 0)
      })
  )

  it.scopedLive(
    "from the environment: LAOZHANG_BASE_URL and LAOZHANG_API_KEY; a missing key fails before sending",
    () =>
      Effect.gen(function* () {
        const sim = yield* Simulator.make({ timeScale })
        const env = (entries: ReadonlyArray<readonly [string, string]>) =>
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(entries)))
        const video = yield* Engine.generateTo(prompt("a fox"), path.join(tempDir(), "env.mp4")).pipe(
          Effect.provide(engineLayer([Laozhang.makeConfig()])),
          env([
            ["LAOZHANG_BASE_URL", sim.urls.laozhang],
            ["LAOZHANG_API_KEY", "sk-from-env"]
          ])
        )
        assert.strictEqual(video.provider, "laozhang")
        assert.strictEqual((yield* sim.ledger)[0]!.key, Simulator.fingerprint("sk-from-env"))

        const before = (yield* sim.requests).length
        const { exit } = yield* collect(Engine.generate(prompt("a fox"))).pipe(
          Effect.provide(engineLayer([Laozhang.makeConfig()])),
          env([
            ["LAOZHANG_BASE_URL", sim.urls.laozhang],
            ["LAOZHANG_API_KEY", ""]
          ])
        )
        const error = failureOf(exit)
        assert.strictEqual(error._tag, "AuthenticationFailed")
        assert.include(error.message, "LAOZHANG_API_KEY")
        assert.strictEqual((yield* sim.requests).length, before, "nothing was sent")
      })
  )

  it("defaults to the page's endpoint and lets code override it", () => {
    const config = Laozhang.config()
    assert.strictEqual(config.baseUrl, "https://api.laozhang.ai/v1")
    assert.strictEqual(config.id, "laozhang")
    assert.strictEqual(config.defaultModel, "veo-3.1")
    assert.strictEqual(
      Laozhang.config({ baseUrl: "https://proxy.example/v1", id: "lz2" }).baseUrl,
      "https://proxy.example/v1"
    )
  })
})
