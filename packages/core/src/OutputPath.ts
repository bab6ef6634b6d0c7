/**
 * Whether a video can be written at a path, answered before anything is sent. A path that cannot
 * take the file is refused while refusing still costs nothing, instead of being found once the
 * provider has made (and billed) the video.
 *
 * The check creates missing directories (harmless before sending), then proves the directory takes
 * new files by creating and removing a uniquely named probe file: exclusive, never following a
 * link, never touching an existing file. Permissions, read-only mounts and virtual file systems such
 * as `/proc` (which accepts `mkdir` of an existing directory but no new file) all show up the way
 * the download would meet them. When the size is known, free space is compared too.
 *
 * `makeDirectory` replaces Node's recursive `mkdir`, which on Node 20 never returns when a directory
 * exists but refuses a child with ENOENT, as `/proc` does: it loops at full CPU in native code, out of
 * reach of interruption (`reelay generate --out /proc/nope/x.mp4` spun until SIGKILL). Here each level
 * is created once, and an ENOENT once the parent is known to exist is final.
 *
 * @since 0.1.0
 */

import { randomUUID } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import { InvalidRequest } from "./VideoError.js"

/**
 * A file system operation on an output path failed. `code` is the OS error code (`EACCES`, ...);
 * `message` names the path and says the code in words.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unwritable extends Data.TaggedError("Unwritable")<{
  readonly path: string
  readonly code: string
  readonly message: string
}> {}

/** @since 0.1.0 */
export interface CheckOptions {
  /**
   * The size the video is expected to have (for a directory, all the videos going there), when
   * known: less free space than this plus a small margin is refused.
   */
  readonly expectedBytes?: number | undefined
  /**
   * Whether a file already at the path may be replaced. Default `false`: it is refused, so a paid
   * video never silently takes the place of a file someone keeps there.
   */
  readonly overwrite?: boolean | undefined
  /**
   * Directories proven lately to take new files (shared by the checks of one engine): a batch of a
   * thousand items into one directory probes it about once a second, not once per item.
   */
  readonly proven?: ProvenDirectories | undefined
}

/**
 * Directories recently proven to take new files, each for `freshForMillis` (wall clock) after its
 * probe. Checks that arrive while a directory is being proven wait for that one proof instead of
 * probing it again (a batch admits its items together). Kept short: a directory that stops taking
 * files during a long batch is noticed by the next probe, and a video that cannot be saved where it
 * should is still saved elsewhere by the download.
 *
 * @since 0.1.0
 * @category checks
 */
export class ProvenDirectories {
  private readonly provenAt = new Map<string, number>()
  private readonly proving = new Map<string, Promise<DirectoryProof>>()
  constructor(readonly freshForMillis = 1000) {}
  has(directory: string): boolean {
    const at = this.provenAt.get(directory)
    return at !== undefined && Date.now() - at < this.freshForMillis
  }
  add(directory: string): void {
    if (this.provenAt.size >= 4096) this.provenAt.clear()
    this.provenAt.set(directory, Date.now())
  }
  /** @internal `prove`'s answer for `directory`, shared with every check that asks while it runs. */
  share(directory: string, prove: () => Promise<DirectoryProof>): Promise<DirectoryProof> {
    const running = this.proving.get(directory)
    if (running !== undefined) return running
    const proof = prove().finally(() => this.proving.delete(directory))
    this.proving.set(directory, proof)
    return proof
  }
}

// Room beyond the video itself: file system metadata, the journal, rounding of the free block count.
const spaceMarginBytes = 8 * 1024 * 1024

const codeWords: Readonly<Record<string, string>> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EFBIG: "file too large",
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
  EEXIST: "already exists",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long",
  EINVAL: "invalid argument",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
  EIO: "input/output error",
  EBUSY: "device or resource busy",
  ETXTBSY: "text file busy",
  EXDEV: "not on the same file system",
  ENODEV: "no such device",
  ENXIO: "no such device or address",
  ESTALE: "stale network file handle",
  EAGAIN: "resource temporarily unavailable"
}

/**
 * An OS error code with its meaning in words, e.g. `EACCES (permission denied)`.
 *
 * @since 0.1.0
 * @category file system
 */
export const describeCode = (code: string): string => {
  const words = codeWords[code]
  return words === undefined ? code : `${code} (${words})`
}

/** The OS error code of a Node file system error, never its message (which repeats the path). */
const codeOf = (cause: unknown): string => {
  const code = typeof cause === "object" && cause !== null ? (cause as { readonly code?: unknown }).code : undefined
  return typeof code === "string" && /^[A-Z0-9_]{2,40}$/.test(code) ? code : "EUNKNOWN"
}

const unwritable = (action: string, path: string, code: string, detail?: string): Unwritable =>
  new Unwritable({
    path,
    code,
    message: `cannot ${action} ${path}: ${describeCode(code)}${detail === undefined ? "" : `; ${detail}`}`
  })

/** `lstat` (a link is itself, never followed), with a missing path as `undefined` rather than an error. */
const lstatOf = (path: string): Effect.Effect<NodeFs.Stats | undefined, Unwritable> =>
  Effect.tryPromise({
    try: () => NodeFs.promises.lstat(path),
    catch: (cause) => unwritable("inspect", path, codeOf(cause))
  }).pipe(
    Effect.catchIf(
      (error) => error.code === "ENOENT" || error.code === "ENOTDIR",
      () => Effect.succeed(undefined)
    )
  )

/**
 * Whether something (a file, a directory, a link, even a dangling one) has the name `path`. A path
 * that cannot be inspected counts as free: `check` says why it cannot be written.
 *
 * @since 0.1.0
 * @category checks
 */
export const occupied = (path: string): Effect.Effect<boolean> =>
  lstatOf(NodePath.resolve(path)).pipe(
    Effect.map((stats) => stats !== undefined),
    Effect.orElseSucceed(() => false)
  )

/** `stat`, with a missing path as `undefined` rather than an error. */
const statOf = (path: string): Effect.Effect<NodeFs.Stats | undefined, Unwritable> =>
  Effect.tryPromise({
    try: () => NodeFs.promises.stat(path),
    catch: (cause) => {
      const code = codeOf(cause)
      return unwritable("inspect", path, code, code === "ENOTDIR" ? "a part of the path is not a directory" : undefined)
    }
  }).pipe(
    Effect.catchIf(
      (error) => error.code === "ENOENT",
      () => Effect.succeed(undefined)
    )
  )

/** Creates one directory whose parent exists; an existing directory is fine. */
const makeOne = (directory: string): Effect.Effect<void, Unwritable> =>
  Effect.tryPromise({
    try: () => NodeFs.promises.mkdir(directory),
    catch: (cause) => codeOf(cause)
  }).pipe(
    Effect.catchAll((code) => {
      if (code === "EEXIST") {
        // Created meanwhile by someone else, or a name that is not a directory (a file, a dangling link).
        return Effect.flatMap(statOf(directory), (stats) =>
          stats?.isDirectory() === true
            ? Effect.void
            : Effect.fail(
                unwritable(
                  "create the directory",
                  directory,
                  stats === undefined ? "ENOENT" : "ENOTDIR",
                  stats === undefined ? "it is a link to something that does not exist" : "a file has that name"
                )
              )
        )
      }
      // The parent is known to exist, so trying it again cannot help: this is where Node's own loop spins.
      const detail =
        code === "ENOENT"
          ? `${NodePath.dirname(directory)} exists but refuses new entries (as virtual file systems like /proc do)`
          : undefined
      return Effect.fail(unwritable("create the directory", directory, code, detail))
    })
  )

/** The closest of `directory` and its parents that exists, with what it is. */
const nearestExisting = (
  directory: string
): Effect.Effect<{ readonly path: string; readonly stats: NodeFs.Stats }, Unwritable> =>
  Effect.flatMap(statOf(directory), (stats) => {
    if (stats !== undefined) return Effect.succeed({ path: directory, stats })
    const parent = NodePath.dirname(directory)
    return parent === directory
      ? Effect.fail(unwritable("find", directory, "ENOENT", "not even its root exists"))
      : nearestExisting(parent)
  })

/**
 * Creates a directory and its missing parents, like `mkdir -p`, one level at a time and each level
 * once, so it always ends. Interruptible between levels.
 *
 * @since 0.1.0
 * @category file system
 */
export const makeDirectory = (directory: string): Effect.Effect<void, Unwritable> =>
  Effect.suspend(() => {
    const target = NodePath.resolve(directory)
    return Effect.flatMap(statOf(target), (stats) => {
      if (stats !== undefined) {
        return stats.isDirectory()
          ? Effect.void
          : Effect.fail(unwritable("use the directory", target, "ENOTDIR", "it exists and is not a directory"))
      }
      const parent = NodePath.dirname(target)
      return Effect.zipRight(parent === target ? Effect.void : makeDirectory(parent), makeOne(target))
    })
  })

/**
 * Opens `file` for writing (no link followed, never truncated), creating it only if missing, and
 * removes it again only if this check created it: it proves the directory takes new files without
 * touching any existing one.
 */
const probeFile = (file: string): Effect.Effect<void, Unwritable> =>
  Effect.suspend(() => {
    const write = NodeFs.constants.O_WRONLY | (NodeFs.constants.O_NOFOLLOW ?? 0)
    const create = write | NodeFs.constants.O_CREAT | NodeFs.constants.O_EXCL
    const open = async (): Promise<{ readonly handle: NodeFs.promises.FileHandle; readonly created: boolean }> => {
      try {
        return { handle: await NodeFs.promises.open(file, create, 0o644), created: true }
      } catch (error) {
        if (codeOf(error) !== "EEXIST") throw error
        return { handle: await NodeFs.promises.open(file, write), created: false }
      }
    }
    return Effect.acquireUseRelease(
      Effect.tryPromise({
        try: open,
        catch: (cause) => {
          const code = codeOf(cause)
          // The directory exists (it was just made or found): ENOENT here means it refuses new files.
          const detail =
            code === "ENOENT"
              ? "the directory exists but refuses new files (as virtual file systems like /proc do)"
              : undefined
          return unwritable("create a file in", NodePath.dirname(file), code, detail)
        }
      }),
      () => Effect.void,
      ({ handle, created }) =>
        Effect.promise(() =>
          handle
            .close()
            .catch(() => undefined)
            .then(() => (created ? NodeFs.promises.unlink(file) : undefined))
            .catch(() => undefined)
        )
    )
  })

// Linux's O_TMPFILE: an unnamed file in the directory, gone with its descriptor (or its process).
const tmpFileFlag = process.platform === "linux" ? 0o20000000 | NodeFs.constants.O_DIRECTORY : undefined
// What a file system without unnamed files answers: then a named probe tells.
const noTmpFile = new Set(["ENOTSUP", "EOPNOTSUPP", "EISDIR", "EINVAL"])

/**
 * Proves `directory` takes new files. Where the system can (Linux), with an unnamed file that
 * leaves nothing behind even when the process is killed mid-check; else with a uniquely named probe,
 * created and removed.
 */
const probe = (directory: string): Effect.Effect<void, Unwritable> =>
  Effect.suspend(() => {
    const named = probeFile(NodePath.join(directory, `.reelay-probe-${randomUUID()}`))
    if (tmpFileFlag === undefined) return named
    return Effect.tryPromise({
      try: () => NodeFs.promises.open(directory, tmpFileFlag | NodeFs.constants.O_WRONLY, 0o600),
      catch: (cause) => codeOf(cause)
    }).pipe(
      Effect.flatMap((handle) => Effect.promise(() => handle.close().catch(() => undefined))),
      Effect.catchAll((code) =>
        noTmpFile.has(code)
          ? named
          : Effect.fail(
              unwritable(
                "create a file in",
                directory,
                code,
                code === "ENOENT" ? "the directory refuses new files" : undefined
              )
            )
      )
    )
  })

const formatBytes = (bytes: number): string => {
  if (bytes < 1024 * 1024) return `${bytes} bytes`
  const units = ["MiB", "GiB", "TiB"]
  let value = bytes / (1024 * 1024)
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}

/**
 * Refuses when the file system of `directory` has less free space than `needed` plus the margin.
 * A file system that reports no size at all (some network and virtual ones) is not judged.
 */
const freeSpace = (directory: string, needed: number): Effect.Effect<void, string> =>
  Effect.tryPromise(() => NodeFs.promises.statfs(directory)).pipe(
    Effect.option,
    Effect.flatMap((found) => {
      if (found._tag === "None" || found.value.blocks === 0) return Effect.void
      const free = found.value.bavail * found.value.bsize
      if (free >= needed + spaceMarginBytes) return Effect.void
      return Effect.fail(
        `${directory} has ${formatBytes(free)} free, and the video needs ${formatBytes(needed)} (plus a ${formatBytes(spaceMarginBytes)} margin)`
      )
    })
  )

const refuse = (path: string, problem: string, accepted: string): InvalidRequest =>
  new InvalidRequest({
    field: "output",
    billing: "not-charged",
    message: `cannot save a video to ${path}: ${problem}; expected ${accepted}`
  })

const acceptedFile = "the path of a file in a directory this process can write to (missing directories are created)"
const acceptedDirectory = "a directory this process can write to (it is created if missing)"

/**
 * Checks that a video can be written at `path` before anything is sent, creating nothing that
 * stays: refuses a directory or a device, proves the directory (or, while it does not exist yet,
 * its nearest existing parent) takes new entries, and with `expectedBytes` checks free space. Anything
 * already at the path (a file, a link) is refused unless `overwrite`, and never opened either way; a
 * `.part` left by an earlier download counts towards the space it needs.
 *
 * @since 0.1.0
 * @category checks
 * @example
 * ```ts
 * // Before reserving budget or submitting: a refusal here costs nothing.
 * yield* OutputPath.check("out/fox.mp4", { expectedBytes: 40_000_000 })
 * ```
 */
export const check: (path: string, options?: CheckOptions) => Effect.Effect<void, InvalidRequest> = Effect.fn(
  "OutputPath.check"
)(function* (path: string, options?: CheckOptions) {
  if (path.trim() === "") return yield* refuse(JSON.stringify(path), "the path is empty", acceptedFile)
  if (/[/\\]$/.test(path)) {
    return yield* refuse(path, "the path ends with a separator, so it names a directory", acceptedFile)
  }
  const target = NodePath.resolve(path)
  const directory = NodePath.dirname(target)
  const refuseWith = (error: Unwritable) => refuse(path, error.message, acceptedFile)

  const proof = yield* proveDirectory(directory, options?.proven)
  if (proof.notADirectory !== undefined) {
    return yield* refuse(path, `${describeCode("ENOTDIR")}: ${proof.notADirectory} is not a directory`, acceptedFile)
  }
  if (proof.unwritable !== undefined && !proof.exists) return yield* refuseWith(proof.unwritable)
  // Nothing is created before there is a video: a directory still to be made only needed its nearest
  // existing parent to take new entries (the download makes the rest).
  if (!proof.exists) return
  // The name itself (a link is not followed: a dangling one still occupies it), then what it leads to.
  const named = yield* lstatOf(target).pipe(Effect.mapError(refuseWith))
  const existing = named?.isSymbolicLink() === true ? yield* statOf(target).pipe(Effect.mapError(refuseWith)) : named
  if (existing?.isDirectory() === true) {
    return yield* refuse(path, `${describeCode("EISDIR")}: a directory has that name`, acceptedFile)
  }
  // The download renames its file over this one: a device or a pipe would be replaced, not written.
  if (existing !== undefined && !existing.isFile()) {
    return yield* refuse(path, "it exists and is not a regular file (a device, a pipe or a socket)", acceptedFile)
  }
  if (options?.overwrite !== true && named !== undefined) {
    return yield* refuse(
      path,
      "a file already exists there, and a video never replaces one unless told to",
      "a path where nothing exists yet, or overwrite allowed"
    )
  }
  // Looked at, never followed: a link there is replaced by the download (the link itself, not what it
  // points to), but a FIFO, a directory or a device is not the download's to remove.
  const part = yield* lstatOf(`${target}.part`).pipe(Effect.mapError(refuseWith))
  if (part !== undefined && !part.isFile() && !part.isSymbolicLink()) {
    return yield* refuse(path, `${target}.part, where the download is written, is not a regular file`, acceptedFile)
  }
  // What is wrong with the path itself is said first; then that the directory takes no new file.
  if (proof.unwritable !== undefined) return yield* refuseWith(proof.unwritable)
  if (options?.expectedBytes !== undefined) {
    const needed = Math.max(0, options.expectedBytes - (part?.isFile() === true ? part.size : 0))
    yield* freeSpace(directory, needed).pipe(Effect.mapError((problem) => refuse(path, problem, acceptedFile)))
  }
})

/**
 * What a check found of an output's directory: whether it exists, the nearest existing ancestor when
 * that is not a directory, and why it (or, while it does not exist yet, that ancestor) takes no new file.
 *
 * @internal
 */
export interface DirectoryProof {
  readonly exists: boolean
  readonly notADirectory?: string | undefined
  readonly unwritable?: Unwritable | undefined
}

const proveDirectory = (directory: string, proven: ProvenDirectories | undefined): Effect.Effect<DirectoryProof> => {
  if (proven?.has(directory) === true) return Effect.succeed({ exists: true })
  const prove = Effect.gen(function* () {
    const ancestor = yield* Effect.either(nearestExisting(directory))
    if (ancestor._tag === "Left") return { exists: false, unwritable: ancestor.left }
    if (!ancestor.right.stats.isDirectory()) return { exists: false, notADirectory: ancestor.right.path }
    const exists = ancestor.right.path === directory
    const probed = yield* Effect.either(probe(ancestor.right.path))
    if (probed._tag === "Left") return { exists, unwritable: probed.left }
    if (exists) proven?.add(directory)
    return { exists }
  })
  return proven === undefined
    ? prove
    : Effect.flatMap(Effect.runtime<never>(), (runtime) =>
        Effect.promise(() => proven.share(directory, () => Runtime.runPromise(runtime)(prove)))
      )
}

/**
 * Checks that videos can be written into `directory` before anything is sent: creates it when
 * missing, refuses a file (`/dev/null`), proves it takes new files, and with `expectedBytes` (all
 * the videos together) checks free space.
 *
 * @since 0.1.0
 * @category checks
 */
export const checkDirectory: (directory: string, options?: CheckOptions) => Effect.Effect<void, InvalidRequest> =
  Effect.fn("OutputPath.checkDirectory")(function* (directory: string, options?: CheckOptions) {
    if (directory.trim() === "") return yield* refuse(JSON.stringify(directory), "the path is empty", acceptedDirectory)
    const target = NodePath.resolve(directory)
    const refuseWith = (error: Unwritable) => refuse(directory, error.message, acceptedDirectory)
    yield* makeDirectory(target).pipe(Effect.mapError(refuseWith))
    yield* probe(target).pipe(Effect.mapError(refuseWith))
    if (options?.expectedBytes !== undefined) {
      yield* freeSpace(target, options.expectedBytes).pipe(
        Effect.mapError((problem) => refuse(directory, problem, acceptedDirectory))
      )
    }
  })

/**
 * The file name an item of a batch gets in the output directory when it names no output:
 * `<key>.mp4`, with characters a file name should not hold replaced.
 *
 * @since 0.1.0
 * @category names
 */
export const fileNameFor = (key: string): string =>
  `${key.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^\.+/, "_") || "video"}.mp4`

/**
 * How two outputs are compared: resolved, with their directory's links resolved where it exists,
 * and without case where the file system usually ignores it (macOS, Windows).
 */
const identity = (path: string): string => {
  const resolved = NodePath.resolve(path)
  let directory = NodePath.dirname(resolved)
  try {
    directory = NodeFs.realpathSync.native(directory)
  } catch {
    // Not there yet: compared as written.
  }
  const full = NodePath.join(directory, NodePath.basename(resolved))
  return process.platform === "darwin" || process.platform === "win32" ? full.toLowerCase() : full
}

/**
 * Outputs that name the same file, as pairs of indexes (the earlier first). Two items of one batch
 * saving to one path would have the second replace the first's paid video.
 *
 * @since 0.1.0
 * @category checks
 */
export const sharedOutputs = (outputs: ReadonlyArray<string>): ReadonlyArray<readonly [number, number]> => {
  const first = new Map<string, number>()
  const pairs: Array<readonly [number, number]> = []
  outputs.forEach((output, index) => {
    const id = identity(output)
    const earlier = first.get(id)
    if (earlier === undefined) first.set(id, index)
    else pairs.push([earlier, index])
  })
  return pairs
}

/** `fox.mp4` → `fox (2).mp4`: a name no key-derived default takes (`fileNameFor` has no spaces). */
const sibling = (path: string, n: number): string => {
  const extension = NodePath.extname(path)
  return `${path.slice(0, path.length - extension.length)} (${n})${extension}`
}

const compareChunk = 1024 * 1024

/** Whether two regular files hold the same bytes. */
const sameContent = (a: string, b: string): Effect.Effect<boolean> =>
  Effect.promise(async () => {
    const [sa, sb] = await Promise.all([NodeFs.promises.lstat(a), NodeFs.promises.lstat(b)])
    if (!sa.isFile() || !sb.isFile() || sa.size !== sb.size) return false
    const [ha, hb] = await Promise.all([NodeFs.promises.open(a, "r"), NodeFs.promises.open(b, "r")])
    try {
      const ba = Buffer.alloc(compareChunk)
      const bb = Buffer.alloc(compareChunk)
      for (let offset = 0; offset < sa.size; offset += compareChunk) {
        const [ra, rb] = await Promise.all([ha.read(ba, 0, compareChunk, offset), hb.read(bb, 0, compareChunk, offset)])
        if (ra.bytesRead !== rb.bytesRead || !ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) {
          return false
        }
      }
      return true
    } finally {
      await Promise.all([ha.close(), hb.close()])
    }
  }).pipe(Effect.catchAllDefect(() => Effect.succeed(false)))

// What a file system without hard links answers to `link` (FAT, exFAT, some network mounts).
const noHardLinks = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EMLINK", "EXDEV"])

/** @since 0.1.0 */
export interface PlaceOptions {
  /** Replace whatever is at the path (default `false`). */
  readonly overwrite?: boolean | undefined
  /** How many other names to try before giving up (default 100). */
  readonly maxSiblings?: number | undefined
}

/**
 * Gives a finished file (`from`, a download's `.part`) its name `to`, and returns the path it took.
 *
 * With `overwrite`, a rename: whatever is at `to` is replaced. Without it nothing is ever replaced,
 * even a file that appeared at `to` while the video was being made: the name is taken with a hard
 * link, which fails when the name exists (no window between looking and taking), and then `from`
 * is removed. When `to` is taken:
 * - by the same bytes, the video is already there (a run that stopped between saving the file and
 *   recording it): `to` is kept, `from` removed;
 * - by anything else, the paid video is kept under the next free sibling name, `fox (2).mp4`,
 *   `fox (3).mp4`, ...: losing a video someone paid for is worse than a second name, and the caller
 *   says where it went.
 *
 * Where the file system has no hard links, the name is checked, then renamed to: a file appearing
 * in between is replaced (the only window left).
 *
 * @since 0.1.0
 * @category file system
 */
export const place = (from: string, to: string, options: PlaceOptions = {}): Effect.Effect<string, Unwritable> =>
  Effect.gen(function* () {
    const rename = (target: string) =>
      Effect.tryPromise({
        try: () => NodeFs.promises.rename(from, target),
        catch: (cause) => unwritable("rename the download to", target, codeOf(cause))
      }).pipe(Effect.as(target))
    if (options.overwrite === true) return yield* rename(to)
    const removeSource = Effect.promise(() => NodeFs.promises.unlink(from).catch(() => undefined))
    const limit = options.maxSiblings ?? 100
    for (let n = 1; n <= limit + 1; n++) {
      const target = n === 1 ? to : sibling(to, n)
      const linked = yield* Effect.tryPromise({
        try: () => NodeFs.promises.link(from, target),
        catch: (cause) => codeOf(cause)
      }).pipe(Effect.either)
      if (linked._tag === "Right") {
        yield* removeSource
        return target
      }
      const code = linked.left
      if (code === "EEXIST") {
        if (yield* sameContent(from, target)) {
          yield* removeSource
          return target
        }
        continue
      }
      if (!noHardLinks.has(code)) return yield* Effect.fail(unwritable("save the video as", target, code))
      // No hard links here: look, then rename.
      const stats = yield* lstatOf(target)
      if (stats === undefined) return yield* rename(target)
      if (yield* sameContent(from, target)) {
        yield* removeSource
        return target
      }
    }
    return yield* Effect.fail(
      unwritable("save the video as", to, "EEXIST", `it and ${limit} other names beside it are taken`)
    )
  })
