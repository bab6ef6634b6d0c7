import { createHash, randomBytes } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { vi } from "vitest"
import { StreamAsset, UrlAsset } from "../src/AssetSource.js"
import * as Download from "../src/Download.js"
import * as PartRecord from "../src/PartRecord.js"
import { DownloadFailed, ProviderUnavailable, TaskExpired } from "../src/VideoError.js"
import type { Credentials } from "../src/VideoProvider.js"
import { sendBytes, serve } from "./helpers/httpServer.js"

// A full disk for one file: writes to a descriptor open on `fullDisk.path` fail with ENOSPC.
const fullDisk = vi.hoisted(() => ({ path: undefined as string | undefined }))
vi.mock("node:fs", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs")>()
  type Done = (error: NodeJS.ErrnoException | null, written: number, buffers: Array<NodeJS.ArrayBufferView>) => void
  const writev = ((fd: number, buffers: Array<NodeJS.ArrayBufferView>, position: number | null, callback: Done) => {
    if (fullDisk.path !== undefined && actual.readlinkSync(`/proc/self/fd/${fd}`) === fullDisk.path) {
      const error = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })
      return process.nextTick(() => callback(error, 0, buffers))
    }
    return actual.writev(fd, buffers, position, callback)
  }) as typeof actual.writev
  return { ...actual, default: { ...actual, writev }, writev }
})

// Not a multiple of the 1 MiB write batch, so partial batches are exercised.
const data = randomBytes(3 * 1024 * 1024 + 12_345)
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

const tempDir = Effect.acquireRelease(
  Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "reelay-download-"))),
  (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
)

const credentialsFor = (origin: string): Credentials => ({
  origin,
  headers: [
    ["Authorization", Redacted.make("Bearer sk-provider-secret")],
    ["x-api-key", Redacted.make("key-provider-secret")]
  ]
})

const fast = { retry: { attempts: 3, baseDelay: "5 millis", maxDelay: "20 millis" } } as const

const fileBytes = (path: string) => NodeFs.readFileSync(path)

/** The record an earlier run of task `taskId` leaves for its `.part` (see `PartRecord`). */
const recordPart = (part: string, taskId: string, totalBytes: number) => {
  const stats = NodeFs.statSync(part, { bigint: true })
  return PartRecord.write(
    new PartRecord.PartRecord({
      version: 1,
      part: NodePath.resolve(part),
      device: String(stats.dev),
      inode: String(stats.ino),
      taskId,
      totalBytes
    })
  )
}

const failure = <A, E>(effect: Effect.Effect<A, E, HttpClient.HttpClient>) =>
  Effect.flip(effect).pipe(
    Effect.tap((error) => Effect.sync(() => assert.isTrue(error instanceof DownloadFailed, String(error))))
  ) as Effect.Effect<DownloadFailed, A, HttpClient.HttpClient>

// First in the file: with @effect/vitest 0.30, a plain `it.effect` declared after a
// `layer(..., { excludeTestServices: true })` block runs without the TestClock.
describe("Download (test clock)", () => {
  it.scoped("an asset past its expiry fails with TaskExpired before any request", () =>
    Effect.gen(function* () {
      const server = yield* serve((request, response) => sendBytes(request, response, data))
      const dir = yield* tempDir
      yield* TestClock.setTime(Date.parse("2025-06-02T00:00:00Z"))
      const result = yield* Effect.either(
        Download.download({
          asset: new UrlAsset({ url: server.url("/v.mp4"), expiresAt: new Date("2025-06-01T00:00:00Z") }),
          path: NodePath.join(dir, "video.mp4"),
          provider: "acme"
        })
      ).pipe(Effect.provide(NodeHttpClient.layerUndici))
      assert.isTrue(Either.isLeft(result))
      const error = (result as Either.Left<unknown, unknown>).left
      assert.isTrue(error instanceof TaskExpired)
      assert.strictEqual((error as TaskExpired).provider, "acme")
      assert.strictEqual(server.requests.length, 0)
      assert.isFalse(NodeFs.existsSync(NodePath.join(dir, "video.mp4.part")))
    })
  )

  // A local file system failure is final and immediate: no request, no retry, no waiting on the
  // (test) clock, which never moves here, so a retry or a loop would hang the test instead of passing it.
  const unwritable = (path: string) =>
    Effect.gen(function* () {
      const server = yield* serve((request, response) => sendBytes(request, response, data))
      const retries: Array<DownloadFailed> = []
      const error = yield* failure(
        Download.download({
          asset: new UrlAsset({ url: server.url("/v.mp4") }),
          path,
          onRetry: (_, __, error) => Effect.sync(() => retries.push(error))
        })
      ).pipe(Effect.provide(NodeHttpClient.layerUndici))
      assert.isFalse(error.transient)
      assert.include(error.message, "can still be saved to another path")
      assert.deepStrictEqual(retries, [])
      return { error, requests: server.requests.length }
    })

  it.scoped.skipIf(!NodeFs.existsSync("/proc/self"))(
    "a directory that cannot be created (/proc/nope) fails at once, where Node's recursive mkdir spins for ever",
    () =>
      Effect.gen(function* () {
        const { error, requests } = yield* unwritable("/proc/nope/video.mp4")
        assert.include(error.message, "/proc/nope")
        assert.include(error.message, "ENOENT (no such file or directory)")
        assert.strictEqual(requests, 0)
      })
  )

  it.scoped("a file where a directory should be (ENOTDIR) fails at once, without a request", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      NodeFs.writeFileSync(NodePath.join(dir, "file"), "not a directory")
      const { error, requests } = yield* unwritable(NodePath.join(dir, "file", "sub", "video.mp4"))
      assert.include(error.message, NodePath.join(dir, "file"))
      assert.include(error.message, "ENOTDIR")
      assert.strictEqual(requests, 0)
      assert.strictEqual(NodeFs.readFileSync(NodePath.join(dir, "file"), "utf8"), "not a directory")
    })
  )

  it.scoped.skipIf(!NodeFs.existsSync("/proc/self/fd"))("a full disk (ENOSPC) is final after one request", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      // Every write to the `.part` fails with ENOSPC: a disk that fills up during the transfer. (Not a
      // link to /dev/full: the download never opens its `.part` through a link.)
      fullDisk.path = `${path}.part`
      const { error, requests } = yield* Effect.ensuring(
        unwritable(path),
        Effect.sync(() => {
          fullDisk.path = undefined
        })
      )
      assert.include(error.message, `cannot write ${path}.part: ENOSPC (no space left on device)`)
      assert.strictEqual(requests, 1)
      assert.isFalse(NodeFs.existsSync(path))
    })
  )
})

layer(NodeHttpClient.layerUndici, { excludeTestServices: true })("Download (undici)", (it) => {
  it.scoped("streams to <path>.part, then renames it; sha256 and size are those of the file", () =>
    Effect.gen(function* () {
      let release: () => void = () => {}
      const server = yield* serve((_, response) => {
        response.writeHead(200, { "content-length": data.length })
        // Half now, the rest once the test has seen the .part file.
        response.write(data.subarray(0, data.length / 2))
        release = () => response.end(data.subarray(data.length / 2))
      })
      const dir = yield* tempDir
      const path = NodePath.join(dir, "nested", "video.mp4")
      const fiber = yield* Effect.fork(Download.download({ asset: new UrlAsset({ url: server.url("/v.mp4") }), path }))

      // While the transfer is open, the bytes are in the .part file and nothing is at `path`.
      while (!NodeFs.existsSync(`${path}.part`) || NodeFs.statSync(`${path}.part`).size < 1024 * 1024) {
        yield* Effect.sleep("5 millis")
      }
      assert.isFalse(NodeFs.existsSync(path))
      release()

      const result = yield* Fiber.join(fiber)
      assert.deepStrictEqual(result, { path, bytes: data.length, sha256: sha256(data) })
      assert.isFalse(NodeFs.existsSync(`${path}.part`))
      assert.strictEqual(sha256(fileBytes(path)), sha256(data))
      assert.strictEqual(server.requests.length, 1)
      assert.strictEqual(server.requests[0]!.headers["accept-encoding"], "identity")
    })
  )

  it.scoped("sends credentials to the provider's own origin, never to the CDN it redirects to", () =>
    Effect.gen(function* () {
      const cdn = yield* serve((request, response) => sendBytes(request, response, data))
      const provider = yield* serve((request, response) => {
        // A relative redirect on the provider's origin first, then off to the CDN.
        const location =
          request.url === "/v1/videos/abc/content" ? "/v1/files/abc" : cdn.url("/v/abc.mp4?sig=cdn-token")
        response.writeHead(request.url === "/v1/videos/abc/content" ? 301 : 307, { location })
        response.end()
      })
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const result = yield* Download.download({
        asset: new UrlAsset({ url: provider.url("/v1/videos/abc/content") }),
        path,
        credentials: credentialsFor(provider.origin)
      })
      assert.strictEqual(result.sha256, sha256(data))

      assert.deepStrictEqual(
        provider.requests.map((request) => request.path),
        ["/v1/videos/abc/content", "/v1/files/abc"]
      )
      for (const request of provider.requests) {
        assert.strictEqual(request.headers.authorization, "Bearer sk-provider-secret")
        assert.strictEqual(request.headers["x-api-key"], "key-provider-secret")
      }
      assert.strictEqual(cdn.requests.length, 1)
      assert.strictEqual(cdn.requests[0]!.path, "/v/abc.mp4?sig=cdn-token")
      assert.isUndefined(cdn.requests[0]!.headers.authorization)
      assert.isUndefined(cdn.requests[0]!.headers["x-api-key"])
      assert.notInclude(JSON.stringify(cdn.requests[0]!.headers), "provider-secret")
    })
  )

  it.scoped("sends no credentials to a CDN link handed out directly", () =>
    Effect.gen(function* () {
      const cdn = yield* serve((request, response) => sendBytes(request, response, data))
      const dir = yield* tempDir
      yield* Download.download({
        asset: new UrlAsset({ url: cdn.url("/v.mp4") }),
        path: NodePath.join(dir, "video.mp4"),
        // Same host, another port: another origin.
        credentials: credentialsFor("http://127.0.0.1:1")
      })
      assert.notInclude(JSON.stringify(cdn.requests[0]!.headers), "provider-secret")
    })
  )

  it.scoped("marks credential headers as redacted while it runs", () =>
    Effect.gen(function* () {
      const server = yield* serve((request, response) => sendBytes(request, response, data))
      const dir = yield* tempDir
      const printed: Array<string> = []
      const spy = Layer.effect(
        HttpClient.HttpClient,
        Effect.map(HttpClient.HttpClient, (client) =>
          HttpClient.tapRequest(client, (request) =>
            Effect.map(FiberRef.get(Headers.currentRedactedNames), (names) => {
              printed.push(Inspectable.format(Headers.redact(request.headers, names)))
            })
          )
        )
      )
      yield* Download.download({
        asset: new UrlAsset({ url: server.url("/v.mp4") }),
        path: NodePath.join(dir, "video.mp4"),
        credentials: credentialsFor(server.origin)
      }).pipe(Effect.provide(spy.pipe(Layer.provide(NodeHttpClient.layerUndici))))
      assert.strictEqual(printed.length, 1)
      assert.notInclude(printed[0]!, "provider-secret")
      assert.include(printed[0]!, '"x-api-key": "<redacted>"')
      assert.strictEqual(server.requests[0]!.headers["x-api-key"], "key-provider-secret")
    })
  )

  it.scoped("refuses to run on a client that follows redirects by itself", () =>
    Effect.gen(function* () {
      const cdn = yield* serve((request, response) => sendBytes(request, response, data))
      const provider = yield* serve((_, response) => {
        response.writeHead(302, { location: cdn.url("/v.mp4") })
        response.end()
      })
      const dir = yield* tempDir
      const following = Layer.effect(
        HttpClient.HttpClient,
        Effect.map(HttpClient.HttpClient, (client) => HttpClient.followRedirects(client))
      )
      const error = yield* failure(
        Download.download({
          asset: new UrlAsset({ url: provider.url("/content") }),
          path: NodePath.join(dir, "video.mp4"),
          credentials: credentialsFor(provider.origin)
        })
      ).pipe(Effect.provide(following.pipe(Layer.provide(NodeHttpClient.layerUndici))))
      assert.isFalse(error.transient)
      assert.include(error.message, "followed a redirect by itself")
    })
  )

  it.scoped("stops after maxRedirects", () =>
    Effect.gen(function* () {
      const server = yield* serve((request, response) => {
        response.writeHead(302, { location: `${request.url}x` })
        response.end()
      })
      const dir = yield* tempDir
      const error = yield* failure(
        Download.download({
          asset: new UrlAsset({ url: server.url("/loop") }),
          path: NodePath.join(dir, "video.mp4"),
          maxRedirects: 3
        })
      )
      assert.isFalse(error.transient)
      assert.include(error.message, "too many redirects")
      assert.strictEqual(server.requests.length, 4)
    })
  )

  it.scoped("resumes a cut transfer with Range and ends with the same bytes", () =>
    Effect.gen(function* () {
      const cut = 1_000_000
      const server = yield* serve((request, response, index) =>
        sendBytes(request, response, data, index === 0 ? { cutAfter: cut } : {})
      )
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const retries: Array<{ attempt: number; error: DownloadFailed }> = []
      const progress: Array<number> = []
      const result = yield* Download.download({
        asset: new UrlAsset({ url: server.url("/v.mp4") }),
        path,
        ...fast,
        onRetry: (attempt, _, error) => Effect.sync(() => retries.push({ attempt, error })),
        onProgress: (received) => Effect.sync(() => progress.push(received))
      })

      assert.strictEqual(server.requests.length, 2)
      assert.isUndefined(server.requests[0]!.headers.range)
      const match = /^bytes=(\d+)-$/.exec(server.requests[1]!.headers.range ?? "")
      assert.isNotNull(match)
      const resumedAt = Number(match![1])
      assert.isTrue(resumedAt > 0 && resumedAt <= cut, `resumed at ${resumedAt}`)
      assert.strictEqual(result.sha256, sha256(data))
      assert.isTrue(fileBytes(path).equals(data))
      assert.strictEqual(retries.length, 1)
      assert.strictEqual(retries[0]!.attempt, 1)
      assert.isTrue(retries[0]!.error.transient)
      // Progress never goes back when the server honours Range.
      assert.deepStrictEqual(
        progress,
        [...progress].sort((a, b) => a - b)
      )
      assert.strictEqual(progress.at(-1), data.length)
    })
  )

  it.scoped("restarts from zero when the server answers a Range request with 200", () =>
    Effect.gen(function* () {
      const server = yield* serve((request, response, index) =>
        sendBytes(request, response, data, index === 0 ? { cutAfter: 700_000 } : { ignoreRange: true })
      )
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const result = yield* Download.download({ asset: new UrlAsset({ url: server.url("/v.mp4") }), path, ...fast })
      assert.strictEqual(server.requests.length, 2)
      assert.isDefined(server.requests[1]!.headers.range)
      assert.strictEqual(result.bytes, data.length)
      assert.strictEqual(result.sha256, sha256(data))
      assert.isTrue(fileBytes(path).equals(data))
    })
  )

  it.scoped("resumes from a .part left by an earlier process", () =>
    Effect.gen(function* () {
      const server = yield* serve((request, response) => sendBytes(request, response, data))
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const kept = 2 * 1024 * 1024 + 7
      NodeFs.writeFileSync(`${path}.part`, data.subarray(0, kept))
      yield* recordPart(`${path}.part`, "task-1", data.length)
      const result = yield* Download.download({
        asset: new UrlAsset({ url: server.url("/v.mp4") }),
        path,
        taskId: "task-1"
      })
      assert.strictEqual(server.requests.length, 1)
      assert.strictEqual(server.requests[0]!.headers.range, `bytes=${kept}-`)
      assert.strictEqual(result.sha256, sha256(data))
      assert.isTrue(fileBytes(path).equals(data))
    })
  )

  it.scoped("finishes a complete .part when the server answers 416", () =>
    Effect.gen(function* () {
      const server = yield* serve((request, response) => sendBytes(request, response, data))
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      NodeFs.writeFileSync(`${path}.part`, data)
      yield* recordPart(`${path}.part`, "task-1", data.length)
      const result = yield* Download.download({
        asset: new UrlAsset({ url: server.url("/v.mp4") }),
        path,
        taskId: "task-1"
      })
      assert.strictEqual(server.requests.length, 1)
      assert.strictEqual(server.requests[0]!.headers.range, `bytes=${data.length}-`)
      assert.deepStrictEqual(result, { path, bytes: data.length, sha256: sha256(data) })
    })
  )

  it.scoped("resumes after the body stalls for idleTimeout", () =>
    Effect.gen(function* () {
      const server = yield* serve((request, response, index) =>
        sendBytes(request, response, data, index === 0 ? { stallAfter: 500_000 } : {})
      )
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const result = yield* Download.download({
        asset: new UrlAsset({ url: server.url("/v.mp4") }),
        path,
        idleTimeout: "200 millis",
        ...fast
      })
      assert.strictEqual(server.requests.length, 2)
      assert.match(server.requests[1]!.headers.range ?? "", /^bytes=\d+-$/)
      assert.strictEqual(result.sha256, sha256(data))
    })
  )

  it.scoped("resumes when the body trickles in under minBytesPerSecond; a server that only trickles fails", () =>
    Effect.gen(function* () {
      // ~500 bytes/s: never silent for long, far under the 10,000 bytes/s asked for.
      const trickle = { bytes: 10, everyMillis: 20 } as const
      const server = yield* serve((request, response, index) =>
        sendBytes(request, response, data, index === 0 ? { trickle } : {})
      )
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const retried: Array<string> = []
      const options = {
        path,
        idleTimeout: "200 millis" as const,
        minBytesPerSecond: 10_000,
        onRetry: (_attempt: number, _delay: number, error: DownloadFailed) =>
          Effect.sync(() => retried.push(error.message)),
        ...fast
      }
      const result = yield* Download.download({ asset: new UrlAsset({ url: server.url("/v.mp4") }), ...options })
      assert.strictEqual(result.sha256, sha256(data))
      assert.strictEqual(server.requests.length, 2)
      assert.isAbove(Number(/^bytes=(\d+)-$/.exec(server.requests[1]!.headers.range ?? "")?.[1]), 0, "resumed")
      assert.match(retried[0] ?? "", /only \d+ bytes in 200ms after \d+ bytes, under the minimum of 10000 bytes\/s/)

      const always = yield* serve((request, response) => sendBytes(request, response, data, { trickle }))
      const started = Date.now()
      const error = yield* failure(
        Download.download({ asset: new UrlAsset({ url: always.url("/v.mp4") }), ...options, path: `${path}-2` })
      )
      assert.match(error.message, /under the minimum of 10000 bytes\/s.*\(gave up after 4 attempts\)/)
      assert.isFalse(error.transient)
      assert.strictEqual(always.requests.length, 4, "the first attempt and three resumes")
      assert.strictEqual(NodeFs.statSync(`${path}-2.part`).size, error.receivedBytes, "what arrived is kept")
      assert.isBelow(Date.now() - started, 5_000, "bounded: four windows and the retry delays")
    })
  )

  it.scoped("is interrupted at once while waiting for the server, and leaves no empty .part", () =>
    Effect.gen(function* () {
      // Accepts the request and never answers: only an interruption ends this download in time.
      const server = yield* serve(() => {})
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const fiber = yield* Effect.fork(Download.download({ asset: new UrlAsset({ url: server.url("/v.mp4") }), path }))
      while (server.requests.length === 0) yield* Effect.sleep("5 millis")
      const interrupted = yield* Effect.timeout(Fiber.interrupt(fiber), "5 seconds")
      assert.isTrue(Exit.isInterrupted(interrupted))
      assert.deepStrictEqual(NodeFs.readdirSync(dir), [])
    })
  )

  it.scoped(
    "is interrupted at once even while it opens the .part, and leaves nothing open behind",
    () =>
      Effect.gen(function* () {
        const server = yield* serve(() => {})
        const dir = yield* tempDir
        const path = NodePath.join(dir, "video.mp4")
        const descriptors = () => NodeFs.readdirSync("/proc/self/fd").length
        const before = descriptors()
        // Interrupted before it has had a chance to run: wherever it stands (directory, open, request), it stops.
        for (let round = 0; round < 20; round++) {
          const fiber = yield* Effect.fork(
            Download.download({ asset: new UrlAsset({ url: server.url("/v.mp4") }), path })
          )
          for (let step = 0; step < round; step++) yield* Effect.yieldNow()
          const interrupted = yield* Effect.timeout(Fiber.interrupt(fiber), "5 seconds")
          assert.isTrue(Exit.isInterrupted(interrupted))
        }
        // A descriptor that arrives after its interruption is closed (and the empty .part removed) a moment later.
        for (let wait = 0; wait < 200 && (NodeFs.existsSync(`${path}.part`) || descriptors() > before); wait++) {
          yield* Effect.sleep("5 millis")
        }
        assert.deepStrictEqual(NodeFs.readdirSync(dir), [])
      }),
    { skip: !NodeFs.existsSync("/proc/self/fd") }
  )

  it.scoped("leaves no .part when no attempt received a byte", () =>
    Effect.gen(function* () {
      const server = yield* serve((request, response) => sendBytes(request, response, data, { stallAfter: 0 }))
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const error = yield* failure(
        Download.download({
          asset: new UrlAsset({ url: server.url("/v.mp4") }),
          path,
          idleTimeout: "100 millis",
          ...fast
        })
      )
      assert.match(error.message, /no data for 100ms after 0 bytes/)
      assert.strictEqual(server.requests.length, 4)
      assert.deepStrictEqual(NodeFs.readdirSync(dir), [])
    })
  )

  it.scoped("retries 5xx, then succeeds", () =>
    Effect.gen(function* () {
      const server = yield* serve((request, response, index) => {
        if (index < 2) {
          response.writeHead(503)
          response.end()
          return
        }
        sendBytes(request, response, data)
      })
      const dir = yield* tempDir
      const statuses: Array<number | undefined> = []
      const result = yield* Download.download({
        asset: new UrlAsset({ url: server.url("/v.mp4") }),
        path: NodePath.join(dir, "video.mp4"),
        ...fast,
        onRetry: (_, __, error) => Effect.sync(() => statuses.push(error.httpStatus))
      })
      assert.strictEqual(result.sha256, sha256(data))
      assert.deepStrictEqual(statuses, [503, 503])
    })
  )

  it.scoped("a 404 on a CDN link is final, says the link may have expired, and names only the origin", () =>
    Effect.gen(function* () {
      const cdn = yield* serve((_, response) => {
        response.writeHead(404)
        response.end("NoSuchKey")
      })
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const error = yield* failure(
        Download.download({
          asset: new UrlAsset({ url: cdn.url("/v.mp4?X-Amz-Signature=signed-token") }),
          path,
          provider: "acme",
          credentials: credentialsFor("https://api.acme.test"),
          ...fast
        })
      )
      assert.isFalse(error.transient)
      assert.strictEqual(error.httpStatus, 404)
      assert.strictEqual(error.origin, cdn.origin)
      assert.strictEqual(error.provider, "acme")
      assert.include(error.message, "expired")
      assert.notInclude(JSON.stringify(error), "signed-token")
      assert.notInclude(String(error), "signed-token")
      assert.strictEqual(cdn.requests.length, 1)
      assert.isFalse(NodeFs.existsSync(path))
    })
  )

  it.scoped("stops an endless body at maxBytes, removes the .part and keeps memory bounded", () =>
    Effect.gen(function* () {
      const block = Buffer.alloc(1024 * 1024, 1)
      let sent = 0
      const server = yield* serve((_, response) => {
        response.writeHead(200, { "content-type": "video/mp4" })
        const pump = () => {
          while (!response.destroyed) {
            sent += block.length
            if (!response.write(block)) return void response.once("drain", pump)
          }
        }
        pump()
      })
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const maxBytes = 192 * 1024 * 1024
      const before = process.memoryUsage().rss
      let peak = before
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss)
      }, 5)
      const error = yield* failure(
        Download.download({ asset: new UrlAsset({ url: server.url("/endless") }), path, maxBytes })
      ).pipe(Effect.ensuring(Effect.sync(() => clearInterval(sampler))))
      assert.isFalse(error.transient)
      assert.include(error.message, "maxBytes")
      assert.isFalse(NodeFs.existsSync(`${path}.part`))
      assert.isFalse(NodeFs.existsSync(path))
      // The body is never collected: growth stays far below what was received.
      assert.isBelow(peak - before, 128 * 1024 * 1024, `rss grew by ${Math.round((peak - before) / 1e6)} MB`)
      assert.isBelow(sent, maxBytes + 64 * 1024 * 1024)
    })
  )

  it.scoped("a body longer than the announced size is final and removes the .part", () =>
    Effect.gen(function* () {
      const server = yield* serve((_, response) => {
        // Chunked, so only the provider's `size` says how long it should be.
        response.writeHead(200)
        response.end(data.subarray(0, 50_000))
      })
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const error = yield* failure(
        Download.download({ asset: new UrlAsset({ url: server.url("/v.mp4"), size: 10_000 }), path, ...fast })
      )
      assert.isFalse(error.transient)
      assert.strictEqual(error.expectedBytes, 10_000)
      assert.isFalse(NodeFs.existsSync(`${path}.part`))
    })
  )

  it.scoped("a body that stays short after every attempt is a final size mismatch", () =>
    Effect.gen(function* () {
      const server = yield* serve((request, response) => sendBytes(request, response, data, { cutAfter: 0 }))
      const dir = yield* tempDir
      const error = yield* failure(
        Download.download({
          asset: new UrlAsset({ url: server.url("/v.mp4") }),
          path: NodePath.join(dir, "video.mp4"),
          retry: { attempts: 2, baseDelay: "1 millis" }
        })
      )
      assert.isFalse(error.transient)
      assert.strictEqual(error.expectedBytes, data.length)
      assert.include(error.message, "gave up after 3 attempts")
      assert.strictEqual(server.requests.length, 3)
    })
  )

  it.scoped("downloads a StreamAsset, resuming it from the offset reached", () =>
    Effect.gen(function* () {
      const offsets: Array<number> = []
      const piece = 64 * 1024
      const asset = new StreamAsset({
        size: data.length,
        open: (offset) => {
          offsets.push(offset)
          const rest = data.subarray(offset)
          const chunks = Stream.range(0, Math.ceil(rest.length / piece) - 1).pipe(
            Stream.map((index) => rest.subarray(index * piece, (index + 1) * piece))
          )
          return offsets.length === 1
            ? Stream.concat(
                Stream.take(chunks, 10),
                Stream.fail(new ProviderUnavailable({ message: "reset", stage: "exchange" }))
              )
            : chunks
        }
      })
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const result = yield* Download.download({ asset, path, ...fast })
      assert.deepStrictEqual(offsets, [0, 10 * piece])
      assert.strictEqual(result.sha256, sha256(data))
      assert.isTrue(fileBytes(path).equals(data))
    })
  )

  it.scoped("interrupted mid-body: stops reading at once, keeps the bytes written and the record", () =>
    Effect.gen(function* () {
      let closed = false
      const server = yield* serve((_, response) => {
        response.once("close", () => {
          closed = true
        })
        response.writeHead(200, { "content-length": data.length, etag: '"v1"' })
        // Two MiB now, the rest never: only the interruption ends this transfer.
        response.write(data.subarray(0, 2 * 1024 * 1024))
      })
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const records = { directory: NodePath.join(dir, "records") }
      const fiber = yield* Effect.fork(
        Download.download({ asset: new UrlAsset({ url: server.url("/v.mp4") }), path, taskId: "task-1", records })
      )
      while (!NodeFs.existsSync(`${path}.part`) || NodeFs.statSync(`${path}.part`).size < 1024 * 1024) {
        yield* Effect.sleep("5 millis")
      }
      const interrupted = yield* Effect.timeout(Fiber.interrupt(fiber), "5 seconds")
      assert.isTrue(Exit.isInterrupted(interrupted))
      for (let wait = 0; wait < 400 && !closed; wait++) yield* Effect.sleep("5 millis")
      assert.isTrue(closed, "the connection is closed: nothing more is read")
      const kept = fileBytes(`${path}.part`)
      assert.isAtLeast(kept.length, 1024 * 1024)
      assert.isTrue(kept.equals(data.subarray(0, kept.length)), "the bytes kept are the video's first ones")
      const record = yield* PartRecord.read(`${path}.part`, records)
      assert.strictEqual(record?.taskId, "task-1")
      assert.strictEqual(record?.etag, '"v1"')
      assert.isFalse(NodeFs.existsSync(path))
    })
  )

  it.scoped("takes chunks larger than a write batch, reporting progress on the way", () =>
    Effect.gen(function* () {
      // Three pieces, the first two larger than a write batch: the second waits for the first's write.
      const cuts = [0, 1_700_000, 3_000_000, data.length]
      const asset = new StreamAsset({
        size: data.length,
        open: (offset) =>
          Stream.fromIterable(cuts.slice(1).map((end, index) => data.subarray(Math.max(offset, cuts[index]!), end)))
      })
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const seen: Array<number> = []
      const result = yield* Download.download({
        asset,
        path,
        onProgress: (received) => Effect.sync(() => seen.push(received))
      })
      assert.deepStrictEqual(result, { path, bytes: data.length, sha256: sha256(data) })
      assert.isTrue(fileBytes(path).equals(data))
      assert.strictEqual(seen.at(-1), data.length)
    })
  )

  it.scoped("progress starts at 0, never goes back and ends at the total", () =>
    Effect.gen(function* () {
      const server = yield* serve((request, response) => sendBytes(request, response, data))
      const dir = yield* tempDir
      const seen: Array<readonly [number, number | undefined]> = []
      yield* Download.download({
        asset: new UrlAsset({ url: server.url("/v.mp4") }),
        path: NodePath.join(dir, "video.mp4"),
        onProgress: (received, total) => Effect.sync(() => seen.push([received, total]))
      })
      assert.deepStrictEqual(seen[0], [0, undefined])
      assert.deepStrictEqual(seen.at(-1), [data.length, data.length])
      for (let index = 1; index < seen.length; index++) assert.isAtLeast(seen[index]![0], seen[index - 1]![0])
    })
  )
})

layer(FetchHttpClient.layer, { excludeTestServices: true })("Download (fetch)", (it) => {
  it.scoped("does not let fetch follow a redirect with the credentials", () =>
    Effect.gen(function* () {
      const cdn = yield* serve((request, response) => sendBytes(request, response, data))
      const provider = yield* serve((_, response) => {
        response.writeHead(302, { location: cdn.url("/v.mp4") })
        response.end()
      })
      const dir = yield* tempDir
      const result = yield* Download.download({
        asset: new UrlAsset({ url: provider.url("/content") }),
        path: NodePath.join(dir, "video.mp4"),
        credentials: credentialsFor(provider.origin)
      })
      assert.strictEqual(result.sha256, sha256(data))
      assert.strictEqual(provider.requests[0]!.headers["x-api-key"], "key-provider-secret")
      assert.strictEqual(cdn.requests.length, 1)
      assert.notInclude(JSON.stringify(cdn.requests[0]!.headers), "provider-secret")
    })
  )
})
