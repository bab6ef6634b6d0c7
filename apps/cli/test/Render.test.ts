import { describe, expect, it } from "@effect/vitest"
import { UrlAsset } from "@reelay/core/AssetSource"
import * as GenerationEvent from "@reelay/core/GenerationEvent"
import * as Money from "@reelay/core/Money"
import { SavedVideo, VideoProbe } from "@reelay/core/SavedVideo"
import { TaskHandle } from "@reelay/core/TaskHandle"
import { GenerationFailed, PollTimeout, RateLimited } from "@reelay/core/VideoError"
import * as Progress from "../src/Progress.js"
import * as Render from "../src/Render.js"

const key = "fox"
const video = new SavedVideo({
  path: `${process.cwd()}/out/fox.mp4`,
  bytes: 1_234_567,
  sha256: "ab".repeat(32),
  probe: new VideoProbe({
    container: "mp4",
    mimeType: "video/mp4",
    width: 1280,
    height: 720,
    durationSeconds: 8,
    hasAudio: true
  }),
  provider: "laozhang",
  model: "veo-3.1-fast",
  taskId: "video_1",
  cost: Money.usd("0.15")
})
const handle = new TaskHandle({
  provider: "laozhang",
  model: "veo-3.1-fast",
  taskId: "video_1",
  mode: "async",
  createdAt: new Date(0)
})

/** A successful generation, in the engine's order. */
const events: ReadonlyArray<GenerationEvent.GenerationEvent> = [
  new GenerationEvent.Validated({
    key,
    provider: "laozhang",
    model: "veo-3.1-fast",
    estimatedCost: Money.usd("0.15"),
    chargePolicy: "on-success",
    warnings: []
  }),
  new GenerationEvent.Submitting({ key, provider: "laozhang", model: "veo-3.1-fast", idempotencyKey: "i" }),
  new GenerationEvent.Submitted({ key, handle }),
  new GenerationEvent.Queued({ key, taskId: "video_1" }),
  new GenerationEvent.Progress({ key, taskId: "video_1", percent: 40, etaSeconds: 12 }),
  new GenerationEvent.Charged({
    key,
    provider: "laozhang",
    model: "veo-3.1-fast",
    amount: Money.usd("0.15"),
    chargePolicy: "on-success",
    billing: "charged",
    taskId: "video_1"
  }),
  new GenerationEvent.Succeeded({ key, taskId: "video_1", asset: new UrlAsset({ url: "https://cdn/x.mp4" }) }),
  new GenerationEvent.Downloading({ key, receivedBytes: 600_000, totalBytes: 1_234_567 }),
  new GenerationEvent.Saved({ key, video })
]

const failure = new GenerationFailed({
  provider: "apiyi",
  taskId: "video_2",
  billing: "not-charged",
  message: "the task failed\n at 50%"
})

describe("Progress", () => {
  it("folds a generation into the view a user sees", () => {
    const views: Array<Progress.TaskView> = []
    for (const event of events) views.push(Progress.update(views.at(-1) ?? Progress.initial(key), event))
    expect(views.map((view) => view.phase)).toEqual([
      "validated",
      "submitting",
      "submitted",
      "queued",
      "running",
      "running",
      "succeeded",
      "downloading",
      "saved"
    ])
    const last = views.at(-1)!
    expect(last.taskId).toBe("video_1")
    expect(Money.format(last.charged)).toBe("$0.15")
    expect(last.video?.path).toBe(video.path)
  })

  it("never lets the percentage go down, and counts totals over a board", () => {
    let view = Progress.update(Progress.initial(key), new GenerationEvent.Progress({ key, taskId: "t", percent: 60 }))
    view = Progress.update(view, new GenerationEvent.Progress({ key, taskId: "t", percent: 30 }))
    expect(view.percent).toBe(60)
    let board = Progress.board(["fox", "owl", "cat"])
    for (const event of events) board = Progress.apply(board, event)
    board = Progress.apply(board, new GenerationEvent.Failed({ key: "owl", error: failure }))
    board = Progress.apply(
      board,
      new GenerationEvent.Charged({
        key: "cat",
        provider: "x",
        model: "y",
        amount: Money.usd("0.30"),
        chargePolicy: "per-request",
        billing: "unknown"
      })
    )
    const totals = Progress.totals(board)
    expect(totals).toMatchObject({ total: 3, saved: 1, failed: 1, duplicates: 0 })
    expect(Money.format(totals.charged)).toBe("$0.15")
    expect(Money.format(totals.unknown)).toBe("$0.30")
    expect(board.order).toEqual(["fox", "owl", "cat"])
  })
})

describe("Render", () => {
  it("formats sizes, durations, estimates and bars", () => {
    expect(Render.bytes(512)).toBe("512 B")
    expect(Render.bytes(84_458)).toBe("84.5 KB")
    expect(Render.bytes(1_234_567)).toBe("1.2 MB")
    expect(Render.bytes(250_000_000)).toBe("250 MB")
    expect(Render.seconds(8)).toBe("8.0 s")
    expect(Render.seconds(65)).toBe("1 min 05 s")
    expect(Render.eta(9.6)).toBe("ETA 10s")
    expect(Render.eta(125)).toBe("ETA 2m05s")
    expect(Render.bar(0.5, 10)).toBe("█████░░░░░")
    expect(Render.bar(2, 4)).toBe("████")
    expect(Render.resolutionClass(1280, 720)).toBe("720p")
    expect(Render.resolutionClass(3840, 2160)).toBe("4k")
    expect(Render.displayPath("/a/b/c.mp4", "/a")).toBe("b/c.mp4")
    expect(Render.displayPath("/x/c.mp4", "/a")).toBe("/x/c.mp4")
  })

  it("prints a plain line for each meaningful event", () => {
    const lines = events.map(Render.eventLine)
    expect(lines).toEqual([
      "fox: validated: laozhang veo-3.1-fast, up to $0.15 (charged on success)",
      undefined,
      "fox: submitted: task video_1",
      "fox: queued",
      "fox: 40% (ETA 12s)",
      "fox: charged $0.15 (laozhang veo-3.1-fast, charged on success)",
      "fox: generated",
      "fox: downloading 600 KB of 1.2 MB",
      "fox: saved out/fox.mp4 (1280x720, 8.0 s, 1.2 MB)"
    ])
    expect(Render.eventLine(new GenerationEvent.Failed({ key, error: failure }))).toBe(
      "fox: failed: GenerationFailed: the task failed at 50% (not charged)"
    )
    expect(
      Render.eventLine(
        new GenerationEvent.Retrying({
          key,
          operation: "status",
          attempt: 2,
          delayMillis: 1500,
          error: new RateLimited({ message: "slow down" })
        })
      )
    ).toBe("fox: retrying status (attempt 2, in 1.5s): RateLimited: slow down")
  })

  it("throttles progress and download lines", () => {
    const progress = (percent: number) => new GenerationEvent.Progress({ key, taskId: "t", percent })
    expect(Render.worthPrinting(progress(5), {})).toBe(true)
    expect(Render.worthPrinting(progress(12), { percent: 5 })).toBe(false)
    expect(Render.worthPrinting(progress(15), { percent: 5 })).toBe(true)
    const download = (receivedBytes: number) => new GenerationEvent.Downloading({ key, receivedBytes, totalBytes: 100 })
    expect(Render.worthPrinting(download(0), {})).toBe(false)
    expect(Render.worthPrinting(download(10), {})).toBe(true)
    expect(Render.worthPrinting(download(20), { bytes: 10 })).toBe(false)
    expect(Render.worthPrinting(download(40), { bytes: 10 })).toBe(true)
    expect(Render.worthPrinting(download(100), { bytes: 90 })).toBe(true)
  })

  it("draws one bar per task, cut to the terminal's width, colours not counted", () => {
    let board = Progress.board(["fox", "owl"])
    for (const event of events.slice(0, 5)) board = Progress.apply(board, event)
    const style = { color: true }
    const lines = Render.board(board, Progress.totals(board), { width: 60, maxLines: 10, style })
    expect(lines).toHaveLength(3)
    const visible = (text: string) => text.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "")
    expect(visible(lines[0]!)).toMatch(/^fox +█+░+ +40% {2}ETA 12s/)
    expect(visible(lines[0]!).length).toBeLessThanOrEqual(60)
    expect(visible(lines[1]!)).toMatch(/^owl +waiting/)
    expect(visible(lines[2]!)).toBe("0/2 saved, 1 in progress; $0.00 charged")
    const many = Progress.board(Array.from({ length: 30 }, (_, i) => `item-${i}`))
    expect(Render.board(many, Progress.totals(many), { width: 80, maxLines: 5, style: Render.plain })).toHaveLength(5)
  })

  it("summarises a saved video: path, resolution, duration, size, cost", () => {
    let view = Progress.initial(key)
    for (const event of events) view = Progress.update(view, event)
    expect(Render.summary(view, Render.plain)).toEqual([
      "saved out/fox.mp4",
      "  resolution  1280x720 (720p)",
      "  duration    8.0 s, with audio",
      "  size        1.2 MB",
      "  cost        $0.15 charged (charged on success)",
      "  model       laozhang veo-3.1-fast, task video_1"
    ])
  })

  it("writes NDJSON that decodes back into the same events, and a result or error line", () => {
    for (const event of events) {
      const line = Render.jsonEvent(event)
      expect(line).not.toContain("\n")
      expect(GenerationEvent.decode(JSON.parse(line))._tag).toBe(event._tag)
    }
    expect(JSON.parse(Render.jsonResult(video))).toMatchObject({ result: { path: video.path, bytes: 1_234_567 } })
    const timeout = new PollTimeout({
      provider: "laozhang",
      handle,
      waitedMillis: 1000,
      billing: "unknown",
      message: "m"
    })
    const error = JSON.parse(Render.jsonError(timeout, 19))
    expect(error.error).toMatchObject({ _tag: "PollTimeout", message: "m", billing: "unknown", exitCode: 19 })
    expect(error.error.handle.taskId).toBe("video_1")
    expect(JSON.parse(Render.jsonError({ _tag: "UsageError", message: "bad" }, 2))).toEqual({
      error: { _tag: "UsageError", message: "bad", exitCode: 2 }
    })
    expect(Render.errorLine(failure)).toBe("reelay: GenerationFailed: the task failed at 50% (not charged)")
  })

  it("lays out tables", () => {
    expect(
      Render.table(
        ["A", "NUM"],
        [
          ["x", "1"],
          ["long", "100"]
        ],
        { right: [1] }
      )
    ).toEqual(["A     NUM", "x       1", "long  100"])
    expect(Render.counts({ failed: 1, downloaded: 3 }, ["downloaded", "failed", "running"])).toBe(
      "3 downloaded, 1 failed"
    )
  })
})
