/**
 * A run of reelay as an application makes it, whatever its front end (the `reelay` command line,
 * `createClient`): the checks made before anything is sent or journaled (providers, keys, requests,
 * outputs, files already there, the budget), and the run itself — a journaled batch on the engine,
 * with a budget seeded from what the batch already spent, and a graceful stop that never abandons
 * a create in flight or a stream already paid for.
 *
 * `generate` is a journaled batch of one, so `resume`, `status` and `cost` see it like any batch.
 *
 * @since 0.1.0
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import { type ConfigFileError, UsageError } from "@reelay/config/ConfigError"
import * as Layers from "@reelay/config/Layers"
import * as Providers from "@reelay/config/Providers"
import * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import * as Budget from "@reelay/core/Budget"
import * as Engine from "@reelay/core/Engine"
import { type GenerateRequest, onRoute } from "@reelay/core/GenerateRequest"
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import type * as JobStore from "@reelay/core/JobStore"
import type { ModelSpec } from "@reelay/core/ModelSpec"
import * as Money from "@reelay/core/Money"
import * as OutputPath from "@reelay/core/OutputPath"
import * as ProviderRegistry from "@reelay/core/ProviderRegistry"
import * as Validation from "@reelay/core/Validation"
import * as VideoError from "@reelay/core/VideoError"
import { BudgetExceeded } from "@reelay/core/VideoError"
import { Journal } from "@reelay/journal"
import type { JournalError } from "@reelay/journal/JournalError"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Stopping from "./Stopping.js"

/** `error` with `label` (`line 3`, say) before its message; errors that are not reelay's pass as they are. */
export const relabel = <E extends { readonly _tag: string; readonly message: string }>(error: E, label: string): E => {
  if (!VideoError.isVideoError(error)) return error
  return VideoError.copy<VideoError.VideoError>(error, { message: `${label}: ${error.message}` }) as unknown as E
}

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
): Effect.Effect<ReadonlyArray<ModelSpec>, VideoError.VideoError | UsageError, FileSystem.FileSystem> =>
  Effect.withSpan(
    Effect.forEach(items, (item) => {
      const checkOn = (request: GenerateRequest) =>
        Effect.gen(function* () {
          const id = request.provider ?? settings.provider.value
          yield* Providers.requireKey(settings, id)
          const provider = yield* registry.get(id)
          return (yield* Validation.validate(request, provider)).model
        })
      // With routes, the item can be served when one of them can (the engine skips the others, with
      // a warning); when none can, the first route's refusal says why.
      const routes = item.request.routes
      const check =
        routes === undefined
          ? checkOn(item.request)
          : Effect.validateFirst(routes, (route) => checkOn(onRoute(item.request, route))).pipe(
              Effect.mapError((errors) => errors[0]!)
            )
      const label = item.label
      return label === undefined ? check : Effect.mapError(check, (error) => relabel(error, label))
    }),
    "Run.preflight",
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
  }).pipe(Effect.withSpan("Run.checkOutputs", { attributes: { "reelay.items": items.length } }))

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
  }).pipe(Effect.withSpan("Run.refuseExisting", { attributes: { "reelay.items": items.length } }))

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

/**
 * A run of which not even the cheapest video fits the whole budget is refused before it is
 * journaled. A dearer item that alone exceeds it is left to the budget itself (it fails as
 * `BudgetExceeded` when its turn comes, and the others go on).
 */
export const withinBudgetForAny = (
  settings: Settings.Settings,
  models: ReadonlyArray<ModelSpec>
): Effect.Effect<void, BudgetExceeded> => {
  const cheapest = models.reduce<ModelSpec | undefined>(
    (least, model) => (least === undefined || Money.greaterThan(least.price, model.price) ? model : least),
    undefined
  )
  return cheapest === undefined ? Effect.void : withinBudget(settings, cheapest)
}

/** The requests' providers (for starting the simulator only when one of them needs it). */
export const providersOf = (requests: ReadonlyArray<GenerateRequest>): ReadonlyArray<string | undefined> =>
  requests.length === 0
    ? [undefined]
    : requests.flatMap((request) => request.routes?.map((route) => route.provider) ?? [request.provider])

/** How one run is made. */
export interface ExecuteOptions {
  readonly batch: string
  readonly items: ReadonlyArray<Item>
  readonly settings: Settings.Settings
  readonly outputDir?: string | undefined
  readonly recreateUncertain?: boolean | undefined
  /** Generate again the items that failed at no cost, within the budget. */
  readonly retryFailed?: boolean | undefined
  /** Items that do not say may replace a file at their output. */
  readonly overwrite?: boolean | undefined
}

/** What a front end plugs into a run: where its events go, and how it is asked to stop. */
export interface Handlers<R> {
  /** Every event of the run, in order. */
  readonly onEvent: (event: GenerationEvent) => Effect.Effect<void, never, R>
  /** Completes when the run is asked to stop (Ctrl-C, an aborted signal). */
  readonly stop: Effect.Effect<void>
  /** Completes when a stop must not wait any longer (a second Ctrl-C). */
  readonly stopNow: Effect.Effect<void>
  /** A line for the user while stopping. */
  readonly note: (text: string) => Effect.Effect<void, never, R>
}

/** How a run ended: every item to its end, or stopped (the journal consistent, the batch resumable). */
export type Outcome = { readonly _tag: "Finished" } | ({ readonly _tag: "Stopped" } & Stopping.Unfinished)

/**
 * The engine as the settings make it (their polling, the private networks their downloads may
 * reach) over `registry`, `budget`, the journal's `JobStore` and the download client (`downloads`,
 * `Layers.downloadClient` built).
 */
export const engineOf = (
  settings: Settings.Settings,
  services: {
    readonly registry: ProviderRegistry.Service
    readonly budget: Budget.Service
    readonly journal: Context.Context<JobStore.JobStore>
    readonly downloads: Context.Context<HttpClient.HttpClient>
  }
): Effect.Effect<Engine.Service, never, FileSystem.FileSystem> =>
  Engine.make({
    polling: Layers.pollingOf(settings),
    download: { allowPrivateNetworks: settings.allowPrivateNetworks?.value }
  }).pipe(
    Effect.provide(services.downloads),
    Effect.provideService(ProviderRegistry.ProviderRegistry, services.registry),
    Effect.provideService(Budget.Budget, services.budget),
    Effect.provide(services.journal)
  )

/**
 * Runs `items` as a journaled batch on a new engine: the batch's settings recorded, a budget seeded
 * from what the batch already spent, every event handed to `handlers.onEvent`.
 *
 * Asked to stop, the run starts no new billable call (a reservation granted meanwhile is given
 * back), waits up to 10 s for creates in flight to return their task id (so it is journaled, and a
 * resume polls it instead of creating it again), and waits for every stream its provider already
 * answered to deliver its video (stopping one would lose a video already paid for), unless
 * `handlers.stopNow` completes first. Then it ends with `Stopped`, its tasks left to a resume.
 */
export const execute = <R>(
  options: ExecuteOptions,
  registry: ProviderRegistry.Service,
  journal: Context.Context<JobStore.JobStore | Journal.Journal>,
  handlers: Handlers<R>
): Effect.Effect<
  Outcome,
  JournalError | JobStore.JobStoreError,
  Scope.Scope | HttpClient.HttpClient | FileSystem.FileSystem | R
> =>
  Effect.gen(function* () {
    const { settings, batch } = options
    const reader = Context.get(journal, Journal.Journal)
    // A profile can give a provider another key and base URL; a resume must use the same ones,
    // because a task is visible only to the key that created it.
    yield* reader.describe(batch, recordedSettings(settings))
    const costs = yield* reader.batchCosts(batch)
    const stopping = Stopping.make(
      yield* Budget.make({
        ...(settings.budget === undefined ? {} : { limit: settings.budget.value }),
        spent: costs.budget.spent,
        uncertain: costs.budget.uncertain
      })
    )
    const engine = yield* engineOf(settings, {
      registry,
      budget: stopping.budget,
      journal,
      downloads: yield* Layer.build(Layers.downloadClient)
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
      retryFailed: options.retryFailed === true,
      overwrite: options.overwrite === true
    })
    yield* Effect.annotateCurrentSpan({ "reelay.batch": batch, "reelay.items": options.items.length })
    const fiber = yield* Stream.runForEach(stream, (event) =>
      Effect.zipRight(
        Effect.sync(() => stopping.track(event)),
        handlers.onEvent(event)
      )
    ).pipe(Effect.fork)

    const stopped = yield* Deferred.make<void>()
    const asked = yield* Effect.fork(Effect.zipRight(handlers.stop, Deferred.succeed(stopped, undefined)))
    const first = yield* Effect.raceFirst(
      Fiber.join(fiber).pipe(Effect.as("finished" as const)),
      Deferred.await(stopped).pipe(Effect.as("stopped" as const))
    )
    yield* Fiber.interrupt(asked)
    if (first === "finished") return { _tag: "Finished" } as const

    const { lost, unanswered } = yield* stopping.stop({
      note: handlers.note,
      done: Fiber.await(fiber),
      now: handlers.stopNow
    })
    yield* Fiber.interrupt(fiber)
    return { _tag: "Stopped", lost, unanswered } as const
  }).pipe(Effect.withSpan("Run.execute"))

/** A file-name-friendly start of the prompt: `a-red-fox-running-through`. */
export const slug = (prompt: string): string =>
  prompt
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, " ")
    .trim()
    .split(" ")
    .slice(0, 5)
    .join("-")
    .slice(0, 40)
    .replace(/-+$/, "") || "video"

/** `--out` as given; a directory (existing, or written with a trailing slash) gets the default name. */
export const outputPath = (out: string | undefined, outDir: string, name: string): string => {
  if (out === undefined) return NodePath.resolve(outDir, name)
  const isDirectory = /[\\/]$/.test(out) || (NodeFs.existsSync(out) && NodeFs.statSync(out).isDirectory())
  return NodePath.resolve(isDirectory ? NodePath.join(out, name) : out)
}

/** The states of an item whose video is saved (or that is another item's duplicate). */
export const finished: ReadonlySet<string> = new Set(["downloaded", "duplicate"])

/** The most recently updated batch with an item not yet saved. */
export const latestUnfinished = (batches: ReadonlyArray<Journal.BatchSummary>): string | undefined =>
  batches.find((batch) =>
    Object.entries(batch.states).some(([state, count]) => !finished.has(state) && (count ?? 0) > 0)
  )?.batch

/**
 * The items to run, with their outputs: as recorded, or, for the videos not saved yet, in
 * `--out-dir` under their file names, or at `--out` for a batch of one. A video that could not be
 * written where it was asked for is paid for already: this is how it is saved elsewhere.
 */
export const outputsOf = (
  stored: ReadonlyArray<Journal.Item>,
  options: {
    readonly out: string | undefined
    readonly outDir: string | undefined
    /** How the front end names the two (`--out`, `--out-dir`). */
    readonly names?: { readonly out: string; readonly outDir: string } | undefined
  }
): Effect.Effect<ReadonlyArray<Item>, UsageError> =>
  Effect.gen(function* () {
    const names = options.names ?? { out: "--out", outDir: "--out-dir" }
    const unsaved = stored.filter((item) => !finished.has(item.state))
    if (options.out !== undefined && options.outDir !== undefined) {
      return yield* new UsageError({ message: `${names.out} and ${names.outDir} cannot be used together; give one` })
    }
    if (options.out !== undefined && unsaved.length !== 1) {
      return yield* new UsageError({
        message: `${names.out} names one file, and this batch has ${unsaved.length} video(s) not yet saved; use ${names.outDir}`
      })
    }
    return stored.map((item) => {
      const moved = !finished.has(item.state)
      const output = !moved
        ? item.output
        : options.out !== undefined
          ? outputPath(options.out, NodePath.dirname(item.output), NodePath.basename(item.output))
          : options.outDir !== undefined
            ? NodePath.resolve(options.outDir, NodePath.basename(item.output))
            : item.output
      return { key: item.key, request: item.request, output, label: `item ${item.key}` }
    })
  })

/**
 * The settings with each provider's base URL as the journal recorded it for this batch's
 * creates, and a note for each that differs from the current setting. Refused when one provider's
 * items went to several hosts: one run can reach one host per provider.
 */
export const recordedEndpoints = (
  settings: Settings.Settings,
  batch: string,
  stored: ReadonlyArray<Journal.Item>
): Either.Either<{ readonly settings: Settings.Settings; readonly notes: ReadonlyArray<string> }, UsageError> => {
  const hosts = new Map<string, Set<string>>()
  for (const item of stored) {
    if (item.baseUrl === undefined || item.provider === undefined || finished.has(item.state)) continue
    // The built-in simulator is started anew each run, on the state it kept: its address is today's.
    if (Settings.isSimulator(item.provider)) continue
    const urls = hosts.get(item.provider) ?? new Set<string>()
    urls.add(item.baseUrl)
    hosts.set(item.provider, urls)
  }
  const notes: Array<string> = []
  const providers: Array<Settings.ProviderSettings> = []
  for (const provider of settings.providers) {
    const urls = [...(hosts.get(provider.id) ?? [])]
    if (urls.length > 1) {
      return Either.left(
        new UsageError({
          message: `batch ${batch} sent creates for ${provider.id} to ${urls.length} hosts (${urls.join(", ")}); a task is known only to the host that made it, and one run reaches one host per provider`
        })
      )
    }
    const recorded = urls[0]
    if (recorded === undefined || recorded === provider.baseUrl.value) {
      providers.push(provider)
      continue
    }
    notes.push(
      `reelay: ${provider.id}: resuming at ${recorded}, where this batch's creates went (the current setting, ${provider.baseUrl.source}, says ${provider.baseUrl.value})`
    )
    providers.push({ ...provider, baseUrl: { value: recorded, source: `the journal (batch ${batch})` } })
  }
  return Either.right({ settings: { ...settings, providers }, notes })
}

/** Whether there is a journal to read (a SQLite file that does not exist has nothing to say). */
export const journalExists = (settings: Settings.Settings): boolean =>
  Layers.isPostgres(settings.journal.value) || NodeFs.existsSync(Redacted.value(settings.journal.value))

/** How a resume names its ways out of a refusal: the front end's own words for them. */
export interface ResumeHints extends OverwriteHint {
  /** How to save a video elsewhere: `--out-dir DIR (or --out PATH for one video)`. */
  readonly elsewhere: string
  /** The options that move outputs: `--out`, `--out-dir`. */
  readonly out: string
  readonly outDir: string
  /** How to choose another profile than the one recorded: `--profile to choose another`. */
  readonly profile: string
}

/** What a resume runs: the batch, its items with their outputs, and the settings it runs them with. */
export interface ResumePlan {
  readonly _tag: "Plan"
  readonly batch: string
  readonly items: ReadonlyArray<Item>
  /** Keys of the items not saved yet. */
  readonly open: ReadonlySet<string>
  readonly stored: ReadonlyArray<Journal.Item>
  /** The settings of the run: the batch's recorded profile, and each provider at its recorded host. */
  readonly settings: Settings.Settings
  /** The providers the batch's items use. */
  readonly used: ReadonlyArray<string>
  /** A `generate`'s batch of one. */
  readonly single: boolean
}

/**
 * What resuming `batch` (else the latest unfinished batch) means, from the journal: its items (the
 * videos not yet saved going to `out` / `outDir` when given), the batch's recorded profile (unless
 * `flags.profile` names one: a task is visible only to the key that created it), each provider at
 * the host its creates went to, and the same checks as a new run (keys, outputs shared or taken,
 * directories writable). `Nothing` when there is nothing to resume.
 */
export const planResume = (
  initial: Settings.Settings,
  flags: Setup.Flags,
  reader: Journal.Service,
  options: {
    readonly batch?: string | undefined
    /** Only this item of the batch (the others are left as they are). */
    readonly key?: string | undefined
    readonly out?: string | undefined
    readonly outDir?: string | undefined
    readonly overwrite: boolean
    readonly hints: ResumeHints
    /** The settings under other flags (the batch's recorded profile), as the front end resolves them. */
    readonly settingsFor?:
      | ((flags: Setup.Flags) => Effect.Effect<Settings.Settings, UsageError | ConfigFileError | VideoError.VideoError>)
      | undefined
    /** Said as soon as it is known, before the checks: the profile and hosts the batch resumes with. */
    readonly note?: ((text: string) => Effect.Effect<void>) | undefined
  }
): Effect.Effect<
  ResumePlan | { readonly _tag: "Nothing"; readonly message: string },
  UsageError | ConfigFileError | VideoError.VideoError | JournalError
> =>
  Effect.gen(function* () {
    const batches = yield* reader.batches
    const batch = options.batch ?? latestUnfinished(batches)
    if (batch === undefined)
      return { _tag: "Nothing", message: "nothing to resume: every batch in the journal is complete" } as const
    const all = yield* reader.items(batch)
    if (all.length === 0) {
      return yield* new UsageError({ message: `no batch "${batch}" in the journal (${initial.journal.source})` })
    }
    const stored = options.key === undefined ? all : all.filter((item) => item.key === options.key)
    if (stored.length === 0) {
      return yield* new UsageError({ message: `batch "${batch}" has no item "${options.key}"` })
    }
    const open = new Set(stored.filter((item) => !finished.has(item.state)).map((item) => item.key))
    const note = (text: string) => options.note?.(text) ?? Effect.void
    const resolve = options.settingsFor ?? Setup.settings
    // Run the batch the way it was run: a profile may have given its provider another key and
    // base URL, and a task is visible only to the key that created it. A profile given overrides.
    const recorded = batches.find((summary) => summary.batch === batch)?.settings ?? {}
    const settings =
      flags.profile === undefined && recorded.profile !== undefined && recorded.profile !== initial.profile?.value
        ? yield* resolve({ ...flags, profile: recorded.profile, config: flags.config ?? recorded.config })
        : initial
    if (settings !== initial) {
      yield* note(
        `reelay: resuming ${batch} with profile "${recorded.profile}", as it was run (${options.hints.profile})`
      )
    }
    const items = yield* outputsOf(stored, {
      out: options.out,
      outDir: options.outDir,
      names: { out: options.hints.out, outDir: options.hints.outDir }
    })
    // Each item goes on where its create went: a task is known only to the host that made it.
    const endpoints = yield* Either.match(recordedEndpoints(settings, batch, stored), {
      onLeft: Effect.fail,
      onRight: Effect.succeed
    })
    for (const text of endpoints.notes) yield* note(text)
    // The provider that served each item; an item never started may still use any of its routes
    // (their keys are not required now: a route without one is passed over at no cost).
    const serving = [...new Set(stored.flatMap((item) => item.provider ?? item.request.provider ?? []))]
    for (const id of serving) yield* Providers.requireKey(endpoints.settings, id)
    const used = [
      ...new Set([...serving, ...stored.flatMap((item) => item.request.routes?.map((route) => route.provider) ?? [])])
    ]
    yield* refuseSharedOutputs(items, undefined)
    // Only items not started yet can meet a file that is not this batch's own.
    yield* refuseExisting(
      items.filter((item) => open.has(item.key)),
      {
        overwrite: options.overwrite,
        // Read again after the outputs are looked at: another process may be running this batch.
        started: Effect.map(reader.items(batch), startedKeys),
        hint: options.hints
      }
    )
    yield* checkOutputs(
      items.filter((item) => open.has(item.key)),
      { directoriesOnly: true }
    ).pipe(
      Effect.mapError(
        (error) => new UsageError({ message: `${error.message}; to save it elsewhere: ${options.hints.elsewhere}` })
      )
    )
    return {
      _tag: "Plan",
      batch,
      items,
      open,
      stored,
      settings: endpoints.settings,
      used,
      single: stored.length === 1 && batch.startsWith("gen-")
    } as const
  }).pipe(Effect.withSpan("Run.planResume"))
