/**
 * The videos the simulator delivers: small, valid MP4 files (H.264 + AAC) at every frame size and
 * duration the reference pages document, made once by `scripts/make-videos.sh` and committed.
 *
 * A video can be padded to any requested size for download benchmarks: the real file is followed by a
 * top-level MP4 `free` box of the missing length, so the result is still a valid MP4 (players skip
 * `free` boxes) with the same duration and frame size. The padding is generated while streaming; a
 * 1 GiB video costs no more memory than a 100 KB one.
 *
 * @since 0.1.0
 */
import { readdirSync, readFileSync } from "node:fs"
import { Readable } from "node:stream"
import { fileURLToPath } from "node:url"

/** One committed video file. */
export interface Fixture {
  /** `WIDTHxHEIGHT-SECONDSs`, e.g. `1280x720-8s`. */
  readonly name: string
  readonly width: number
  readonly height: number
  readonly seconds: number
  readonly bytes: Buffer
}

/** The package's `videos/` directory. */
export const defaultDirectory: string = fileURLToPath(new URL("../videos/", import.meta.url))

/** The fixture name for a frame size (`1280x720`) and a duration. */
export const fixtureName = (size: string, seconds: number): string => `${size}-${seconds}s`

/**
 * Reads every `WxH-Ns.mp4` in `directory` (they are small, about 1.5 MB together) so serving never
 * touches the disk.
 */
export const load = (directory: string = defaultDirectory): ReadonlyMap<string, Fixture> => {
  const fixtures = new Map<string, Fixture>()
  for (const file of readdirSync(directory)) {
    const match = /^(\d+)x(\d+)-(\d+)s\.mp4$/.exec(file)
    if (match === null) continue
    const [, w, h, s] = match
    const name = file.slice(0, -4)
    fixtures.set(name, {
      name,
      width: Number(w),
      height: Number(h),
      seconds: Number(s),
      bytes: readFileSync(`${directory}/${file}`)
    })
  }
  return fixtures
}

/** A deliverable video: a fixture, optionally padded to `size` bytes. */
export interface Asset {
  readonly fixture: Fixture
  /** Total size in bytes (the fixture's own size when unpadded). */
  readonly size: number
}

/**
 * The fixture padded to `padTo` bytes. A `free` box needs at least 8 bytes, so a target smaller than
 * the file plus 8 leaves the file unpadded.
 */
export const asset = (fixture: Fixture, padTo?: number): Asset => ({
  fixture,
  size: padTo !== undefined && padTo >= fixture.bytes.length + 8 ? padTo : fixture.bytes.length
})

/** The header of a `free` box of `boxSize` bytes: 32-bit size, or the 64-bit `largesize` form above 4 GiB. */
export const freeBoxHeader = (boxSize: number): Buffer => {
  if (boxSize <= 0xffff_ffff) {
    const header = Buffer.alloc(8)
    header.writeUInt32BE(boxSize, 0)
    header.write("free", 4, "latin1")
    return header
  }
  const header = Buffer.alloc(16)
  header.writeUInt32BE(1, 0)
  header.write("free", 4, "latin1")
  header.writeBigUInt64BE(BigInt(boxSize), 8)
  return header
}

/** An inclusive byte range. */
export interface ByteRange {
  readonly start: number
  readonly end: number
}

/**
 * Reads a `Range` header against a resource of `size` bytes (RFC 9110). Returns `undefined` when the
 * whole resource should be sent (no header, a unit other than bytes, several ranges) and
 * `"unsatisfiable"` for a range that starts past the end.
 */
export const parseRange = (header: string | undefined, size: number): ByteRange | "unsatisfiable" | undefined => {
  if (header === undefined) return undefined
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (match === null) return undefined
  const [, first, last] = match
  if (first === "" && last === "") return undefined
  if (first === "") {
    const suffix = Number(last)
    if (suffix === 0) return "unsatisfiable"
    return { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  if (start >= size) return "unsatisfiable"
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1)
  if (end < start) return undefined
  return { start, end }
}

const chunkSize = 1024 * 1024
const zeros = Buffer.alloc(chunkSize)

/** Streams bytes `start..end` (inclusive) of an asset, with backpressure. */
export const stream = (a: Asset, start: number, end: number): Readable => {
  const file = a.fixture.bytes
  const header = a.size > file.length ? freeBoxHeader(a.size - file.length) : Buffer.alloc(0)
  const headerEnd = file.length + header.length
  let position = start
  const limit = end + 1
  const slice = (): Buffer => {
    const stop = Math.min(limit, position + chunkSize)
    if (position < file.length) return file.subarray(position, Math.min(stop, file.length))
    if (position < headerEnd) return header.subarray(position - file.length, Math.min(stop, headerEnd) - file.length)
    // The padding is zeros; one shared buffer is handed out repeatedly since nobody writes to it.
    return zeros.subarray(0, stop - position)
  }
  return new Readable({
    highWaterMark: 2 * chunkSize,
    read() {
      while (position < limit) {
        const chunk = slice()
        position += chunk.length
        if (!this.push(chunk)) return
      }
      this.push(null)
    }
  })
}
