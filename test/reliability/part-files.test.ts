/**
 * Issue 11, case 3: what reelay finds at `<output>.part` when it downloads a paid video. A server of
 * our own (`hostile.ts`) speaks `/v1/videos` to a reseller defined in configuration alone; its CDN
 * honours `Range` and, where the test says so, `If-Range` with an `ETag`, like a real one.
 *
 * - A link at `<output>.part` pointing outside the output directory: never followed; its target is
 *   untouched and the video saved correctly.
 * - A stale `.part` of another video: dropped; the paid video saved whole and verified, one charge.
 * - A `.part` left by a failed download of the same task, resumed later (`Engine.resume`, as after a
 *   crash): with the same validator it continues with `Range`; with another (`If-Range` answered 200)
 *   it starts over from byte 0 and saves the new file whole.
 */
import * as NodeFs from "node:fs"
import type * as NodeHttp from "node:http"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Engine from "@reelay/core/Engine"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import type { TaskHandle } from "@reelay/core/TaskHandle"
import * as Reseller from "@reelay/openai-videos/Reseller"
import { Testkit } from "@reelay/testkit"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Hostile from "./hostile.js"
import { resellerDefinition } from "./providers.js"

const apiKey = Redacted.make("sk-reelay-part-canary-0c4e1d")

const videos = NodePath.resolve(NodePath.dirname(fileURLToPath(import.meta.url)), "../../packages/simulator/videos")
/** Another video: what a stale `.part` of another task holds. */
const otherVideo = NodeFs.readFileSync(NodePath.join(videos, "1920x1080-8s.mp4"))
/** The task's file after it changed at the CDN (re-encoded shorter): same frame size, other bytes. */
const replacement = NodeFs.readFileSync(NodePath.join(videos, "1280x720-6s.mp4"))

const engine = {
  submitTimeout: "5 seconds",
  requestTimeout: "5 seconds",
  polling: { deadline: "20 seconds" },
  download: { idleTimeout: "5 seconds", retry: { attempts: 0 } }
} as const

const provider = (baseUrl: string) =>
  Effect.flatMap(Reseller.decode({ ...resellerDefinition(baseUrl), id: "hostile", auth: "bearer" }), (definition) =>
    Reseller.make(definition, { apiKey })
  )

const request = GenerateRequest.make({
  prompt: "A red fox running through fresh snow at dawn",
  model: "veo-3.1-landscape-fast"
})

/** The API: creates `task_1`, reports it completed, and links its video on the other origin. */
const api: Hostile.Handler = (request, response, origins) => {
  if (request.method === "POST") return Hostile.json(response, 200, { id: "task_1", object: "video", status: "queued" })
  if (request.url?.endsWith("/content")) return Hostile.json(response, 200, { url: `${origins.elsewhere}/video.mp4` })
  return Hostile.json(response, 200, { id: "task_1", status: "completed", progress: 100 })
}

/**
 * A CDN answer: `bytes` with `etag`, honouring `Range`, and `If-Range` as RFC 9110 says (a resume
 * naming another validator gets the whole file); `cutAfter` drops the connection after that many
 * body bytes.
 */
const sendRanged = (
  request: NodeHttp.IncomingMessage,
  response: NodeHttp.ServerResponse,
  bytes: Uint8Array,
  etag: string,
  cutAfter?: number
) => {
  const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? "")
  const ifRange = request.headers["if-range"]
  const partial = range !== null && (ifRange === undefined || ifRange === etag) && Number(range[1]) < bytes.length
  const start = partial ? Number(range![1]) : 0
  response.writeHead(partial ? 206 : 200, {
    "content-type": "video/mp4",
    etag,
    "accept-ranges": "bytes",
    "content-length": String(bytes.length - start),
    ...(partial ? { "content-range": `bytes ${start}-${bytes.length - 1}/${bytes.length}` } : {})
  })
  const body = bytes.subarray(start)
  if (cutAfter === undefined) return response.end(body)
  // Ended, not destroyed: a reset could make the client drop bytes it has not read yet.
  response.write(body.subarray(0, cutAfter), () => request.socket.end())
}

/** The CDN's requests, as the server saw them. */
const cdnRequests = (hostile: Hostile.Hostile) => hostile.seen.filter((seen) => seen.server === "elsewhere")

const layout = Effect.gen(function* () {
  const root = yield* Testkit.tempDir("reelay-part-")
  const out = NodePath.join(root, "out")
  NodeFs.mkdirSync(out)
  return { root, out, output: NodePath.join(out, "video.mp4") }
})

const generate = (hostile: Hostile.Hostile, output: string) =>
  Testkit.collect(Engine.generate(request, { output })).pipe(
    Effect.provide(Testkit.engineLayer([provider(hostile.baseUrl)], { engine }))
  )

const expectSaved = (run: Testkit.Collected<unknown>, output: string, bytes: Uint8Array) => {
  const error = Testkit.failureOf(run)
  assert.isUndefined(error, String((error as { message?: string } | undefined)?.message))
  assert.deepStrictEqual(NodeFs.readdirSync(NodePath.dirname(output)), [NodePath.basename(output)])
  assert.isTrue(NodeFs.readFileSync(output).equals(bytes), "the video served, byte for byte")
  const saved = Testkit.savedVideo(run.events)
  assert.strictEqual(saved.probe.size, "1280x720", "probed: the video asked for")
}

describe("hostile files: <output>.part", () => {
  it.scopedLive("a .part that is a link pointing outside the output directory: not followed, the video saved", () =>
    Effect.gen(function* () {
      const hostile = yield* Hostile.start({
        api,
        elsewhere: (request, response) => sendRanged(request, response, Hostile.video, '"v1"')
      })
      const { root, output } = yield* layout
      const outside = NodePath.join(root, "notes.txt")
      NodeFs.writeFileSync(outside, "the user's own notes, outside the output directory")
      NodeFs.symlinkSync(outside, `${output}.part`)

      const run = yield* generate(hostile, output)
      expectSaved(run, output, Hostile.video)
      assert.strictEqual(
        NodeFs.readFileSync(outside, "utf8"),
        "the user's own notes, outside the output directory",
        "the link's target is untouched"
      )
      assert.isUndefined(cdnRequests(hostile)[0]?.headers.range, "nothing resumed from what the link points to")
    })
  )

  it.scopedLive("a stale .part of another video: dropped, the paid video saved whole and verified, one charge", () =>
    Effect.gen(function* () {
      const hostile = yield* Hostile.start({
        api,
        elsewhere: (request, response) => sendRanged(request, response, Hostile.video, '"v1"')
      })
      const { output } = yield* layout
      NodeFs.writeFileSync(`${output}.part`, otherVideo.subarray(0, 40_000))

      const run = yield* generate(hostile, output)
      expectSaved(run, output, Hostile.video)
      assert.deepStrictEqual(
        cdnRequests(hostile).map((seen) => seen.headers.range),
        [undefined],
        "one transfer, from byte 0"
      )
      assert.lengthOf(
        hostile.seen.filter((seen) => seen.method === "POST"),
        1,
        "one create"
      )
      const charges = Testkit.chargesOf(run.events)
      assert.deepStrictEqual(
        charges.charges.map((charge) => charge.billing),
        ["charged"],
        "one charge"
      )
    })
  )

  for (const [name, resumedTag, expectResumed] of [
    ["the same validator (a crash, then resume): continued with Range", '"v1"', true],
    ["another validator (If-Range answered 200): started over from byte 0", '"v2"', false]
  ] as const) {
    it.scopedLive(`a .part left by a failed download of the task, resumed with ${name}`, () =>
      Effect.gen(function* () {
        // First run: every transfer is cut after 30,000 bytes; the download fails and keeps its `.part`.
        let cdn: Hostile.Handler = (request, response) => sendRanged(request, response, Hostile.video, '"v1"', 30_000)
        const hostile = yield* Hostile.start({
          api,
          elsewhere: (request, response, origins, body) => cdn(request, response, origins, body)
        })
        const { output } = yield* layout
        const first = yield* generate(hostile, output)
        const failure = Testkit.failureOf(first)
        assert.strictEqual(failure?._tag, "DownloadFailed", String(failure?.message))
        assert.strictEqual(failure?.billing, "charged")
        const kept = NodeFs.statSync(`${output}.part`).size
        assert.isAbove(kept, 0, "what arrived is kept for a resume")
        const handle = first.events.find((event) => event._tag === "Submitted")!.handle as TaskHandle
        const before = cdnRequests(hostile).length

        // Then: the CDN serves the task's file whole; the same one, or (another validator) a new one.
        const served = expectResumed ? Hostile.video : replacement
        cdn = (request, response) => sendRanged(request, response, served, resumedTag)
        const second = yield* Testkit.collect(Engine.resume(handle, { output })).pipe(
          Effect.provide(Testkit.engineLayer([provider(hostile.baseUrl)], { engine }))
        )
        expectSaved(second, output, served)
        const resumed = cdnRequests(hostile).slice(before)
        assert.lengthOf(resumed, 1)
        assert.strictEqual(resumed[0]!.headers.range, `bytes=${kept}-`, "the resume asked for the rest")
        assert.strictEqual(resumed[0]!.headers["if-range"], '"v1"', "naming the bytes it holds")
      })
    )
  }
})

describe("hostile files: bytes that are not a video", () => {
  it.scopedLive("never take the output's name, not even briefly: probed as the .part, kept as .rejected", () =>
    Effect.gen(function* () {
      const page = Buffer.from(`<html><body>${"Not a video. ".repeat(4000)}</body></html>`)
      const hostile = yield* Hostile.start({
        api,
        elsewhere: (request, response) => sendRanged(request, response, page, '"p1"')
      })
      const { out, output } = yield* layout
      // Every name that appears in the output directory, in order (inotify queues them all).
      const names: Array<string> = []
      const watcher = NodeFs.watch(out, (_event, name) => {
        if (name !== null) names.push(String(name))
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => watcher.close()))

      const run = yield* generate(hostile, output)
      const error = Testkit.failureOf(run)
      assert.strictEqual(error?._tag, "MalformedResponse", String(error?.message))
      assert.strictEqual(error?.billing, "charged")
      assert.include(error!.message, output)
      assert.deepStrictEqual(NodeFs.readdirSync(out), ["video.mp4.rejected"], "kept for inspection, under another name")
      assert.isTrue(NodeFs.readFileSync(`${output}.rejected`).equals(page))

      // A last name, seen only after every earlier one: then the list is complete.
      const sentinel = NodePath.join(out, "sentinel")
      NodeFs.writeFileSync(sentinel, "")
      while (!names.includes("sentinel")) yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      assert.notInclude(names, "video.mp4", `the output's name was never taken (names seen: ${[...new Set(names)]})`)
    })
  )
})
