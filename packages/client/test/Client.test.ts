/**
 * `@reelay/client` as code without Effect uses it: Promises, events, error classes, abort and
 * resume, against the built-in simulator (nothing configured), with the journal in a folder of the
 * test's own.
 */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import { afterAll, afterEach, assert, beforeAll, describe, it } from "vitest"
import {
  Aborted,
  ContentRejected,
  createClient,
  InvalidRequest,
  UsageError,
  type Video,
  VideoError
} from "../src/index.js"

const dir = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "reelay-client-"))
const journal = NodePath.join(dir, "journal.db")
const at = (name: string) => NodePath.join(dir, name)

// "Nothing configured": no provider, key or setting of reelay's in the environment while these run.
const saved: Record<string, string | undefined> = {}
beforeAll(() => {
  for (const name of Object.keys(process.env)) {
    if (/^(REELAY_|LAOZHANG_|APIYI_)/.test(name)) {
      saved[name] = process.env[name]
      delete process.env[name]
    }
  }
})
afterAll(() => {
  Object.assign(process.env, saved)
  NodeFs.rmSync(dir, { recursive: true, force: true })
})

let counter = 0
afterEach(() => {
  counter++
})

describe("createClient", () => {
  it("with nothing configured, generates on the built-in simulator and saves a verified video", async () => {
    const reelay = createClient({ journal })
    const events: Array<GenerationEvent["_tag"]> = []
    const video: Video = await reelay.generate(
      { prompt: "A red fox in the snow", output: at("fox.mp4") },
      { onEvent: (event) => events.push(event._tag) }
    )
    assert.strictEqual(video.path, at("fox.mp4"))
    assert.match(video.sha256, /^[0-9a-f]{64}$/)
    assert.strictEqual(NodeFs.statSync(video.path).size, video.bytes)
    assert.strictEqual(video.cost, "0.25")
    assert.match(video.provider, /^simulator/)
    assert.match(video.batch, /^gen-[0-9a-f]{8}$/)
    for (const tag of ["Validated", "Submitted", "Succeeded", "Saved"]) assert.include(events, tag)

    // The journal holds it, as it does for the command line.
    const [item] = await reelay.status(video.batch)
    assert.strictEqual(item?.state, "downloaded")
    assert.strictEqual(item?.sha256, video.sha256)
    const batches = await reelay.status()
    assert.isTrue(batches.some((batch) => batch.batch === video.batch))
  })

  it("rejects with real error classes that say what was billed and the command's exit code", async () => {
    const reelay = createClient({ journal })
    const refused = await reelay
      .generate({ prompt: "@sim:content-policy(on=create) a fox", output: at(`refused-${counter}.mp4`) })
      .then(
        () => undefined,
        (error: unknown) => error
      )
    assert.instanceOf(refused, ContentRejected)
    assert.instanceOf(refused, VideoError)
    assert.instanceOf(refused, Error)
    const error = refused as ContentRejected
    assert.strictEqual(error._tag, "ContentRejected")
    assert.strictEqual(error.billing, "not-charged")
    assert.match(error.provider ?? "", /^simulator/)
    assert.strictEqual(error.exitCode, 13)
    assert.isDefined(error.resume?.batch)

    const unknown = await createClient({ journal, provider: "nowhere" })
      .generate({ prompt: "a fox", output: at("nowhere.mp4") })
      .catch((e: unknown) => e)
    assert.instanceOf(unknown, VideoError)
    assert.include((unknown as VideoError).message, "nowhere")

    const badModel = await reelay
      .generate({ prompt: "a fox", model: "veo-9", output: at("veo9.mp4") })
      .catch((e: unknown) => e)
    assert.instanceOf(badModel, InvalidRequest)
    assert.strictEqual((badModel as InvalidRequest).exitCode, 10)
    assert.strictEqual((badModel as InvalidRequest).billing, "not-charged")
    assert.isUndefined((badModel as InvalidRequest).resume, "refused before anything was journaled: nothing to resume")

    const badScale = await createClient({ journal, timeScale: -1 })
      .generate({ prompt: "a fox" })
      .catch((e: unknown) => e)
    assert.instanceOf(badScale, UsageError)
    assert.strictEqual((badScale as UsageError).exitCode, 2)
    assert.include((badScale as UsageError).message, "positive number")

    // A key meant for a real provider is never left unused while the simulator answers.
    const keyForNobody = await createClient({ journal, apiKey: "sk-real-key-0123456789" })
      .generate({ prompt: "a fox" })
      .catch((e: unknown) => e)
    assert.instanceOf(keyForNobody, UsageError)
    assert.include((keyForNobody as UsageError).message, "provider")
    assert.notInclude((keyForNobody as UsageError).message, "sk-real-key")
  })

  it("refuses an output that already holds a file, before anything is sent", async () => {
    NodeFs.writeFileSync(at("keep.mp4"), "mine")
    const error = await createClient({ journal })
      .generate({ prompt: "a fox", output: at("keep.mp4") })
      .catch((e: unknown) => e)
    assert.instanceOf(error, UsageError)
    assert.include((error as UsageError).message, "overwrite: true")
    assert.strictEqual(NodeFs.readFileSync(at("keep.mp4"), "utf8"), "mine")
  })

  it("an abort never abandons a paid task: it rejects with a handle, and resume collects the video", async () => {
    const reelay = createClient({ journal })
    const controller = new AbortController()
    const aborted = await reelay
      .generate(
        { prompt: "@sim:timing(queue=0,run=3) a slow fox", output: at("slow.mp4") },
        { signal: controller.signal, onEvent: (event) => event._tag === "Submitted" && controller.abort() }
      )
      .catch((e: unknown) => e)
    assert.instanceOf(aborted, Aborted)
    assert.strictEqual((aborted as Aborted).exitCode, 130)
    const handle = (aborted as Aborted).resume!
    assert.match(handle.batch, /^gen-/)
    assert.isFalse(NodeFs.existsSync(at("slow.mp4")))
    const [item] = await reelay.status(handle.batch)
    assert.isDefined(item?.taskId, "the task id is journaled")

    const creates: Array<string> = []
    const video = await reelay.resume(
      { batch: handle.batch, key: handle.key! },
      { onEvent: (event) => event._tag === "Submitting" && creates.push(event.key) }
    )
    assert.strictEqual(video.path, at("slow.mp4"))
    assert.strictEqual(video.taskId, item?.taskId)
    assert.deepStrictEqual(creates, [], "the resume polled the task; it created nothing")
    const missing = await reelay.resume({ batch: handle.batch, key: "no-such-item" }).catch((e: unknown) => e)
    assert.instanceOf(missing, UsageError)
    const rows = await reelay.cost({ batch: handle.batch })
    assert.strictEqual(
      rows.reduce((sum, row) => sum + Number(row.charged), 0),
      0.25,
      "charged once"
    )
  })

  it("a signal aborted before the call sends nothing and journals nothing", async () => {
    const reelay = createClient({ journal })
    const before = (await reelay.status()).length
    const error = await reelay
      .generate({ prompt: "a fox", output: at("never.mp4") }, { signal: AbortSignal.abort() })
      .catch((e: unknown) => e)
    assert.instanceOf(error, Aborted)
    assert.strictEqual((error as Aborted).billing, "not-charged")
    assert.isUndefined((error as Aborted).resume)
    assert.strictEqual((await reelay.status()).length, before)
  })

  it("runs a batch: events as they come, then the report", async () => {
    const reelay = createClient({ journal })
    const run = reelay.batch(
      [
        { key: "one", prompt: "a fox" },
        { key: "two", prompt: "an owl" },
        { key: "three", prompt: "@sim:content-policy(on=create) a bear" }
      ],
      { outDir: at("batch") }
    )
    const seen = new Set<string>()
    for await (const event of run) if (event._tag === "Saved") seen.add(event.key)
    const report = await run.report
    assert.deepStrictEqual([...seen].sort(), ["one", "two"])
    assert.deepStrictEqual(report.videos.map((video) => video.key).sort(), ["one", "two"])
    assert.strictEqual(report.failures.length, 1)
    assert.instanceOf(report.failures[0], ContentRejected)
    assert.strictEqual(report.failures[0]?.resume?.key, "three")
    assert.strictEqual(report.charged, "0.50")
    assert.isTrue(NodeFs.existsSync(at("batch/one.mp4")))
  })

  it("resume retries, when asked, only items that failed at no cost", async () => {
    const reelay = createClient({ journal })
    const creates = (events: Array<string>) => (event: GenerationEvent) => {
      if (event._tag === "Submitting") events.push(event.key)
    }
    const fresh: Array<string> = []
    const first = reelay.batch([{ key: "doomed", prompt: "@sim:fail a fox that never renders" }], {
      outDir: at("retry"),
      onEvent: creates(fresh)
    })
    const report = await first.report
    assert.strictEqual(report.failures[0]?._tag, "GenerationFailed")
    assert.strictEqual(report.failures[0]?.billing, "not-charged")
    assert.isAbove(fresh.length, 0)
    const plain: Array<string> = []
    const again = await reelay.resume(report.batch, { onEvent: creates(plain) })
    assert.deepStrictEqual(plain, [], "a plain resume reports the failure and creates nothing")
    assert.strictEqual(again.failures[0]?._tag, "GenerationFailed")

    const retried: Array<string> = []
    const retry = await reelay.resume(report.batch, { retryFailed: true, onEvent: creates(retried) })
    // As a new run of the item would: its first create, and the free regenerations the policy allows.
    assert.deepStrictEqual(retried, fresh, "created again, as a fresh run creates it")
    assert.strictEqual(retry.failures[0]?._tag, "GenerationFailed", "the simulator fails this prompt every time")
    assert.strictEqual(retry.charged, "0.00", "free failures, free retries")
  })

  it("lists the models of every provider", async () => {
    const models = await createClient({ journal }).models()
    const laozhang = models.filter((model) => model.provider === "laozhang")
    assert.isAbove(laozhang.length, 0)
    assert.match(laozhang[0]!.price, /^\d+\.\d{2}$/)
  })
})
