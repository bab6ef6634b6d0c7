import * as NodePath from "node:path"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Engine, GenerateRequest, type GenerationEvent, type VideoError } from "@reelay/core"
import { Testkit } from "@reelay/testkit"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as LaozhangSora from "../src/LaozhangSora.js"

const apiKey = Redacted.make("sk-sora-test")
const quick = "@sim:timing(queue=0.02,run=0.15)"

const request = (
  prompt: string,
  fields: Partial<ConstructorParameters<typeof GenerateRequest.GenerateRequest>[0]> = {}
) => GenerateRequest.GenerateRequest.make({ prompt, provider: "laozhang-sora", model: "sora_video2", ...fields })

const errorOf = (exit: Exit.Exit<void, VideoError.VideoError>) =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

const ofTag = <T extends GenerationEvent.GenerationEvent["_tag"]>(
  events: ReadonlyArray<GenerationEvent.GenerationEvent>,
  tag: T
) => events.filter((event): event is Extract<GenerationEvent.GenerationEvent, { _tag: T }> => event._tag === tag)

/** Runs one generation against a simulator with the provider built from `options`. */
const generateOn = (
  baseUrl: string,
  generate: GenerateRequest.GenerateRequest,
  options: {
    readonly output?: string
    readonly key?: Redacted.Redacted<string>
    readonly provider?: LaozhangSora.Options
  } = {}
) =>
  Testkit.collect(Engine.generate(generate, options.output === undefined ? {} : { output: options.output })).pipe(
    Effect.provide(
      Testkit.engineLayer([LaozhangSora.make({ baseUrl, apiKey: options.key ?? apiKey, ...options.provider })])
    )
  )

describe("LaozhangSora against the simulator", () => {
  it.scopedLive("generates a video: queue, progress, the link; charged once, on the 200", () =>
    Effect.gen(function* () {
      const sim = yield* Testkit.simulator()
      const dir = yield* Testkit.tempDir()
      const output = NodePath.join(dir, "cat.mp4")
      const { events, exit } = yield* generateOn(sim.urls.laozhang, request("A happy cat playing with a ball"), {
        output
      })
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      const [submitted] = ofTag(events, "Submitted")
      assert.strictEqual(submitted?.handle.mode, "streaming")
      assert.match(submitted?.handle.taskId ?? "", /^foaicmpl-[0-9a-f]{32}$/)
      assert.strictEqual(ofTag(events, "Queued").length, 1)
      assert.isAbove(ofTag(events, "Progress").length, 0)
      const [succeeded] = ofTag(events, "Succeeded")
      assert.strictEqual(succeeded?.asset._tag, "Url")
      if (succeeded?.asset._tag === "Url") {
        assert.isTrue(succeeded.asset.url.startsWith(sim.urls.cdn))
        const lifetime = (succeeded.asset.expiresAt?.getTime() ?? 0) - Date.now()
        assert.isTrue(lifetime > 23 * 3600_000 && lifetime <= 24 * 3600_000, "valid for one day")
      }
      const [saved] = ofTag(events, "Saved")
      assert.strictEqual(saved?.video.probe.size, "704x1280")
      assert.strictEqual(saved?.video.probe.hasAudio, true)
      const ledger = yield* sim.ledger
      assert.deepStrictEqual(
        ledger.map((entry) => [entry.taskId, entry.amount, entry.rule]),
        [[submitted!.handle.taskId, "0.15", "on-response"]]
      )
      assert.deepStrictEqual(yield* Testkit.cdnCredentialLeaks(sim), [])
    })
  )

  it.scopedLive("an image by URL and an image as bytes (a data URL) both reach the vendor", () =>
    Effect.gen(function* () {
      const sim = yield* Testkit.simulator()
      const byUrl = GenerateRequest.ImageInput.make({
        role: "first-frame",
        source: GenerateRequest.UrlSource.make({ url: "https://filesystem.site/cdn/download/cat.png" })
      })
      const byBytes = GenerateRequest.ImageInput.make({
        role: "reference",
        source: GenerateRequest.BytesSource.make({ bytes: Testkit.png, mimeType: "image/png" })
      })
      for (const image of [byUrl, byBytes]) {
        const { events, exit } = yield* generateOn(
          sim.urls.laozhang,
          request(`Make it jump ${quick}`, { images: [image] })
        )
        assert.isTrue(Exit.isSuccess(exit), String(exit))
        const taskId = ofTag(events, "Submitted")[0]!.handle.taskId
        assert.strictEqual(sim.state.tasks.find(taskId)?.images, 1)
      }
      assert.strictEqual((yield* sim.ledger).length, 2)
    })
  )

  it.scopedLive("15 s is asked for with `seconds: 15`, with a warning, and delivered", () =>
    Effect.gen(function* () {
      const sim = yield* Testkit.simulator()
      const dir = yield* Testkit.tempDir()
      const output = NodePath.join(dir, "long.mp4")
      const { events, exit } = yield* generateOn(
        sim.urls.laozhang,
        request(`A dog ${quick}`, { model: "sora_video2-landscape", seconds: 15 }),
        { output }
      )
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      assert.isAbove(ofTag(events, "Warning").filter((w) => w.message.includes('"seconds"')).length, 0)
      const [saved] = ofTag(events, "Saved")
      assert.strictEqual(saved?.video.probe.size, "1280x704")
      assert.approximately(saved?.video.probe.durationSeconds ?? 0, 15, 0.5)
    })
  )

  it.scopedLive("a content-policy answer (a 200 with the refusal text) is ContentRejected, charged once", () =>
    Effect.gen(function* () {
      const sim = yield* Testkit.simulator()
      const { events, exit } = yield* generateOn(sim.urls.laozhang, request(`A person ${quick} @sim:content-policy`))
      const error = errorOf(exit)
      assert.strictEqual(error?._tag, "ContentRejected")
      assert.strictEqual(error?.billing, "charged")
      if (error?._tag === "ContentRejected") assert.strictEqual(error.vendorCode, "content_policy_violation")
      assert.deepStrictEqual(
        ofTag(events, "Charged").map((event) => event.billing),
        ["charged"]
      )
      assert.strictEqual((yield* Testkit.creates(sim)).length, 1, "not regenerated")
      assert.strictEqual((yield* sim.ledger).length, 1)
    })
  )

  it.scopedLive("a failed generation is GenerationFailed with the vendor's text, charged, not regenerated", () =>
    Effect.gen(function* () {
      const sim = yield* Testkit.simulator()
      const { exit } = yield* generateOn(sim.urls.laozhang, request(`A boat ${quick} @sim:fail`))
      const error = errorOf(exit)
      assert.strictEqual(error?._tag, "GenerationFailed")
      assert.strictEqual(error?.billing, "charged")
      if (error?._tag === "GenerationFailed") {
        assert.strictEqual(error.vendorCode, "generation_failed")
        assert.include(error.vendorMessage ?? "", "Video generation failed")
      }
      assert.strictEqual((yield* Testkit.creates(sim)).length, 1)
      assert.strictEqual((yield* sim.ledger).length, 1)
    })
  )

  it.scopedLive("a stream cut at 50 % is ProviderUnavailable(exchange), charged like its 200, one create", () =>
    Effect.gen(function* () {
      const sim = yield* Testkit.simulator()
      const { events, exit } = yield* generateOn(sim.urls.laozhang, request(`A train ${quick} @sim:sse-cut(at=50)`))
      const error = errorOf(exit)
      assert.strictEqual(error?._tag, "ProviderUnavailable")
      if (error?._tag === "ProviderUnavailable") assert.strictEqual(error.stage, "exchange")
      assert.strictEqual(error?.billing, "charged")
      assert.isAbove(ofTag(events, "Progress").length, 0, "progress arrived before the cut")
      assert.strictEqual((yield* Testkit.creates(sim)).length, 1, "never sent again")
      assert.strictEqual((yield* sim.ledger).length, 1, "the vendor charged the 200")
    })
  )

  it.scopedLive("429 and 503 before the 200 are retried with the same Idempotency-Key", () =>
    Effect.gen(function* () {
      // One directive per request: the simulator applies one transient fault per attempt (see the README).
      for (const [directive, statuses] of [
        ["@sim:429(retry-after=0.01)", [429, 200]],
        ["@sim:503(times=2)", [503, 503, 200]]
      ] as const) {
        const sim = yield* Testkit.simulator()
        const { events, exit } = yield* generateOn(sim.urls.laozhang, request(`A kite ${quick} ${directive}`))
        assert.isTrue(Exit.isSuccess(exit), String(exit))
        const creates = yield* Testkit.creates(sim)
        assert.deepStrictEqual(
          creates.map((create) => create.status),
          [...statuses]
        )
        const [submitting] = ofTag(events, "Submitting")
        assert.deepStrictEqual(
          [...new Set(creates.map((create) => create.idempotencyKey))],
          [submitting!.idempotencyKey]
        )
        assert.strictEqual((yield* sim.ledger).length, 1)
      }
    })
  )

  it.scopedLive("401 and 402 are AuthenticationFailed and InsufficientBalance, not retried, not charged", () =>
    Effect.gen(function* () {
      const sim = yield* Testkit.simulator()
      const refused = yield* generateOn(sim.urls.laozhang, request("A cat"), { key: Redacted.make("sk-invalid-1") })
      assert.strictEqual(errorOf(refused.exit)?._tag, "AuthenticationFailed")
      assert.strictEqual(errorOf(refused.exit)?.billing, "not-charged")
      const broke = yield* generateOn(sim.urls.laozhang, request("A cat"), { key: Redacted.make("sk-nofunds-1") })
      assert.strictEqual(errorOf(broke.exit)?._tag, "InsufficientBalance")
      assert.strictEqual(errorOf(broke.exit)?.billing, "not-charged")
      assert.deepStrictEqual(
        (yield* Testkit.creates(sim)).map((create) => create.status),
        [401, 402]
      )
      assert.strictEqual((yield* sim.ledger).length, 0)
    })
  )

  it.scopedLive("two images are refused before anything is sent", () =>
    Effect.gen(function* () {
      const sim = yield* Testkit.simulator()
      const image = (role: "first-frame" | "reference") =>
        GenerateRequest.ImageInput.make({
          role,
          source: GenerateRequest.UrlSource.make({ url: `https://example.com/${role}.png` })
        })
      const { exit } = yield* generateOn(
        sim.urls.laozhang,
        request("Two pictures", { images: [image("first-frame"), image("reference")] })
      )
      const error = errorOf(exit)
      assert.strictEqual(error?._tag, "InvalidRequest")
      if (error?._tag === "InvalidRequest") assert.strictEqual(error.field, "images")
      assert.strictEqual((yield* sim.requests).length, 0)
    })
  )
})

describe("LaozhangSora configuration", () => {
  const withEnv = (env: Record<string, string>) =>
    Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

  it.scopedLive("without LAOZHANG_API_KEY it builds, and submit fails naming the variable, sending nothing", () =>
    Effect.gen(function* () {
      const sim = yield* Testkit.simulator()
      const provider = LaozhangSora.makeConfig().pipe(Effect.provide(withEnv({ LAOZHANG_BASE_URL: sim.urls.laozhang })))
      const { exit } = yield* Testkit.collect(Engine.generate(request("A cat"))).pipe(
        Effect.provide(Testkit.engineLayer([provider]))
      )
      const error = errorOf(exit)
      assert.strictEqual(error?._tag, "AuthenticationFailed")
      assert.include(error?.message ?? "", "LAOZHANG_API_KEY")
      assert.strictEqual(error?.billing, "not-charged")
      assert.strictEqual((yield* sim.requests).length, 0)
    })
  )

  it.scopedLive("reads LAOZHANG_API_KEY and LAOZHANG_BASE_URL", () =>
    Effect.gen(function* () {
      const sim = yield* Testkit.simulator()
      const provider = LaozhangSora.makeConfig().pipe(
        Effect.provide(withEnv({ LAOZHANG_API_KEY: "sk-from-env", LAOZHANG_BASE_URL: `${sim.urls.laozhang}/` }))
      )
      const { exit } = yield* Testkit.collect(Engine.generate(request(`A cat ${quick}`))).pipe(
        Effect.provide(Testkit.engineLayer([provider]))
      )
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      const [create] = yield* Testkit.creates(sim, "sk-from-env")
      assert.strictEqual(create?.authorization.scheme, "bearer")
      assert.strictEqual(create?.path, "/laozhang/v1/chat/completions")
    })
  )

  it.effect("defaults to the reference page's base URL", () =>
    Effect.gen(function* () {
      const provider = yield* LaozhangSora.makeConfig().pipe(Effect.provide(withEnv({ LAOZHANG_API_KEY: "sk-x" })))
      assert.strictEqual(provider.credentials?.origin, "https://api.laozhang.ai")
      assert.strictEqual(provider.id, "laozhang-sora")
      assert.deepStrictEqual(
        provider.models.map((model) => [model.id, model.defaultSize, model.chargePolicy]),
        [
          ["sora_video2", "704x1280", "on-response"],
          ["sora_video2-landscape", "1280x704", "on-response"]
        ]
      )
    }).pipe(Effect.provide(FetchHttpClient.layer))
  )
})

/** SSE text for a stub answer. */
const sse = (payloads: ReadonlyArray<string>) => payloads.map((payload) => `data: ${payload}\n\n`).join("")
const chunk = (content: string | undefined, finish: string | null = null) =>
  JSON.stringify({
    id: "foaicmpl-stub",
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta: content === undefined ? { role: "assistant" } : { content }, finish_reason: finish }]
  })

describe("LaozhangSora wire shapes (stub server)", () => {
  it.scopedLive("sends the documented request: Bearer, Idempotency-Key, stream, text and a data URL", () =>
    Effect.gen(function* () {
      const stub = yield* Testkit.stubServer((_request, response) => {
        response.writeHead(200, { "content-type": "text/event-stream" })
        response.end(
          sse([
            chunk(undefined),
            chunk(
              "> ✅ Video generated successfully, [Click here](https://cdn.example/assets/sora/a.mp4) to view video~~~\n\n"
            ),
            "[DONE]"
          ])
        )
      })
      const image = GenerateRequest.ImageInput.make({
        role: "first-frame",
        source: GenerateRequest.BytesSource.make({ bytes: Testkit.png, mimeType: "image/png" })
      })
      const { events, exit } = yield* generateOn(stub.url("/v1"), request("Make it move", { images: [image] }))
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      const [seen] = stub.requests
      assert.strictEqual(seen?.method, "POST")
      assert.strictEqual(seen?.path, "/v1/chat/completions")
      assert.strictEqual(seen?.headers.authorization, "Bearer sk-sora-test")
      assert.strictEqual(seen?.headers["idempotency-key"], ofTag(events, "Submitting")[0]?.idempotencyKey)
      assert.strictEqual(seen?.headers.accept, "text/event-stream")
      assert.match(seen?.headers["content-type"] ?? "", /^application\/json/)
      assert.deepStrictEqual(JSON.parse(seen!.body.toString("utf8")), {
        model: "sora_video2",
        stream: true,
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "Make it move" },
              {
                type: "image_url",
                image_url: { url: `data:image/png;base64,${Buffer.from(Testkit.png).toString("base64")}` }
              }
            ]
          }
        ]
      })
    })
  )

  it.scopedLive("an endless answer is refused at its limit, memory bounded", () =>
    Effect.gen(function* () {
      const stub = yield* Testkit.stubServer((_request, response) => {
        response.writeHead(200, { "content-type": "text/event-stream" })
        response.write(sse([chunk(undefined)]))
        const block = "x".repeat(16 * 1024)
        const timer = setInterval(() => response.write(block), 1)
        response.on("close", () => clearInterval(timer))
      })
      const { exit } = yield* generateOn(stub.url("/v1"), request("Forever"), { provider: { maxLineChars: 64 * 1024 } })
      const error = errorOf(exit)
      assert.strictEqual(error?._tag, "MalformedResponse")
      // It came after the 200, which the vendor bills.
      assert.strictEqual(error?.billing, "charged")
    })
  )

  it.scopedLive(
    "an answer that ends without [DONE] and without a link is a broken exchange, charged like its 200",
    () =>
      Effect.gen(function* () {
        const stub = yield* Testkit.stubServer((_request, response) => {
          response.writeHead(200, { "content-type": "text/event-stream" })
          response.end(sse([chunk(undefined), chunk("> 🏃 Progress: 40.0%\n\n")]))
        })
        const { events, exit } = yield* generateOn(stub.url("/v1"), request("Half"))
        const error = errorOf(exit)
        assert.strictEqual(error?._tag, "ProviderUnavailable")
        if (error?._tag === "ProviderUnavailable") assert.strictEqual(error.stage, "exchange")
        assert.strictEqual(error?.billing, "charged")
        assert.strictEqual(ofTag(events, "Submitted")[0]?.handle.taskId, "foaicmpl-stub")
        assert.strictEqual(stub.requests.length, 1, "not retried")
      })
  )

  it.scopedLive("an error object in the stream is the vendor's failure, charged", () =>
    Effect.gen(function* () {
      const stub = yield* Testkit.stubServer((_request, response) => {
        response.writeHead(200, { "content-type": "text/event-stream" })
        response.end(
          sse([chunk(undefined), JSON.stringify({ error: { message: "upstream busy", code: "upstream_error" } })])
        )
      })
      const { exit } = yield* generateOn(stub.url("/v1"), request("Busy"))
      const error = errorOf(exit)
      assert.strictEqual(error?._tag, "GenerationFailed")
      assert.strictEqual(error?.billing, "charged")
    })
  )

  it.scopedLive("a whole chat.completion (stream ignored by a gateway) is read too", () =>
    Effect.gen(function* () {
      const stub = yield* Testkit.stubServer((_request, response) => {
        response.writeHead(200, { "content-type": "application/json" })
        response.end(
          JSON.stringify({
            id: "foaicmpl-whole",
            object: "chat.completion",
            choices: [
              {
                index: 0,
                message: {
                  role: "assistant",
                  content: "> ✅ Video generated successfully, [Click here](https://cdn.example/v.mp4) to view video~~~"
                },
                finish_reason: "stop"
              }
            ]
          })
        )
      })
      const { events, exit } = yield* generateOn(stub.url("/v1"), request("Whole"))
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      const [succeeded] = ofTag(events, "Succeeded")
      assert.strictEqual(succeeded?.asset._tag === "Url" ? succeeded.asset.url : undefined, "https://cdn.example/v.mp4")
    })
  )
})
