/**
 * The journal's state machine, as pure functions: how each `GenerationEvent` moves an item's row,
 * and how a row tells the engine where to resume (`JobStore.Resumption`). The SQL store only reads
 * and writes rows; every decision is made here, so it is tested once for both dialects.
 *
 * ```
 * planned ──Submitting──▶ submitting ──Submitted──▶ submitted ──Progress──▶ running ──Succeeded──▶ succeeded ──Saved──▶ downloaded
 *    ▲                        │                         │                      │                       │
 *    │ release (user)         │ (crash) / Failed        └──── Failed ──────────┴──────── Failed ───────┘
 *    │                        ▼  UncertainSubmission                           ▼
 *    └──────────────────  uncertain                      failed(error, billing, failedFrom) | expired
 * ```
 *
 * @since 0.1.0
 */
import * as AssetSource from "@reelay/core/AssetSource"
import type { BillingOutcome } from "@reelay/core/Billing"
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import type { Resumption } from "@reelay/core/JobStore"
import * as RetryPolicy from "@reelay/core/RetryPolicy"
import { SavedVideo } from "@reelay/core/SavedVideo"
import { TaskHandle } from "@reelay/core/TaskHandle"
import { InvalidRequest, TaskExpired, UncertainSubmission, VideoError } from "@reelay/core/VideoError"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/**
 * Where an item stands.
 *
 * - `planned`: recorded, nothing billable happened yet (validated or not).
 * - `submitting`: the billable create is being made; its answer is not recorded yet.
 * - `submitted`: the provider accepted; the task id is known.
 * - `running`: the task reported progress.
 * - `succeeded`: the video exists at the provider.
 * - `downloaded`: the file is on disk, verified (path, sha256, bytes).
 * - `failed`: the item stopped without a video (`error`, `billing`); some failures can be resumed.
 * - `uncertain`: a create may have reached the provider and nobody knows whether a task exists.
 * - `expired`: the task or its video outlived the provider's retention (24 h) before we got it.
 * - `duplicate`: the item repeats another item of the batch (same request); it is generated once.
 */
export const JobState = Schema.Literal(
  "planned",
  "submitting",
  "submitted",
  "running",
  "succeeded",
  "downloaded",
  "failed",
  "uncertain",
  "expired",
  "duplicate"
)
export type JobState = typeof JobState.Type

/** The states in their natural order, for tables and summaries. */
export const states: ReadonlyArray<JobState> = JobState.literals

/** The states in which an item has ended: nothing more will move it without a resume. */
export const ended: ReadonlyArray<JobState> = ["downloaded", "failed", "expired", "uncertain", "duplicate"]

/** The states in which an item is still being worked (or waits to be). */
export const working: ReadonlyArray<JobState> = states.filter((state) => !ended.includes(state))

/** One item as the journal keeps it (the `reelay_jobs` row, decoded). */
export interface Row {
  readonly state: JobState
  readonly provider: string | undefined
  readonly model: string | undefined
  readonly idempotencyKey: string | undefined
  readonly attempts: number
  readonly taskId: string | undefined
  readonly handle: TaskHandle | undefined
  readonly asset: AssetSource.UrlAsset | undefined
  readonly progress: number | undefined
  readonly video: SavedVideo | undefined
  readonly error: VideoError | undefined
  /** The state the item was in when it failed: decides whether a failure resumes by polling or fetching. */
  readonly failedFrom: JobState | undefined
  readonly billing: BillingOutcome | undefined
  readonly duplicateOf: string | undefined
  /** When the latest create was sent (epoch milliseconds). */
  readonly submittedAt?: number | undefined
  /** When the user last allowed an uncertain item to be created again. */
  readonly releasedAt?: number | undefined
}

/** A change to a row; only the fields named change. */
export type Patch = { -readonly [K in keyof Row]?: Row[K] | undefined } & {
  readonly estimatedCost?: string | undefined
  readonly chargePolicy?: string | undefined
  readonly validatedAt?: number | undefined
  readonly submittedAt?: number | undefined
}

/** What `record` does with one event. */
export interface Transition {
  /** The row change, if the event changes the item. */
  readonly patch: Patch | undefined
  /** Whether the event gets a row in the event log. */
  readonly log: boolean
}

/**
 * Progress readings are frequent (every poll) and say nothing a resume needs: only every
 * `progressStep` points (and the first one, which marks the task running) reach the journal.
 */
export const progressStep = 10

const encodeHandle = Schema.encodeSync(TaskHandle)
const decodeHandle = Schema.decodeUnknownOption(TaskHandle)
const encodeVideo = Schema.encodeSync(SavedVideo)
const decodeVideo = Schema.decodeUnknownOption(SavedVideo)
const encodeError = Schema.encodeSync(VideoError)
const decodeError = Schema.decodeUnknownOption(VideoError)
const encodeAsset = Schema.encodeSync(AssetSource.UrlAsset)
const decodeAsset = Schema.decodeUnknownOption(AssetSource.UrlAsset)

/** JSON columns: what the engine's schemas encode, so a row can always be decoded back. */
export const json = {
  handle: (handle: TaskHandle) => JSON.stringify(encodeHandle(handle)),
  video: (video: SavedVideo) => JSON.stringify(encodeVideo(video)),
  error: (error: VideoError) => JSON.stringify(encodeError(error)),
  asset: (asset: AssetSource.UrlAsset) => JSON.stringify(encodeAsset(asset))
}

const parse = <A>(text: string | null | undefined, decode: (u: unknown) => Option.Option<A>): A | undefined => {
  if (text === null || text === undefined) return undefined
  try {
    return Option.getOrUndefined(decode(JSON.parse(text)))
  } catch {
    return undefined
  }
}

/** Decoders for the JSON columns; a column that no longer decodes reads as absent. */
export const parseJson = {
  handle: (text: string | null | undefined) => parse(text, decodeHandle),
  video: (text: string | null | undefined) => parse(text, decodeVideo),
  error: (text: string | null | undefined) => parse(text, decodeError),
  asset: (text: string | null | undefined) => parse(text, decodeAsset)
}

/**
 * How one event changes a row, and whether it is logged. A `duplicate` never changes (its only
 * event is the engine's warning). `now` is the event's time (epoch milliseconds).
 */
export const transition = (row: Row, event: GenerationEvent, now: number): Transition => {
  if (row.state === "duplicate")
    return { patch: undefined, log: event._tag !== "Progress" && event._tag !== "Downloading" }
  switch (event._tag) {
    case "Validated":
      return {
        patch: {
          state: "planned",
          provider: event.provider,
          model: event.model,
          estimatedCost: Schema.encodeSync(Schema.BigDecimal)(event.estimatedCost),
          chargePolicy: event.chargePolicy,
          validatedAt: now,
          error: undefined,
          failedFrom: undefined
        },
        log: true
      }
    case "Submitting":
      // A new billable attempt: whatever the previous attempt left (a failed task, say) is replaced.
      return {
        patch: {
          state: "submitting",
          provider: event.provider,
          model: event.model,
          idempotencyKey: event.idempotencyKey,
          attempts: row.attempts + 1,
          submittedAt: now,
          taskId: undefined,
          handle: undefined,
          asset: undefined,
          progress: undefined,
          error: undefined,
          failedFrom: undefined
        },
        log: true
      }
    case "Submitted":
      return {
        patch: {
          state: "submitted",
          provider: event.handle.provider,
          model: event.handle.model,
          taskId: event.handle.taskId,
          handle: event.handle
        },
        log: true
      }
    case "Queued":
      return { patch: undefined, log: true }
    case "Progress":
      if (row.state !== "submitted" && row.state !== "running") return { patch: undefined, log: false }
      if (row.state === "running" && row.progress !== undefined && event.percent < row.progress + progressStep) {
        return { patch: undefined, log: false }
      }
      return { patch: { state: "running", progress: event.percent }, log: false }
    case "Succeeded":
      return {
        patch: {
          state: "succeeded",
          taskId: event.taskId,
          // A byte stream cannot be stored: after a crash the engine asks the provider for it again.
          asset: event.asset._tag === "Url" ? event.asset : undefined,
          progress: 100,
          error: undefined,
          failedFrom: undefined
        },
        log: true
      }
    case "Downloading":
      // The `.part` file on disk is the download's progress; a resume continues it with `Range`.
      return { patch: undefined, log: false }
    case "Saved":
      return {
        patch: {
          state: "downloaded",
          video: event.video,
          taskId: event.video.taskId ?? row.taskId,
          error: undefined,
          failedFrom: undefined
        },
        log: true
      }
    case "Charged": {
      const billing: BillingOutcome =
        event.billing === "charged" || row.billing === "charged" ? "charged" : event.billing
      return { patch: billing === row.billing ? undefined : { billing }, log: true }
    }
    case "Retrying":
    case "Warning":
      return { patch: undefined, log: true }
    case "Failed":
      return { patch: failurePatch(row, event.error), log: true }
  }
}

/**
 * Whether the item was released to be created again (`release`) and no new create has been sent
 * since: its first create may still have made a task.
 */
const releasedNotResent = (row: Row): boolean =>
  row.state === "planned" &&
  row.releasedAt !== undefined &&
  (row.submittedAt === undefined || row.releasedAt > row.submittedAt)

const failurePatch = (row: Row, error: VideoError): Patch => {
  const billing: BillingOutcome | undefined = row.billing === "charged" ? "charged" : (row.billing ?? error.billing)
  // Failing before the new create (the budget refused it, say) proves nothing about the first one:
  // the item stays uncertain, and is never taken for one that may simply be created.
  if (releasedNotResent(row)) {
    return { state: "uncertain", error, billing: row.billing === "charged" ? "charged" : "unknown" }
  }
  if (error._tag === "UncertainSubmission") {
    return {
      state: "uncertain",
      idempotencyKey: row.idempotencyKey ?? error.idempotencyKey,
      error,
      billing: row.billing === "charged" ? "charged" : "unknown"
    }
  }
  if (error._tag === "TaskExpired") {
    return { state: "expired", error, billing, failedFrom: row.state === "expired" ? row.failedFrom : row.state }
  }
  // An item reported failed again on a later run keeps the state it originally failed from.
  const failedFrom =
    row.state === "failed" || row.state === "uncertain" || row.state === "expired" ? row.failedFrom : row.state
  return { state: "failed", error, billing, failedFrom }
}

/** Applies a patch to a row: the row `transition` leads to (for tests and tools that replay events). */
export const apply = (row: Row, patch: Patch | undefined): Row => {
  if (patch === undefined) return row
  const next: Record<string, unknown> = { ...row }
  for (const [name, value] of Object.entries(patch)) {
    if (name in row) next[name] = value
  }
  return next as unknown as Row
}

/** Whether a failure that left no task proves a new create cannot bill twice. */
const nothingCreated = (error: VideoError) => RetryPolicy.provesNothingCreated(error) || error.billing === "not-charged"

/**
 * Where a row resumes, the rule the engine relies on:
 *
 * | row | resumption |
 * | --- | --- |
 * | `planned` | `Fresh`; `Uncertain` when it was released to be created again and no create was sent since |
 * | `submitting` (a create whose answer was never recorded), `uncertain` | `Uncertain` |
 * | `submitted`, `running` | `Poll` |
 * | `succeeded` | `Fetch` (the recorded URL, or the provider again) |
 * | `downloaded` | `Verify` (re-hash; fetch again, from the recorded link while valid, only if damaged) |
 * | `failed`, the task ended (`RetryPolicy.endsTask`) | `Ended` |
 * | `failed` with a task, from `succeeded` / `downloaded` (a failed download) | `Fetch` |
 * | `failed` with a task, earlier (a poll timeout, an outage) | `Poll` |
 * | `failed` without a task, and the failure proves nothing was created | `Fresh` |
 * | `failed` without a task otherwise | `Uncertain` when a create was sent, else `Ended` |
 * | `expired` | `Ended` |
 * | `duplicate` | `Duplicate` |
 *
 * `now` makes a `Fetch` whose task expired and whose URL is unusable `Ended` with `TaskExpired`:
 * the provider cannot be asked again, and saying so beats a `TaskNotFound` from the provider.
 *
 * `taskBilled` is how the charge of the row's task was reported so far (its `Charged` events), so a
 * `Poll` tells the engine what it already counted (`billed`): nothing (`not-charged`), a possible
 * charge (`unknown`) or a certain one (`charged`). The engine then reports and counts only the
 * difference when the task ends.
 */
export const resumption = (row: Row, now: number, taskBilled?: BillingOutcome | undefined): Resumption => {
  const poll = (handle: TaskHandle): Resumption => ({ _tag: "Poll", handle, billed: taskBilled ?? "not-charged" })
  const withExpiry = (resume: Resumption): Resumption => {
    if (resume._tag !== "Fetch") return resume
    const asset = resume.asset
    const usable =
      asset !== undefined && asset._tag === "Url" && (asset.expiresAt === undefined || asset.expiresAt.getTime() > now)
    if (usable || !resume.handle.isExpired(new Date(now))) return resume
    return {
      _tag: "Ended",
      error: new TaskExpired({
        provider: resume.handle.provider,
        taskId: resume.handle.taskId,
        billing: "charged",
        ...(resume.handle.expiresAt === undefined ? {} : { expiredAt: resume.handle.expiresAt }),
        message: `the video of task ${resume.handle.taskId} was never downloaded, and the task and its link expired at ${resume.handle.expiresAt?.toISOString()}; ${resume.handle.provider} keeps them for a limited time`
      })
    }
  }
  const missing = (what: string) =>
    new InvalidRequest({
      ...(row.provider === undefined ? {} : { provider: row.provider }),
      billing: row.billing ?? "unknown",
      message: `the journal holds ${what}; it cannot be resumed safely`
    })
  const uncertain = (): Resumption =>
    row.idempotencyKey === undefined
      ? { _tag: "Ended", error: row.error ?? missing("an uncertain item without its idempotency key") }
      : {
          _tag: "Uncertain",
          idempotencyKey: row.idempotencyKey,
          ...(row.provider === undefined || row.model === undefined
            ? {}
            : { route: { provider: row.provider, model: row.model } })
        }
  switch (row.state) {
    case "planned":
      // Released for a new create that was never sent (the run stopped first): the consent was that
      // run's, and the first create may still have made a task on its route.
      return releasedNotResent(row) ? uncertain() : { _tag: "Fresh" }
    case "submitting":
    case "uncertain":
      return uncertain()
    case "submitted":
    case "running":
      return row.handle === undefined
        ? { _tag: "Ended", error: missing(`task ${row.taskId} without its handle`) }
        : poll(row.handle)
    case "succeeded":
      return row.handle === undefined
        ? { _tag: "Ended", error: missing(`task ${row.taskId} without its handle`) }
        : withExpiry({ _tag: "Fetch", handle: row.handle, asset: row.asset })
    case "downloaded":
      return row.video === undefined
        ? { _tag: "Ended", error: missing("a saved video without its record") }
        : { _tag: "Verify", video: row.video, handle: row.handle, asset: row.asset }
    case "expired":
      return { _tag: "Ended", error: row.error ?? missing("an expired item without its error") }
    case "duplicate":
      return { _tag: "Duplicate", of: row.duplicateOf ?? "" }
    case "failed": {
      const error = row.error ?? missing("a failed item without its error")
      if (RetryPolicy.endsTask(error)) return { _tag: "Ended", error }
      if (row.handle !== undefined) {
        // A synchronous stream cannot be picked up again: its failure stands.
        if (row.handle.mode === "streaming") return { _tag: "Ended", error }
        return row.failedFrom === "succeeded" || row.failedFrom === "downloaded"
          ? withExpiry({ _tag: "Fetch", handle: row.handle, asset: row.asset })
          : poll(row.handle)
      }
      if (nothingCreated(error)) return { _tag: "Fresh" }
      if (row.failedFrom === "submitting" && row.idempotencyKey !== undefined) return uncertain()
      return { _tag: "Ended", error }
    }
  }
}

/**
 * The error an item gets when its key comes back with another request: the journal keeps the
 * first request, and generating the second under the same key would hide one of them.
 */
export const keyReused = (batch: string, key: string) =>
  new InvalidRequest({
    field: "key",
    billing: "not-charged",
    message: `item ${JSON.stringify(key)} of batch ${JSON.stringify(batch)} was recorded with another request; a key names one request for the life of a batch: give this request a new key, or start a new batch`
  })

/** The error of an item found `submitting` when its batch is opened again: the run stopped mid-create. */
export const interrupted = (key: string, row: Row) =>
  new UncertainSubmission({
    ...(row.provider === undefined ? {} : { provider: row.provider }),
    idempotencyKey: row.idempotencyKey ?? "",
    billing: "unknown",
    message: `the run stopped while item ${key} was being created: the create may have been sent and its answer was never recorded, so a task may exist and may be billed`
  })
