/**
 * Image URLs under a dialect that uploads them (`urlImages: "upload"`): downloaded once at `check`,
 * uploaded as multipart files by `submit`, refused before any create when the link is unusable. A
 * fake `HttpClient` routes each request by URL, so every request reelay makes is seen.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import { BytesSource, UrlSource } from "@reelay/core/GenerateRequest"
import { GenerationTime, ModelCapabilities, ModelSpec } from "@reelay/core/ModelSpec"
import * as Money from "@reelay/core/Money"
import type { InvalidRequest } from "@reelay/core/VideoError"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as OpenAiVideos from "../src/OpenAiVideos.js"
import { WireOptions } from "../src/Protocol.js"

const KEY = "sk-unit-upload-0123456789"
const LIMIT = 1024

const model = new ModelSpec({
  id: "acme-fl",
  description: "test",
  capabilities: new ModelCapabilities({
    aspectRatios: ["16:9"],
    resolutions: ["720p"],
    durations: [8],
    sizes: ["1280x720"],
    imageInput: "first-last-frame",
    imageTransports: ["url", "bytes"],
    maxImageBytes: LIMIT,
    audio: true
  }),
  price: Money.usd("0.25"),
  chargePolicy: "on-success",
  generationTime: new GenerationTime({ typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 })
})

const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3])
const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 4, 5, 6])

type Answer = Effect.Effect<Response, HttpClientError.HttpClientError> | Response

/** A client answering each request from `route` (by URL); every request is recorded. */
const routed = (route: (url: URL, request: HttpClientRequest.HttpClientRequest) => Answer) => {
  const seen: Array<HttpClientRequest.HttpClientRequest> = []
  const client = HttpClient.make((request) =>
    Effect.suspend(() => {
      seen.push(request)
      const answer = route(new URL(request.url), request)
      return Effect.map(Effect.isEffect(answer) ? answer : Effect.succeed(answer), (response) =>
        HttpClientResponse.fromWeb(request, response)
      )
    })
  )
  return { seen, client }
}

const created = () => new Response(JSON.stringify({ id: "video_1", status: "queued" }), { status: 200 })
const image = (bytes: Uint8Array, type = "image/png") =>
  new Response(bytes, { status: 200, headers: { "content-type": type } })

const build = (client: HttpClient.HttpClient): Effect.Effect<VideoProvider.AsyncVideoProvider> =>
  OpenAiVideos.make({
    id: "acme",
    baseUrl: "https://api.acme.test/v1",
    apiKey: Redacted.make(KEY),
    auth: "bearer",
    models: [model],
    wire: new WireOptions({ urlImages: "upload" })
  }).pipe(Effect.provideService(HttpClient.HttpClient, client))

const request = (...images: ReadonlyArray<VideoProvider.ResolvedImage>): VideoProvider.ResolvedRequest => ({
  prompt: "the scene comes to life",
  images
})

const byUrl = (url: string, role: VideoProvider.ResolvedImage["role"] = "first-frame") => ({
  role,
  source: new UrlSource({ url })
})

const creates = (seen: ReadonlyArray<HttpClientRequest.HttpClientRequest>) =>
  seen.filter((request) => request.method === "POST")

/** The create's multipart `input_reference` files, as a server would read them. */
const uploadsOf = (create: HttpClientRequest.HttpClientRequest) =>
  Effect.promise(async () => {
    const body = create.body
    if (body._tag !== "Uint8Array") throw new Error(`expected a byte body, got ${body._tag}`)
    assert.match(body.contentType, /^multipart\/form-data; boundary=/)
    const form = await new Response(body.body, { headers: { "content-type": body.contentType } }).formData()
    return Promise.all(
      form.getAll("input_reference").map(async (entry) => {
        if (typeof entry === "string") throw new Error("input_reference sent as text")
        return { name: entry.name, type: entry.type, bytes: new Uint8Array(await entry.arrayBuffer()) }
      })
    )
  })

const refusal = <A>(exit: Exit.Exit<A, unknown>): InvalidRequest => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error(`expected a failure, got ${String(exit)}`)
  const error = exit.cause.error as InvalidRequest
  assert.strictEqual(error._tag, "InvalidRequest")
  assert.strictEqual(error.billing, "not-charged")
  assert.strictEqual(error.field, "images")
  return error
}

describe("URL images uploaded (urlImages: upload)", () => {
  it("a dialect cannot upload URL images in a JSON-only create", () => {
    assert.throws(() => new WireOptions({ urlImages: "upload", createEncoding: "json" }), /createEncoding "json"/)
    assert.strictEqual(new WireOptions({}).urlImages, "send")
  })

  it.effect("check downloads the image once, without credentials; submit uploads those bytes", () =>
    Effect.gen(function* () {
      const { seen, client } = routed((url) => {
        if (url.hostname === "api.acme.test") return created()
        if (url.pathname === "/moved") return new Response(null, { status: 302, headers: { location: "/a.png?sig=x" } })
        if (url.pathname === "/a.png") return image(png)
        return image(jpeg, "image/jpeg")
      })
      const provider = yield* build(client)
      const first = byUrl("https://img.test/moved?token=s3cret")
      const last = { role: "last-frame" as const, source: new BytesSource({ bytes: jpeg, mimeType: "image/jpeg" }) }
      const validated = request(last, first)
      yield* provider.check!({ request: validated, model })
      assert.deepStrictEqual(
        seen.map((request) => `${request.method} ${request.url}`),
        ["GET https://img.test/moved?token=s3cret", "GET https://img.test/a.png?sig=x"]
      )
      for (const download of seen) {
        assert.isUndefined(download.headers["authorization"])
        assert.notInclude(JSON.stringify(download.headers), KEY)
      }
      yield* provider.submit({ request: validated, model, idempotencyKey: "idem-1" })
      assert.strictEqual(seen.length, 3, "submit used the bytes check downloaded")
      const [create] = creates(seen)
      assert.strictEqual(create!.headers["authorization"], `Bearer ${KEY}`)
      const uploads = yield* uploadsOf(create!)
      assert.deepStrictEqual(
        uploads.map((upload) => [upload.name, upload.type]),
        [
          ["first-frame.png", "image/png"],
          ["image-2.jpg", "image/jpeg"]
        ]
      )
      assert.deepStrictEqual(uploads[0]!.bytes, png)
      assert.deepStrictEqual(uploads[1]!.bytes, jpeg)
    })
  )

  it.effect("a submit that was never checked downloads the image itself, before the POST", () =>
    Effect.gen(function* () {
      const { seen, client } = routed((url) => (url.hostname === "api.acme.test" ? created() : image(png)))
      const provider = yield* build(client)
      yield* provider.submit({ request: request(byUrl("https://img.test/a.png")), model, idempotencyKey: "idem-2" })
      assert.deepStrictEqual(
        seen.map((request) => request.method),
        ["GET", "POST"]
      )
      assert.deepStrictEqual((yield* uploadsOf(seen[1]!))[0]!.bytes, png)
    })
  )

  it.effect("refuses an unusable image before any create, naming only the host", () =>
    Effect.gen(function* () {
      const endless = () =>
        new ReadableStream<Uint8Array>({
          start: (controller) => controller.enqueue(png),
          pull: (controller) => controller.enqueue(new Uint8Array(256))
        })
      const { seen, client } = routed((url, request) => {
        switch (url.pathname) {
          case "/missing.png":
            return new Response("not found", { status: 404 })
          case "/big.png":
            return new Response(new Uint8Array(LIMIT + 1), {
              status: 200,
              headers: { "content-type": "image/png", "content-length": String(LIMIT + 1) }
            })
          case "/endless.png":
            return new Response(endless(), { status: 200, headers: { "content-type": "image/png" } })
          case "/page.png":
            return new Response("<html>sign in</html>", { status: 200, headers: { "content-type": "text/html" } })
          case "/empty.png":
            return new Response(null, { status: 200 })
          case "/loop.png":
            return new Response(null, { status: 301, headers: { location: "/loop.png?again=1" } })
          case "/ftp.png":
            return new Response(null, { status: 302, headers: { location: "ftp://files.test/a.png" } })
          default: {
            const cause = Object.assign(new Error(`connect ECONNREFUSED ${request.url}`), { code: "ECONNREFUSED" })
            return Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause }))
          }
        }
      })
      const provider = yield* build(client)
      const cases = [
        ["/missing.png", "HTTP 404"],
        ["/big.png", `${LIMIT + 1} bytes; the limit for "acme-fl" is ${LIMIT} bytes`],
        ["/endless.png", `more than ${LIMIT} bytes`],
        ["/page.png", "not a JPEG, PNG, WebP or GIF image (the server said text/html)"],
        ["/empty.png", "no bytes"],
        ["/loop.png", "more than 5 redirects"],
        ["/ftp.png", "only http and https"],
        ["/refused.png", "could not be reached (ECONNREFUSED)"]
      ] as const
      for (const [path, problem] of cases) {
        const url = `https://img.test:8443${path}?token=s3cret`
        const error = refusal(yield* Effect.exit(provider.check!({ request: request(byUrl(url)), model })))
        assert.include(error.message, "the first-frame image at img.test:8443", path)
        assert.include(error.message, problem, path)
        assert.include(error.message, "nothing was sent to acme", path)
        assert.notInclude(error.message, "s3cret", path)
        assert.notInclude(error.message, path, "the path is not named either")
        if (problem === "not a JPEG, PNG, WebP or GIF image (the server said text/html)") {
          assert.deepStrictEqual(error.supported, ["image/jpeg", "image/png", "image/webp", "image/gif"])
        }
        const submitted = refusal(
          yield* Effect.exit(provider.submit({ request: request(byUrl(url)), model, idempotencyKey: "idem-3" }))
        )
        assert.include(submitted.message, problem, path)
      }
      const withPassword = refusal(
        yield* Effect.exit(provider.check!({ request: request(byUrl("https://me:pw@img.test/a.png")), model }))
      )
      assert.include(withPassword.message, "user name or password")
      assert.notInclude(withPassword.message, "pw@")
      assert.strictEqual(creates(seen).length, 0, "no create was sent")
    })
  )

  it.effect("a download that does not finish within the timeout is refused", () =>
    Effect.gen(function* () {
      const asked = yield* Deferred.make<void>()
      const { client } = routed(() => Effect.zipRight(Deferred.succeed(asked, undefined), Effect.never))
      const provider = yield* build(client)
      const fiber = yield* Effect.fork(
        Effect.exit(provider.check!({ request: request(byUrl("https://slow.test/a.png")), model }))
      )
      yield* Deferred.await(asked)
      yield* TestClock.adjust("30 seconds")
      const error = refusal(yield* Fiber.join(fiber))
      assert.include(error.message, "no complete answer within 30s")
    })
  )

  it.effect("the default dialect still sends URLs as they are", () =>
    Effect.gen(function* () {
      const { seen, client } = routed(() => created())
      const provider = yield* OpenAiVideos.make({
        id: "acme",
        baseUrl: "https://api.acme.test/v1",
        apiKey: Redacted.make(KEY),
        auth: "bearer",
        models: [model]
      }).pipe(Effect.provideService(HttpClient.HttpClient, client))
      const validated = request(byUrl("https://img.test/a.png"))
      yield* provider.check!({ request: validated, model })
      yield* provider.submit({ request: validated, model, idempotencyKey: "idem-4" })
      assert.deepStrictEqual(
        seen.map((request) => request.method),
        ["POST"]
      )
      const body = seen[0]!.body
      assert.strictEqual(body._tag, "Uint8Array")
      if (body._tag === "Uint8Array") {
        assert.strictEqual(JSON.parse(new TextDecoder().decode(body.body)).input_reference, "https://img.test/a.png")
      }
    })
  )
})
