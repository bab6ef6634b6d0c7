import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as SimClock from "../src/SimClock.js"
import * as Simulator from "../src/Simulator.js"
import * as StateFile from "../src/StateFile.js"
import * as Videos from "../src/Videos.js"
import { bytes, form, get, json, laozhang, postForm, postJson } from "./support.js"

/** A state file path in a fresh directory, removed with the test's scope. */
const stateFile = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "reelay-sim-state-"))),
  (directory) => Effect.sync(() => rmSync(directory, { recursive: true, force: true }))
).pipe(Effect.map((directory) => join(directory, "state", "simulator.json")))

/** One run of a simulator: started, used by `f`, stopped (its last save done) before this returns. */
const run = <A>(options: Simulator.Options, f: (sim: Simulator.Service) => Effect.Effect<A>) =>
  Effect.scoped(Effect.flatMap(Simulator.make(options), f))

const create = (sim: Simulator.Service, prompt: string, headers: Record<string, string> = laozhang) =>
  Effect.flatMap(postJson(`${sim.urls.laozhang}/videos`, { model: "veo-3.1-fast", prompt }, headers), json)

const status = (sim: Simulator.Service, id: string) =>
  Effect.flatMap(get(`${sim.urls.laozhang}/videos/${id}`, laozhang), (r) =>
    Effect.map(json(r), (body) => ({ code: r.status, body }))
  )

const fixture = readFileSync(`${Videos.defaultDirectory}/720x1280-8s.mp4`)

describe("state file", () => {
  it.scoped("a task created in one run progresses, completes and downloads from the next run's CDN", () =>
    Effect.gen(function* () {
      const path = yield* stateFile
      // Fresh ports each run: the links must come from the current CDN, not the recorded one.
      const options = { stateFile: path, port: 0, cdnPort: 0 }
      const first = yield* run({ ...options, seed: "run-1" }, (sim) =>
        Effect.gen(function* () {
          const created = yield* create(sim, "a cat")
          const official = yield* json(
            yield* postForm(
              `${sim.urls.laozhang}/videos`,
              form({ model: "veo-3.1-fast-generate-preview", prompt: "a dog" }),
              laozhang
            )
          )
          assert.strictEqual((yield* status(sim, created.id)).body.status, "queued")
          yield* sim.setBalance("apiyi", "sk-test-apiyi", "12.50")
          const [task] = yield* sim.tasks
          return { id: created.id, official: official.id, task: task!, ledger: yield* sim.ledger, now: yield* sim.now }
        })
      )
      assert.strictEqual(first.ledger.length, 1, "the official forward charges at once")
      const saved = StateFile.decode(path, readFileSync(path, "utf8"))
      assert.deepStrictEqual(
        saved.tasks.map((t) => t.id),
        [first.id, first.official]
      )
      assert.isFalse(
        readdirSync(join(path, "..")).some((f) => f.endsWith(".tmp")),
        "no temporary file left behind"
      )

      yield* run({ ...options, seed: "run-2" }, (sim) =>
        Effect.gen(function* () {
          // The clock went on where it was: the task is still queued, and the same task.
          assert.isAtLeast(yield* sim.now, first.now)
          const queued = yield* status(sim, first.id)
          assert.strictEqual(queued.code, 200)
          assert.strictEqual(queued.body.status, "queued")
          assert.strictEqual(queued.body.prompt, "a cat")
          assert.deepStrictEqual(yield* sim.ledger, first.ledger)
          assert.strictEqual(yield* sim.balance("apiyi", "sk-test-apiyi"), "12.50")

          yield* TestClock.adjust(first.task.queueMs + first.task.runMs)
          const done = yield* status(sim, first.id)
          assert.strictEqual(done.body.status, "completed")
          const content = yield* json(yield* get(`${sim.urls.laozhang}/videos/${first.id}/content`, laozhang))
          assert.strictEqual(content.url, `${sim.urls.cdn}${new URL(first.task.url).pathname}`)
          const video = yield* get(content.url)
          assert.strictEqual(video.status, 200)
          assert.isTrue((yield* bytes(video)).equals(fixture))
          const official = yield* get(`${sim.urls.laozhang}/videos/${first.official}/content`, laozhang)
          assert.strictEqual(official.status, 200)
          assert.strictEqual(official.headers.get("content-type"), "video/mp4")

          // Charged once, at completion, on top of run 1's charge.
          const ledger = yield* sim.ledger
          assert.deepStrictEqual(
            ledger.map((e) => [e.seq, e.taskId, e.amount]),
            [
              [1, first.official, "0.30"],
              [2, first.id, "0.15"]
            ]
          )
          assert.strictEqual(yield* sim.balance("laozhang", "sk-test-laozhang"), "999999.55")

          // The sequence went on: a new task is the third, with a new id.
          const next = yield* create(sim, "a bird")
          assert.strictEqual(sim.state.tasks.find(next.id)?.seq, 3)
          assert.notInclude([first.id, first.official], next.id)
        })
      )
    })
  )

  it.scoped("the same seed in every run still never repeats an id (the sequence survives)", () =>
    Effect.gen(function* () {
      const path = yield* stateFile
      const ids: Array<string> = []
      for (let i = 0; i < 3; i++) {
        ids.push(yield* run({ stateFile: path }, (sim) => Effect.map(create(sim, `run ${i}`), (c) => c.id as string)))
      }
      assert.strictEqual(new Set(ids).size, 3)
      assert.strictEqual(StateFile.decode(path, readFileSync(path, "utf8")).seq, 3)
    })
  )

  it.scoped("without ports given, the last run's ports are reused: links handed out before still work", () =>
    Effect.gen(function* () {
      const path = yield* stateFile
      const first = yield* run({ stateFile: path }, (sim) =>
        Effect.gen(function* () {
          const created = yield* create(sim, "x")
          yield* TestClock.adjust("1 minute")
          const content = yield* json(yield* get(`${sim.urls.laozhang}/videos/${created.id}/content`, laozhang))
          return { urls: sim.urls, url: content.url as string }
        })
      )
      yield* run({ stateFile: path }, (sim) =>
        Effect.gen(function* () {
          assert.deepStrictEqual(sim.urls, first.urls)
          const video = yield* get(first.url)
          assert.strictEqual(video.status, 200)
          assert.isTrue((yield* bytes(video)).equals(fixture))
        })
      )
    })
  )

  it.scoped("time between runs counts on the base clock; a task due meanwhile reads as completed and is charged", () =>
    Effect.gen(function* () {
      const path = yield* stateFile
      const clock = SimClock.manual()
      const id = yield* run({ stateFile: path, clock }, (sim) => Effect.map(create(sim, "x"), (c) => c.id as string))
      // Nothing runs for ten minutes.
      clock.advance(10 * 60 * 1000)
      yield* run({ stateFile: path, clock }, (sim) =>
        Effect.gen(function* () {
          assert.strictEqual((yield* status(sim, id)).body.status, "completed")
          assert.deepStrictEqual(
            (yield* sim.ledger).map((e) => e.taskId),
            [id]
          )
          // A lead given with `advance` is kept by the next run.
          yield* sim.advance("1 hour")
        })
      )
      const saved = StateFile.decode(path, readFileSync(path, "utf8"))
      assert.strictEqual(saved.clock.offsetMs, 60 * 60 * 1000)
      // A base clock behind the saved instant (a fresh manual clock) resumes from that instant.
      yield* run({ stateFile: path, clock: SimClock.manual() }, (sim) =>
        Effect.gen(function* () {
          assert.strictEqual(yield* sim.now, saved.clock.now)
        })
      )
    })
  )

  it.scoped("a create is answered only once its task is on disk", () =>
    Effect.gen(function* () {
      const path = yield* stateFile
      yield* run({ stateFile: path }, (sim) =>
        Effect.gen(function* () {
          for (let i = 0; i < 3; i++) {
            const created = yield* create(sim, `x${i}`)
            const onDisk = StateFile.decode(path, readFileSync(path, "utf8"))
            assert.include(
              onDisk.tasks.map((t) => t.id),
              created.id
            )
            assert.strictEqual(onDisk.seq, i + 1)
          }
        })
      )
    })
  )

  it.scoped("a task's own fault directives survive with the hits they had", () =>
    Effect.gen(function* () {
      const path = yield* stateFile
      const id = yield* run({ stateFile: path }, (sim) =>
        Effect.gen(function* () {
          const created = yield* create(sim, "x @sim:503(on=status,times=2)")
          assert.strictEqual((yield* status(sim, created.id)).code, 503)
          return created.id as string
        })
      )
      yield* run({ stateFile: path }, (sim) =>
        Effect.gen(function* () {
          assert.strictEqual((yield* status(sim, id)).code, 503)
          assert.strictEqual((yield* status(sim, id)).code, 200)
        })
      )
    })
  )

  it.scoped("idempotency records survive: a repeated key in a later run replays the first create", () =>
    Effect.gen(function* () {
      const path = yield* stateFile
      const headers = { ...laozhang, "idempotency-key": "batch-7" }
      const options = { stateFile: path, honourIdempotencyKey: true }
      const first = yield* run(options, (sim) => create(sim, "x", headers))
      yield* run({ ...options, seed: "other" }, (sim) =>
        Effect.gen(function* () {
          const res = yield* postJson(`${sim.urls.laozhang}/videos`, { model: "veo-3.1-fast", prompt: "x" }, headers)
          assert.strictEqual(res.headers.get("idempotent-replayed"), "true")
          assert.deepStrictEqual(yield* json(res), first)
          assert.strictEqual((yield* sim.tasks).length, 1)
        })
      )
    })
  )

  it.scoped("two simulators sharing one file at once: the tasks and charges of both survive", () =>
    Effect.gen(function* () {
      const path = yield* stateFile
      const ids = yield* Effect.scoped(
        Effect.gen(function* () {
          const a = yield* Simulator.make({ stateFile: path, seed: "a", port: 0, cdnPort: 0 })
          const b = yield* Simulator.make({ stateFile: path, seed: "b", port: 0, cdnPort: 0 })
          const made: Array<string> = []
          // Interleaved, so each save has the other's latest write to merge.
          for (let i = 0; i < 3; i++) {
            made.push((yield* create(a, `a${i}`)).id, (yield* create(b, `b${i}`)).id)
          }
          yield* TestClock.adjust("1 minute")
          return made
        })
      )
      yield* run({ stateFile: path }, (sim) =>
        Effect.gen(function* () {
          for (const id of ids) assert.strictEqual((yield* status(sim, id)).body.status, "completed", id)
          const ledger = yield* sim.ledger
          assert.deepStrictEqual(ledger.map((e) => e.taskId).sort(), [...ids].sort())
          assert.deepStrictEqual(
            ledger.map((e) => e.seq),
            [1, 2, 3, 4, 5, 6]
          )
          assert.strictEqual(yield* sim.total, "0.90")
          assert.strictEqual(yield* sim.balance("laozhang", "sk-test-laozhang"), "999999.10")
        })
      )
    })
  )

  it.scoped("reset starts the file afresh", () =>
    Effect.gen(function* () {
      const path = yield* stateFile
      yield* run({ stateFile: path }, (sim) =>
        Effect.gen(function* () {
          yield* create(sim, "x")
          yield* sim.reset
        })
      )
      const saved = StateFile.decode(path, readFileSync(path, "utf8"))
      assert.deepStrictEqual([saved.tasks.length, saved.seq, saved.ledger.entries.length], [0, 0, 0])
    })
  )

  const refused = (path: string) =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Effect.scoped(Simulator.makeChecked({ stateFile: path })))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Option.getOrThrow(Cause.failureOption(exit.cause)) : undefined
      assert.instanceOf(error, Simulator.StateFileError)
      assert.strictEqual(error!.path, path)
      assert.include(error!.message, path)
      // `make` refuses it too, as a defect carrying the same error.
      const died = yield* Effect.exit(Effect.scoped(Simulator.make({ stateFile: path })))
      assert.isTrue(
        Exit.isFailure(died) && Option.getOrThrow(Cause.dieOption(died.cause)) instanceof StateFile.StateFileError
      )
      return error!
    })

  it.scoped("a corrupt, foreign or newer file is refused, naming the file and the problem, and left as it is", () =>
    Effect.gen(function* () {
      const path = yield* stateFile
      yield* run({ stateFile: path }, (sim) => create(sim, "x"))
      const good = JSON.parse(readFileSync(path, "utf8"))

      const cases: ReadonlyArray<readonly [string, StateFile.Reason, string]> = [
        ['{"format": "reelay-simulator-state", "vers', "corrupt", "not valid JSON"],
        ["", "corrupt", "empty"],
        ['{"tasks": []}', "corrupt", "not a reelay simulator state file"],
        [JSON.stringify({ ...good, tasks: [{ ...good.tasks[0], seq: "one" }] }), "corrupt", "at tasks.0.seq"],
        [JSON.stringify({ ...good, version: 2 }), "newer-version", "format version 2"],
        [JSON.stringify({ ...good, tasks: [{ ...good.tasks[0], model: "veo-9" }] }), "incompatible", "no model veo-9"]
      ]
      for (const [text, reason, detail] of cases) {
        writeFileSync(path, text)
        const error = yield* refused(path)
        assert.strictEqual(error.reason, reason, text)
        assert.include(error.message, detail)
        assert.strictEqual(readFileSync(path, "utf8"), text, "the refused file is not overwritten")
      }
    })
  )

  it.scoped("a path that cannot be read as a file is refused as unreadable", () =>
    Effect.gen(function* () {
      // The temporary directory itself: it exists, and is a directory.
      const directory = join(yield* stateFile, "..", "..")
      const error = yield* refused(directory)
      assert.strictEqual(error.reason, "unreadable")
    })
  )
})
