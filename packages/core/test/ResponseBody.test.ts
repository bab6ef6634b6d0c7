import { randomBytes } from "node:crypto"
import * as Zlib from "node:zlib"
import * as Headers from "@effect/platform/Headers"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as ResponseBody from "../src/ResponseBody.js"

const answer = (
  body: Uint8Array | Stream.Stream<Uint8Array>,
  headers: Record<string, string> = {}
): ResponseBody.Answer => ({
  headers: Headers.fromInput(headers),
  stream: body instanceof Uint8Array ? Stream.make(body) : body
})

/** `bytes` in pieces of `size`, as a network hands them over. */
const pieces = (bytes: Uint8Array, size: number) => {
  const out: Array<Uint8Array> = []
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size))
  return Stream.fromIterable(out)
}

const json = Buffer.from(JSON.stringify({ id: "task_1", status: "processing", pad: "é".repeat(5000) }))
const text = (read: ResponseBody.Read) => Buffer.from(read.bytes).toString("utf8")

describe("ResponseBody.read", () => {
  it.effect("reads a plain body whole, and stops at the cap", () =>
    Effect.gen(function* () {
      const whole = yield* ResponseBody.read(answer(pieces(json, 100)), { maxBytes: json.length })
      assert.isFalse(whole.truncated)
      assert.strictEqual(text(whole), json.toString())
      const capped = yield* ResponseBody.read(answer(pieces(json, 100)), { maxBytes: 1000 })
      assert.isTrue(capped.truncated)
      assert.strictEqual(capped.bytes.length, 1000)
      assert.isTrue(Buffer.from(capped.bytes).equals(json.subarray(0, 1000)))
    })
  )

  const encoded: ReadonlyArray<readonly [string, (bytes: Buffer) => Buffer]> = [
    ["gzip", (bytes) => Zlib.gzipSync(bytes)],
    ["x-gzip", (bytes) => Zlib.gzipSync(bytes)],
    ["deflate", (bytes) => Zlib.deflateSync(bytes)],
    ["br", (bytes) => Zlib.brotliCompressSync(bytes)],
    ["gzip, br", (bytes) => Zlib.brotliCompressSync(Zlib.gzipSync(bytes))],
    ["identity", (bytes) => bytes]
  ]
  for (const [encoding, encode] of encoded) {
    it.effect(`decodes Content-Encoding: ${encoding}`, () =>
      Effect.gen(function* () {
        const read = yield* ResponseBody.read(answer(pieces(encode(json), 7), { "content-encoding": encoding }), {
          maxBytes: 1024 * 1024
        })
        assert.isFalse(read.truncated)
        assert.strictEqual(text(read), json.toString())
      })
    )
  }

  it.effect("decodes bare deflate data sent as deflate", () =>
    Effect.gen(function* () {
      const read = yield* ResponseBody.read(answer(Zlib.deflateRawSync(json), { "content-encoding": "deflate" }), {
        maxBytes: 1024 * 1024
      })
      assert.strictEqual(text(read), json.toString())
    })
  )

  it.effect("a gzip bomb is decoded only up to the cap", () =>
    Effect.gen(function* () {
      // 64 MiB of zeros, 64 KB compressed, sent in 16 KiB pieces.
      const bomb = Zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 })
      let sent = 0
      const body = pieces(bomb, 16 * 1024).pipe(Stream.tap((bytes) => Effect.sync(() => (sent += bytes.length))))
      const read = yield* ResponseBody.read(answer(body, { "content-encoding": "gzip" }), { maxBytes: 1024 * 1024 })
      assert.isTrue(read.truncated)
      assert.strictEqual(read.bytes.length, 1024 * 1024)
      assert.isBelow(sent, bomb.length / 2, "the compressed answer was not read to its end")
    })
  )

  it.effect("an encoding it cannot decode, or corrupt data: Encoding, no bytes of the body returned", () =>
    Effect.gen(function* () {
      const unknown = yield* Effect.either(
        ResponseBody.read(answer(json, { "content-encoding": "compress" }), { maxBytes: 1024 * 1024 })
      )
      assert.isTrue(Either.isLeft(unknown) && unknown.left.reason === "Encoding")
      if (Either.isLeft(unknown)) assert.match(unknown.left.detail, /encoded with "compress".*gzip, deflate and br/)
      const corrupt = yield* Effect.either(
        ResponseBody.read(answer(json, { "content-encoding": "gzip" }), { maxBytes: 1024 * 1024 })
      )
      assert.isTrue(Either.isLeft(corrupt) && corrupt.left.reason === "Encoding")
      const varied = Buffer.from(randomBytes(20_000).toString("hex"))
      const compressed = Zlib.gzipSync(varied)
      const cut = yield* Effect.either(
        ResponseBody.read(answer(compressed.subarray(0, compressed.length / 2), { "content-encoding": "gzip" }), {
          maxBytes: 1024 * 1024
        })
      )
      assert.isTrue(Either.isLeft(cut) && cut.left.reason === "Encoding")
      if (Either.isLeft(cut)) assert.match(cut.left.detail, /gzip data is corrupt \(Z_BUF_ERROR\)/)
    })
  )

  it.effect("a transport failure is Transport", () =>
    Effect.gen(function* () {
      const failing: ResponseBody.Answer = {
        headers: Headers.empty,
        stream: Stream.fail({ _tag: "ResponseError", reason: "Decode", description: "socket hang up" } as never)
      }
      const result = yield* Effect.either(ResponseBody.read(failing, { maxBytes: 100 }))
      assert.isTrue(Either.isLeft(result) && result.left.reason === "Transport")
    })
  )

  it.effect("a trickled body fails under the minimum pace after one window; a steady one is read", () =>
    Effect.gen(function* () {
      // One byte every 500 ms, for ever.
      const trickle = Stream.repeatEffect(Effect.as(Effect.sleep("500 millis"), new Uint8Array([120])))
      const slow = yield* ResponseBody.read(answer(trickle), { maxBytes: 1024 }).pipe(
        Effect.locally(ResponseBody.currentPace, { minBytesPerSecond: 1024, window: "2 seconds" }),
        Effect.either,
        Effect.fork
      )
      yield* TestClock.adjust("1900 millis")
      assert.isNull(slow.unsafePoll(), "still within the first window")
      yield* TestClock.adjust("200 millis")
      const failed = yield* Fiber.join(slow)
      assert.isTrue(Either.isLeft(failed) && failed.left.reason === "TooSlow")
      if (Either.isLeft(failed))
        assert.match(failed.left.detail, /sent only [34] bytes in 2s \(\d in all\), under the minimum of 1024 bytes\/s/)

      // 1 KiB every 500 ms (2 KiB/s) for 20 KiB: ten seconds, above the minimum all along.
      const steady = Stream.range(1, 20).pipe(
        Stream.mapEffect(() => Effect.as(Effect.sleep("500 millis"), Buffer.alloc(1024, 120)))
      )
      const fast = yield* ResponseBody.read(answer(steady), { maxBytes: 64 * 1024 }).pipe(
        Effect.locally(ResponseBody.currentPace, { minBytesPerSecond: 1024, window: "2 seconds" }),
        Effect.fork
      )
      yield* TestClock.adjust("11 seconds")
      const read = yield* Fiber.join(fast)
      assert.strictEqual(read.bytes.length, 20 * 1024)
    })
  )

  it.effect("silence for a window fails too; paced: false waits", () =>
    Effect.gen(function* () {
      const silent = answer(Stream.never)
      const paced = yield* ResponseBody.read(silent, { maxBytes: 10 }).pipe(Effect.either, Effect.fork)
      const unpaced = yield* ResponseBody.read(silent, { maxBytes: 10, paced: false }).pipe(Effect.either, Effect.fork)
      yield* TestClock.adjust("11 seconds")
      const failed = yield* Fiber.join(paced)
      assert.isTrue(Either.isLeft(failed) && failed.left.reason === "TooSlow")
      if (Either.isLeft(failed)) assert.match(failed.left.detail, /no data for 10s/)
      assert.isNull(unpaced.unsafePoll())
      yield* Fiber.interrupt(unpaced)
    })
  )
})

describe("ResponseBody.decoded", () => {
  it.effect("keeps every byte under the cap when pieces arrive together", () =>
    Effect.gen(function* () {
      const together = Stream.fromChunk(
        Chunk.make(json.subarray(0, 500), json.subarray(500, 1100), json.subarray(1100))
      )
      const kept: Array<Uint8Array> = []
      const result = yield* ResponseBody.decoded(answer(together), 1000).pipe(
        Stream.runForEach((bytes) => Effect.sync(() => kept.push(bytes))),
        Effect.either
      )
      assert.isTrue(Either.isLeft(result) && result.left.reason === "TooLarge")
      assert.isTrue(Buffer.concat(kept).equals(json.subarray(0, 1000)))
    })
  )

  it.effect("gives the bytes up to the cap, then fails TooLarge", () =>
    Effect.gen(function* () {
      const seen: Array<number> = []
      const result = yield* ResponseBody.decoded(
        answer(Zlib.gzipSync(json), { "content-encoding": "gzip" }),
        1000
      ).pipe(
        Stream.runForEach((bytes) => Effect.sync(() => seen.push(bytes.length))),
        Effect.either
      )
      assert.isTrue(Either.isLeft(result) && result.left.reason === "TooLarge")
      assert.strictEqual(
        seen.reduce((sum, size) => sum + size, 0),
        1000
      )
    })
  )
})
