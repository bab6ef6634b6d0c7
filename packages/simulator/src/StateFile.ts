/**
 * The state file's format: one JSON document with a format name and a version, read in full at start
 * and written whole, atomically (a temporary file in the same directory, fsync, rename, fsync of the
 * directory), so a reader sees the previous complete file or the next one, never a mixture.
 *
 * A file that cannot be read or decoded is refused with a `StateFileError` naming the file and the
 * problem: a simulator asked to keep its state never starts empty in place of a world it could not read.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Timeline from "./Timeline.js"

/** The value of the file's `format` field. */
export const formatName = "reelay-simulator-state"

/** The format version this simulator writes, and the newest it reads. */
export const currentVersion = 1

/** Why a state file was refused. */
export const Reason = Schema.Literal("unreadable", "corrupt", "newer-version", "incompatible", "unwritable")
export type Reason = typeof Reason.Type

/** A state file the simulator cannot use, or could not write. The message names the file. */
export class StateFileError extends Schema.TaggedError<StateFileError>()("StateFileError", {
  path: Schema.String,
  reason: Reason,
  message: Schema.String
}) {}

/** A `StateFileError` whose message starts with the file's path. */
export const error = (path: string, reason: Reason, detail: string): StateFileError =>
  new StateFileError({ path, reason, message: `simulator state file ${path}: ${detail}` })

const Host = Schema.Literal("laozhang", "apiyi")

const Outcome = Schema.Union(
  Schema.Struct({ _tag: Schema.Literal("Success") }),
  Schema.Struct({ _tag: Schema.Literal("Failure"), code: Schema.String, message: Schema.String, at: Schema.Number })
)

const Amount = Schema.String.pipe(Schema.pattern(/^-?\d+(\.\d+)?$/))

/** One task, with everything needed to answer for it as it would have been answered. */
export const TaskRecord = Schema.Struct({
  id: Schema.String,
  seq: Schema.Int,
  host: Host,
  /** The model id; its protocol, price and rule come from the catalog. */
  model: Schema.String,
  prompt: Schema.String,
  /** The fingerprint of the key that created it (never the key). */
  key: Schema.String,
  /** The key's starting balance, should the account be first seen through this task. */
  initialBalance: Amount,
  createdAt: Schema.Number,
  queueMs: Schema.Number,
  runMs: Schema.Number,
  /** The progress curve, when not linear (files from before curves existed have none). */
  curve: Schema.optional(
    Schema.Literal(...(Object.keys(Timeline.curves) as [Timeline.Curve, ...Array<Timeline.Curve>]))
  ),
  outcome: Outcome,
  expiresAt: Schema.Number,
  urlExpiresAt: Schema.Number,
  /** The fixture's name (`720x1280-8s`) and the video's size in bytes (larger when padded). */
  video: Schema.String,
  bytes: Schema.Int,
  cdnPath: Schema.String,
  size: Schema.String,
  seconds: Schema.Number,
  resolution: Schema.NullOr(Schema.String),
  aspectRatio: Schema.NullOr(Schema.String),
  images: Schema.Int,
  /** The task's own fault directives as written, and how many requests each has hit (by index). */
  directives: Schema.Array(Schema.String),
  hits: Schema.Array(Schema.Tuple(Schema.Int, Schema.Int)),
  idempotencyKey: Schema.NullOr(Schema.String),
  createResponse: Schema.optional(Schema.Unknown)
})
export type TaskRecord = typeof TaskRecord.Type

const Entry = Schema.Struct({
  seq: Schema.Int,
  at: Schema.String,
  atMs: Schema.Number,
  host: Host,
  protocol: Schema.Literal("async", "official", "sora"),
  model: Schema.String,
  taskId: Schema.String,
  key: Schema.String,
  amount: Amount,
  currency: Schema.Literal("USD"),
  rule: Schema.Literal("on-success", "per-request", "on-response")
})

const Account = Schema.Struct({
  host: Host,
  key: Schema.String,
  base: Amount,
  setAt: Schema.NullOr(Schema.Number)
})

/** The whole file. */
export const Contents = Schema.Struct({
  format: Schema.Literal(formatName),
  version: Schema.Literal(currentVersion),
  /** When it was written (wall clock), for people reading the file. */
  savedAt: Schema.String,
  /** The simulator clock when it was written, and how far it had been pushed ahead of its base clock. */
  clock: Schema.Struct({ now: Schema.Number, offsetMs: Schema.NonNegative }),
  /** The last task sequence number handed out. */
  seq: Schema.NonNegativeInt,
  /** Where the writer listened, so the next run can try the same ports (and old links keep working). */
  listen: Schema.NullOr(Schema.Struct({ hostname: Schema.String, port: Schema.Int, cdnPort: Schema.Int })),
  tasks: Schema.Array(TaskRecord),
  idempotency: Schema.Array(Schema.Struct({ scope: Schema.String, taskId: Schema.String })),
  ledger: Schema.Struct({ entries: Schema.Array(Entry), accounts: Schema.Array(Account) })
})
export type Contents = typeof Contents.Type

const decodeContents = Schema.decodeUnknownEither(Contents)

/** Decodes a file's text; `path` only names the file in errors. */
export const decode = (path: string, text: string): Contents => {
  if (text.trim() === "") throw error(path, "corrupt", "the file is empty")
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw error(path, "corrupt", `not valid JSON (${e instanceof Error ? e.message : String(e)})`)
  }
  const head =
    typeof json === "object" && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : {}
  if (head["format"] !== formatName) {
    throw error(path, "corrupt", `not a reelay simulator state file (no "format": "${formatName}")`)
  }
  const version = head["version"]
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1) {
    throw error(path, "corrupt", `"version" must be a positive integer, got ${JSON.stringify(version)}`)
  }
  if (version > currentVersion) {
    throw error(
      path,
      "newer-version",
      `written by a newer simulator (format version ${version}; this one reads up to ${currentVersion}); ` +
        "upgrade reelay, or use another state file"
    )
  }
  const decoded = decodeContents(json)
  if (decoded._tag === "Left") {
    const [first] = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
    const where = first === undefined || first.path.length === 0 ? "" : ` at ${first.path.join(".")}`
    throw error(path, "corrupt", `unexpected content${where}: ${first?.message ?? decoded.left.message}`)
  }
  return decoded.right
}

/** Reads and decodes the file; `undefined` when it does not exist yet. Throws a `StateFileError`. */
export const read = (path: string): Contents | undefined => {
  let text: string
  try {
    text = readFileSync(path, "utf8")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error(path, "unreadable", e instanceof Error ? e.message : String(e))
  }
  return decode(path, text)
}

/** What identifies one written version of the file, to notice that someone else wrote it since. */
export interface Version {
  readonly ino: number
  readonly size: number
  readonly mtimeMs: number
}

/** The version of the file now; `undefined` when it does not exist. */
export const version = async (path: string): Promise<Version | undefined> => {
  try {
    const s = await Fs.stat(path)
    return { ino: s.ino, size: s.size, mtimeMs: s.mtimeMs }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error(path, "unreadable", e instanceof Error ? e.message : String(e))
  }
}

/** Reads and decodes the file without blocking; `undefined` when it does not exist. */
export const readAsync = async (path: string): Promise<Contents | undefined> => {
  let text: string
  try {
    text = await Fs.readFile(path, "utf8")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error(path, "unreadable", e instanceof Error ? e.message : String(e))
  }
  return decode(path, text)
}

const syncDirectory = async (directory: string) => {
  let handle: Fs.FileHandle | undefined
  try {
    handle = await Fs.open(directory, "r")
    await handle.sync()
  } catch {
    // Some platforms cannot open or sync a directory; the rename is still atomic there.
  } finally {
    await handle?.close()
  }
}

/**
 * Writes `contents` durably and atomically, creating the directory if needed. Returns the version
 * written. Throws a `StateFileError` (`unwritable`).
 */
export const write = async (path: string, contents: Contents): Promise<Version> => {
  const directory = Path.dirname(path)
  const temporary = Path.join(directory, `.${Path.basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`)
  try {
    await Fs.mkdir(directory, { recursive: true })
    const handle = await Fs.open(temporary, "w")
    let written: Version
    try {
      await handle.writeFile(JSON.stringify(contents))
      await handle.sync()
      const s = await handle.stat()
      written = { ino: s.ino, size: s.size, mtimeMs: s.mtimeMs }
    } finally {
      await handle.close()
    }
    await Fs.rename(temporary, path)
    await syncDirectory(directory)
    return written
  } catch (e) {
    await Fs.rm(temporary, { force: true }).catch(() => {})
    throw error(path, "unwritable", e instanceof Error ? e.message : String(e))
  }
}

/** Whether two versions are the same write. */
export const sameVersion = (a: Version | undefined, b: Version | undefined): boolean =>
  a !== undefined && b !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs
