import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { vi } from "vitest"
import * as OutputPath from "../src/OutputPath.js"
import { InvalidRequest } from "../src/VideoError.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "reelay-output-"))),
  (dir) =>
    Effect.sync(() => {
      // A test may have made a directory read-only; it must still be removable.
      for (const entry of NodeFs.readdirSync(dir)) {
        const path = NodePath.join(dir, entry)
        if (NodeFs.lstatSync(path).isDirectory()) NodeFs.chmodSync(path, 0o755)
      }
      NodeFs.rmSync(dir, { recursive: true, force: true })
    })
)

/** The refusal of `effect`, checked to be an `InvalidRequest` about the output that cost nothing. */
const refusal = <A>(effect: Effect.Effect<A, InvalidRequest>) =>
  Effect.flip(effect).pipe(
    Effect.tap((error) =>
      Effect.sync(() => {
        assert.isTrue(error instanceof InvalidRequest, String(error))
        assert.strictEqual(error.field, "output")
        assert.strictEqual(error.billing, "not-charged")
      })
    )
  )

const linux = NodeFs.existsSync("/proc/self")
// root writes into a chmod 0555 directory anyway: the permission case can only be observed as another user.
const root = process.getuid?.() === 0

describe("OutputPath.check", () => {
  it.scoped("passes a path whose directories are still to be made, creating nothing, leaving no probe file", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "a", "b", "video.mp4")
      yield* OutputPath.check(path, { expectedBytes: 1024 })
      assert.deepStrictEqual(NodeFs.readdirSync(dir), [], "nothing is created before there is a video")
    })
  )

  it.scoped("passes a writable directory leaving nothing in it, and never touches a .part already there", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      yield* OutputPath.check(NodePath.join(dir, "video.mp4"))
      assert.deepStrictEqual(NodeFs.readdirSync(dir), [])
      // A .part an earlier download left is the download's to resume: never truncated or removed.
      NodeFs.writeFileSync(NodePath.join(dir, "video.mp4.part"), "first bytes")
      yield* OutputPath.check(NodePath.join(dir, "video.mp4"))
      assert.strictEqual(NodeFs.readFileSync(NodePath.join(dir, "video.mp4.part"), "utf8"), "first bytes")
    })
  )

  it.scoped("refuses an existing file (or link) unless overwrite, and never touches it", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      NodeFs.writeFileSync(path, "an earlier video")
      const old = new Date("2020-01-01T00:00:00Z")
      NodeFs.utimesSync(path, old, old)
      const error = yield* refusal(OutputPath.check(path))
      assert.include(error.message, `cannot save a video to ${path}: a file already exists there`)
      assert.include(error.message, "overwrite")
      yield* OutputPath.check(path, { overwrite: true })
      assert.strictEqual(NodeFs.readFileSync(path, "utf8"), "an earlier video")
      assert.strictEqual(NodeFs.statSync(path).mtimeMs, old.getTime())
      assert.deepStrictEqual(NodeFs.readdirSync(dir), ["video.mp4"])
      // A link to nothing is something there too: a rename would replace it.
      const dangling = NodePath.join(dir, "dangling.mp4")
      NodeFs.symlinkSync(NodePath.join(dir, "missing"), dangling)
      yield* refusal(OutputPath.check(dangling))
    })
  )

  it.effect.skipIf(!linux)("refuses /proc/x.mp4: /proc takes no new file", () =>
    Effect.gen(function* () {
      const error = yield* refusal(OutputPath.check("/proc/x.mp4"))
      assert.include(error.message, "/proc/x.mp4")
      assert.include(error.message, "ENOENT (no such file or directory)")
      assert.include(error.message, "expected the path of a file in a directory this process can write to")
    })
  )

  it.effect.skipIf(!linux)("refuses /proc/nope/x.mp4 at once (Node's recursive mkdir never returns there)", () =>
    Effect.gen(function* () {
      const error = yield* refusal(OutputPath.check("/proc/nope/x.mp4"))
      assert.include(error.message, "cannot create a file in /proc: ENOENT")
      assert.isFalse(NodeFs.existsSync("/proc/nope"))
    })
  )

  it.effect.skipIf(!NodeFs.existsSync("/dev/null"))("refuses /dev/null/x.mp4: a parent is not a directory", () =>
    Effect.gen(function* () {
      const error = yield* refusal(OutputPath.check("/dev/null/x.mp4"))
      assert.include(error.message, "/dev/null")
      assert.include(error.message, "ENOTDIR (not a directory)")
    })
  )

  it.effect.skipIf(!NodeFs.existsSync("/dev/null"))("refuses a device, which the download would replace", () =>
    Effect.gen(function* () {
      const error = yield* refusal(OutputPath.check("/dev/null"))
      assert.include(error.message, "not a regular file")
    })
  )

  it.scoped("refuses a directory, and a path that ends with a separator", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const error = yield* refusal(OutputPath.check(dir))
      assert.include(error.message, dir)
      assert.include(error.message, "EISDIR (is a directory)")
      const slash = yield* refusal(OutputPath.check(`${NodePath.join(dir, "new")}/`))
      assert.include(slash.message, "names a directory")
      assert.isFalse(NodeFs.existsSync(NodePath.join(dir, "new")))
    })
  )

  it.scoped("refuses a read-only directory", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const readOnly = NodePath.join(dir, "read-only")
      NodeFs.mkdirSync(readOnly)
      NodeFs.chmodSync(readOnly, 0o555)
      const result = yield* Effect.either(OutputPath.check(NodePath.join(readOnly, "video.mp4")))
      if (!root) {
        assert.isTrue(result._tag === "Left")
        if (result._tag === "Left") assert.include(result.left.message, "EACCES (permission denied)")
      }
      assert.deepStrictEqual(NodeFs.readdirSync(readOnly), [])
    })
  )

  it.effect.skipIf(!NodeFs.existsSync("/proc/sys"))("refuses /proc/sys, read-only even for root", () =>
    Effect.gen(function* () {
      const error = yield* refusal(OutputPath.check("/proc/sys/video.mp4"))
      assert.include(error.message, "cannot create a file in /proc/sys")
    })
  )

  it.effect.skipIf(!NodeFs.existsSync("/proc/sys"))(
    "a directory proven lately is not probed again until its proof goes stale; the path itself always is",
    () =>
      Effect.gen(function* () {
        // /proc/sys takes no new file, even for root: only a skipped probe can pass it.
        const lasting = new OutputPath.ProvenDirectories(60_000)
        lasting.add("/proc/sys")
        yield* OutputPath.check("/proc/sys/video.mp4", { proven: lasting })
        // What is at the path is looked at every time.
        const existing = yield* refusal(OutputPath.check("/proc/sys/kernel", { proven: lasting }))
        assert.include(existing.message, "a directory has that name")

        const stale = new OutputPath.ProvenDirectories(0)
        stale.add("/proc/sys")
        const error = yield* refusal(OutputPath.check("/proc/sys/video.mp4", { proven: stale }))
        assert.include(error.message, "cannot create a file in /proc/sys")
      })
  )

  it.scoped("checks that arrive together share one probe of their directory", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const proven = new OutputPath.ProvenDirectories()
      const opened: Array<string> = []
      const open = NodeFs.promises.open
      const spy = vi.spyOn(NodeFs.promises, "open").mockImplementation((file, ...rest) => {
        opened.push(String(file))
        return open(file, ...rest)
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => spy.mockRestore()))
      yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => NodePath.join(dir, `video-${i}.mp4`)),
        (path) => OutputPath.check(path, { proven }),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(opened.filter((file) => file === dir || file.startsWith(`${dir}/.reelay-probe-`)).length, 1)
      assert.deepStrictEqual(NodeFs.readdirSync(dir), [])
    })
  )

  it.scoped("a check that probes a directory records it as proven", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const proven = new OutputPath.ProvenDirectories()
      assert.isFalse(proven.has(dir))
      yield* OutputPath.check(NodePath.join(dir, "video.mp4"), { proven })
      assert.isTrue(proven.has(dir))
      // A directory still to be made is not proven: its nearest parent was probed instead.
      yield* OutputPath.check(NodePath.join(dir, "later", "video.mp4"), { proven })
      assert.isFalse(proven.has(NodePath.join(dir, "later")))
    })
  )

  it.scoped("refuses when the file system has less free space than the video needs", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const { bavail, bsize } = NodeFs.statfsSync(dir)
      const error = yield* refusal(OutputPath.check(path, { expectedBytes: bavail * bsize + 1 }))
      assert.include(error.message, `${dir} has`)
      assert.include(error.message, "free, and the video needs")
      assert.deepStrictEqual(NodeFs.readdirSync(dir), [])
    })
  )
})

describe("OutputPath.checkDirectory", () => {
  it.scoped("passes a writable directory, creating it when missing, and leaves it empty", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const out = NodePath.join(dir, "batch", "videos")
      yield* OutputPath.checkDirectory(out)
      assert.deepStrictEqual(NodeFs.readdirSync(out), [])
    })
  )

  it.effect.skipIf(!NodeFs.existsSync("/dev/null"))("refuses /dev/null, which is not a directory", () =>
    Effect.gen(function* () {
      const error = yield* refusal(OutputPath.checkDirectory("/dev/null"))
      assert.include(error.message, "/dev/null")
      assert.include(error.message, "ENOTDIR")
      assert.include(error.message, "expected a directory this process can write to")
    })
  )

  it.effect.skipIf(!linux)("refuses /proc and /proc/nope", () =>
    Effect.gen(function* () {
      const proc = yield* refusal(OutputPath.checkDirectory("/proc"))
      assert.include(proc.message, "cannot create a file in /proc")
      const nope = yield* refusal(OutputPath.checkDirectory("/proc/nope"))
      assert.include(nope.message, "cannot create the directory /proc/nope: ENOENT")
    })
  )

  it.scoped("refuses more videos than the free space holds", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const { bavail, bsize } = NodeFs.statfsSync(dir)
      const error = yield* refusal(OutputPath.checkDirectory(dir, { expectedBytes: bavail * bsize + 1 }))
      assert.include(error.message, "free")
    })
  )
})

describe("OutputPath.place", () => {
  const setUp = (dir: string, video = "the new video") => {
    const part = NodePath.join(dir, "video.mp4.part")
    NodeFs.writeFileSync(part, video)
    return { part, output: NodePath.join(dir, "video.mp4") }
  }

  it.scoped("takes the name when it is free, leaving no .part", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const { part, output } = setUp(dir)
      assert.strictEqual(yield* OutputPath.place(part, output), output)
      assert.strictEqual(NodeFs.readFileSync(output, "utf8"), "the new video")
      assert.deepStrictEqual(NodeFs.readdirSync(dir), ["video.mp4"])
    })
  )

  it.scoped("never replaces another file: the video takes the next free sibling name", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const { part, output } = setUp(dir)
      NodeFs.writeFileSync(output, "someone's file")
      NodeFs.writeFileSync(NodePath.join(dir, "video (2).mp4"), "another one")
      const saved = yield* OutputPath.place(part, output)
      assert.strictEqual(saved, NodePath.join(dir, "video (3).mp4"))
      assert.strictEqual(NodeFs.readFileSync(output, "utf8"), "someone's file")
      assert.strictEqual(NodeFs.readFileSync(NodePath.join(dir, "video (2).mp4"), "utf8"), "another one")
      assert.strictEqual(NodeFs.readFileSync(saved, "utf8"), "the new video")
      assert.isFalse(NodeFs.existsSync(part))
    })
  )

  it.scoped("keeps the same bytes already there (a run stopped between saving and recording)", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const { part, output } = setUp(dir)
      NodeFs.writeFileSync(output, "the new video")
      assert.strictEqual(yield* OutputPath.place(part, output), output)
      assert.deepStrictEqual(NodeFs.readdirSync(dir), ["video.mp4"])
    })
  )

  it.scoped("replaces the file with overwrite", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const { part, output } = setUp(dir)
      NodeFs.writeFileSync(output, "someone's file")
      assert.strictEqual(yield* OutputPath.place(part, output, { overwrite: true }), output)
      assert.strictEqual(NodeFs.readFileSync(output, "utf8"), "the new video")
      assert.deepStrictEqual(NodeFs.readdirSync(dir), ["video.mp4"])
    })
  )

  it.scoped("never follows or replaces a link at the name", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const { part, output } = setUp(dir)
      const target = NodePath.join(dir, "elsewhere.txt")
      NodeFs.writeFileSync(target, "kept")
      NodeFs.symlinkSync(target, output)
      const saved = yield* OutputPath.place(part, output)
      assert.strictEqual(saved, NodePath.join(dir, "video (2).mp4"))
      assert.isTrue(NodeFs.lstatSync(output).isSymbolicLink())
      assert.strictEqual(NodeFs.readFileSync(target, "utf8"), "kept")
    })
  )
})

describe("OutputPath.sharedOutputs", () => {
  it("pairs outputs that name one file however they are written", () => {
    const cwd = process.cwd()
    assert.deepStrictEqual(
      OutputPath.sharedOutputs(["out/a.mp4", "out/b.mp4", `${cwd}/out/a.mp4`, "out/./b.mp4", "out/c.mp4"]),
      [
        [0, 2],
        [1, 3]
      ]
    )
    assert.deepStrictEqual(OutputPath.sharedOutputs(["a.mp4", "b.mp4"]), [])
  })

  it("names a batch item's default file after its key", () => {
    assert.strictEqual(OutputPath.fileNameFor("fox"), "fox.mp4")
    assert.strictEqual(OutputPath.fileNameFor("a b/c"), "a_b_c.mp4")
    assert.strictEqual(OutputPath.fileNameFor("..x"), "_x.mp4")
  })
})

describe("OutputPath.makeDirectory", () => {
  it.scoped("ends on a link to nothing instead of trying again", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      NodeFs.symlinkSync(NodePath.join(dir, "missing"), NodePath.join(dir, "dangling"))
      const error = yield* Effect.flip(OutputPath.makeDirectory(NodePath.join(dir, "dangling", "sub")))
      assert.strictEqual(error._tag, "Unwritable")
      assert.include(error.message, NodePath.join(dir, "dangling"))
    })
  )
})
