import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as NodeFs from "node:fs"
import type * as Http from "node:http"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { UrlAsset } from "../src/AssetSource.js"
import * as Download from "../src/Download.js"
import * as PartRecord from "../src/PartRecord.js"
import { DownloadFailed, MalformedResponse } from "../src/VideoError.js"
import { serve } from "./helpers/httpServer.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "reelay-part-"))),
  (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
)

const data = randomBytes(1024 * 1024 + 4321)
const other = randomBytes(data.length)

/** Serves `body` with an `ETag`, honouring `Range` and `If-Range` as RFC 9110 says (a stale validator gets it all). */
const sendEntity = (
  request: Http.IncomingMessage,
  response: Http.ServerResponse,
  body: Uint8Array,
  etag: string,
  options: { readonly cutAfter?: number; readonly ignoreIfRange?: boolean } = {}
) => {
  const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? "")
  const ifRange = request.headers["if-range"]
  const partial = range !== null && (options.ignoreIfRange === true || ifRange === undefined || ifRange === etag)
  const start = partial ? Number(range![1]) : 0
  response.writeHead(partial ? 206 : 200, {
    etag,
    "content-length": body.length - start,
    ...(partial ? { "content-range": `bytes ${start}-${body.length - 1}/${body.length}` } : {})
  })
  const rest = body.subarray(start)
  if (options.cutAfter !== undefined) {
    response.write(rest.subarray(0, options.cutAfter), () => request.socket.destroy())
    return
  }
  response.end(rest)
}

const recordOf = (part: string, fields: Partial<PartRecord.PartRecord> = {}) => {
  const stats = NodeFs.statSync(part, { bigint: true })
  return new PartRecord.PartRecord({
    version: 1,
    part: NodePath.resolve(part),
    device: String(stats.dev),
    inode: String(stats.ino),
    taskId: "task-1",
    totalBytes: data.length,
    ...fields
  })
}

describe("PartRecord", () => {
  it.scoped("writes, reads and removes a record, never another file's", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const store = { directory: NodePath.join(dir, "records") }
      const part = NodePath.join(dir, "video.mp4.part")
      NodeFs.writeFileSync(part, "bytes")
      const record = recordOf(part, { etag: '"v1"' })
      assert.isTrue(yield* PartRecord.write(record, store))
      assert.strictEqual((NodeFs.statSync(store.directory).mode & 0o777).toString(8), "700")
      assert.isTrue(PartRecord.equivalent((yield* PartRecord.read(part, store))!, record))
      assert.isUndefined(yield* PartRecord.read(NodePath.join(dir, "other.mp4.part"), store))
      yield* PartRecord.remove(part, store)
      assert.isUndefined(yield* PartRecord.read(part, store))
      assert.deepStrictEqual(NodeFs.readdirSync(store.directory), [], "no temporary file left")
    })
  )

  it.scoped("a store removed while the process runs is made again by the next write", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const store = { directory: NodePath.join(dir, "records") }
      const part = NodePath.join(dir, "video.mp4.part")
      NodeFs.writeFileSync(part, "bytes")
      assert.isTrue(yield* PartRecord.write(recordOf(part), store))
      // The store is proven once per process; a temp cleaner removes it afterwards.
      NodeFs.rmSync(store.directory, { recursive: true })
      assert.isTrue(yield* PartRecord.write(recordOf(part, { etag: '"v2"' }), store))
      assert.strictEqual((NodeFs.statSync(store.directory).mode & 0o777).toString(8), "700")
      assert.strictEqual((yield* PartRecord.read(part, store))?.etag, '"v2"')
    })
  )

  it.scoped("trusts no store open to others, and follows no link to a record", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const part = NodePath.join(dir, "video.mp4.part")
      NodeFs.writeFileSync(part, "bytes")
      const open = NodePath.join(dir, "open")
      NodeFs.mkdirSync(open, { mode: 0o777 })
      NodeFs.chmodSync(open, 0o777)
      assert.isFalse(yield* PartRecord.write(recordOf(part), { directory: open }))
      assert.isUndefined(yield* PartRecord.read(part, { directory: open }))

      const store = { directory: NodePath.join(dir, "records") }
      assert.isTrue(yield* PartRecord.write(recordOf(part), store))
      const [name] = NodeFs.readdirSync(store.directory)
      const planted = NodePath.join(dir, "planted.json")
      NodeFs.renameSync(NodePath.join(store.directory, name!), planted)
      NodeFs.symlinkSync(planted, NodePath.join(store.directory, name!))
      assert.isUndefined(yield* PartRecord.read(part, store), "a record reached through a link is none")
    })
  )

  it("tells why a .part may not be resumed", () => {
    const record = new PartRecord.PartRecord({
      version: 1,
      part: "/out/v.mp4.part",
      device: "1",
      inode: "2",
      taskId: "task-1",
      totalBytes: 100
    })
    const candidate = { taskId: "task-1", device: "1", inode: "2", size: 40, totalBytes: 100 }
    assert.isUndefined(PartRecord.mismatch(record, candidate))
    assert.isUndefined(PartRecord.mismatch(record, { ...candidate, totalBytes: undefined }))
    assert.include(PartRecord.mismatch(undefined, candidate), "no record")
    assert.include(PartRecord.mismatch(record, { ...candidate, taskId: "task-2" }), "task task-1")
    assert.include(PartRecord.mismatch(record, { ...candidate, inode: "3" }), "not the file recorded")
    assert.include(PartRecord.mismatch(record, { ...candidate, totalBytes: 99 }), "100 bytes")
    assert.include(PartRecord.mismatch(record, { ...candidate, size: 101 }), "longer")
  })

  it("reads validators: strong ETags only, and If-Range takes the ETag first", () => {
    assert.deepStrictEqual(PartRecord.validatorOf({ etag: '"a"', "last-modified": "Mon, 01 Jan 2024 00:00:00 GMT" }), {
      etag: '"a"',
      lastModified: "Mon, 01 Jan 2024 00:00:00 GMT"
    })
    assert.deepStrictEqual(PartRecord.validatorOf({ etag: 'W/"a"' }), {})
    assert.strictEqual(PartRecord.ifRange({ etag: '"a"', lastModified: "x" }), '"a"')
    assert.strictEqual(PartRecord.ifRange({ lastModified: "x" }), "x")
    assert.isUndefined(PartRecord.ifRange({}))
    assert.isFalse(PartRecord.sameValidator({ etag: '"a"' }, {}))
  })
})

layer(NodeHttpClient.layerUndici, { excludeTestServices: true })("Download and its .part", (it) => {
  const setup = Effect.gen(function* () {
    const dir = yield* tempDir
    const path = NodePath.join(dir, "out", "video.mp4")
    NodeFs.mkdirSync(NodePath.dirname(path))
    const records = { directory: NodePath.join(dir, "records") }
    return { dir, path, part: `${path}.part`, records }
  })
  const fast = { retry: { attempts: 2, baseDelay: "5 millis", maxDelay: "20 millis" } } as const

  it.scoped("never opens a .part through a link: the link is replaced, what it points to untouched", () =>
    Effect.gen(function* () {
      const { dir, path, part, records } = yield* setup
      const server = yield* serve((request, response) => sendEntity(request, response, data, '"v1"'))
      const outside = NodePath.join(dir, "outside.txt")
      NodeFs.writeFileSync(outside, "the user's own file")
      NodeFs.symlinkSync(outside, part)
      const result = yield* Download.download({
        asset: new UrlAsset({ url: server.url("/v.mp4") }),
        path,
        taskId: "task-1",
        records
      })
      assert.strictEqual(NodeFs.readFileSync(outside, "utf8"), "the user's own file")
      assert.isTrue(NodeFs.readFileSync(result.path).equals(data))
      assert.isUndefined(server.requests[0]!.headers.range, "nothing resumed from a link")
      assert.deepStrictEqual(NodeFs.readdirSync(NodePath.dirname(path)), ["video.mp4"])
    })
  )

  it.scoped("refuses a .part that is a directory, and leaves it", () =>
    Effect.gen(function* () {
      const { path, part, records } = yield* setup
      const server = yield* serve((request, response) => sendEntity(request, response, data, '"v1"'))
      NodeFs.mkdirSync(part)
      NodeFs.writeFileSync(NodePath.join(part, "keep"), "x")
      const error = yield* Effect.flip(
        Download.download({ asset: new UrlAsset({ url: server.url("/v.mp4") }), path, taskId: "task-1", records })
      )
      assert.instanceOf(error, DownloadFailed)
      assert.include(error.message, "is not a regular file")
      assert.strictEqual(server.requests.length, 0)
      assert.isTrue(NodeFs.existsSync(NodePath.join(part, "keep")))
    })
  )

  const mkfifo = spawnSync("mkfifo", ["--version"]).status === 0
  it.scoped.skipIf(!mkfifo)("refuses a FIFO .part without blocking on it, and leaves it", () =>
    Effect.gen(function* () {
      const { path, part, records } = yield* setup
      const server = yield* serve((request, response) => sendEntity(request, response, data, '"v1"'))
      assert.strictEqual(spawnSync("mkfifo", [part]).status, 0)
      const error = yield* Effect.flip(
        Download.download({ asset: new UrlAsset({ url: server.url("/v.mp4") }), path, taskId: "task-1", records })
      ).pipe(Effect.timeout("10 seconds"))
      assert.instanceOf(error, DownloadFailed)
      assert.include(error.message, "is not a regular file")
      assert.isTrue(NodeFs.lstatSync(part).isFIFO())
      assert.strictEqual(server.requests.length, 0)
    })
  )

  for (const [name, plant] of [
    ["with no record", () => Effect.void],
    [
      "recorded for another task",
      (part: string, records: PartRecord.StoreOptions) =>
        Effect.asVoid(PartRecord.write(recordOf(part, { taskId: "task-0" }), records))
    ],
    [
      "recorded for another length",
      (part: string, records: PartRecord.StoreOptions) =>
        Effect.asVoid(PartRecord.write(recordOf(part, { totalBytes: data.length + 1 }), records))
    ]
  ] as const) {
    it.scoped(`drops a .part ${name} and downloads from byte 0`, () =>
      Effect.gen(function* () {
        const { path, part, records } = yield* setup
        const server = yield* serve((request, response) => sendEntity(request, response, data, '"v1"'))
        NodeFs.writeFileSync(part, other.subarray(0, 300_000))
        yield* plant(part, records)
        const result = yield* Download.download({
          asset: new UrlAsset({ url: server.url("/v.mp4"), size: data.length }),
          path,
          taskId: "task-1",
          records
        })
        assert.strictEqual(server.requests.length, 1)
        assert.isUndefined(server.requests[0]!.headers.range)
        assert.isTrue(NodeFs.readFileSync(result.path).equals(data))
        assert.isUndefined(yield* PartRecord.read(part, records), "the record went with the .part")
      })
    )
  }

  it.scoped("a failed download keeps its .part and record; the same task resumes it with Range and If-Range", () =>
    Effect.gen(function* () {
      const { path, part, records } = yield* setup
      const cut = yield* serve((request, response) =>
        sendEntity(request, response, data, '"v1"', { cutAfter: 600_000 })
      )
      const failed = yield* Effect.flip(
        Download.download({
          asset: new UrlAsset({ url: cut.url("/v.mp4") }),
          path,
          taskId: "task-1",
          records,
          retry: { attempts: 0 }
        })
      )
      assert.instanceOf(failed, DownloadFailed)
      const kept = NodeFs.statSync(part).size
      assert.isAbove(kept, 0)
      const record = yield* PartRecord.read(part, records)
      assert.strictEqual(record?.taskId, "task-1")
      assert.strictEqual(record?.etag, '"v1"')
      assert.strictEqual(record?.totalBytes, data.length)

      // A fresh link on another host, as after a crash or a refused link.
      const fresh = yield* serve((request, response) => sendEntity(request, response, data, '"v1"'))
      const result = yield* Download.download({
        asset: new UrlAsset({ url: fresh.url("/v.mp4") }),
        path,
        taskId: "task-1",
        records
      })
      assert.strictEqual(fresh.requests.length, 1)
      assert.strictEqual(fresh.requests[0]!.headers.range, `bytes=${kept}-`)
      assert.strictEqual(fresh.requests[0]!.headers["if-range"], '"v1"')
      assert.isTrue(NodeFs.readFileSync(result.path).equals(data))
      assert.isUndefined(yield* PartRecord.read(part, records))
    })
  )

  it.scoped("If-Range answered with the whole file (it changed): starts over from byte 0", () =>
    Effect.gen(function* () {
      const { path, part, records } = yield* setup
      NodeFs.writeFileSync(part, data.subarray(0, 500_000))
      yield* PartRecord.write(recordOf(part, { etag: '"v1"', totalBytes: other.length }), records)
      const server = yield* serve((request, response) => sendEntity(request, response, other, '"v2"'))
      const result = yield* Download.download({
        asset: new UrlAsset({ url: server.url("/v.mp4") }),
        path,
        taskId: "task-1",
        records
      })
      assert.strictEqual(server.requests.length, 1)
      assert.strictEqual(server.requests[0]!.headers["if-range"], '"v1"')
      assert.isTrue(NodeFs.readFileSync(result.path).equals(other), "the new file, whole")
    })
  )

  it.scoped("a 206 with another validator (If-Range ignored): dropped, then downloaded from byte 0", () =>
    Effect.gen(function* () {
      const { path, part, records } = yield* setup
      NodeFs.writeFileSync(part, data.subarray(0, 500_000))
      yield* PartRecord.write(recordOf(part, { etag: '"v1"', totalBytes: other.length }), records)
      const server = yield* serve((request, response) =>
        sendEntity(request, response, other, '"v2"', { ignoreIfRange: true })
      )
      const result = yield* Download.download({
        asset: new UrlAsset({ url: server.url("/v.mp4") }),
        path,
        taskId: "task-1",
        records,
        ...fast
      })
      assert.strictEqual(server.requests.length, 2)
      assert.isUndefined(server.requests[1]!.headers.range)
      assert.isTrue(NodeFs.readFileSync(result.path).equals(other))
    })
  )

  it.scoped("bytes that fail verify never take the output's name: kept as .rejected, the record gone", () =>
    Effect.gen(function* () {
      const { path, part, records } = yield* setup
      const server = yield* serve((request, response) => sendEntity(request, response, data, '"v1"'))
      const seen: Array<{ readonly file: string; readonly atPath: boolean }> = []
      const error = yield* Effect.flip(
        Download.download({
          asset: new UrlAsset({ url: server.url("/v.mp4") }),
          path,
          taskId: "task-1",
          records,
          verify: (file) =>
            Effect.suspend(() => {
              seen.push({ file, atPath: NodeFs.existsSync(path) })
              return Effect.fail(new MalformedResponse({ message: `${path} is not a video` }))
            })
        })
      )
      assert.instanceOf(error, MalformedResponse)
      assert.deepStrictEqual(seen, [{ file: part, atPath: false }])
      assert.isFalse(NodeFs.existsSync(path), "nothing under the output's name")
      assert.isTrue(NodeFs.readFileSync(`${path}.rejected`).equals(data))
      assert.isUndefined(yield* PartRecord.read(part, records))
      assert.deepStrictEqual(NodeFs.readdirSync(NodePath.dirname(path)), ["video.mp4.rejected"])
    })
  )
})
