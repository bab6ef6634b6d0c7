import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { UrlAsset } from "../src/AssetSource.js"
import * as Download from "../src/Download.js"
import { sendBytes, serve } from "./helpers/httpServer.js"

const data = Buffer.alloc(64 * 1024, 7)
const fast = { attempts: 3, baseDelay: "2 millis", maxDelay: "20 millis" } as const

const tempDir = Effect.acquireRelease(
  Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "reelay-download-hint-"))),
  (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
)

// Real sockets and the real clock: only lower bounds on time are asserted, which load cannot break.
describe("Download and the server's Retry-After", () => {
  it.scopedLive("a 429 with retry-after-ms: the next request waits for it, whatever the backoff says", () =>
    Effect.gen(function* () {
      const arrivals: Array<number> = []
      const server = yield* serve((request, response, index) => {
        arrivals.push(Date.now())
        if (index === 0) {
          response.writeHead(429, { "retry-after": "1", "retry-after-ms": "250", "content-length": 0 })
          response.end()
          return
        }
        sendBytes(request, response, data)
      })
      const dir = yield* tempDir
      const delays: Array<number> = []
      const saved = yield* Download.download({
        asset: new UrlAsset({ url: server.url("/v.mp4") }),
        path: NodePath.join(dir, "video.mp4"),
        retry: fast,
        onRetry: (_attempt, delayMillis) => Effect.sync(() => delays.push(delayMillis))
      }).pipe(Effect.provide(NodeHttpClient.layerUndici))
      assert.strictEqual(saved.bytes, data.length)
      assert.deepStrictEqual(delays, [250], "the hint, not the 2-20 ms backoff")
      assert.strictEqual(arrivals.length, 2)
      assert.isAtLeast(arrivals[1]! - arrivals[0]!, 249, "the second request came after the hint")
    })
  )

  it.scopedLive("a hint longer than maxServerDelay ends the retries instead of retrying early", () =>
    Effect.gen(function* () {
      const server = yield* serve((_request, response) => {
        response.writeHead(503, { "retry-after": "3600", "content-length": 0 })
        response.end()
      })
      const dir = yield* tempDir
      const error = yield* Effect.flip(
        Download.download({
          asset: new UrlAsset({ url: server.url("/v.mp4") }),
          path: NodePath.join(dir, "video.mp4"),
          retry: { ...fast, maxServerDelay: "1 minute" }
        }).pipe(Effect.provide(NodeHttpClient.layerUndici))
      )
      assert.strictEqual(error._tag, "DownloadFailed")
      if (error._tag === "DownloadFailed") assert.strictEqual(error.retryAfterMillis, 3_600_000)
      assert.strictEqual(server.requests.length, 1, "no retry before the server's hour is up")
    })
  )
})
