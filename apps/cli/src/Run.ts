/**
 * Running generations: the services a run needs (the simulator when asked for, the providers, the
 * journal, the budget, the engine), the checks made before anything is sent, and the run itself
 * with its output, its graceful Ctrl-C and its exit code.
 *
 * `generate` is a journaled batch of one, so `resume`, `status` and `cost` see it like any batch.
 *
 * @since 0.1.0
 */

import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Layers from "@reelay/config/Layers"
import * as Providers from "@reelay/config/Providers"
import type * as Settings from "@reelay/config/Settings"
import * as Budget from "@reelay/core/Budget"
import * as Engine from "@reelay/core/Engine"
import type { GenerateRequest } from "@reelay/core/GenerateRequest"
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import type * as JobStore from "@reelay/core/JobStore"
import type { ModelSpec } from "@reelay/core/ModelSpec"
import * as Money from "@reelay/core/Money"
import * as OutputPath from "@reelay/core/OutputPath"
import * as ProviderRegistry from "@reelay/core/ProviderRegistry"
import { SavedVideo } from "@reelay/core/SavedVideo"
import * as Validation from "@reelay/core/Validation"
import { BudgetExceeded, InvalidRequest, type VideoError } from "@reelay/core/VideoError"
import { Journal } from "@reelay/journal"
import type { JournalError } from "@reelay/journal/JournalError"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { UsageError } from "./CliError.js"
import * as ExitCode from "./ExitCode.js"
import * as Output from "./Output.js"
import * as Progress from "./Progress.js"
import * as Render from "./Render.js"
import * as Report from "./Report.js"
import * as Signals from "./Signals.js"

/** One item of a run, with how to name it in errors. */
export interface Item extends Engine.BatchItem {
  readonly key: string
  /** `line 3` of a batch file, say; absent for `generate`. */
  readonly label?: string | undefined
}

/** What a batch's journal entry records about how it was run: the profile and the file defining it. */
export const recordedSettings = (settings: Settings.Settings): Readonly<Record<string, string>> => ({
  ...(settings.profile === undefined ? {} : { profile: settings.profile.value }),
  ...(settings.configFile === undefined ? {} : { config: settings.configFile })
})

/**
 * Everything that can be known before sending: each provider exists and has a key, each request
 * fits its model, each image is readable, small enough and an image. Nothing is journaled before
 * this passes.
 */
export const preflight = (
  settings: Settings.Settings,
  registry: ProviderRegistry.Service,
  items: ReadonlyArray<Item>
): Effect.Effect<ReadonlyArray<ModelSpec>, VideoError | UsageError, FileSystem.FileSystem> =>
  Effect.withSpan(
    Effect.forEach(items, (item) => {
      const check = Effect.gen(function* () {
        const id = item.request.provider ?? settings.provider.value
        yield* Providers.requireKey(settings, id)
        const provider = yield* registry.get(id)
        return (yield* Validation.validate(item.request, provider)).model
      })
      const label = item.label
      return label === undefined ? check : Effect.mapError(check, (error) => Report.relabel(error, label))
    }),
    "Cli.preflight",
    { attributes: { "reelay.items": items.length } }
  )

/**
 * Where the videos go can be written: each item's output (`OutputPath.check`), and the output
 * directory when items name none (`OutputPath.checkDirectory`, which makes it). Found before
 * anything is journaled or sent: a paid video must never meet an output it cannot be written to.
 */
export const checkOutputs = (
  items: ReadonlyArray<Item>,
  options: {
    readonly outputDir?: { readonly path: string; readonly flag: string } | undefined
    /**
     * Check only the outputs' directories: for items other processes may be downloading right
     * now (a resume), whose `.part` files this process must not touch.
     */
    readonly directoriesOnly?: boolean | undefined
  } = {}
): Effect.Effect<void, UsageError> =>
  Effect.gen(function* () {
    const { outputDir } = options
    if (outputDir !== undefined && items.some((item) => item.output === undefined)) {
      yield* OutputPath.checkDirectory(outputDir.path).pipe(
        Effect.mapError((error) => new UsageError({ message: `${outputDir.flag}: ${error.message}; nothing was sent` }))
      )
    }
    if (options.directoriesOnly === true) {
      const directories = new Set(
        items.flatMap((item) => (item.output === undefined ? [] : [NodePath.dirname(item.output)]))
      )
      for (const directory of directories) {
        yield* OutputPath.checkDirectory(directory).pipe(
          Effect.mapError((error) => new UsageError({ message: `${error.message}; nothing was sent` }))
        )
      }
      return
    }
    for (const item of items) {
      if (item.output === undefined) continue
      // Whether a file there may be replaced is `refuseExisting`'s decision, made with the journal.
      yield* OutputPath.check(item.output, { overwrite: true }).pipe(
        Effect.mapError(
          (error) =>
            new UsageError({
              message: `${item.label === undefined ? "" : `${item.label}: `}${error.message}; nothing was sent`
            })
        )
      )
    }
  }).pipe(Effect.withSpan("Cli.checkOutputs", { attributes: { "reelay.items": items.length } }))

/** Where an item's video goes: its own output, else `<outputDir>/<key>.mp4` (as the engine names it). */
export const outputOf = (item: Item, outputDir: string | undefined): string =>
  NodePath.resolve(item.output ?? NodePath.join(outputDir ?? ".", OutputPath.fileNameFor(item.key)))

/**
 * Refuses a batch in which two items save to one file (the second would replace the first's paid
 * video), naming both. Paths are compared resolved (`OutputPath.sharedOutputs`), default names in
 * the output directory included.
 */
export const refuseSharedOutputs = (
  items: ReadonlyArray<Item>,
  outputDir: string | undefined
): Effect.Effect<void, UsageError> => {
  const outputs = items.map((item) => outputOf(item, outputDir))
  const [pair] = OutputPath.sharedOutputs(outputs)
  if (pair === undefined) return Effect.void
  const [a, b] = [items[pair[0]]!, items[pair[1]]!]
  const name = (item: Item) => item.label ?? `item ${item.key}`
  return Effect.fail(
    new UsageError({
      message: `${name(a)} and ${name(b)} both save to ${outputs[pair[0]]}; one would replace the other's video. Give each its own "output" (or key); nothing was sent`
    })
  )
}

/**
 * The keys of a batch's items that reelay has started (a create was sent, a task or a saved video is
 * recorded), from the journal, without writing to it: their outputs may hold what reelay itself
 * saved for them (a crash between saving a file and recording it leaves exactly that). An item
 * recorded as a duplicate is never saved, so it counts too. No journal yet: none.
 */
export const startedItems = (
  settings: Settings.Settings,
  batch: string
): Effect.Effect<ReadonlySet<string>, JournalError> =>
  Effect.gen(function* () {
    if (!Layers.isPostgres(settings.journal.value) && !NodeFs.existsSync(Redacted.value(settings.journal.value))) {
      return new Set<string>()
    }
    const items = yield* Effect.scoped(
      Effect.flatMap(Layer.build(Layers.journalReader(settings)), (context) =>
        Context.get(context, Journal.Journal).items(batch)
      )
    )
    return startedKeys(items)
  })

/** `startedItems` of items already read. */
export const startedKeys = (items: ReadonlyArray<Journal.Item>): ReadonlySet<string> =>
  new Set(
    items
      .filter(
        (item) =>
          item.attempts > 0 || item.taskId !== undefined || item.video !== undefined || item.state === "duplicate"
      )
      .map((item) => item.key)
  )

/** How the refusal of an existing output names the way to allow it. */
export interface OverwriteHint {
  /** The command's flag, `--overwrite`. */
  readonly flag: string
  /** Another way, for a batch line: `or "overwrite": true on its line`. */
  readonly perItem?: string | undefined
}

/**
 * Refuses, before anything is sent or journaled, items whose output already holds a file that
 * reelay did not save for them: a paid video must not silently replace it. Items allowed to
 * overwrite (`item.overwrite`, else `overwrite`) pass, and so do items the journal shows started
 * (`startedItems`), whose files are this batch's own.
 *
 * Race-free against other processes running the same batch when the outputs are looked at first
 * and the journal read after (`started` is an effect for that reason): a process records a create
 * before it writes any output, so a file seen before the journal says "not started" is not theirs.
 */
export const refuseExisting = (
  items: ReadonlyArray<Item>,
  options: {
    readonly outputDir?: string | undefined
    readonly overwrite: boolean
    readonly started: Effect.Effect<ReadonlySet<string>, JournalError>
    readonly hint: OverwriteHint
  }
): Effect.Effect<void, UsageError | JournalError> =>
  Effect.gen(function* () {
    const candidates = items.filter((item) => (item.overwrite ?? options.overwrite) !== true)
    const taken: Array<{ readonly item: Item; readonly path: string }> = []
    for (const item of candidates) {
      const path = outputOf(item, options.outputDir)
      if (yield* OutputPath.occupied(path)) taken.push({ item, path })
    }
    if (taken.length === 0) return
    const started = yield* options.started
    const refused = taken.filter(({ item }) => !started.has(item.key))
    const [first] = refused
    if (first === undefined) return
    const others =
      refused.length > 1
        ? ` (and ${refused.length - 1} more item(s): ${refused
            .slice(1, 4)
            .map(({ path }) => path)
            .join(", ")}${refused.length > 4 ? ", ..." : ""})`
        : ""
    const where = first.item.label === undefined ? "" : `${first.item.label}: `
    const allow =
      options.hint.perItem === undefined ? options.hint.flag : `${options.hint.flag} (${options.hint.perItem})`
    return yield* new UsageError({
      message: `${where}${first.path} already exists${others}; reelay does not replace a file unless told to: pass ${allow} to replace it, or choose another output. Nothing was sent`
    })
  }).pipe(Effect.withSpan("Cli.refuseExisting", { attributes: { "reelay.items": items.length } }))

/** A single video that costs more than the whole budget is refused before it is journaled. */
export const withinBudget = (settings: Settings.Settings, model: ModelSpec): Effect.Effect<void, BudgetExceeded> => {
  const limit = settings.budget?.value
  if (limit === undefined || !Money.greaterThan(model.price, limit)) return Effect.void
  return Effect.fail(
    new BudgetExceeded({
      limit,
      requested: model.price,
      committed: Money.zero,
      billing: "not-charged",
      message: `this video costs up to ${Money.format(model.price)} and the budget is ${Money.format(limit)} (${settings.budget?.source}); nothing was sent`
    })
  )
}

export interface RunOptions {
  readonly batch: string
  readonly items: ReadonlyArray<Item>
  readonly settings: Settings.Settings
  readonly mode: Output.Mode
  /** `generate`: one video, its summary, and the exit code of its error. */
  readonly single: boolean
  readonly outputDir?: string | undefined
  readonly recreateUncertain?: boolean | undefined
  /** `--overwrite`: items that do not say may replace a file at their output. */
  readonly overwrite?: boolean | undefined
}

/** How long a graceful stop waits for creates in flight to return their task id. */
const drainLimit = "10 seconds"

/**
 * Runs `items` as a journaled batch and returns the exit code. Needs the providers' registry,
 * a writer journal and the platform; builds the engine with a budget seeded from the journal.
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
    // A profile can give a provider another key and base URL; a resume must use the same ones,
    // because a task is visible only to the key that created it.
    yield* reader.describe(batch, recordedSettings(settings))
    const costs = yield* reader.batchCosts(batch)
    let stopping = false
    const inner = yield* Budget.make({
      ...(settings.budget === undefined ? {} : { limit: settings.budget.value }),
      spent: costs.budget.spent,
      uncertain: costs.budget.uncertain
    })
    // Once the user asked to stop, no new billable call starts: its reservation never returns. A
    // reservation granted after the stop (it was waiting for money to come back) is given back.
    const budget: Budget.Service = {
      ...inner,
      reserve: (amount, context) =>
        Effect.suspend(() => (stopping ? Effect.never : inner.reserve(amount, context))).pipe(
          Effect.flatMap((reservation) =>
            stopping
              ? Effect.zipRight(inner.settle(reservation, "not-charged"), Effect.never)
              : Effect.succeed(reservation)
          )
        )
    }
    const engine = yield* Engine.make({
      polling: Layers.pollingOf(settings),
      download: { allowPrivateNetworks: settings.allowPrivateNetworks?.value }
    }).pipe(
      Effect.provide(yield* Layer.build(Layers.downloadClient)),
      Effect.provideService(ProviderRegistry.ProviderRegistry, registry),
      Effect.provideService(Budget.Budget, budget),
      Effect.provide(journal)
    )

    const sink = yield* Output.make(
      mode,
      options.items.map((item) => item.key)
    )
    // What a graceful stop waits for: creates sent and not yet answered (so their task id is
    // journaled), and synchronous streams the provider answered: those are paid already, and their
    // only way to the video is reading on to the link and saving it.
    const creating = new Set<string>()
    const streaming = new Set<string>()
    const track = (event: GenerationEvent) => {
      if (event._tag === "Submitting") creating.add(event.key)
      if (event._tag === "Submitted") {
        creating.delete(event.key)
        if (event.handle.mode === "streaming") streaming.add(event.key)
      }
      if (event._tag === "Saved" || event._tag === "Failed") {
        creating.delete(event.key)
        streaming.delete(event.key)
      }
    }

    const signalled = yield* Deferred.make<Signals.Signal>()
    const now = yield* Deferred.make<void>()
    yield* Signals.handle((signal, count) => {
      if (count === 1) Deferred.unsafeDone(signalled, Exit.succeed(signal))
      else Deferred.unsafeDone(now, Exit.void)
    })

    const stream = engine.generateMany(options.items, {
      batch,
      outputDir: options.outputDir,
      concurrency: {
        submit: settings.concurrency.submit?.value,
        status: settings.concurrency.status?.value,
        download: settings.concurrency.download?.value
      },
      recreateUncertain: options.recreateUncertain === true,
      overwrite: options.overwrite === true
    })
    yield* Effect.annotateCurrentSpan({ "reelay.batch": batch, "reelay.items": options.items.length })
    const fiber = yield* Stream.runForEach(stream, (event) =>
      Effect.zipRight(
        Effect.sync(() => track(event)),
        sink.event(event)
      )
    ).pipe(Effect.fork)

    const first = yield* Effect.raceFirst(Fiber.join(fiber).pipe(Effect.as(undefined)), Deferred.await(signalled))
    if (first !== undefined) {
      stopping = true
      const until = (done: () => boolean) =>
        Effect.sync(done).pipe(Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (ok) => ok }))
      if (creating.size > 0 || streaming.size > 0) {
        const waits = [
          ...(creating.size === 0 ? [] : [`${creating.size} create call(s) in flight to return their task id`]),
          ...(streaming.size === 0 ? [] : [`${streaming.size} paid stream(s) to deliver their video`])
        ]
        yield* sink.note(`reelay: stopping; waiting for ${waits.join(" and ")} (Ctrl-C again to stop now)`)
        // Creates get a moment; a stream the provider answered gets as long as it takes (its own
        // deadline still applies), since stopping it now would lose a video already paid for.
        const drained = Effect.zipRight(
          Effect.timeout(
            until(() => creating.size === 0),
            drainLimit
          ).pipe(Effect.ignore),
          until(() => streaming.size === 0)
        )
        const forced = yield* Effect.raceAll([
          drained.pipe(Effect.as(false)),
          Fiber.await(fiber).pipe(Effect.as(false)),
          Deferred.await(now).pipe(Effect.as(true))
        ])
        if (forced && streaming.size > 0) {
          yield* sink.note(
            `reelay: stopped at once: ${streaming.size} stream(s) had been answered, so their charge is certain, and their video is lost: ${[...streaming].join(", ")}`
          )
        }
      }
      yield* Fiber.interrupt(fiber)
      yield* sink.close
      const code = first === "SIGTERM" ? ExitCode.terminated : ExitCode.interrupted
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
    const savable = views.filter((view) => view.error !== undefined && savableLater(view.error))
    if (savable.length > 0) {
      yield* Output.stderr(
        `reelay: ${savable.length} video(s) are made and paid for but not saved; save them with: ${resume} (add --out-dir DIR to save them elsewhere)`
      )
    }
    return totals.failed > 0 ? ExitCode.batchFailed : ExitCode.ok
  })

/** The requests' providers (for starting the simulator only when one of them needs it). */
export const providersOf = (requests: ReadonlyArray<GenerateRequest>): ReadonlyArray<string | undefined> =>
  requests.length === 0 ? [undefined] : requests.map((request) => request.provider)

/** Wraps an `InvalidRequest` built from flags so it names nothing it should not. */
export const invalid = (message: string, field?: string) =>
  new InvalidRequest({ billing: "not-charged", message, ...(field === undefined ? {} : { field }) })
