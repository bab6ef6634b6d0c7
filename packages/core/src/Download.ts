/**
 * The streaming download of a finished video: bytes go to `<path>.part` as they arrive, hashed on
 * the way, and the file is renamed to `<path>` only once it is complete and on disk (fsync). The
 * whole video is never in memory.
 *
 * Credentials go only to the provider's own origin: a CDN link it hands out, or a redirect to
 * another origin, gets none. With a `network` policy, every hop's target is checked before it is
 * requested (`NetworkPolicy`: no link into the user's own machine or network). A cut transfer resumes
 * with `Range` (and `If-Range`) from what is on disk, including a `.part` left behind by a crashed
 * process or a failed download — but only a `.part` its record ties to the same task and length
 * (`PartRecord`); any other is dropped and the download starts from byte 0. The `.part` is never
 * opened through a link. With `verify`, the complete file is checked before it takes `<path>`.
 *
 * The receive loop is shaped by measurement. Read as an Effect `Stream`, a body cost an Effect step
 * per 64 KiB chunk. With undici (`NodeHttpClient.layerUndici`, what the CLI and the engine use) its
 * Node stream is read with plain listeners instead: per chunk, a size check and a push onto the
 * pending batch; a full batch (512 KiB) is hashed inline and written with one `writev` on the thread
 * pool while the next one fills, with an `fdatasync` in the background every 64 MiB. The fiber steps
 * in only when something needs it (the record before the first write, a write still in flight,
 * progress every 250 ms, the end), so the watchdog, interruption and every check stay Effect code.
 * Writes stay asynchronous, not `writeSync`: a stalled disk must not freeze the event loop, and the
 * watchdog and Ctrl-C with it. Other clients' bodies and a provider's byte stream are read as a
 * `Stream` into the same batches. Measured on 256 MiB from loopback (8 interleaved runs on a shared,
 * busy 2-core machine, process start-up left out), CPU s per GiB, min / median: 5.4 / 6.0 before,
 * 4.7 / 5.0 now; copying each chunk into two reusable 512 KiB buffers instead cost 5.5 / 5.7 (undici
 * hands over a fresh buffer per socket read whatever we do, so a copy is only one more pass over the
 * bytes). A bare `node:http` reader with the same hash and writes: 3.5 / 4.0. Peak RSS stays ~130 MB,
 * most of it undici's: reading the same body through it and doing nothing else peaks at ~135 MB.
 * Going lower means reading below `HttpClient`.
 *
 * @since 0.1.0
 */

import { createHash, type Hash } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as NodeStream from "node:stream"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { AssetSource, StreamAsset, UrlAsset } from "./AssetSource.js"
import { errorCodes, retryAfterMillis } from "./Http.js"
import * as NetworkPolicy from "./NetworkPolicy.js"
import * as OutputPath from "./OutputPath.js"
import * as PartRecord from "./PartRecord.js"
import * as RetryPolicy from "./RetryPolicy.js"
import { DownloadFailed, type MalformedResponse, TaskExpired, type VideoError } from "./VideoError.js"
import type { Credentials } from "./VideoProvider.js"

/**
 * How often and how long a cut transfer is resumed: `RetryPolicy.schedule`, the schedule of API calls
 * too, with these names (`attempts` is its `maxRetries`).
 */
export interface RetryOptions {
  /** Attempts after the first one. Default 5. */
  readonly attempts?: number | undefined
  /** The first delay; it doubles on each retry, jittered (±20 %). Default 500 ms. */
  readonly baseDelay?: Duration.DurationInput | undefined
  /** The longest delay between two attempts, before the jitter. Default 15 s. */
  readonly maxDelay?: Duration.DurationInput | undefined
  /**
   * The longest `Retry-After` (of a 429 or 5xx) waited for; a longer one ends the retries, as in
   * `RetryPolicy`. Default 2 minutes.
   */
  readonly maxServerDelay?: Duration.DurationInput | undefined
}

export interface DownloadOptions {
  readonly asset: AssetSource
  /**
   * The final path. Bytes are written to `${path}.part`, which takes this name when complete
   * (`OutputPath.place`): a file already there is kept, and the video saved beside it
   * (`fox (2).mp4`, the `path` of the result) unless `overwrite`.
   */
  readonly path: string
  /** Replace a file that is at `path` when the download completes (default `false`). */
  readonly overwrite?: boolean | undefined
  /**
   * Sent only when a request goes to `credentials.origin` exactly (scheme, host and port), checked
   * again after every redirect hop; never to a CDN.
   */
  readonly credentials?: Credentials | undefined
  /** For error annotation. */
  readonly provider?: string | undefined
  /**
   * The task whose video this is: errors name it, and the `.part` file's record ties its bytes to it
   * (`PartRecord`). Without it, a `.part` left by an earlier run is never resumed.
   */
  readonly taskId?: string | undefined
  /** More bytes than this fails the download (not transient) and removes the `.part`. Default 4 GiB. */
  readonly maxBytes?: number | undefined
  /** Default 5. */
  readonly maxRedirects?: number | undefined
  /** No bytes (or no response) for this long fails the attempt, which is then resumed. Default 60 s. */
  readonly idleTimeout?: Duration.DurationInput | undefined
  /**
   * Fewer bytes than this per second, averaged over any `idleTimeout` window, fails the attempt like
   * silence does (then resumed): a server trickling a byte now and then never keeps a download alive
   * for ever. Default 1024 (1 KiB/s); 0 checks silence only.
   */
  readonly minBytesPerSecond?: number | undefined
  readonly retry?: RetryOptions | undefined
  /**
   * Called when the download starts, at most every 250 ms while bytes arrive, and once at the end.
   * `receivedBytes` only grows, except when a server ignores `Range` and the transfer restarts from 0.
   */
  readonly onProgress?: ((receivedBytes: number, totalBytes: number | undefined) => Effect.Effect<void>) | undefined
  /** Called before each resume attempt (`attempt` counts from 1) with the delay about to be waited. */
  readonly onRetry?: ((attempt: number, delayMillis: number, error: DownloadFailed) => Effect.Effect<void>) | undefined
  /**
   * Where the link and every redirect may lead (`NetworkPolicy`): each hop's host is resolved and
   * checked before it is requested, and a refused one fails the download (`refusedTarget`). Without
   * it nothing is checked; the engine always passes one.
   */
  readonly network?: NetworkPolicy.Options | undefined
  /**
   * Checks the complete file (probing it as a video, say) while it is still `${path}.part`: a file
   * that fails is set aside as `${path}.rejected` and the download fails with the check's error, so
   * rejected bytes never sit under `path`, not even briefly.
   */
  readonly verify?: ((file: string) => Effect.Effect<void, MalformedResponse>) | undefined
  /** Where the `.part` file's record is kept (`PartRecord`; default its own directory under the system's temporary one). */
  readonly records?: PartRecord.StoreOptions | undefined
}

/** How a download fails: the transfer, the link's expiry, or `verify` (bytes that are not a video). */
export type DownloadError = DownloadFailed | TaskExpired | MalformedResponse

/** A complete file at `path`, flushed to disk. */
export interface Downloaded {
  readonly path: string
  readonly bytes: number
  /** Hex SHA-256 of the file. */
  readonly sha256: string
}

/**
 * The download's retry options as `RetryPolicy`'s, whose schedule serves downloads and API calls alike;
 * only the longest delay differs by default (15 s: a transfer cut mid-way is worth resuming soon).
 */
const retryPolicyOptions = (retry: RetryOptions): Partial<RetryPolicy.RetryOptions> => ({
  maxDelay: retry.maxDelay ?? Duration.seconds(15),
  ...(retry.attempts === undefined ? {} : { maxRetries: retry.attempts }),
  ...(retry.baseDelay === undefined ? {} : { baseDelay: retry.baseDelay }),
  ...(retry.maxServerDelay === undefined ? {} : { maxServerDelay: retry.maxServerDelay })
})

const defaultMaxBytes = 4 * 1024 ** 3
const defaultMinBytesPerSecond = 1024
// Received chunks are batched, not copied: one `writev` per 512 KiB (or per 1024 chunks). Copying them
// into a reusable buffer instead measured slower (see the module's doc).
const batchBytes = 512 * 1024
const batchBuffers = 1024
const syncEveryBytes = 64 * 1024 * 1024
const progressIntervalMillis = 250
const redirectStatuses: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])
// A refusal on a download link almost always means the signed link expired or was revoked.
const refusedStatuses: ReadonlySet<number> = new Set([401, 403, 404, 410])

/** The origin (`scheme://host:port`) of a URL, or `undefined` when it does not parse. */
const originOf = (url: string): string | undefined => {
  try {
    const origin = new URL(url).origin
    return origin === "null" ? undefined : origin
  } catch {
    return undefined
  }
}

/** The first error code (`ECONNRESET`, ...) in a cause chain. Never a message: messages may hold a URL. */
const errorCode = (cause: unknown): string | undefined => errorCodes(cause)[0]

// Said with every local file system failure: the video is not lost, only the path failed.
const savedElsewhere = "the video itself is made (and paid for) and can still be saved to another path"

/**
 * The message of a local file system failure: the path, the OS error code in words, and that the video
 * can be saved elsewhere. Such a failure is always final: retrying cannot fix a permission, a full disk
 * or a read-only mount, and it is no network failure.
 */
const localFailureMessage = (what: string, path: string, cause: unknown): string => {
  const code = errorCode(cause)
  return `cannot ${what} ${path}: ${code === undefined ? "file system error" : OutputPath.describeCode(code)}; ${savedElsewhere}`
}

const parseLength = (value: string | undefined): number | undefined => {
  if (value === undefined || !/^\d{1,16}$/.test(value.trim())) return undefined
  return Number(value.trim())
}

/** `Content-Range: bytes 100-199/1000` (total may be `*`). */
const parseContentRange = (
  value: string | undefined
): { readonly start: number; readonly end: number; readonly total: number | undefined } | undefined => {
  const match = value === undefined ? null : /^\s*bytes\s+(\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)\s*$/i.exec(value)
  if (match === null) return undefined
  return {
    start: Number(match[1]),
    end: Number(match[2]),
    total: match[3] === "*" ? undefined : Number(match[3])
  }
}

/** `Content-Range: bytes *\/1000`, the form of a 416 answer. */
const parseUnsatisfiedRange = (value: string | undefined): number | undefined => {
  const match = value === undefined ? null : /^\s*bytes\s+\*\/(\d{1,16})\s*$/i.exec(value)
  return match === null ? undefined : Number(match[1])
}

interface FailureContext {
  readonly provider?: string | undefined
  readonly taskId?: string | undefined
  origin?: string | undefined
}

interface FailureDetails {
  readonly transient: boolean
  readonly httpStatus?: number | undefined
  readonly receivedBytes?: number | undefined
  readonly expectedBytes?: number | undefined
  readonly retryAfterMillis?: number | undefined
  readonly refusedTarget?: boolean | undefined
}

const makeFailure = (context: FailureContext, message: string, details: FailureDetails): DownloadFailed =>
  new DownloadFailed({
    message,
    transient: details.transient,
    ...(context.provider === undefined ? {} : { provider: context.provider }),
    ...(context.taskId === undefined ? {} : { taskId: context.taskId }),
    ...(context.origin === undefined ? {} : { origin: context.origin }),
    ...(details.httpStatus === undefined ? {} : { httpStatus: details.httpStatus }),
    ...(details.receivedBytes === undefined ? {} : { receivedBytes: details.receivedBytes }),
    ...(details.expectedBytes === undefined ? {} : { expectedBytes: details.expectedBytes }),
    ...(details.retryAfterMillis === undefined ? {} : { retryAfterMillis: details.retryAfterMillis }),
    ...(details.refusedTarget === true ? { refusedTarget: true } : {})
  })

/**
 * Writes `buffers` at `position`, continuing after short writes. Callback-based on purpose: it runs
 * on libuv's thread pool while the main thread receives and hashes the next batch.
 */
const writeAll = (fd: number, buffers: Array<Uint8Array>, position: number, done: (error: unknown) => void): void =>
  NodeFs.writev(fd, buffers, position, (error, count) => {
    if (error !== null) return done(error)
    if (count === 0) return done(new Error("short write"))
    let rest = count
    let index = 0
    while (index < buffers.length && rest >= buffers[index]!.length) {
      rest -= buffers[index]!.length
      index++
    }
    if (index === buffers.length) return done(null)
    const remaining = buffers.slice(index)
    if (rest > 0) remaining[0] = remaining[0]!.subarray(rest)
    writeAll(fd, remaining, position + count, done)
  })

/**
 * The `.part` file. Plain mutable state on purpose: `accept` is the hot path, called once per
 * received chunk, and it neither copies bytes nor builds an Effect. Received chunks are batched
 * (512 KiB), hashed on the main thread and written with one `writev` on the thread pool, one batch in
 * flight while the next one fills: receiving, hashing and writing overlap instead of taking turns.
 *
 * `hashed` bytes have been fed to the hash and handed to the disk; once `settle` has run they are
 * all on disk, so a resume continues from `hashed` with a hash that matches the file. A failed
 * write is final for this download (the next run re-hashes what is on disk).
 */
class PartFile {
  hashed = 0
  pendingBytes = 0
  /** Set when the content is known to be wrong (too large): the file is removed, not kept for a resume. */
  discard = false
  closed = false
  /** What the bytes in the file are (length, server validator), once a server or the record said so. */
  entity: Entity | undefined = undefined
  /** The record stored for the file (`PartRecord`), as written or found. */
  record: PartRecord.PartRecord | undefined = undefined
  private pending: Array<Uint8Array> = []
  private beforeWrite: Array<Effect.Effect<void, DownloadFailed>> = []
  private hash: Hash = createHash("sha256")
  private written = 0
  private writing: Promise<void> | undefined = undefined
  private failure: DownloadFailed | undefined = undefined
  private durable = 0
  private syncing: Promise<void> | undefined = undefined

  constructor(
    readonly handle: NodeFs.promises.FileHandle,
    readonly path: string,
    readonly fail: (message: string, details: FailureDetails) => DownloadFailed,
    /** Device and inode (decimal): what the record names, and what is renamed at the end. */
    readonly identity: { readonly device: string; readonly inode: string }
  ) {}

  get received(): number {
    return this.hashed + this.pendingBytes
  }

  /**
   * Takes `bytes` (kept as they are until written, never copied) and hands a full batch to the disk
   * when nothing stands in the way. `false` when `commit` must run before more bytes come: the full
   * batch waits for the write in flight, for the record (`ahead`), or for a failed write to be reported.
   */
  accept(bytes: Uint8Array): boolean {
    if (bytes.length > 0) {
      this.pending.push(bytes)
      this.pendingBytes += bytes.length
    }
    if (!this.full()) return true
    if (this.failure !== undefined || this.writing !== undefined || this.beforeWrite.length > 0) return false
    this.write()
    return true
  }

  /** Hands a full batch to the disk, waiting for what stands in the way (see `accept`). */
  readonly commit: Effect.Effect<void, DownloadFailed> = Effect.suspend(() =>
    this.full() ? (this.dispatch() ?? Effect.void) : this.check()
  )

  /** Writes everything received and waits until it is on disk (not yet fsync'ed). */
  readonly settle: Effect.Effect<void, DownloadFailed> = Effect.suspend(() => {
    const dispatched = this.pending.length === 0 ? undefined : this.dispatch()
    return Effect.zipRight(
      dispatched ?? Effect.void,
      Effect.suspend(() => (this.writing === undefined ? this.check() : Effect.zipRight(this.idle(), this.settle)))
    )
  })

  /** Starts again from byte 0 (a server that ignores `Range`, a file that changed). */
  readonly reset: Effect.Effect<void, DownloadFailed> = Effect.suspend(() =>
    Effect.zipRight(
      this.idle(),
      Effect.suspend(() => {
        this.pending = []
        this.pendingBytes = 0
        this.hashed = 0
        this.written = 0
        this.durable = 0
        this.hash = createHash("sha256")
        try {
          NodeFs.ftruncateSync(this.handle.fd, 0)
          return this.check()
        } catch (cause) {
          return Effect.fail(this.fail(localFailureMessage("truncate", this.path, cause), { transient: false }))
        }
      })
    )
  )

  /**
   * Runs `work` (the record that vouches for the bytes) before the next bytes reach the disk, without
   * holding up their arrival: a response body is read from the moment it comes, and a body its server
   * cuts early keeps what arrived.
   */
  ahead(work: Effect.Effect<void, DownloadFailed>): void {
    this.beforeWrite.push(work)
  }

  /** Takes bytes already on disk (a `.part` from an earlier run) into the hash. */
  adopt(bytes: Uint8Array): void {
    this.hash.update(bytes)
    this.hashed += bytes.length
    this.written += bytes.length
  }

  digest(): string {
    return this.hash.digest("hex")
  }

  /** Waits for every write and background sync, so the descriptor can be fsync'ed or closed. */
  readonly quiesce: Effect.Effect<void> = Effect.suspend(() => {
    const busy = [this.writing, this.syncing].filter((promise) => promise !== undefined)
    return busy.length === 0
      ? Effect.void
      : Effect.zipRight(
          Effect.promise(() => Promise.all(busy)),
          this.quiesce
        )
  })

  private full(): boolean {
    return this.pendingBytes >= batchBytes || this.pending.length >= batchBuffers
  }

  private check(): Effect.Effect<void, DownloadFailed> {
    return this.failure === undefined ? Effect.void : Effect.fail(this.failure)
  }

  private idle(): Effect.Effect<void> {
    const writing = this.writing
    return writing === undefined ? Effect.void : Effect.promise(() => writing)
  }

  /** Writes what is pending, or the Effect that waits for what stands in the way first. */
  private dispatch(): Effect.Effect<void, DownloadFailed> | undefined {
    if (this.failure !== undefined) return Effect.fail(this.failure)
    // One write in flight at a time: memory stays at two batches. Waiting re-enters `dispatch` from
    // the fiber, so an attempt interrupted meanwhile starts nothing.
    if (this.writing !== undefined)
      return Effect.zipRight(
        this.idle(),
        Effect.suspend(() => this.dispatch() ?? Effect.void)
      )
    if (this.beforeWrite.length > 0) {
      const work = Effect.all(this.beforeWrite, { discard: true })
      this.beforeWrite = []
      return Effect.zipRight(
        work,
        Effect.suspend(() => this.dispatch() ?? Effect.void)
      )
    }
    if (this.pending.length > 0) this.write()
    return undefined
  }

  private write(): void {
    const batch = this.pending
    const size = this.pendingBytes
    this.pending = []
    this.pendingBytes = 0
    for (const bytes of batch) this.hash.update(bytes)
    const position = this.hashed
    this.hashed += size
    this.writing = new Promise<void>((resolve) =>
      writeAll(this.handle.fd, batch, position, (error) => {
        this.writing = undefined
        if (error === null) {
          this.written = position + size
          this.syncInBackground()
        } else {
          this.failure = this.fail(localFailureMessage("write", this.path, error), {
            transient: false,
            receivedBytes: this.written
          })
          try {
            NodeFs.ftruncateSync(this.handle.fd, this.written)
          } catch {
            this.discard = true
          }
        }
        resolve()
      })
    )
  }

  // Flushes to disk every 64 MiB while the download runs: the final fsync then has little left to
  // do, and a multi-GiB download does not pile up dirty pages. Errors surface at the final fsync.
  private syncInBackground(): void {
    if (this.syncing !== undefined || this.written - this.durable < syncEveryBytes) return
    const target = this.written
    this.syncing = new Promise<void>((resolve) =>
      NodeFs.fdatasync(this.handle.fd, (error) => {
        this.syncing = undefined
        if (error === null) this.durable = Math.max(this.durable, target)
        resolve()
      })
    )
  }
}

const tryFs = <A>(
  fail: (message: string, details: FailureDetails) => DownloadFailed,
  what: string,
  path: string,
  run: () => Promise<A>
): Effect.Effect<A, DownloadFailed> =>
  Effect.tryPromise({
    try: run,
    catch: (cause) => fail(localFailureMessage(what, path, cause), { transient: false })
  })

/** What the bytes of a `.part` are: the video's length and its server's validator, as far as known. */
interface Entity extends PartRecord.Validator {
  readonly totalBytes?: number | undefined
}

// A `.part` that is there but is no regular file (a FIFO, a directory, a device, a socket).
class NotRegular extends Error {}

const noFollow = NodeFs.constants.O_NOFOLLOW ?? 0
const nonBlocking = NodeFs.constants.O_NONBLOCK ?? 0

/**
 * Opens `path` read-write, creating it, never through a link: a link found there is removed (the link
 * itself; whatever it points to is never opened, let alone rewritten) and the file made anew. Anything
 * else that is not a regular file is refused without being opened, and `O_NONBLOCK` keeps a FIFO
 * swapped in meanwhile from blocking the open.
 */
const openNoFollow = async (
  path: string,
  attempt = 0
): Promise<{ readonly handle: NodeFs.promises.FileHandle; readonly stats: NodeFs.BigIntStats }> => {
  const found = await NodeFs.promises.lstat(path).catch((error: { code?: unknown }) => {
    if (error.code === "ENOENT") return undefined
    throw error
  })
  if (found?.isSymbolicLink() === true) await NodeFs.promises.unlink(path)
  else if (found !== undefined && !found.isFile()) throw new NotRegular()
  // Read-write without truncation: an existing `.part` is what a resume continues from.
  const handle = await NodeFs.promises.open(
    path,
    NodeFs.constants.O_RDWR | NodeFs.constants.O_CREAT | noFollow | nonBlocking,
    0o644
  )
  const stats = await handle.stat({ bigint: true }).catch(async (error) => {
    await handle.close().catch(() => undefined)
    throw error
  })
  if (!stats.isFile()) {
    await handle.close().catch(() => undefined)
    throw new NotRegular()
  }
  // A `.part` with another name (a hard link) shares its bytes with that file: the output it was just
  // saved as, when a crash came between `OutputPath.place` linking it and removing this name, or a
  // file planted there. Writing into it would rewrite that file; the name is removed and made anew.
  if (stats.nlink > 1n) {
    await handle.close().catch(() => undefined)
    if (attempt > 0) throw new NotRegular()
    await NodeFs.promises.unlink(path)
    return openNoFollow(path, attempt + 1)
  }
  return { handle, stats }
}

/**
 * Opens the `.part` file, interruptibly although it is the `acquire` of the download: a stuck open
 * (a hung network mount) must not keep Ctrl-C waiting. A descriptor that arrives after the
 * interruption is closed, and the file removed when it is empty (nothing to resume from).
 */
const openPart = (
  path: string,
  fail: (message: string, details: FailureDetails) => DownloadFailed
): Effect.Effect<PartFile, DownloadFailed> =>
  Effect.suspend(() => {
    const opening = openNoFollow(path)
    const abandon = Effect.sync(() => {
      opening
        .then(async ({ handle }) => {
          const size = await handle.stat().then(
            (stats) => stats.size,
            () => undefined
          )
          await handle.close()
          if (size === 0) await NodeFs.promises.rm(path, { force: true })
        })
        .catch(() => undefined)
    })
    return Effect.interruptible(
      Effect.tryPromise({
        try: () => opening,
        catch: (cause) =>
          fail(
            cause instanceof NotRegular
              ? `cannot write ${path}: it is not a regular file (a FIFO, a directory, a device or a socket) and is left untouched; ${savedElsewhere}`
              : localFailureMessage("open", path, cause),
            { transient: false }
          )
      })
    ).pipe(
      // Outside `interruptible`: also covers an interruption that lands after the open succeeded.
      Effect.onInterrupt(() => abandon),
      Effect.map(
        ({ handle, stats }) => new PartFile(handle, path, fail, { device: String(stats.dev), inode: String(stats.ino) })
      )
    )
  })

const closePart = (part: PartFile): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (part.closed) return Effect.void
    part.closed = true
    // Never close under a write or sync still running on the thread pool: the descriptor number could be reused.
    return Effect.zipRight(
      part.quiesce,
      Effect.promise(() => part.handle.close().catch(() => undefined))
    )
  })

/** What ties a `.part` to its video: the task, and where records are kept. */
interface Tie {
  readonly taskId: string | undefined
  readonly records: PartRecord.StoreOptions | undefined
}

/**
 * Drops the bytes of `part` for good: its record first, so that no record ever vouches for bytes of
 * another video, then the bytes, with the truncation flushed before any new record is written.
 * `beforeNextWrite`: the record's removal and the flush wait until just before the next bytes are
 * written (a response body is waiting to be read meanwhile); until then the record still describes
 * the bytes on disk, truncated or not.
 */
const dropBytes = (part: PartFile, tie: Tie, beforeNextWrite = false): Effect.Effect<void, DownloadFailed> =>
  Effect.gen(function* () {
    const forget = PartRecord.remove(part.path, tie.records)
    const flush = tryFs(part.fail, "flush", part.path, () => part.handle.datasync())
    part.record = undefined
    part.entity = undefined
    if (beforeNextWrite) {
      yield* part.reset
      part.ahead(Effect.zipRight(forget, flush))
      return
    }
    yield* forget
    yield* part.reset
    yield* flush
  })

/**
 * Takes over the bytes of a `.part` left by an earlier run (a crash, a failed download that a resume
 * or a fresh link continues), hashing them one batch at a time — only when its record ties them to
 * this task and this length. Any other `.part` (no record, another task, another file in its place,
 * another length) is someone else's: its bytes are dropped and the download starts from byte 0. The
 * server's validator is checked by the resume itself (`If-Range`).
 */
const adoptExisting = (
  part: PartFile,
  limit: number,
  tie: Tie,
  totalBytes: number | undefined
): Effect.Effect<void, DownloadFailed> =>
  Effect.gen(function* () {
    const { size } = yield* tryFs(part.fail, "inspect", part.path, () => part.handle.stat())
    const record = tie.taskId === undefined ? undefined : yield* PartRecord.read(part.path, tie.records)
    const mismatch =
      tie.taskId === undefined
        ? "no task ties it to this video"
        : PartRecord.mismatch(record, { taskId: tie.taskId, ...part.identity, size, totalBytes })
    if (mismatch === undefined && record !== undefined) {
      part.record = record
      part.entity = { totalBytes: record.totalBytes, etag: record.etag, lastModified: record.lastModified }
    }
    if (size === 0) {
      if (mismatch !== undefined && record !== undefined) yield* PartRecord.remove(part.path, tie.records)
      return
    }
    if (mismatch !== undefined) {
      yield* Effect.logDebug(`starting ${part.path} again from byte 0: ${mismatch}`)
      return yield* dropBytes(part, tie)
    }
    if (size > limit) return yield* dropBytes(part, tie)
    const buffer = Buffer.allocUnsafe(Math.min(size, batchBytes))
    while (part.hashed < size) {
      const { bytesRead } = yield* tryFs(part.fail, "read", part.path, () =>
        part.handle.read(buffer, 0, Math.min(buffer.length, size - part.hashed), part.hashed)
      )
      if (bytesRead === 0) break
      part.adopt(buffer.subarray(0, bytesRead))
    }
    // The file shrank under us (or the read failed short): start over rather than trust it.
    if (part.hashed !== size) yield* dropBytes(part, tie)
  })

/**
 * Records what the bytes about to be written are (`next`: their length and validator) before any of
 * them reaches the file: the record is written just before the first of them is (`PartFile.ahead`),
 * while the body is already being read. Bytes already there of another entity (the server's
 * validator or the length changed) are dropped first. A record that cannot be stored only costs a
 * later run a download from byte 0.
 */
const bind = (part: PartFile, next: Entity, tie: Tie): Effect.Effect<void, DownloadFailed> =>
  Effect.gen(function* () {
    const current = part.entity
    const same =
      current !== undefined &&
      PartRecord.sameValidator(current, next) &&
      (current.totalBytes === undefined || next.totalBytes === undefined || current.totalBytes === next.totalBytes)
    if (!same && part.hashed > 0) yield* dropBytes(part, tie)
    const totalBytes = next.totalBytes ?? (same ? current?.totalBytes : undefined)
    part.entity = { ...next, totalBytes }
    if (tie.taskId === undefined) return
    const record = new PartRecord.PartRecord({
      version: 1,
      part: NodePath.resolve(part.path),
      ...part.identity,
      taskId: tie.taskId,
      ...(totalBytes === undefined ? {} : { totalBytes }),
      ...(next.etag === undefined ? {} : { etag: next.etag }),
      ...(next.lastModified === undefined ? {} : { lastModified: next.lastModified })
    })
    const previous = part.record
    if (previous !== undefined && PartRecord.equivalent(previous, record)) return
    part.ahead(
      Effect.gen(function* () {
        // An old record of other bytes goes before the new one is written: if the write fails, none is left.
        if (!same) yield* PartRecord.remove(part.path, tie.records)
        const written = yield* PartRecord.write(record, tie.records)
        part.record = written ? record : same ? previous : undefined
      })
    )
  })

/** Fetch-based clients follow redirects by themselves unless told not to; undici's `request` never does. */
const withManualRedirects = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.serviceOption(FetchHttpClient.RequestInit), (init) =>
    Effect.provideService(effect, FetchHttpClient.RequestInit, {
      ...Option.getOrElse(init, () => ({})),
      redirect: "manual"
    })
  )

/**
 * The Node stream under a response of undici (`NodeHttpClient.layerUndici`, what the CLI and the
 * engine use), read directly so no Effect runs per chunk; `undefined` for any other client, whose
 * `response.stream` is read instead. Under `HttpClient.withScope` (as in `follow`) the response is the
 * client's own, unwrapped, and undici's keeps its `Dispatcher.ResponseData` as `source`.
 */
const nodeBody = (response: HttpClientResponse.HttpClientResponse): NodeStream.Readable | undefined => {
  const source: unknown = (response as { readonly source?: unknown }).source
  const body: unknown = typeof source === "object" && source !== null ? (source as { body?: unknown }).body : undefined
  return body instanceof NodeStream.Readable ? body : undefined
}

type Outcome = "complete" | "incomplete"

/**
 * Downloads `asset` to `path`, resuming cut transfers, and returns its size and SHA-256.
 *
 * Only `HttpClient` is needed; the client must not follow redirects by itself (neither
 * `NodeHttpClient.layerUndici` nor, as configured here, `FetchHttpClient` does). A client that
 * follows them anyway is detected and the download fails. Under undici's client the body is read
 * from its Node stream, with no Effect per chunk (see the module's doc).
 *
 * @example
 * ```ts
 * const saved = yield* Download.download({
 *   asset,
 *   path: "out/fox.mp4",
 *   credentials: provider.credentials,
 *   provider: provider.id,
 *   onProgress: (received, total) => Effect.log(`${received} / ${total ?? "?"}`)
 * })
 * ```
 */
export const download: (options: DownloadOptions) => Effect.Effect<Downloaded, DownloadError, HttpClient.HttpClient> =
  Effect.fn("Download.download")(function* (options: DownloadOptions) {
    const { asset } = options
    const context: FailureContext = {
      provider: options.provider,
      taskId: options.taskId,
      origin: asset._tag === "Url" ? originOf(asset.url) : undefined
    }
    const fail = (message: string, details: FailureDetails) => makeFailure(context, message, details)
    yield* Effect.annotateCurrentSpan({
      "download.path": options.path,
      "download.source": asset._tag,
      ...(context.origin === undefined ? {} : { "download.origin": context.origin })
    })

    if (asset._tag === "Url" && asset.expiresAt !== undefined) {
      const now = yield* Clock.currentTimeMillis
      if (asset.expiresAt.getTime() <= now) {
        return yield* new TaskExpired({
          message: `the download link expired at ${asset.expiresAt.toISOString()}; ask the provider for the video again`,
          expiredAt: asset.expiresAt,
          ...(options.provider === undefined ? {} : { provider: options.provider }),
          ...(options.taskId === undefined ? {} : { taskId: options.taskId })
        })
      }
    }
    if (asset._tag === "Url" && (context.origin === undefined || !/^https?:$/.test(new URL(asset.url).protocol))) {
      return yield* fail("the provider returned a download link that is not an http(s) URL", {
        transient: false,
        refusedTarget: true
      })
    }
    const network =
      options.network === undefined || asset._tag !== "Url" ? undefined : yield* NetworkPolicy.make(options.network)

    const partPath = `${options.path}.part`
    // Not Node's recursive mkdir, which never returns under /proc (see OutputPath.makeDirectory); and
    // before `acquireUseRelease`, whose acquire cannot be interrupted.
    yield* OutputPath.makeDirectory(NodePath.dirname(partPath)).pipe(
      Effect.mapError((error) => fail(`${error.message}; ${savedElsewhere}`, { transient: false }))
    )
    return yield* Effect.acquireUseRelease(
      openPart(partPath, fail),
      (part) => run(options, part, context, network),
      (part, exit) =>
        Effect.zipRight(
          closePart(part),
          // A wrong file goes; so does an empty one, which has nothing to resume from. Its record first.
          part.discard || (Exit.isFailure(exit) && part.hashed === 0)
            ? Effect.zipRight(
                PartRecord.remove(partPath, options.records),
                Effect.promise(() => NodeFs.promises.rm(partPath, { force: true }).catch(() => undefined))
              )
            : Effect.void
        )
    )
  })

const run = (
  options: DownloadOptions,
  part: PartFile,
  context: FailureContext,
  network: NetworkPolicy.Policy | undefined
): Effect.Effect<Downloaded, DownloadError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const { asset } = options
    const fail = part.fail
    const maxBytes = options.maxBytes ?? defaultMaxBytes
    const idleMillis = Duration.toMillis(options.idleTimeout ?? Duration.seconds(60))
    const minBytesPerSecond = Math.max(0, options.minBytesPerSecond ?? defaultMinBytesPerSecond)
    const clock = yield* Effect.clock

    // The total the server announced most recently; the provider's `size` stands in until then.
    let announced: number | undefined
    const expected = (): number | undefined => announced ?? asset.size
    let attempts = 0

    let lastProgress = Number.NEGATIVE_INFINITY
    const onProgress = options.onProgress
    const progress = (force: boolean): Effect.Effect<void> => {
      if (onProgress === undefined) return Effect.void
      const now = clock.unsafeCurrentTimeMillis()
      if (!force && now - lastProgress < progressIntervalMillis) return Effect.void
      lastProgress = now
      return onProgress(part.received, expected())
    }

    const tie: Tie = { taskId: options.taskId, records: options.records }
    yield* adoptExisting(part, Math.min(maxBytes, asset.size ?? Number.POSITIVE_INFINITY), tie, asset.size)
    // A `.part` taken over knows its video's length from its record.
    announced = part.entity?.totalBytes
    yield* progress(true)

    // Every byte received by any attempt; unlike `part.received`, it never goes back when a server
    // ignores `Range` and the file restarts from 0, so the watchdog measures the rate truly.
    let arrived = 0

    // Takes one received chunk into the part file: `undefined` when the next one may follow at once,
    // otherwise what must run first (an overflow's failure, the disk or the record to wait for, or a
    // progress report that is due). Called once per chunk, it builds no Effect in the common case.
    const receiver = () => {
      const total = expected()
      const limit = Math.min(total ?? Number.POSITIVE_INFINITY, maxBytes)
      const overflow = (incoming: number) => {
        part.discard = true
        const message =
          total !== undefined && total <= maxBytes
            ? `the download is longer than the ${total} bytes announced`
            : `the video is larger than the ${maxBytes}-byte limit (maxBytes)`
        return Effect.fail(
          fail(message, {
            transient: false,
            receivedBytes: part.received + incoming,
            ...(total === undefined ? {} : { expectedBytes: total })
          })
        )
      }
      const afterCommit = Effect.suspend(() => progress(false))
      return (bytes: Uint8Array): Effect.Effect<void, DownloadFailed> | undefined => {
        if (part.received + bytes.length > limit) return overflow(bytes.length)
        arrived += bytes.length
        const ready = part.accept(bytes)
        if (
          ready &&
          (onProgress === undefined || clock.unsafeCurrentTimeMillis() - lastProgress < progressIntervalMillis)
        ) {
          return undefined
        }
        return Effect.zipRight(part.commit, afterCommit)
      }
    }

    // Consumes an Effect stream (a provider's byte stream; a response body of a client other than undici).
    const consume = <E, F>(
      stream: Stream.Stream<Uint8Array, E>,
      onError: (error: E) => F
    ): Effect.Effect<void, DownloadFailed | F> => {
      const take = receiver()
      return Stream.runForEachChunk(Stream.mapError(stream, onError), (chunk: Chunk.Chunk<Uint8Array>) => {
        const pieces = Chunk.toReadonlyArray(chunk)
        const from = (start: number): Effect.Effect<void, DownloadFailed> => {
          for (let index = start; index < pieces.length; index++) {
            const next = take(pieces[index]!)
            if (next !== undefined) {
              return Effect.zipRight(
                next,
                Effect.suspend(() => from(index + 1))
              )
            }
          }
          return Effect.void
        }
        return from(0)
      })
    }

    // Consumes a Node stream (undici's response body) with plain listeners: per chunk, one call of
    // `take` and no Effect. The fiber steps in only when `take` asks for it (at most once per batch when
    // the disk lags, every 250 ms for progress) or the body ends; meanwhile the body is paused, so
    // the socket stays back-pressured. Interrupted, it detaches and pauses at once.
    const consumeReadable = (
      body: NodeStream.Readable,
      broken: (cause: unknown) => DownloadFailed
    ): Effect.Effect<void, DownloadFailed> => {
      const take = receiver()
      const step = Effect.async<boolean, DownloadFailed>((resume) => {
        if (body.readableEnded) return resume(Effect.succeed(false))
        if (body.destroyed) return resume(Effect.fail(broken(body.errored ?? new Error("body closed early"))))
        let stopped = false
        const stop = () => {
          stopped = true
          body.pause()
          body.off("data", onData)
          body.off("end", onEnd)
          body.off("error", onError)
          body.off("close", onClose)
        }
        const finish = (next: Effect.Effect<boolean, DownloadFailed>) => {
          if (stopped) return
          stop()
          resume(next)
        }
        const onData = (bytes: Buffer) => {
          const next = take(bytes)
          if (next !== undefined) finish(Effect.as(next, true))
        }
        const onEnd = () => finish(Effect.succeed(false))
        const onError = (cause: unknown) => finish(Effect.fail(broken(cause)))
        // Destroyed without an error or an end (an aborted request): the transfer broke all the same.
        const onClose = () => {
          if (!body.readableEnded) onError(body.errored ?? new Error("body closed early"))
        }
        body.on("data", onData)
        body.on("end", onEnd)
        body.on("error", onError)
        body.on("close", onClose)
        body.resume()
        return Effect.sync(stop)
      })
      const loop: Effect.Effect<void, DownloadFailed> = Effect.flatMap(step, (more) => (more ? loop : Effect.void))
      return loop
    }

    // The bytes stopped arriving, trickle in under the minimum rate, or a response never came: fail
    // the attempt so it is resumed. Checked every quarter window over the last whole window.
    const watchdog = Effect.suspend(() => {
      const tick = Math.max(1, idleMillis / 4)
      const windowMinimum = (minBytesPerSecond * idleMillis) / 1000
      const window = Duration.format(Duration.millis(idleMillis))
      // `arrived` at the last five ticks, oldest first: the first and the last are one window apart.
      const marks = [arrived]
      const loop: Effect.Effect<never, DownloadFailed> = Effect.flatMap(Effect.sleep(tick), () => {
        marks.push(arrived)
        if (marks.length > 5) marks.shift()
        if (marks.length === 5) {
          const gained = marks[4]! - marks[0]!
          if (gained === 0 || gained < windowMinimum) {
            const total = expected()
            const message =
              gained === 0
                ? `no data for ${window} after ${part.received} bytes`
                : `only ${gained} bytes in ${window} after ${part.received} bytes, under the minimum of ${minBytesPerSecond} bytes/s (minBytesPerSecond)`
            return Effect.fail(
              fail(message, {
                transient: true,
                receivedBytes: part.received,
                ...(total === undefined ? {} : { expectedBytes: total })
              })
            )
          }
        }
        return loop
      })
      return loop
    })

    const attemptBody = asset._tag === "Url" ? attemptUrl(asset) : attemptStream(asset)

    // One attempt: whatever was received before a failure is kept (flushed), so the next one resumes after it.
    const attempt = Effect.suspend(() => {
      attempts++
      return Effect.raceFirst(attemptBody, watchdog)
    }).pipe(
      Effect.tap(() => part.settle),
      Effect.catchAll((failure) =>
        // A disk failure while keeping what arrived takes precedence: it is final.
        part.discard ? Effect.fail(failure) : Effect.zipRight(part.settle, Effect.fail(failure))
      ),
      Effect.flatMap((outcome): Effect.Effect<void, DownloadFailed> => {
        const total = expected()
        if (outcome === "complete" || total === undefined || part.hashed === total) return Effect.void
        return Effect.fail(
          fail(`the transfer stopped after ${part.hashed} of ${total} bytes`, {
            transient: true,
            receivedBytes: part.hashed,
            expectedBytes: total
          })
        )
      })
    )

    function attemptStream(asset: StreamAsset): Effect.Effect<Outcome, DownloadFailed | TaskExpired> {
      return Effect.suspend(() =>
        Effect.zipRight(
          // A provider's byte stream has no validator: the task and the length tie its bytes.
          bind(part, { totalBytes: asset.size }, tie),
          consume(
            Stream.suspend(() => asset.open(part.received)),
            (error: VideoError): DownloadFailed | TaskExpired => {
              if (error._tag === "DownloadFailed" || error._tag === "TaskExpired") return error
              const transient = error._tag === "ProviderUnavailable" || error._tag === "RateLimited"
              return fail(`the provider's byte stream failed: ${error.message}`, {
                transient,
                receivedBytes: part.received,
                ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus })
              })
            }
          )
        )
      ).pipe(Effect.as("incomplete" as const))
    }

    function attemptUrl(asset: UrlAsset): Effect.Effect<Outcome, DownloadFailed, HttpClient.HttpClient> {
      const credentialOrigin = options.credentials === undefined ? undefined : originOf(options.credentials.origin)
      const credentialNames = options.credentials?.headers.map(([name]) => name.toLowerCase()) ?? []

      const transportFailure = (error: HttpClientError.HttpClientError): DownloadFailed => {
        if (error._tag === "RequestError" && error.reason !== "Transport") {
          return fail(`the download request could not be built (${error.reason})`, { transient: false })
        }
        return fail(`the connection to the download server failed (${errorCode(error.cause) ?? "transport error"})`, {
          transient: true,
          receivedBytes: part.received
        })
      }

      const statusFailure = (status: number, headers: Headers.Headers): DownloadFailed => {
        if (refusedStatuses.has(status)) {
          return fail(
            `the download server refused the link (HTTP ${status}); it may have expired — ask the provider for a fresh link`,
            { transient: false, httpStatus: status }
          )
        }
        const transient = status >= 500 || status === 429 || status === 408 || status === 425
        const hint = transient ? retryAfterMillis(headers) : undefined
        return fail(`the download server answered HTTP ${status}`, {
          transient,
          httpStatus: status,
          ...(hint === undefined ? {} : { retryAfterMillis: hint })
        })
      }

      const refusal = (error: NetworkPolicy.Refused | NetworkPolicy.Unresolved): DownloadFailed =>
        error._tag === "Refused"
          ? fail(error.message, { transient: false, refusedTarget: true })
          : fail(`the download server's host ${error.host} did not resolve (${error.code})`, {
              transient: true,
              receivedBytes: part.received
            })

      // Sends one GET per hop, deciding per hop whether the credentials go, and returns the first
      // non-redirect response. Redirect responses are released (their scope closed) at once. Each
      // hop's target is checked (and its addresses pinned) before it is requested.
      const follow = (offset: number) =>
        Effect.gen(function* () {
          const client = (yield* HttpClient.HttpClient).pipe(
            // The client span would record the full URL, query included: CDN links carry their token there.
            HttpClient.withTracerDisabledWhen(() => true),
            HttpClient.withScope
          )
          const outer = yield* Effect.scope
          let url = new URL(asset.url)
          for (let hop = 0; ; hop++) {
            context.origin = url.origin
            // A resume names the bytes it continues (`If-Range`): a server whose file changed sends it whole.
            const validator = offset > 0 && part.entity !== undefined ? PartRecord.ifRange(part.entity) : undefined
            let request = HttpClientRequest.get(url.href).pipe(
              HttpClientRequest.setHeader("accept-encoding", "identity"),
              offset > 0 ? HttpClientRequest.setHeader("range", `bytes=${offset}-`) : (request) => request,
              validator === undefined ? (request) => request : HttpClientRequest.setHeader("if-range", validator)
            )
            if (options.credentials !== undefined && credentialOrigin === url.origin) {
              for (const [name, value] of options.credentials.headers) {
                request = HttpClientRequest.setHeader(request, name, Redacted.value(value))
              }
            }
            const hopScope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
            if (network !== undefined) {
              yield* NetworkPolicy.guard(network, url).pipe(Scope.extend(hopScope), Effect.mapError(refusal))
            }
            const response: HttpClientResponse.HttpClientResponse = yield* client
              .execute(request)
              .pipe(withManualRedirects, Scope.extend(hopScope), Effect.mapError(transportFailure))
            if (originOf(response.request.url) !== url.origin) {
              return yield* fail(
                "the HTTP client followed a redirect by itself, so credentials may have gone to another origin; use a client that does not follow redirects",
                { transient: false }
              )
            }
            if (!redirectStatuses.has(response.status)) return response
            yield* Scope.close(hopScope, Exit.void)
            if (hop >= (options.maxRedirects ?? 5)) {
              return yield* fail(`too many redirects (more than ${options.maxRedirects ?? 5})`, {
                transient: false,
                httpStatus: response.status
              })
            }
            const location = response.headers.location
            const next =
              location === undefined ? undefined : URL.canParse(location, url.href) ? new URL(location, url) : undefined
            if (next === undefined || (next.protocol !== "http:" && next.protocol !== "https:")) {
              return yield* fail(`a redirect (HTTP ${response.status}) without a usable Location`, {
                transient: false,
                httpStatus: response.status
              })
            }
            url = next
          }
        })

      const once = Effect.gen(function* () {
        const offset = part.received
        const response = yield* follow(offset)
        const status = response.status
        const headers = response.headers
        const length = parseLength(headers["content-length"])
        const validator = PartRecord.validatorOf(headers)
        // The bytes on disk are of another file than the server's now (a server ignoring `If-Range`).
        const changed =
          offset > 0 &&
          part.entity !== undefined &&
          (status === 206 || (status === 416 && PartRecord.ifRange(validator) !== undefined)) &&
          !PartRecord.sameValidator(part.entity, validator)
        if (changed) {
          yield* dropBytes(part, tie)
          return yield* fail("the file changed on the server (another ETag or Last-Modified); restarting", {
            transient: true,
            httpStatus: status
          })
        }

        if (status === 416 && offset > 0) {
          const total = parseUnsatisfiedRange(headers["content-range"])
          if ((total ?? expected()) === offset) {
            if (total !== undefined) announced = total
            return "complete" as const
          }
          yield* dropBytes(part, tie)
          return yield* fail(`the server has fewer bytes than the ${offset} already downloaded; restarting`, {
            transient: true,
            httpStatus: status
          })
        }
        if (status === 200) {
          if (offset > 0) {
            // The server ignored `Range`, or its file is not the one `If-Range` named: byte 0 again.
            yield* dropBytes(part, tie, true)
          }
          announced = length
        } else if (status === 206) {
          const range = parseContentRange(headers["content-range"])
          if (range === undefined || range.start !== offset) {
            yield* dropBytes(part, tie)
            return yield* fail(`the server answered a resume from byte ${offset} with another range; restarting`, {
              transient: true,
              httpStatus: status
            })
          }
          const total = range.total ?? (length === undefined ? undefined : offset + length)
          if (announced !== undefined && total !== undefined && total !== announced) {
            yield* dropBytes(part, tie)
            return yield* fail(`the file changed on the server (${announced} bytes, now ${total}); restarting`, {
              transient: true,
              httpStatus: status
            })
          }
          if (total !== undefined) announced = total
        } else {
          return yield* statusFailure(status, headers)
        }

        const total = expected()
        if (total !== undefined && total > maxBytes) {
          part.discard = true
          return yield* fail(`the video is larger than the ${maxBytes}-byte limit (maxBytes)`, {
            transient: false,
            expectedBytes: total
          })
        }
        yield* bind(part, { totalBytes: expected(), ...validator }, tie)
        const broken = (cause: unknown) =>
          fail(`the transfer broke after ${part.received} bytes (${errorCode(cause) ?? "connection lost"})`, {
            transient: true,
            receivedBytes: part.received,
            ...(expected() === undefined ? {} : { expectedBytes: expected() })
          })
        const body = nodeBody(response)
        yield* body === undefined
          ? consume(response.stream, (error) => broken(error.cause))
          : consumeReadable(body, broken)
        return "incomplete" as const
      })

      return Effect.scoped(once).pipe(
        Effect.locallyWith(Headers.currentRedactedNames, (names) => [...names, ...credentialNames])
      )
    }

    const onRetry = options.onRetry
    const schedule = RetryPolicy.schedule(retryPolicyOptions(options.retry ?? {}), {
      while: (error) => RetryPolicy.isRetryable(error, "download"),
      onRetry:
        onRetry === undefined
          ? undefined
          : (step) =>
              step.error._tag === "DownloadFailed" ? onRetry(step.attempt, step.delayMillis, step.error) : Effect.void
    })

    yield* Effect.retry(attempt, schedule).pipe(
      Effect.catchAll((error) => {
        // Out of attempts with a body still short of its announced size: that is final.
        if (
          error._tag === "DownloadFailed" &&
          error.transient &&
          error.expectedBytes !== undefined &&
          (error.receivedBytes ?? 0) < error.expectedBytes
        ) {
          return Effect.fail(
            fail(`${error.message} (gave up after ${attempts} attempts)`, {
              transient: false,
              receivedBytes: part.hashed,
              expectedBytes: error.expectedBytes,
              httpStatus: error.httpStatus
            })
          )
        }
        return Effect.fail(error)
      })
    )

    const total = expected()
    if (total !== undefined && part.hashed !== total) {
      return yield* fail(`the file has ${part.hashed} bytes, the server announced ${total}`, {
        transient: false,
        receivedBytes: part.hashed,
        expectedBytes: total
      })
    }
    yield* part.settle
    const sha256 = part.digest()
    yield* part.quiesce
    yield* tryFs(fail, "flush", part.path, () => part.handle.sync())
    yield* closePart(part)
    yield* checkSameFile(part)
    if (options.verify !== undefined) {
      const verified = yield* Effect.either(options.verify(part.path))
      if (verified._tag === "Left") {
        // Kept for inspection, under a name that cannot pass for a video; never under `path`.
        yield* PartRecord.remove(part.path, tie.records)
        yield* Effect.promise(() =>
          NodeFs.promises
            .rename(part.path, `${options.path}.rejected`)
            .catch(() => NodeFs.promises.rm(part.path, { force: true }))
            .catch(() => undefined)
        )
        return yield* Effect.fail(verified.left)
      }
    }
    // The record goes before the file takes its name: a crash in between leaves a `.part` with no
    // record (downloaded again), never a record of a `.part` that is gone.
    yield* PartRecord.remove(part.path, tie.records)
    const saved = yield* OutputPath.place(part.path, options.path, { overwrite: options.overwrite }).pipe(
      Effect.mapError((error) => fail(`${error.message}; ${savedElsewhere}`, { transient: false }))
    )
    yield* Effect.promise(() => PartRecord.syncDirectory(NodePath.dirname(saved)))
    yield* progress(true)
    return { path: saved, bytes: part.hashed, sha256 }
  })

/**
 * Fails when the name `.part` no longer leads to the file this download wrote (replaced meanwhile, by
 * a link or another file): that one is neither verified nor renamed to the output.
 */
const checkSameFile = (part: PartFile): Effect.Effect<void, DownloadFailed> =>
  Effect.flatMap(
    tryFs(part.fail, "inspect", part.path, () => NodeFs.promises.lstat(part.path, { bigint: true })),
    (stats) =>
      stats.isFile() && String(stats.dev) === part.identity.device && String(stats.ino) === part.identity.inode
        ? Effect.void
        : Effect.fail(
            part.fail(`${part.path} was replaced by another file while the video was downloaded; ${savedElsewhere}`, {
              transient: false
            })
          )
  )
