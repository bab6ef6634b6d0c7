import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Videos from "../src/Videos.js"

/** Top-level boxes of an MP4: [type, offset, size]. */
const boxes = (buf: Buffer, from = 0, to = buf.length): Array<[string, number, number]> => {
  const out: Array<[string, number, number]> = []
  for (let at = from; at + 8 <= to; ) {
    let size = buf.readUInt32BE(at)
    const type = buf.toString("latin1", at + 4, at + 8)
    if (size === 1) size = Number(buf.readBigUInt64BE(at + 8))
    if (size < 8) break
    out.push([type, at, size])
    at += size
  }
  return out
}

const child = (buf: Buffer, [, at, size]: [string, number, number], type: string) =>
  boxes(buf, at + 8, at + size).find(([t]) => t === type)

/** Reads frame size, duration and track kinds from the moov box. */
const probe = (buf: Buffer) => {
  const moov = boxes(buf).find(([t]) => t === "moov")!
  const mvhd = child(buf, moov, "mvhd")!
  const v = buf[mvhd[1] + 8]!
  const timescale = buf.readUInt32BE(mvhd[1] + (v === 1 ? 28 : 20))
  const duration = v === 1 ? Number(buf.readBigUInt64BE(mvhd[1] + 32)) : buf.readUInt32BE(mvhd[1] + 24)
  const tracks = boxes(buf, moov[1] + 8, moov[1] + moov[2]).filter(([t]) => t === "trak")
  let width = 0
  let height = 0
  const kinds: Array<string> = []
  for (const trak of tracks) {
    const mdia = child(buf, trak, "mdia")!
    const hdlr = child(buf, mdia, "hdlr")!
    const kind = buf.toString("latin1", hdlr[1] + 16, hdlr[1] + 20)
    kinds.push(kind)
    if (kind === "vide") {
      const tkhd = child(buf, trak, "tkhd")!
      // tkhd ends with width and height as 16.16 fixed point.
      width = buf.readUInt32BE(tkhd[1] + tkhd[2] - 8) / 65536
      height = buf.readUInt32BE(tkhd[1] + tkhd[2] - 4) / 65536
    }
  }
  return { width, height, seconds: duration / timescale, kinds: kinds.sort() }
}

describe("videos", () => {
  it("every documented size and duration exists as a valid MP4 with audio", () => {
    const fixtures = Videos.load()
    const expected = [
      "720x1280-8s",
      "1280x720-8s",
      "720x1280-4s",
      "720x1280-6s",
      "1280x720-4s",
      "1280x720-6s",
      "1920x1080-8s",
      "1080x1920-8s",
      "3840x2160-8s",
      "704x1280-10s",
      "704x1280-15s",
      "1280x704-10s",
      "1280x704-15s"
    ]
    assert.deepStrictEqual([...fixtures.keys()].sort(), [...expected].sort())
    for (const name of expected) {
      const f = fixtures.get(name)!
      assert.strictEqual(f.bytes.toString("latin1", 4, 8), "ftyp", name)
      const p = probe(f.bytes)
      assert.strictEqual(`${p.width}x${p.height}`, name.split("-")[0], name)
      assert.approximately(p.seconds, f.seconds, 0.05, name)
      assert.deepStrictEqual(p.kinds, ["soun", "vide"], name)
      assert.isBelow(f.bytes.length, 400_000, name)
    }
  })

  it.effect("a padded video is the file plus one free box, and still parses", () =>
    Effect.gen(function* () {
      const fixture = Videos.load().get("1280x720-8s")!
      const asset = Videos.asset(fixture, fixture.bytes.length + 5000)
      const body = yield* Effect.promise(async () => {
        const chunks: Array<Buffer> = []
        for await (const c of Videos.stream(asset, 0, asset.size - 1)) chunks.push(c as Buffer)
        return Buffer.concat(chunks)
      })
      assert.strictEqual(body.length, asset.size)
      const top = boxes(body)
      assert.deepStrictEqual(top.at(-1), ["free", fixture.bytes.length, 5000])
      assert.strictEqual(
        top.reduce((n, [, , size]) => n + size, 0),
        body.length
      )
      assert.deepStrictEqual(probe(body), probe(fixture.bytes))
      // Any slice of the stream equals the same slice of the whole.
      const slice = yield* Effect.promise(async () => {
        const chunks: Array<Buffer> = []
        const from = fixture.bytes.length - 3
        for await (const c of Videos.stream(asset, from, from + 20)) chunks.push(c as Buffer)
        return Buffer.concat(chunks)
      })
      assert.isTrue(slice.equals(body.subarray(fixture.bytes.length - 3, fixture.bytes.length + 18)))
    })
  )

  it("padding too small to hold a box leaves the file as is; above 4 GiB the box uses largesize", () => {
    const fixture = Videos.load().get("1280x720-8s")!
    assert.strictEqual(Videos.asset(fixture, fixture.bytes.length + 7).size, fixture.bytes.length)
    assert.strictEqual(Videos.asset(fixture, 10).size, fixture.bytes.length)
    const big = Videos.freeBoxHeader(5 * 1024 ** 3)
    assert.strictEqual(big.length, 16)
    assert.strictEqual(big.readUInt32BE(0), 1)
    assert.strictEqual(big.toString("latin1", 4, 8), "free")
    assert.strictEqual(big.readBigUInt64BE(8), BigInt(5 * 1024 ** 3))
  })

  it("parseRange follows RFC 9110", () => {
    assert.deepStrictEqual(Videos.parseRange("bytes=0-9", 100), { start: 0, end: 9 })
    assert.deepStrictEqual(Videos.parseRange("bytes=90-", 100), { start: 90, end: 99 })
    assert.deepStrictEqual(Videos.parseRange("bytes=-5", 100), { start: 95, end: 99 })
    assert.deepStrictEqual(Videos.parseRange("bytes=0-1000", 100), { start: 0, end: 99 })
    assert.strictEqual(Videos.parseRange("bytes=100-", 100), "unsatisfiable")
    assert.isUndefined(Videos.parseRange("bytes=0-1,5-6", 100))
    assert.isUndefined(Videos.parseRange("items=0-1", 100))
    assert.isUndefined(Videos.parseRange(undefined, 100))
  })
})
