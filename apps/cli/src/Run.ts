/**
 * A run as the command line makes it: `@reelay/client`'s run (its checks, the journaled batch, the
 * graceful stop) with the command's output, Ctrl-C and exit code.
 *
 * `generate` is a journaled batch of one, so `resume`, `status` and `cost` see it like any batch.
 *
 * @since 0.1.0
 */

import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as ExitCode from "@reelay/client/ExitCode"
import * as Session from "@reelay/client/Run"
import type * as Settings from "@reelay/config/Settings"
import type * as JobStore from "@reelay/core/JobStore"
import * as Money from "@reelay/core/Money"
import type * as ProviderRegistry from "@reelay/core/ProviderRegistry"
import * as RetryPolicy from "@reelay/core/RetryPolicy"
import { SavedVideo } from "@reelay/core/SavedVideo"
import { InvalidRequest, type VideoError } from "@reelay/core/VideoError"
import { Journal } from "@reelay/journal"
import type { JournalError } from "@reelay/journal/JournalError"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Output from "./Output.js"
import * as Progress from "./Progress.js"
import * as Render from "./Render.js"
import * as Report from "./Report.js"
import * as Signals from "./Signals.js"

export interface RunOptions {
  readonly batch: string
  readonly items: ReadonlyArray<Session.Item>
  readonly settings: Settings.Settings
  readonly mode: Output.Mode
  /** `generate`: one video, its summary, and the exit code of its error. */
  readonly single: boolean
  readonly outputDir?: string | undefined
  readonly recreateUncertain?: boolean | undefined
  /** Generate again the items that failed at no cost (`--retry-failed`). */
  readonly retryFailed?: boolean | undefined
  /** `--overwrite`: items that do not say may replace a file at their output. */
  readonly overwrite?: boolean | undefined
}

/**
 * Runs `items` as a journaled batch (`Session.execute`) with the command's output, a graceful
 * Ctrl-C (a second one stops at once) and its exit code.
 */
export const execute = (
  options: RunOptions,
  registry: ProviderRegistry.Service,
  journal: Context.Context<JobStore.JobStore | Journal.Journal>
): Effect.Effect<
  number,
  JournalError | JobStore.JobStoreError,
  Scope.Scope | HttpClient.HttpClient | FileSystem.FileSystem
> =>
  Effect.gen(function* () {
    const { settings, mode, batch } = options
    const reader = Context.get(journal, Journal.Journal)
    const sink = yield* Output.make(
      mode,
      options.items.map((item) => item.key)
    )
    const signalled = yield* Deferred.make<Signals.Signal>()
    const now = yield* Deferred.make<void>()
    yield* Signals.handle((signal, count) => {
      if (count === 1) Deferred.unsafeDone(signalled, Exit.succeed(signal))
      else Deferred.unsafeDone(now, Exit.void)
    })
    const outcome = yield* Session.execute(
      {
        batch,
        items: options.items,
        settings,
        outputDir: options.outputDir,
        recreateUncertain: options.recreateUncertain,
        retryFailed: options.retryFailed,
        overwrite: options.overwrite
      },
      registry,
      journal,
      {
        onEvent: sink.event,
        stop: Deferred.await(signalled),
        stopNow: Deferred.await(now),
        note: (text) => sink.note(`${text} (Ctrl-C again to stop now)`)
      }
    )
    if (outcome._tag === "Stopped") {
      if (outcome.lost.length > 0) {
        yield* sink.note(
          `reelay: stopped at once: ${outcome.lost.length} stream(s) had been answered, so their charge is certain, and their video is lost: ${outcome.lost.join(", ")}`
        )
      }
      if (outcome.unanswered.length > 0) {
        yield* sink.note(
          `reelay: ${outcome.unanswered.length} create(s) gave no answer before the stop: a task may exist (uncertain), and a resume reports it rather than creating it again: ${outcome.unanswered.join(", ")}`
        )
      }
      yield* sink.close
      const signal = yield* Deferred.await(signalled)
      const code = signal === "SIGTERM" ? ExitCode.terminated : ExitCode.interrupted
      const resume = `${Report.commandName()} resume ${batch}`
      const message = `interrupted; the journal is consistent. Resume with: ${resume}`
      if (mode === "json")
        yield* Output.stdout(JSON.stringify({ error: { _tag: "Interrupted", message, batch, resume, exitCode: code } }))
      yield* Output.stderr(`reelay: ${message}`)
      return code
    }
    yield* sink.close
    const board = yield* sink.board
    const code = yield* finish(options, board, sink.style)
    // A resumed batch: what this run charged is not all the batch cost.
    const after = yield* reader.batchCosts(batch)
    const thisRun = Progress.totals(board).charged
    if (!options.single && mode !== "json" && Money.greaterThan(after.charged, thisRun)) {
      yield* Output.stdout(`  ${Money.format(after.charged)} charged for the whole batch, earlier runs included`)
    }
    return code
  }).pipe(Effect.withSpan("Cli.execute"))

const encodeVideo = Schema.encodeSync(SavedVideo)

/** A paid video that was not saved, and that a resume can still fetch (a download or a local write failed). */
const savableLater = (error: VideoError): boolean => error._tag === "DownloadFailed" && error.billing === "charged"

/** Prints the outcome of a finished run and returns its exit code. */
const finish = (options: RunOptions, board: Progress.Board, style: Render.Style): Effect.Effect<number> =>
  Effect.gen(function* () {
    const { mode, batch } = options
    const resume = `${Report.commandName()} resume ${batch}`
    const views = board.order.map((key) => board.tasks.get(key)!)
    const resumable = views.filter((view) => view.error?._tag === "PollTimeout")
    const uncertain = views.filter((view) => view.error?._tag === "UncertainSubmission")
    // Generations that failed at no cost: a plain resume reports them again, --retry-failed retries them.
    const free = views.filter(
      (view) => view.error !== undefined && view.phase !== "saved" && RetryPolicy.retriableOnRequest(view.error)
    )
    if (options.single) {
      const view = views[0]
      if (view?.phase === "saved" && view.video !== undefined) {
        if (mode === "json") yield* Output.stdout(Render.jsonResult(view.video))
        else yield* Output.stdout(Render.summary(view, style).join("\n"))
        return ExitCode.ok
      }
      const error = view?.error
      if (error === undefined) {
        yield* Output.stderr("reelay: the generation ended without a video or an error")
        return ExitCode.internal
      }
      const code = ExitCode.forError(error)
      if (mode === "json") yield* Output.stdout(Render.jsonError(error, code))
      // In plain mode the failure was already printed as an event line.
      if (mode !== "plain") yield* Output.stderr(Render.errorLine(error))
      if (error._tag === "PollTimeout") {
        yield* Output.stderr(`reelay: the task goes on (nothing was cancelled); collect it with: ${resume}`)
      }
      if (error._tag === "UncertainSubmission") {
        yield* Output.stderr(
          `reelay: to create it again anyway (it may be billed twice): ${resume} --recreate-uncertain`
        )
      }
      if (savableLater(error)) {
        yield* Output.stderr(
          `reelay: the video is made and paid for; save it with: ${resume} (add --out PATH to save it elsewhere)`
        )
      }
      return code
    }
    const totals = Progress.totals(board)
    if (mode === "json") {
      const items = views.map((view) => ({
        key: view.key,
        state: view.phase,
        ...(view.taskId === undefined ? {} : { taskId: view.taskId }),
        ...(view.video === undefined ? {} : { video: encodeVideo(view.video) }),
        ...(view.error === undefined
          ? {}
          : { error: JSON.parse(Render.jsonError(view.error, ExitCode.forError(view.error))).error })
      }))
      yield* Output.stdout(
        JSON.stringify({
          report: {
            batch,
            total: totals.total,
            saved: totals.saved,
            failed: totals.failed,
            duplicates: totals.duplicates,
            charged: Money.format(totals.charged).slice(1),
            uncertain: Money.format(totals.unknown).slice(1),
            items
          }
        })
      )
    } else {
      yield* Output.stdout(Render.batchSummary(batch, board, totals, style).join("\n"))
    }
    if (resumable.length > 0) {
      yield* Output.stderr(
        `reelay: ${resumable.length} task(s) still running at the deadline; collect them with: ${resume}`
      )
    }
    if (uncertain.length > 0) {
      yield* Output.stderr(
        `reelay: ${uncertain.length} item(s) may have been created (uncertain); to create them again anyway: ${resume} --recreate-uncertain`
      )
    }
    if (free.length > 0) {
      yield* Output.stderr(
        `reelay: ${free.length} item(s) failed at no cost; to generate them again (within the budget): ${resume} --retry-failed`
      )
    }
    const savable = views.filter((view) => view.error !== undefined && savableLater(view.error))
    if (savable.length > 0) {
      yield* Output.stderr(
        `reelay: ${savable.length} video(s) are made and paid for but not saved; save them with: ${resume} (add --out-dir DIR to save them elsewhere)`
      )
    }
    return totals.failed > 0 ? ExitCode.batchFailed : ExitCode.ok
  })

/** Wraps an `InvalidRequest` built from flags so it names nothing it should not. */
export const invalid = (message: string, field?: string) =>
  new InvalidRequest({ billing: "not-charged", message, ...(field === undefined ? {} : { field }) })
