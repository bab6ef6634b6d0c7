/**
 * What ties a download's `<output>.part` file to the video it holds: the task, the video's total
 * length, and the validator its server gave (`ETag`, `Last-Modified`), with the file's own identity
 * (device and inode). A `.part` is resumed (`Range`, with `If-Range` carrying the validator) only
 * when its record matches the task being downloaded; otherwise its bytes are someone else's — a stale
 * `.part` of another video, a file dropped there — and the download starts again from byte 0.
 *
 * Records are kept apart from the output directory, in a directory of this user's own under the
 * system's temporary directory (`reelay-parts-<uid>`, mode 0700, refused when it is a link or not
 * this user's), one small JSON file per `.part` named after its absolute path: the output directory
 * holds the videos and nothing else. Each record is written atomically (a new file, flushed, renamed
 * over the old one) and read without following links. A record that is missing, unreadable or of
 * another file only ever costs a download from byte 0; one left by a crash is pruned after 7 days.
 *
 * @since 0.1.0
 */

import { createHash, randomUUID } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

/**
 * What a server said identifies the bytes it sends: a strong `ETag`, and `Last-Modified`.
 *
 * @since 0.1.0
 */
export interface Validator {
  readonly etag?: string | undefined
  readonly lastModified?: string | undefined
}

/**
 * The record of one `.part` file.
 *
 * @since 0.1.0
 */
export class PartRecord extends Schema.Class<PartRecord>("PartRecord")({
  version: Schema.Literal(1),
  /** The `.part` file's absolute path. */
  part: Schema.String,
  /** Its device and inode, in decimal: a file put in its place is not it. */
  device: Schema.String,
  inode: Schema.String,
  taskId: Schema.String,
  /** The video's length, once a server or the provider said it. */
  totalBytes: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  etag: Schema.optional(Schema.String),
  lastModified: Schema.optional(Schema.String)
}) {}

/** @since 0.1.0 */
export interface StoreOptions {
  /** Where records are kept (default `defaultDirectory()`). */
  readonly directory?: string | undefined
}

/**
 * `<tmp>/reelay-parts-<uid>`: this user's, so another user of the machine cannot plant a record.
 *
 * @since 0.1.0
 */
export const defaultDirectory = (): string =>
  NodePath.join(NodeOs.tmpdir(), `reelay-parts-${process.getuid?.() ?? NodeOs.userInfo().username}`)

const pruneAfterMillis = 7 * 24 * 3600 * 1000
const maxRecordBytes = 16 * 1024
const noFollow = NodeFs.constants.O_NOFOLLOW ?? 0
const nonBlocking = NodeFs.constants.O_NONBLOCK ?? 0
const pruned = new Set<string>()

/**
 * The store directory, created if missing; `undefined` when it cannot be trusted (a link, another
 * user's, open to others) or made: then nothing is recorded, and no `.part` is resumed across runs.
 */
const storeOf = (options: StoreOptions | undefined): string | undefined => {
  const directory = options?.directory ?? defaultStore()
  // Proven at most every few seconds: every download reads, writes and removes a record, and these
  // are synchronous calls on the event loop. The proof is kept short so that a store removed (a temp
  // cleaner) and made again by someone else is not trusted for long; a write that fails forgets it.
  const provenAt = trusted.get(directory)
  if (provenAt !== undefined && Date.now() - provenAt < trustMillis) return directory
  try {
    NodeFs.mkdirSync(directory, { mode: 0o700 })
  } catch (error) {
    if ((error as { code?: unknown }).code !== "EEXIST") return undefined
  }
  try {
    const stats = NodeFs.lstatSync(directory)
    const uid = process.getuid?.()
    if (!stats.isDirectory() || (uid !== undefined && stats.uid !== uid) || (stats.mode & 0o077) !== 0) return undefined
  } catch {
    return undefined
  }
  if (!pruned.has(directory)) {
    pruned.add(directory)
    prune(directory)
  }
  trusted.set(directory, Date.now())
  return directory
}

const trusted = new Map<string, number>()
const trustMillis = 5000

/** `defaultDirectory()`, asked of the environment again only when `TMPDIR` changes. */
const defaultStore = (): string => {
  const tmp = process.env.TMPDIR
  if (defaultCache === undefined || defaultCache.tmp !== tmp) defaultCache = { tmp, directory: defaultDirectory() }
  return defaultCache.directory
}
let defaultCache: { readonly tmp: string | undefined; readonly directory: string } | undefined

/**
 * Once per process and store: removes records untouched for a week (their `.part` is long stale) or
 * whose `.part` is gone (left by a crash between the two), and temporary files a killed writer left.
 * At most `pruneLimit` entries are looked at, so a huge store never holds up a download for long.
 */
const prune = (directory: string): void => {
  try {
    const now = Date.now()
    for (const name of NodeFs.readdirSync(directory).slice(0, pruneLimit)) {
      const file = NodePath.join(directory, name)
      const stats = NodeFs.lstatSync(file)
      if (!stats.isFile()) continue
      const age = now - stats.mtimeMs
      const stale =
        age > pruneAfterMillis ||
        (name.endsWith(".tmp") && age > 3600 * 1000) ||
        (name.endsWith(".json") && stats.size <= maxRecordBytes && !partExists(NodeFs.readFileSync(file, "utf8")))
      if (stale) NodeFs.rmSync(file, { force: true })
    }
  } catch {
    // best effort
  }
}

const pruneLimit = 1000

/** Whether the `.part` a record's text names is still there (an unreadable record counts as gone). */
const partExists = (text: string): boolean => {
  const decoded = decode(text)
  return Either.isRight(decoded) && NodeFs.existsSync(decoded.right.part)
}

const fileOf = (directory: string, part: string): string =>
  NodePath.join(directory, `${createHash("sha256").update(NodePath.resolve(part)).digest("hex").slice(0, 40)}.json`)

const decode = Schema.decodeUnknownEither(Schema.parseJson(PartRecord))

/**
 * The record of the `.part` at `part`, or `undefined` (none, unreadable, or not a record of it).
 *
 * @since 0.1.0
 * @category store
 */
export const read = (part: string, options?: StoreOptions): Effect.Effect<PartRecord | undefined> =>
  Effect.promise(async () => {
    const directory = storeOf(options)
    if (directory === undefined) return undefined
    let handle: NodeFs.promises.FileHandle | undefined
    try {
      handle = await NodeFs.promises.open(fileOf(directory, part), NodeFs.constants.O_RDONLY | noFollow | nonBlocking)
      const stats = await handle.stat()
      if (!stats.isFile() || stats.size > maxRecordBytes) return undefined
      const decoded = decode(await handle.readFile("utf8"))
      return Either.isRight(decoded) && decoded.right.part === NodePath.resolve(part) ? decoded.right : undefined
    } catch {
      return undefined
    } finally {
      await handle?.close().catch(() => undefined)
    }
  })

/**
 * Records `record` for its `.part`, durably (flushed, renamed into place, the directory flushed) so a
 * record never lags behind the bytes it vouches for. `false` when the store cannot be written: the
 * `.part` is then no use to a later run.
 *
 * @since 0.1.0
 * @category store
 */
export const write = (record: PartRecord, options?: StoreOptions): Effect.Effect<boolean> =>
  Effect.promise(async () => {
    const directory = storeOf(options)
    if (directory === undefined) return false
    if (await writeIn(directory, record)) return true
    // The store was proven earlier in this process and may have gone since (a temp cleaner):
    // prove it again, once.
    trusted.delete(directory)
    const again = storeOf(options)
    return again !== undefined && (await writeIn(again, record))
  })

const writeIn = async (directory: string, record: PartRecord): Promise<boolean> => {
  const target = fileOf(directory, record.part)
  const temporary = `${target}.${randomUUID()}.tmp`
  let handle: NodeFs.promises.FileHandle | undefined
  try {
    handle = await NodeFs.promises.open(
      temporary,
      NodeFs.constants.O_WRONLY | NodeFs.constants.O_CREAT | NodeFs.constants.O_EXCL | noFollow,
      0o600
    )
    await handle.writeFile(JSON.stringify(Schema.encodeSync(PartRecord)(record)))
    await handle.sync()
    await handle.close()
    handle = undefined
    await NodeFs.promises.rename(temporary, target)
    await syncDirectory(directory)
    return true
  } catch {
    await handle?.close().catch(() => undefined)
    await NodeFs.promises.rm(temporary, { force: true }).catch(() => undefined)
    return false
  }
}

/**
 * Removes the record of the `.part` at `part`, if any. Wherever a `.part` goes (renamed into the
 * video, removed, set aside as rejected), its record goes first.
 *
 * @since 0.1.0
 * @category store
 */
export const remove = (part: string, options?: StoreOptions): Effect.Effect<void> =>
  Effect.promise(async () => {
    const directory = storeOf(options)
    if (directory === undefined) return
    await NodeFs.promises.rm(fileOf(directory, part), { force: true }).catch(() => undefined)
  })

/** Makes a rename in `directory` durable. Best effort: not every platform can open or fsync a directory. */
export const syncDirectory = async (directory: string): Promise<void> => {
  let handle: NodeFs.promises.FileHandle | undefined
  try {
    handle = await NodeFs.promises.open(directory, "r")
    await handle.sync()
  } catch {
    // not every platform can open or flush a directory
  } finally {
    await handle?.close().catch(() => undefined)
  }
}

/**
 * The validator of a response: its `ETag` when strong (`If-Range` takes no weak one), its
 * `Last-Modified`. Absurdly long values are not kept.
 *
 * @since 0.1.0
 * @category validators
 */
export const validatorOf = (headers: Readonly<Record<string, string | undefined>>): Validator => {
  const etag = headers.etag?.trim()
  const lastModified = headers["last-modified"]?.trim()
  return {
    ...(etag === undefined || etag === "" || etag.startsWith("W/") || etag.length > 512 ? {} : { etag }),
    ...(lastModified === undefined || lastModified === "" || lastModified.length > 128 ? {} : { lastModified })
  }
}

/**
 * The `If-Range` value a resume sends: the entity tag, else the date; `undefined` when the server
 * gave neither (then only the task and the length vouch for the bytes).
 *
 * @since 0.1.0
 * @category validators
 */
export const ifRange = (validator: Validator): string | undefined => validator.etag ?? validator.lastModified

/**
 * Whether two validators are the same. One the server gave and one it did not count as different.
 *
 * @since 0.1.0
 * @category validators
 */
export const sameValidator = (a: Validator, b: Validator): boolean =>
  a.etag === b.etag && a.lastModified === b.lastModified

/**
 * Whether two records say the same thing (so nothing needs writing).
 *
 * @since 0.1.0
 * @category validators
 */
export const equivalent = (a: PartRecord, b: PartRecord): boolean =>
  a.part === b.part &&
  a.device === b.device &&
  a.inode === b.inode &&
  a.taskId === b.taskId &&
  a.totalBytes === b.totalBytes &&
  sameValidator(a, b)

/** @since 0.1.0 */
export interface Candidate {
  readonly taskId: string
  readonly device: string
  readonly inode: string
  /** Bytes in the `.part`. */
  readonly size: number
  /** The length the provider announced for the video, if it did. */
  readonly totalBytes?: number | undefined
}

/**
 * Why the `.part` described by `candidate` may not be resumed under `record`, or `undefined` when it
 * may (the server's validator is checked by the resume itself, with `If-Range`).
 *
 * @since 0.1.0
 * @category validators
 */
export const mismatch = (record: PartRecord | undefined, candidate: Candidate): string | undefined => {
  if (record === undefined) return "it has no record of the video it holds"
  if (record.device !== candidate.device || record.inode !== candidate.inode) return "it is not the file recorded"
  if (record.taskId !== candidate.taskId) return `it holds task ${record.taskId}'s video`
  if (record.totalBytes !== undefined) {
    if (candidate.totalBytes !== undefined && candidate.totalBytes !== record.totalBytes) {
      return `it was for a video of ${record.totalBytes} bytes, and this one has ${candidate.totalBytes}`
    }
    if (candidate.size > record.totalBytes) return `it is longer than the ${record.totalBytes} bytes recorded`
  }
  return undefined
}
