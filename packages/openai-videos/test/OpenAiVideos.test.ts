/** Unit tests of the provider's wire handling, with a fake `HttpClient` answering from a script. */

import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import { BytesSource, UrlSource } from "@reelay/core/GenerateRequest"
import { GenerationTime, ModelCapabilities, ModelSpec } from "@reelay/core/ModelSpec"
import * as Money from "@reelay/core/Money"
import { TaskHandle } from "@reelay/core/TaskHandle"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as Redacted from "effect/Redacted"
import * as OpenAiVideos from "../src/OpenAiVideos.js"
import * as Protocol from "../src/Protocol.js"
import { WireOptions } from "../src/Protocol.js"

const model = new ModelSpec({
  id: "acme-1",
  description: "test",
  capabilities: new ModelCapabilities({
    aspectRatios: ["16:9", "9:16"],
    resolutions: ["720p", "1080p"],
    durations: [8, 4],
    sizes: ["1280x720", "720x1280", "1920x1080"],
    imageInput: "first-last-frame",
    imageTransports: ["url", "bytes"],
    audio: true,
    negativePrompt: true,
    seed: true
  }),
  price: Money.usd("0.50"),
  chargePolicy: "on-success",
  generationTime: new GenerationTime({ typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 })
})

const KEY = "sk-unit-0123456789"

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: Headers.Headers
  readonly body: HttpClientRequest.HttpClientRequest["body"]
  readonly redacted: ReadonlyArray<string | RegExp>
}

/** A client that records each request and answers with the next scripted response. */
const fake = (
  answers: Array<{ status: number; body: string | ReadableStream<Uint8Array>; headers?: Record<string, string> }>
) => {
  const seen: Array<Seen> = []
  const client = HttpClient.make((request) =>
    Effect.gen(function* () {
      seen.push({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: request.body,
        redacted: yield* FiberRef.get(Headers.currentRedactedNames)
      })
      const next = answers.shift() ?? { status: 500, body: "{}" }
      return HttpClientResponse.fromWeb(
        request,
        new Response(next.body, { status: next.status, headers: next.headers ?? {} })
      )
    })
  )
  return { seen, client }
}

const build = (
  client: HttpClient.HttpClient,
  overrides: Partial<OpenAiVideos.Config> = {}
): Effect.Effect<VideoProvider.AsyncVideoProvider> =>
  OpenAiVideos.make({
    id: "acme",
    baseUrl: "https://api.acme.test/v1/",
    apiKey: Redacted.make(KEY),
    apiKeyHint: "set ACME_API_KEY",
    auth: "bearer",
    models: [model],
    ...overrides
  }).pipe(Effect.provideService(HttpClient.HttpClient, client))

const input = (request: Partial<VideoProvider.ResolvedRequest> = {}): VideoProvider.SubmitInput => ({
  request: { prompt: "a lighthouse in a storm", images: [], ...request },
  model,
  idempotencyKey: "idem-1"
})

const handle = new TaskHandle({
  provider: "acme",
  model: "acme-1",
  taskId: "video_1",
  mode: "async",
  createdAt: new Date(0),
  expiresAt: new Date(86_400_000)
})

/** A body that never ends, in 64 KiB chunks; `pulled()` is how much of it was asked for. */
const endless = (head: string) => {
  let pulled = 0
  let cancelled = false
  const chunk = new TextEncoder().encode("x".repeat(64 * 1024))
  const body = new ReadableStream<Uint8Array>({
    start: (controller) => controller.enqueue(new TextEncoder().encode(head)),
    pull: (controller) => {
      pulled += chunk.length
      controller.enqueue(chunk)
    },
    cancel: () => {
      cancelled = true
    }
  })
  return { body, pulled: () => pulled, cancelled: () => cancelled }
}

/** Parses a multipart body back, as a server would. */
const parseForm = (bytes: Uint8Array, contentType: string) =>
  Effect.promise(() => new Response(bytes, { headers: { "content-type": contentType } }).formData())

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error(`expected a failure, got ${String(exit)}`)
  return exit.cause.error
}

describe("OpenAiVideos", () => {
  it.effect("creates with JSON, the key, and the Idempotency-Key, and builds the handle", () =>
    Effect.gen(function* () {
      const { seen, client } = fake([{ status: 200, body: JSON.stringify({ id: "video_1", status: "queued" }) }])
      const provider = yield* build(client)
      const created = yield* provider.submit(input())
      assert.strictEqual(created.taskId, "video_1")
      assert.strictEqual(created.provider, "acme")
      assert.strictEqual(created.model, "acme-1")
      assert.strictEqual(created.mode, "async")
      assert.strictEqual(created.expiresAt!.getTime() - created.createdAt.getTime(), 24 * 3600 * 1000)
      const request = seen[0]!
      assert.strictEqual(request.method, "POST")
      assert.strictEqual(request.url, "https://api.acme.test/v1/videos")
      assert.strictEqual(request.headers["authorization"], `Bearer ${KEY}`)
      assert.strictEqual(request.headers["idempotency-key"], "idem-1")
      assert.strictEqual(request.headers["accept"], "application/json")
      assert.strictEqual(request.body._tag, "Uint8Array")
      if (request.body._tag === "Uint8Array") {
        assert.deepStrictEqual(JSON.parse(new TextDecoder().decode(request.body.body)), {
          model: "acme-1",
          prompt: "a lighthouse in a storm"
        })
      }
    })
  )

  it.effect("sends the raw key in a custom header, redacted in logs", () =>
    Effect.gen(function* () {
      const { seen, client } = fake([{ status: 200, body: JSON.stringify({ task_id: "t-9" }) }])
      const provider = yield* build(client, {
        auth: { style: "raw", header: "X-Acme-Key" },
        wire: new WireOptions({ idField: "task_id" })
      })
      const created = yield* provider.submit(input())
      assert.strictEqual(created.taskId, "t-9")
      assert.strictEqual(seen[0]!.headers["x-acme-key"], KEY)
      assert.isUndefined(seen[0]!.headers["authorization"])
      assert.include(seen[0]!.redacted, "x-acme-key")
      // Where a server answers about a refused key (and may quote it) is redacted on spans too.
      assert.include(seen[0]!.redacted, "www-authenticate")
      assert.include(seen[0]!.redacted, "proxy-authenticate")
      assert.deepStrictEqual(
        provider.credentials?.headers.map(([name]) => name),
        ["x-acme-key"]
      )
      assert.strictEqual(provider.credentials?.origin, "https://api.acme.test")
    })
  )

  it.effect("sends the configured parameters and uploads files as multipart", () =>
    Effect.gen(function* () {
      const { seen, client } = fake([{ status: 200, body: JSON.stringify({ id: "video_2" }) }])
      const provider = yield* build(client, {
        wire: new WireOptions({
          createEncoding: "multipart",
          parameters: ["seconds", "duration", "size", "resolution", "aspectRatio", "negativePrompt", "seed"]
        }),
        extraFields: () => [["metadata", "{}"]]
      })
      const png = new BytesSource({
        bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47]),
        mimeType: "image/png",
        fileName: "a.png"
      })
      yield* provider.submit(
        input({ aspectRatio: "9:16", negativePrompt: "blur", seed: 7, images: [{ role: "first-frame", source: png }] })
      )
      const body = seen[0]!.body
      assert.strictEqual(body._tag, "Uint8Array")
      if (body._tag !== "Uint8Array") return
      assert.match(body.contentType, /^multipart\/form-data; boundary=/)
      const form = yield* parseForm(body.body, body.contentType)
      assert.strictEqual(form.get("model"), "acme-1")
      assert.strictEqual(form.get("seconds"), "8")
      assert.strictEqual(form.get("duration"), "8")
      assert.strictEqual(form.get("size"), "720x1280")
      assert.strictEqual(form.get("resolution"), "720p")
      assert.strictEqual(form.get("aspectRatio"), "9:16")
      assert.strictEqual(form.get("negativePrompt"), "blur")
      assert.strictEqual(form.get("seed"), "7")
      assert.strictEqual(form.get("metadata"), "{}")
      const file = form.get("input_reference")
      assert.isTrue(file instanceof Blob)
      if (file instanceof File) {
        assert.strictEqual(file.type, "image/png")
        assert.strictEqual(file.name, "a.png")
        assert.deepStrictEqual(
          new Uint8Array(yield* Effect.promise(() => file.arrayBuffer())),
          new Uint8Array([0x89, 0x50, 0x4e, 0x47])
        )
      }
    })
  )

  it.effect("sends URL images in JSON: one as a string, first and last as an array", () =>
    Effect.gen(function* () {
      const { seen, client } = fake([{ status: 200, body: JSON.stringify({ id: "v" }) }])
      const provider = yield* build(client)
      yield* provider.submit(
        input({
          images: [
            { role: "last-frame", source: new UrlSource({ url: "https://img.test/b.png" }) },
            { role: "first-frame", source: new UrlSource({ url: "https://img.test/a.png" }) }
          ]
        })
      )
      const body = seen[0]!.body
      assert.strictEqual(body._tag, "Uint8Array")
      if (body._tag === "Uint8Array") {
        assert.deepStrictEqual(JSON.parse(new TextDecoder().decode(body.body)).input_reference, [
          "https://img.test/a.png",
          "https://img.test/b.png"
        ])
      }
    })
  )

  it.effect("refuses locally what the encoding cannot carry, and frame models without a frame", () =>
    Effect.gen(function* () {
      const { seen, client } = fake([])
      const provider = yield* build(client, { imageRequired: ["acme-1"] })
      const check = provider.check!
      const missing = failure(yield* Effect.exit(check({ request: input().request, model })))
      assert.strictEqual(missing._tag, "InvalidRequest")
      assert.strictEqual(missing.field, "images")
      const mixed = failure(
        yield* Effect.exit(
          check({
            model,
            request: input({
              images: [
                { role: "first-frame", source: new UrlSource({ url: "https://img.test/a.png" }) },
                { role: "last-frame", source: new BytesSource({ bytes: new Uint8Array([1]) }) }
              ]
            }).request
          })
        )
      )
      assert.strictEqual(mixed._tag, "InvalidRequest")
      assert.strictEqual(seen.length, 0)
    })
  )

  it.effect("without a key, fails every call before sending anything, naming the variable", () =>
    Effect.gen(function* () {
      const { seen, client } = fake([])
      const provider = yield* build(client, { apiKey: Redacted.make("  ") })
      assert.isUndefined(provider.credentials)
      const submit = failure(yield* Effect.exit(provider.submit(input())))
      assert.strictEqual(submit._tag, "AuthenticationFailed")
      assert.include(submit.message, "ACME_API_KEY")
      assert.strictEqual(failure(yield* Effect.exit(provider.status(handle)))._tag, "AuthenticationFailed")
      assert.strictEqual(failure(yield* Effect.exit(provider.content(handle)))._tag, "AuthenticationFailed")
      assert.strictEqual(seen.length, 0)
    })
  )

  it.effect("reads statuses: progress, server pacing hints, failures, unknown words", () =>
    Effect.gen(function* () {
      const { seen, client } = fake([
        { status: 200, body: JSON.stringify({ id: "video_1", status: "queued", progress: 0 }) },
        {
          status: 200,
          body: JSON.stringify({ id: "video_1", status: "processing", progress: "36%" }),
          headers: { "openai-poll-after-ms": "2500" }
        },
        { status: 200, body: JSON.stringify({ id: "video_1", status: "completed", progress: 100 }) },
        {
          status: 200,
          body: JSON.stringify({ status: "failed", error: { code: "generation_failed", message: "boom" } })
        },
        { status: 200, body: JSON.stringify({ status: "failed", error: { code: "content_policy_violation" } }) },
        { status: 200, body: JSON.stringify({ status: "in_progress" }) },
        { status: 200, body: '{"status":"proc' }
      ])
      const provider = yield* build(client)
      const queued = yield* provider.status(handle)
      assert.strictEqual(queued._tag, "Queued")
      const running = yield* provider.status(handle)
      assert.strictEqual(running._tag, "Running")
      if (running._tag === "Running") {
        assert.strictEqual(running.progress, 36)
        assert.strictEqual(running.pollAfterMillis, 2500)
      }
      assert.strictEqual((yield* provider.status(handle))._tag, "Succeeded")
      const failed = yield* provider.status(handle)
      assert.isTrue(failed._tag === "Failed" && failed.error._tag === "GenerationFailed")
      const rejected = yield* provider.status(handle)
      assert.isTrue(rejected._tag === "Failed" && rejected.error._tag === "ContentRejected")
      // `in_progress` is another dialect's word: unknown here.
      const unknown = failure(yield* Effect.exit(provider.status(handle)))
      assert.strictEqual(unknown._tag, "MalformedResponse")
      assert.include(unknown.message, "in_progress")
      const garbled = failure(yield* Effect.exit(provider.status(handle)))
      assert.strictEqual(garbled._tag, "MalformedResponse")
      assert.strictEqual(seen[0]!.url, "https://api.acme.test/v1/videos/video_1")
      assert.strictEqual(seen[0]!.method, "GET")
    })
  )

  it.effect("takes the video link a completed status carries: video_url, else url; otherwise none", () =>
    Effect.gen(function* () {
      const completed = (fields: Record<string, unknown>) => ({
        status: 200,
        body: JSON.stringify({ id: "video_1", status: "completed", progress: 100, ...fields })
      })
      const { seen, client } = fake([
        completed({ video_url: "https://cdn.test/a.mp4" }),
        completed({ url: "https://cdn.test/b.mp4", expires_at: 1_700_000_000 }),
        completed({ video_url: "https://cdn.test/c.mp4", url: "https://cdn.test/other.mp4" }),
        completed({ video_url: "not a link", url: null }),
        completed({ video_url: "ftp://cdn.test/e.mp4", url: "https://cdn.test/e.mp4" })
      ])
      const provider = yield* build(client)
      const links: Array<string | undefined> = []
      const expiries: Array<number | undefined> = []
      for (let i = 0; i < 5; i++) {
        const status = yield* provider.status(handle)
        assert.strictEqual(status._tag, "Succeeded")
        const asset = status._tag === "Succeeded" ? status.asset : undefined
        links.push(asset?._tag === "Url" ? asset.url : undefined)
        expiries.push(asset?._tag === "Url" ? asset.expiresAt?.getTime() : undefined)
      }
      assert.deepStrictEqual(links, [
        "https://cdn.test/a.mp4",
        "https://cdn.test/b.mp4",
        "https://cdn.test/c.mp4",
        undefined,
        "https://cdn.test/e.mp4"
      ])
      assert.deepStrictEqual(expiries.slice(0, 2), [handle.expiresAt!.getTime(), 1_700_000_000_000])
      assert.isTrue(
        seen.every((request) => request.url.endsWith("/videos/video_1")),
        "/content was not asked"
      )
    })
  )

  it.effect("polls the compatibility path when configured", () =>
    Effect.gen(function* () {
      const { seen, client } = fake([{ status: 200, body: JSON.stringify({ status: "in_progress" }) }])
      const provider = yield* build(client, {
        wire: new WireOptions({ runningStatus: "in_progress", statusPath: "video-generations" })
      })
      assert.strictEqual((yield* provider.status(handle))._tag, "Running")
      assert.strictEqual(seen[0]!.url, "https://api.acme.test/v1/video/generations/video_1")
    })
  )

  it.effect("reads a 200 carrying an error body as that error, and a create without an id as malformed", () =>
    Effect.gen(function* () {
      const { client } = fake([
        { status: 200, body: JSON.stringify({ error: { code: "insufficient_balance", message: "top up" } }) },
        { status: 200, body: JSON.stringify({ object: "video", status: "queued" }) }
      ])
      const provider = yield* build(client)
      assert.strictEqual(failure(yield* Effect.exit(provider.submit(input())))._tag, "InsufficientBalance")
      const noId = failure(yield* Effect.exit(provider.submit(input())))
      assert.strictEqual(noId._tag, "MalformedResponse")
    })
  )

  it.effect("returns the CDN URL from JSON content, or its own /content URL for bytes", () =>
    Effect.gen(function* () {
      const { seen, client } = fake([
        {
          status: 200,
          body: JSON.stringify({
            id: "video_1",
            status: "completed",
            url: "https://cdn.test/assets/x.mp4?t=1",
            duration: 8
          })
        },
        { status: 200, body: JSON.stringify({ id: "video_1", url: "/relative.mp4" }) }
      ])
      const json = yield* build(client)
      const asset = yield* json.content(handle)
      assert.strictEqual(asset._tag, "Url")
      if (asset._tag === "Url") {
        assert.strictEqual(asset.url, "https://cdn.test/assets/x.mp4?t=1")
        assert.deepStrictEqual(asset.expiresAt, handle.expiresAt)
      }
      const relative = failure(yield* Effect.exit(json.content(handle)))
      assert.strictEqual(relative._tag, "MalformedResponse")
      assert.notInclude(JSON.stringify(relative), "relative.mp4?")
      const bytes = yield* build(client, { wire: new WireOptions({ content: "bytes" }) })
      const own = yield* bytes.content(handle)
      assert.isTrue(own._tag === "Url" && own.url === "https://api.acme.test/v1/videos/video_1/content")
      assert.strictEqual(seen.length, 2, "the bytes style sends nothing: the engine downloads")
    })
  )
  it.effect("stops reading an answer past maxBodyBytes: a 2xx is malformed, an error is mapped from its status", () =>
    Effect.gen(function* () {
      const status = endless('{"id":"video_1","status":"processing","pad":"')
      const { client } = fake([
        { status: 200, body: status.body },
        { status: 503, body: `{"error":{"message":"${"y".repeat(4096)}"}}` },
        { status: 200, body: JSON.stringify({ id: "video_1", status: "queued", pad: "z".repeat(4096) }) }
      ])
      const provider = yield* build(client, { maxBodyBytes: 1024 })
      const malformed = failure(yield* Effect.exit(provider.status(handle)))
      assert.strictEqual(malformed._tag, "MalformedResponse")
      assert.match(malformed.message, /larger than 1024 bytes; it was not read further/)
      assert.isAtMost(status.pulled(), 256 * 1024, "the endless body was not read on")
      assert.isTrue(status.cancelled(), "and its stream was closed")
      const unavailable = failure(yield* Effect.exit(provider.status(handle)))
      assert.strictEqual(unavailable._tag, "ProviderUnavailable")
      assert.strictEqual(unavailable.httpStatus, 503)
      // A create answered 200 with an oversized body: unreadable, so the engine treats it as uncertain.
      const create = failure(yield* Effect.exit(provider.submit(input())))
      assert.strictEqual(create._tag, "MalformedResponse")
    })
  )

  it.effect("a task id that is a dot segment is refused at the create, and never put in a path", () =>
    Effect.gen(function* () {
      const { seen, client } = fake([
        { status: 200, body: JSON.stringify({ id: "..", status: "queued" }) },
        { status: 200, body: JSON.stringify({ id: ".", status: "queued" }) },
        { status: 200, body: JSON.stringify({ id: "../x?y#z", status: "queued" }) },
        { status: 200, body: JSON.stringify({ id: "../x?y#z", status: "processing" }) },
        { status: 200, body: JSON.stringify({ url: "https://cdn.acme.test/v.mp4" }) }
      ])
      const provider = yield* build(client)
      for (const id of ["..", "."]) {
        const error = failure(yield* Effect.exit(provider.submit(input())))
        assert.strictEqual(error._tag, "MalformedResponse")
        assert.include(error.message, `the task id ${JSON.stringify(id)} cannot name a task in a URL path`)
      }
      const created = yield* provider.submit(input())
      yield* provider.status(created)
      yield* provider.content(created)
      assert.strictEqual(seen[3]!.url, "https://api.acme.test/v1/videos/..%2Fx%3Fy%23z", "one path segment")
      assert.strictEqual(seen[4]!.url, "https://api.acme.test/v1/videos/..%2Fx%3Fy%23z/content")
      // A handle from elsewhere (a journal) with such an id: refused before anything is sent.
      const forged = new TaskHandle({ ...handle, taskId: ".." })
      const sent = seen.length
      const refused = failure(yield* Effect.exit(provider.status(forged)))
      assert.strictEqual(refused._tag, "InvalidRequest")
      assert.strictEqual(failure(yield* Effect.exit(provider.content(forged)))._tag, "InvalidRequest")
      assert.strictEqual(seen.length, sent, "nothing sent")
      assert.isFalse(Protocol.isUsableTaskId(""))
      assert.isFalse(Protocol.isUsableTaskId("x".repeat(Protocol.maxTaskIdLength + 1)))
      assert.isTrue(Protocol.isUsableTaskId("..."))
    })
  )
})
