/**
 * Not a product: a lean Node reader, to show what plain Node does on this machine with the guarantees
 * that cost time — SHA-256 inline, `.part` then fsync and rename — and none of the others (no Effect,
 * no resume, no redirects, no size checks): `node:http` with 256 KiB reads, 512 KiB `writev` batches
 * on the thread pool (one in flight), the hash on the main thread. Not a floor: a leaner or better
 * overlapped path may well go faster.
 */
import { createHash } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodeHttp from "node:http"
import { input, report } from "./common.js"

const { outDir, settings } = input()
const url = String(settings.url)
const path = `${outDir}/lean.mp4`

const main = async () => {
  const startedAt = Date.now()
  const hash = createHash("sha256")
  const fd = NodeFs.openSync(`${path}.part`, "w")
  let position = 0
  await new Promise<void>((resolve, reject) => {
    // `highWaterMark` (256 KiB socket reads) is honoured by Node 20 but missing from its types.
    NodeHttp.get(url, { highWaterMark: 256 * 1024 } as NodeHttp.RequestOptions, (response) => {
      let pending: Array<Buffer> = []
      let size = 0
      let writing: Promise<void> | undefined
      const flush = () => {
        const batch = pending
        const at = position
        position += size
        pending = []
        size = 0
        for (const bytes of batch) hash.update(bytes)
        writing = new Promise((done, fail) =>
          NodeFs.writev(fd, batch, at, (error) => {
            writing = undefined
            if (error === null) done()
            else fail(error)
          })
        )
      }
      response.on("data", (chunk: Buffer) => {
        pending.push(chunk)
        size += chunk.length
        if (size < 512 * 1024) return
        if (writing === undefined) return flush()
        response.pause()
        writing.then(() => {
          flush()
          response.resume()
        }, reject)
      })
      response.on("end", async () => {
        try {
          await writing
          if (size > 0) flush()
          await writing
          resolve()
        } catch (error) {
          reject(error)
        }
      })
      response.on("error", reject)
    }).on("error", reject)
  })
  NodeFs.fsyncSync(fd)
  NodeFs.closeSync(fd)
  NodeFs.renameSync(`${path}.part`, path)
  report({ startedAt, endedAt: Date.now(), saved: 1, failed: 0, bytes: position, sha256: hash.digest("hex") })
}

void main()
