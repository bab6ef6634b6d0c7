/**
 * A file at the output (issue 11, case 2), library side: the real engine with a reseller defined in
 * configuration, on a hostile server of this test's own (`hostile.ts`) that serves the video bytes
 * from `/content`.
 *
 * - A file already at the output is refused before anything is sent (`InvalidRequest`, not
 *   charged: the server saw no request), and left byte for byte as it was, unless `overwrite`.
 * - A file that appears at the output while the video is being made (the server writes one just
 *   before it serves the video) is never replaced: the paid video is kept beside it, as
 *   `video (2).mp4`, and a `Warning` says so. With `overwrite` it is replaced.
 * - The video takes its name with a hard link before its `.part` name goes: a crash in between
 *   leaves two names of one file, and the next download never writes into that `.part`.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { UrlAsset } from "@reelay/core/AssetSource"
import * as Download from "@reelay/core/Download"
import * as Engine from "@reelay/core/Engine"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as Reseller from "@reelay/openai-videos/Reseller"
import { Testkit } from "@reelay/testkit"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Hostile from "./hostile.js"
import { resellerDefinition } from "./providers.js"

const apiKey = Redacted.make("sk-reliability-overwrite")
const theirs = Buffer.from("a file someone keeps here, not a video of ours")

/** A `/v1/videos` API whose `/content` answers with the MP4 itself, after `beforeContent` ran. */
const api =
  (beforeContent: () => void = () => undefined): Hostile.Handler =>
  (request, response) => {
    if (request.method === "POST") return Hostile.json(response, 200, { id: "task_1", status: "queued" })
    if (request.url?.endsWith("/content")) {
      beforeContent()
      return Hostile.sendVideo(response)
    }
    return Hostile.json(response, 200, { id: "task_1", status: "completed", progress: 100 })
  }

const generate = (options: { readonly existing: boolean; readonly appears: boolean; readonly overwrite?: boolean }) =>
  Effect.gen(function* () {
    const dir = yield* Testkit.tempDir("reelay-overwrite-")
    const output = NodePath.join(dir, "video.mp4")
    if (options.existing) NodeFs.writeFileSync(output, theirs)
    const hostile = yield* Hostile.start({
      api: api(() => {
        if (options.appears) NodeFs.writeFileSync(output, theirs)
      })
    })
    const provider = Effect.flatMap(
      Reseller.decode({ ...resellerDefinition(hostile.baseUrl), id: "hostile", wire: { content: "bytes" } }),
      (definition) => Reseller.make(definition, { apiKey })
    )
    const request = GenerateRequest.make({
      prompt: "A red fox running through fresh snow at dawn",
      model: "veo-3.1-landscape-fast"
    })
    const run = yield* Testkit.collect(
      Engine.generate(request, { output, ...(options.overwrite === undefined ? {} : { overwrite: options.overwrite }) })
    ).pipe(
      Effect.provide(
        Testkit.engineLayer([provider], {
          engine: { requestTimeout: "5 seconds", polling: { deadline: "10 seconds" } }
        })
      )
    )
    return { run, error: Testkit.failureOf(run), hostile, dir, output }
  })

describe("a file at the output (library): refused before sending, never replaced unless overwrite", () => {
  it.scopedLive("an existing file: InvalidRequest, not charged, nothing sent, the file untouched", () =>
    Effect.gen(function* () {
      const { run, error, hostile, dir, output } = yield* generate({ existing: true, appears: false })
      assert.strictEqual(error?._tag, "InvalidRequest", String(error))
      assert.strictEqual(error?.billing, "not-charged")
      assert.include(error?.message, `cannot save a video to ${output}: a file already exists there`)
      assert.include(error?.message, "overwrite")
      assert.deepStrictEqual(hostile.seen, [], "nothing sent")
      assert.notInclude(run.tags, "Submitting")
      assert.isTrue(NodeFs.readFileSync(output).equals(theirs), "the file is byte for byte as it was")
      assert.deepStrictEqual(NodeFs.readdirSync(dir), ["video.mp4"])
    })
  )

  it.scopedLive("an existing file with overwrite: replaced by the video", () =>
    Effect.gen(function* () {
      const { error, output } = yield* generate({ existing: true, appears: false, overwrite: true })
      assert.isUndefined(error, error?.message)
      assert.isTrue(NodeFs.readFileSync(output).equals(Hostile.video))
    })
  )

  it.scopedLive("a file that appears during the generation: kept; the paid video saved beside it, with a warning", () =>
    Effect.gen(function* () {
      const { run, error, dir, output } = yield* generate({ existing: false, appears: true })
      assert.isUndefined(error, error?.message)
      const beside = NodePath.join(dir, "video (2).mp4")
      assert.isTrue(NodeFs.readFileSync(output).equals(theirs), "the file that appeared is untouched")
      assert.isTrue(NodeFs.readFileSync(beside).equals(Hostile.video), "the video is kept beside it")
      assert.deepStrictEqual(NodeFs.readdirSync(dir).sort(), ["video (2).mp4", "video.mp4"], "no .part left")
      const saved = run.events.find((event) => event._tag === "Saved")
      assert.strictEqual(saved?._tag === "Saved" ? saved.video.path : undefined, beside)
      const warning = run.events.find((event) => event._tag === "Warning" && event.code === "output-taken")
      assert.include(warning?._tag === "Warning" ? warning.message : "", `saved as ${beside}`)
    })
  )

  it.scopedLive("a file that appears during the generation, with overwrite: replaced", () =>
    Effect.gen(function* () {
      const { error, dir, output } = yield* generate({ existing: false, appears: true, overwrite: true })
      assert.isUndefined(error, error?.message)
      assert.isTrue(NodeFs.readFileSync(output).equals(Hostile.video))
      assert.deepStrictEqual(NodeFs.readdirSync(dir), ["video.mp4"])
    })
  )

  // The video takes its name with a hard link, then the `.part` name is removed: a crash in between
  // leaves the `.part` and the output as two names of one file. The next run must not write into it.
  it.scopedLive("a .part left linked to the saved video by a crash: the video is never written into", () =>
    Effect.gen(function* () {
      const dir = yield* Testkit.tempDir("reelay-overwrite-")
      const output = NodePath.join(dir, "video.mp4")
      NodeFs.writeFileSync(output, Hostile.video)
      NodeFs.linkSync(output, `${output}.part`)
      // The link now answers with other bytes, and breaks off: whatever reaches the `.part` is not the video.
      const hostile = yield* Hostile.start({
        api: (_request, response) => {
          response.writeHead(200, { "content-type": "video/mp4", "content-length": String(Hostile.video.length) })
          response.write(Buffer.alloc(4096, 7))
          response.destroy()
        }
      })
      const result = yield* Effect.either(
        Download.download({
          asset: new UrlAsset({ url: `${hostile.api}/video.mp4` }),
          path: output,
          taskId: "task_1",
          retry: { attempts: 0 }
        })
      ).pipe(Effect.provide(NodeHttpClient.layerUndici))
      assert.strictEqual(result._tag, "Left", "the broken transfer fails")
      assert.isTrue(NodeFs.readFileSync(output).equals(Hostile.video), "the saved video keeps every byte")
    })
  )
})
