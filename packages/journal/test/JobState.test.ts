import { assert, describe, it } from "@effect/vitest"
import { UrlAsset } from "@reelay/core/AssetSource"
import * as GenerationEvent from "@reelay/core/GenerationEvent"
import * as Money from "@reelay/core/Money"
import { SavedVideo, VideoProbe } from "@reelay/core/SavedVideo"
import { TaskHandle } from "@reelay/core/TaskHandle"
import * as VideoError from "@reelay/core/VideoError"
import * as JobState from "../src/JobState.js"

const now = Date.parse("2025-06-01T12:00:00Z")
const hour = 3600 * 1000

const handle = (createdAt = now - hour, ttl = 24 * hour, mode: "async" | "streaming" = "async") =>
  new TaskHandle({
    provider: "scripted",
    model: "acme-portrait",
    taskId: "task-1",
    mode,
    createdAt: new Date(createdAt),
    expiresAt: new Date(createdAt + ttl)
  })

const video = new SavedVideo({
  path: "/tmp/out/a.mp4",
  bytes: 1000,
  sha256: "ab".repeat(32),
  probe: new VideoProbe({
    container: "mp4",
    mimeType: "video/mp4",
    width: 720,
    height: 1280,
    durationSeconds: 8,
    hasAudio: true
  }),
  provider: "scripted",
  model: "acme-portrait",
  taskId: "task-1"
})

const planned: JobState.Row = {
  state: "planned",
  provider: undefined,
  model: undefined,
  idempotencyKey: undefined,
  attempts: 0,
  taskId: undefined,
  handle: undefined,
  asset: undefined,
  progress: undefined,
  video: undefined,
  error: undefined,
  failedFrom: undefined,
  billing: undefined,
  duplicateOf: undefined
}

const key = "a"
const events = {
  validated: new GenerationEvent.Validated({
    key,
    provider: "scripted",
    model: "acme-portrait",
    estimatedCost: Money.usd("0.25"),
    chargePolicy: "on-success",
    warnings: []
  }),
  submitting: new GenerationEvent.Submitting({
    key,
    provider: "scripted",
    model: "acme-portrait",
    idempotencyKey: "idem-1"
  }),
  submitted: (h = handle()) => new GenerationEvent.Submitted({ key, handle: h }),
  progress: (percent: number) => new GenerationEvent.Progress({ key, taskId: "task-1", percent }),
  succeeded: (asset = new UrlAsset({ url: "https://cdn.example/v.mp4", expiresAt: new Date(now + hour) })) =>
    new GenerationEvent.Succeeded({ key, taskId: "task-1", asset }),
  saved: new GenerationEvent.Saved({ key, video }),
  failed: (error: VideoError.VideoError) => new GenerationEvent.Failed({ key, error })
}

/** Runs events through the state machine from a fresh row. */
const play = (...list: ReadonlyArray<GenerationEvent.GenerationEvent>) =>
  list.reduce((row, event) => JobState.apply(row, JobState.transition(row, event, now).patch), planned)

describe("JobState", () => {
  it("follows an item from planned to downloaded", () => {
    const row = play(events.validated, events.submitting)
    assert.strictEqual(row.state, "submitting")
    assert.strictEqual(row.idempotencyKey, "idem-1")
    assert.strictEqual(row.attempts, 1)
    const submitted = JobState.apply(row, JobState.transition(row, events.submitted(), now).patch)
    assert.strictEqual(submitted.state, "submitted")
    assert.strictEqual(submitted.taskId, "task-1")
    const done = play(
      events.validated,
      events.submitting,
      events.submitted(),
      events.progress(5),
      events.succeeded(),
      events.saved
    )
    assert.strictEqual(done.state, "downloaded")
    assert.strictEqual(done.video?.sha256, video.sha256)
  })

  it("thins progress readings out to every 10 points", () => {
    const running = play(events.submitting, events.submitted(), events.progress(3))
    assert.strictEqual(running.state, "running")
    assert.strictEqual(running.progress, 3)
    assert.isUndefined(JobState.transition(running, events.progress(12), now).patch)
    assert.strictEqual(JobState.transition(running, events.progress(13), now).patch?.progress, 13)
    assert.isFalse(JobState.transition(running, events.progress(50), now).log)
  })

  describe("resumption", () => {
    const resume = (row: JobState.Row, at = now) => JobState.resumption(row, at)
    // Where the create went: a request with routes is re-created there only.
    const route = { provider: "scripted", model: "acme-portrait" }

    it("planned and validated items are fresh", () => {
      assert.strictEqual(resume(planned)._tag, "Fresh")
      assert.strictEqual(resume(play(events.validated))._tag, "Fresh")
    })

    it("a create whose answer was never recorded is uncertain, with its idempotency key", () => {
      const row = play(events.validated, events.submitting)
      assert.deepStrictEqual(resume(row), { _tag: "Uncertain", idempotencyKey: "idem-1", route })
    })

    it("a failed create that proves nothing was created is fresh again", () => {
      for (const error of [
        new VideoError.RateLimited({ message: "429", billing: "not-charged" }),
        new VideoError.BudgetExceeded({
          message: "over",
          limit: Money.usd("1"),
          requested: Money.usd("0.25"),
          committed: Money.usd("1"),
          billing: "not-charged"
        }),
        new VideoError.InsufficientBalance({ message: "402", billing: "not-charged" }),
        new VideoError.ProviderUnavailable({ message: "refused", stage: "connect", billing: "not-charged" })
      ]) {
        const row = play(events.validated, events.submitting, events.failed(error))
        assert.strictEqual(row.state, "failed")
        assert.strictEqual(resume(row)._tag, "Fresh", error._tag)
      }
    })

    it("an uncertain submission stays uncertain", () => {
      const error = new VideoError.UncertainSubmission({
        message: "reset",
        idempotencyKey: "idem-1",
        billing: "unknown"
      })
      const row = play(events.validated, events.submitting, events.failed(error))
      assert.strictEqual(row.state, "uncertain")
      assert.strictEqual(row.billing, "unknown")
      assert.deepStrictEqual(resume(row), { _tag: "Uncertain", idempotencyKey: "idem-1", route })
    })

    it("a released uncertain item that fails before its new create stays uncertain, never fresh", () => {
      const uncertain = play(events.validated, events.submitting)
      // What `release` writes: planned again, and when (after the first create was sent).
      const released: JobState.Row = { ...uncertain, state: "planned", error: undefined, releasedAt: now + 1 }
      const refused = new VideoError.BudgetExceeded({
        message: "over",
        limit: Money.usd("0.25"),
        requested: Money.usd("0.25"),
        committed: Money.usd("0.25"),
        billing: "not-charged"
      })
      const row = [events.validated, events.failed(refused)].reduce(
        (current, event) => JobState.apply(current, JobState.transition(current, event, now + 2).patch),
        released
      )
      assert.strictEqual(row.state, "uncertain")
      assert.strictEqual(row.billing, "unknown")
      assert.deepStrictEqual(resume(row), { _tag: "Uncertain", idempotencyKey: "idem-1", route })
      // Once the new create was sent, its own outcome counts again.
      const resent = [events.validated, events.submitting, events.failed(refused)].reduce(
        (current, event) => JobState.apply(current, JobState.transition(current, event, now + 2).patch),
        released
      )
      assert.strictEqual(resume(resent)._tag, "Fresh")
    })

    it("a failed create that may have created something is uncertain, not fresh", () => {
      const error = new VideoError.MalformedResponse({ message: "garbled", billing: "unknown" })
      const row = play(events.validated, events.submitting, events.failed(error))
      assert.deepStrictEqual(resume(row), { _tag: "Uncertain", idempotencyKey: "idem-1", route })
    })

    it("a created task is polled, also after a non-final failure while polling", () => {
      assert.strictEqual(resume(play(events.submitting, events.submitted()))._tag, "Poll")
      assert.strictEqual(resume(play(events.submitting, events.submitted(), events.progress(40)))._tag, "Poll")
      for (const error of [
        new VideoError.PollTimeout({
          message: "deadline",
          handle: handle(),
          waitedMillis: 600_000,
          billing: "unknown"
        }),
        new VideoError.ProviderUnavailable({ message: "503", stage: "response" }),
        new VideoError.RateLimited({ message: "429" }),
        new VideoError.MalformedResponse({ message: "garbled" })
      ]) {
        const row = play(events.submitting, events.submitted(), events.progress(40), events.failed(error))
        const resumed = resume(row)
        assert.strictEqual(resumed._tag, "Poll", error._tag)
        if (resumed._tag === "Poll") assert.strictEqual(resumed.handle.taskId, "task-1")
      }
    })

    it("a finished video is fetched, also after a failed download", () => {
      const succeeded = play(events.submitting, events.submitted(), events.succeeded())
      const fetch = resume(succeeded)
      assert.strictEqual(fetch._tag, "Fetch")
      if (fetch._tag === "Fetch") assert.strictEqual(fetch.asset?._tag, "Url")
      const failed = play(
        events.submitting,
        events.submitted(),
        events.succeeded(),
        events.failed(new VideoError.DownloadFailed({ message: "cut", transient: true, billing: "charged" }))
      )
      assert.strictEqual(failed.failedFrom, "succeeded")
      assert.strictEqual(resume(failed)._tag, "Fetch")
    })

    it("a saved video is verified", () => {
      const resumed = resume(play(events.submitting, events.submitted(), events.succeeded(), events.saved))
      assert.strictEqual(resumed._tag, "Verify")
      if (resumed._tag === "Verify") {
        assert.strictEqual(resumed.video.sha256, video.sha256)
        assert.strictEqual(resumed.handle?.taskId, "task-1")
      }
    })

    it("a task that ended stays ended; an expired one too", () => {
      for (const error of [
        new VideoError.GenerationFailed({ message: "failed", billing: "not-charged" }),
        new VideoError.ContentRejected({ message: "policy", billing: "not-charged" })
      ]) {
        const row = play(events.submitting, events.submitted(), events.failed(error))
        const resumed = resume(row)
        assert.strictEqual(resumed._tag, "Ended", error._tag)
        if (resumed._tag === "Ended") assert.strictEqual(resumed.error._tag, error._tag)
      }
      const expired = play(
        events.submitting,
        events.submitted(),
        events.failed(new VideoError.TaskExpired({ message: "gone" }))
      )
      assert.strictEqual(expired.state, "expired")
      assert.strictEqual(resume(expired)._tag, "Ended")
    })

    it("a task the provider did not find is polled again: a wrong key or base URL must not abandon it", () => {
      const row = play(
        events.submitting,
        events.submitted(),
        events.failed(new VideoError.TaskNotFound({ message: "404", billing: "unknown" }))
      )
      const resumed = resume(row)
      assert.strictEqual(resumed._tag, "Poll")
    })

    it("a content rejection at create is ended, not fresh: it would be rejected again", () => {
      const error = new VideoError.ContentRejected({ message: "policy", billing: "not-charged" })
      assert.strictEqual(resume(play(events.validated, events.submitting, events.failed(error)))._tag, "Ended")
    })

    it("a video never fetched whose task and link expired ends with TaskExpired", () => {
      const old = handle(now - 25 * hour)
      const asset = new UrlAsset({ url: "https://cdn.example/v.mp4", expiresAt: new Date(now - hour) })
      const row = play(events.submitting, events.submitted(old), events.succeeded(asset))
      const resumed = resume(row)
      assert.strictEqual(resumed._tag, "Ended")
      if (resumed._tag === "Ended") {
        assert.strictEqual(resumed.error._tag, "TaskExpired")
        assert.strictEqual(resumed.error.billing, "charged")
      }
      // A link still valid is used even when the task is gone.
      const fresh = new UrlAsset({ url: "https://cdn.example/v.mp4", expiresAt: new Date(now + hour) })
      assert.strictEqual(resume(play(events.submitting, events.submitted(old), events.succeeded(fresh)))._tag, "Fetch")
    })

    it("a failed synchronous stream is not picked up again", () => {
      const streamed = handle(now, 24 * hour, "streaming")
      const row = play(
        events.submitting,
        events.submitted(streamed),
        events.failed(new VideoError.ProviderUnavailable({ message: "cut", stage: "exchange", billing: "unknown" }))
      )
      assert.strictEqual(resume(row)._tag, "Ended")
    })

    it("a regeneration replaces the failed task", () => {
      const row = play(
        events.submitting,
        events.submitted(),
        new GenerationEvent.Retrying({
          key,
          operation: "generate",
          attempt: 1,
          delayMillis: 0,
          error: new VideoError.GenerationFailed({ message: "x", billing: "not-charged" })
        }),
        new GenerationEvent.Submitting({ key, provider: "scripted", model: "acme-portrait", idempotencyKey: "idem-2" })
      )
      assert.strictEqual(row.attempts, 2)
      assert.isUndefined(row.taskId)
      assert.deepStrictEqual(resume(row), { _tag: "Uncertain", idempotencyKey: "idem-2", route })
    })

    it("an ended item reported again keeps the state it failed from", () => {
      const error = new VideoError.DownloadFailed({ message: "gone", transient: false, billing: "charged" })
      const once = play(events.submitting, events.submitted(), events.succeeded(), events.failed(error))
      const twice = JobState.apply(once, JobState.transition(once, events.failed(error), now).patch)
      assert.strictEqual(twice.failedFrom, "succeeded")
    })

    it("a charge once certain stays certain", () => {
      const charged = new GenerationEvent.Charged({
        key,
        provider: "scripted",
        model: "acme-portrait",
        amount: Money.usd("0.25"),
        chargePolicy: "on-success",
        billing: "charged",
        taskId: "task-1"
      })
      const row = play(events.submitting, events.submitted(), charged)
      assert.strictEqual(row.billing, "charged")
      const after = play(
        events.submitting,
        events.submitted(),
        charged,
        events.failed(new VideoError.DownloadFailed({ message: "x", transient: false, billing: "charged" }))
      )
      assert.strictEqual(after.billing, "charged")
    })
  })
})
