import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { BufferTarget, Conversion, FilePathSource, Input, MP4, Mp4OutputFormat, Output } from "mediabunny"
import * as Probe from "../src/Probe.js"
import { MalformedResponse } from "../src/VideoError.js"

const videos = fileURLToPath(new URL("../../simulator/videos/", import.meta.url))
const fixture = (name: string) => NodePath.join(videos, name)

const tempDir = Effect.acquireRelease(
  Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "reelay-probe-"))),
  (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
)

const malformed = (path: string) =>
  Effect.flip(Probe.probe(path)).pipe(
    Effect.tap((error) => Effect.sync(() => assert.isTrue(error instanceof MalformedResponse)))
  )

/** A top-level `free` box header: 32-bit size, or size 1 and a 64-bit size when it does not fit. */
const freeBoxHeader = (size: number): Buffer => {
  if (size < 2 ** 32) {
    const header = Buffer.alloc(8)
    header.writeUInt32BE(size, 0)
    header.write("free", 4, "latin1")
    return header
  }
  const header = Buffer.alloc(16)
  header.writeUInt32BE(1, 0)
  header.write("free", 4, "latin1")
  header.writeBigUInt64BE(BigInt(size), 8)
  return header
}

/** A copy of `source` followed by a `free` box of `padding` bytes, sparse: no disk space, no write time. */
const padded = (source: string, target: string, padding: number) => {
  const bytes = NodeFs.readFileSync(source)
  const header = freeBoxHeader(padding)
  NodeFs.writeFileSync(target, Buffer.concat([bytes, header]))
  NodeFs.truncateSync(target, bytes.length + padding)
}

describe("Probe", () => {
  it.effect("reads a 4k landscape MP4", () =>
    Effect.gen(function* () {
      const probe = yield* Probe.probe(fixture("3840x2160-8s.mp4"))
      assert.strictEqual(probe.container, "mp4")
      assert.strictEqual(probe.mimeType, "video/mp4")
      assert.strictEqual(probe.width, 3840)
      assert.strictEqual(probe.height, 2160)
      assert.strictEqual(probe.size, "3840x2160")
      assert.closeTo(probe.durationSeconds, 8, 0.1)
      assert.isTrue(probe.hasAudio)
      assert.strictEqual(probe.videoCodec, "avc")
      assert.strictEqual(probe.audioCodec, "aac")
    })
  )

  it.effect("reads a portrait MP4", () =>
    Effect.gen(function* () {
      const probe = yield* Probe.probe(fixture("704x1280-10s.mp4"))
      assert.strictEqual(probe.width, 704)
      assert.strictEqual(probe.height, 1280)
      assert.closeTo(probe.durationSeconds, 10, 0.1)
      assert.isTrue(probe.hasAudio)
      assert.strictEqual(probe.container, "mp4")
    })
  )

  it.effect("reads every simulator fixture as its name says", () =>
    Effect.gen(function* () {
      const names = NodeFs.readdirSync(videos).filter((name) => name.endsWith(".mp4"))
      assert.isAtLeast(names.length, 2)
      for (const name of names) {
        const [, width, height, seconds] = /^(\d+)x(\d+)-(\d+)s\.mp4$/.exec(name) ?? []
        const probe = yield* Probe.probe(fixture(name))
        assert.strictEqual(probe.size, `${width}x${height}`, name)
        assert.closeTo(probe.durationSeconds, Number(seconds), 0.1, name)
      }
    })
  )

  it.scoped("sees that a video has no audio track", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "silent.mp4")
      // Remux a fixture without its audio (no decoding: the video packets are copied).
      yield* Effect.promise(async () => {
        const input = new Input({ source: new FilePathSource(fixture("1280x720-4s.mp4")), formats: [MP4] })
        const target = new BufferTarget()
        const conversion = await Conversion.init({
          input,
          output: new Output({ format: new Mp4OutputFormat(), target }),
          audio: { discard: true }
        })
        await conversion.execute()
        input.dispose()
        NodeFs.writeFileSync(path, new Uint8Array(target.buffer!))
      })
      const probe = yield* Probe.probe(path)
      assert.isFalse(probe.hasAudio)
      assert.isUndefined(probe.audioCodec)
      assert.strictEqual(probe.size, "1280x720")
    })
  )

  it.scoped("a file that is not a video is a MalformedResponse", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "error.mp4")
      NodeFs.writeFileSync(path, '{"error":{"message":"quota exceeded"}}')
      const error = yield* malformed(path)
      assert.include(error.message, "not a video container")
      assert.include(error.message, path)
    })
  )

  it.scoped("an empty, a truncated or a missing file is a MalformedResponse", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const empty = NodePath.join(dir, "empty.mp4")
      NodeFs.writeFileSync(empty, "")
      yield* malformed(empty)

      const truncated = NodePath.join(dir, "truncated.mp4")
      NodeFs.writeFileSync(truncated, NodeFs.readFileSync(fixture("1280x720-4s.mp4")).subarray(0, 600))
      yield* malformed(truncated)

      yield* malformed(NodePath.join(dir, "missing.mp4"))
    })
  )

  it.scoped("probes a file padded to 1 GiB (and one to 64 GiB) without reading the padding", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const gib = NodePath.join(dir, "padded-1g.mp4")
      const huge = NodePath.join(dir, "padded-64g.mp4")
      padded(fixture("1920x1080-8s.mp4"), gib, 1024 ** 3)
      padded(fixture("1920x1080-8s.mp4"), huge, 64 * 1024 ** 3)
      assert.isAbove(NodeFs.statSync(huge).size, 64 * 1024 ** 3)

      const before = process.memoryUsage()
      const started = performance.now()
      const first = yield* Probe.probe(gib)
      const second = yield* Probe.probe(huge)
      const elapsed = performance.now() - started
      const after = process.memoryUsage()

      for (const probe of [first, second]) {
        assert.strictEqual(probe.size, "1920x1080")
        assert.closeTo(probe.durationSeconds, 8, 0.1)
        assert.isTrue(probe.hasAudio)
      }
      // Reading 64 GiB, even of sparse zeros, takes far longer than this.
      assert.isBelow(elapsed, 3000)
      assert.isBelow(after.arrayBuffers - before.arrayBuffers, 32 * 1024 * 1024)
    })
  )
})
