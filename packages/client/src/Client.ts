/**
 * `createClient()`: reelay with Promises, for code that does not use Effect. It reads the same
 * settings as the `reelay` command (environment variables, `reelay.config.json`, profiles; with
 * nothing configured, the built-in simulator), journals every run as the command does (so a
 * `generate` can be resumed, and `status` and `cost` see it), and rejects with the error classes of
 * `./Errors.js`.
 *
 * Each call opens what it needs (the journal, the simulator when a simulated provider is used, HTTP
 * connections) and closes it before it settles, so a program ends when its last call has.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { UsageError } from "@reelay/config/ConfigError"
import * as Layers from "@reelay/config/Layers"
import * as Providers from "@reelay/config/Providers"
import * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import type * as ChargePolicy from "@reelay/core/Billing"
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import * as Money from "@reelay/core/Money"
import type { SavedVideo } from "@reelay/core/SavedVideo"
import { Journal } from "@reelay/journal"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Errors from "./Errors.js"
import * as Requests from "./Requests.js"
import * as Run from "./Run.js"

/** How a client reaches its providers; each option overrides its environment variable and the file. */
export interface ClientOptions {
  /** The provider requests use when they name none (`REELAY_PROVIDER`); `simulator` for the built-in one. */
  readonly provider?: string | undefined
  /** The API key of that provider (else its variable, such as `LAOZHANG_API_KEY`). Never logged. */
  readonly apiKey?: string | undefined
  /** That provider's base URL (else its variable, such as `LAOZHANG_BASE_URL`). */
  readonly baseUrl?: string | undefined
  /** The model requests use when they name none (`REELAY_MODEL`). */
  readonly model?: string | undefined
  /** A profile of the configuration file (`REELAY_PROFILE`). */
  readonly profile?: string | undefined
  /** The configuration file (`REELAY_CONFIG`; default `./reelay.config.json` when it exists). */
  readonly config?: string | undefined
  /** A SQLite path or a `postgres://` URL (`REELAY_JOURNAL`; default `.reelay/journal.db`). */
  readonly journal?: string | undefined
  /** The most a run may spend, in dollars (`REELAY_MAX_COST`): `"25.00"` or `25`. */
  readonly budget?: string | number | undefined
  /** Scales the providers' generation times for polling (`REELAY_TIME_SCALE`); 1 for real providers. */
  readonly timeScale?: number | undefined
  /** How long to wait for a video before a resumable `PollTimeout` (`REELAY_TIMEOUT`): `"10m"`, `"90s"`. */
  readonly timeout?: string | undefined
}

/**
 * One video to generate: the request's fields as the command line takes them (`prompt`, `provider`,
 * `model`, `images` — a first frame, then a last frame: paths or `https://` URLs —, `seconds`,
 * `resolution`, `aspectRatio`, `size`, `negativePrompt`, `seed`, `providerOptions`), and where it goes.
 */
export interface GenerateInput extends Requests.Fields {
  /** Where to save it (a file, or a directory); default `out/<prompt's first words>-<id>.mp4`. */
  readonly output?: string | undefined
  /** Replace a file already at `output` (default: refused, before anything is sent). */
  readonly overwrite?: boolean | undefined
}

/** How a call reports and stops. */
export interface CallOptions {
  /** Every event of the run, as the Effect API gives them (`Validated`, `Submitted`, `Progress`, `Saved`, …). */
  readonly onEvent?: ((event: GenerationEvent) => void) | undefined
  /**
   * Stops waiting. A create in flight gets up to 10 s to return its task id, and a stream already
   * paid for is read to its video; then the call rejects with `Aborted`, whose `resume` continues it.
   */
  readonly signal?: AbortSignal | undefined
}

/** A saved, verified video. */
export interface Video {
  readonly path: string
  /** Hex SHA-256 of the file. */
  readonly sha256: string
  readonly bytes: number
  readonly width: number
  readonly height: number
  readonly durationSeconds: number
  readonly hasAudio: boolean
  readonly provider: string
  readonly model: string
  readonly taskId: string | undefined
  /** What it cost in dollars (`"0.25"`), when known. */
  readonly cost: string | undefined
  /** Where the journal keeps it: `reelay status <batch>` shows it. */
  readonly batch: string
  readonly key: string
}

/** How a batch or a resume ended. */
export interface RunReport {
  readonly batch: string
  readonly videos: ReadonlyArray<Video>
  /** Items that failed, each error naming its item in `resume.key`. */
  readonly failures: ReadonlyArray<Errors.VideoError>
  /** Dollars charged by this run, and dollars it may have been charged (uncertain creates). */
  readonly charged: string
  readonly uncertain: string
}

/** A running batch: its events as they come (`for await`), and its report. */
export interface BatchRun extends AsyncIterable<GenerationEvent> {
  readonly report: Promise<RunReport>
}

/** One item of a batch. */
export interface BatchInput extends GenerateInput {
  /** Unique in the batch; names its file (`<key>.mp4`) when it has no output. */
  readonly key: string
}

export interface BatchOptions extends CallOptions {
  /** The journal's name for the batch (default `batch-<id>`); running a name again continues it. */
  readonly batch?: string | undefined
  /** Where items without an output are saved, as `<key>.mp4` (default `out`). */
  readonly outDir?: string | undefined
  readonly overwrite?: boolean | undefined
}

export interface ResumeOptions extends CallOptions {
  /** Save the videos not yet saved here instead (a batch of one: the file). */
  readonly out?: string | undefined
  readonly outDir?: string | undefined
  readonly overwrite?: boolean | undefined
  /** Create again items whose create may have reached the provider (it may bill twice). */
  readonly recreateUncertain?: boolean | undefined
  /** Generate again the items that failed at no cost (a free generation failure), within the budget. */
  readonly retryFailed?: boolean | undefined
}

/** A model of a provider's catalog. */
export interface ModelInfo {
  readonly provider: string
  readonly mode: "async" | "streaming"
  readonly id: string
  /** Dollars per video (the worst case for per-second models). */
  readonly price: string
  readonly chargePolicy: ChargePolicy.ChargePolicy
}

/** A batch of the journal. */
export interface BatchStatus {
  readonly batch: string
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly items: number
  readonly states: Readonly<Record<string, number>>
}

/** An item of the journal. */
export interface ItemStatus {
  readonly batch: string
  readonly key: string
  readonly state: string
  readonly provider: string | undefined
  readonly model: string | undefined
  readonly taskId: string | undefined
  readonly progress: number | undefined
  readonly output: string
  readonly path: string | undefined
  readonly sha256: string | undefined
  readonly billing: Errors.Billing | undefined
  readonly error: Errors.VideoError | undefined
}

/** Spending per provider, model and day (UTC), as `reelay cost` shows it. */
export interface CostRow {
  readonly day: string
  readonly provider: string
  readonly model: string
  readonly simulator: boolean
  readonly estimated: string
  readonly charged: string
  readonly uncertain: string
}

export interface Client {
  /** Generates one video, saves it, and resolves when it is verified on disk. */
  readonly generate: (input: GenerateInput, options?: CallOptions) => Promise<Video>
  /** Generates many; iterate it for events, await `report` for the outcome. */
  readonly batch: (items: ReadonlyArray<BatchInput>, options?: BatchOptions) => BatchRun
  /**
   * Continues a run the journal holds: polls created tasks, fetches finished videos, never creates
   * one twice. With an error's `resume` (`{ batch, key }`), resolves with that item's video (or
   * rejects with its error); with a batch name (`error.batch`), with the batch's report.
   */
  readonly resume: {
    (handle: Errors.ResumeHandle | undefined, options?: ResumeOptions): Promise<Video>
    (batch: string, options?: ResumeOptions): Promise<RunReport>
  }
  /** The journal's batches, or one batch's items. */
  readonly status: {
    (): Promise<ReadonlyArray<BatchStatus>>
    (batch: string): Promise<ReadonlyArray<ItemStatus>>
  }
  /** Spending from the journal, per provider, model and day. */
  readonly cost: (filter?: {
    readonly batch?: string | undefined
    readonly provider?: string | undefined
  }) => Promise<ReadonlyArray<CostRow>>
  /** Every provider's models, as the settings reach them. */
  readonly models: () => Promise<ReadonlyArray<ModelInfo>>
}

/** What the engine's saved video is to a caller, with what it cost. */
const videoOf = (saved: SavedVideo, batch: string, key: string, charged: Money.Usd | undefined): Video => ({
  path: saved.path,
  sha256: saved.sha256,
  bytes: saved.bytes,
  width: saved.probe.width,
  height: saved.probe.height,
  durationSeconds: saved.probe.durationSeconds,
  hasAudio: saved.probe.hasAudio,
  provider: saved.provider,
  model: saved.model,
  taskId: saved.taskId,
  cost: saved.cost !== undefined ? dollars(saved.cost) : charged === undefined ? undefined : dollars(charged),
  batch,
  key
})

const dollars = (amount: Money.Usd): string => Money.format(amount).replace(/^\$/, "")

/**
 * Where a call's run stands in the journal, once it is there: only then does an error say how to
 * continue it (a refusal before anything was journaled has nothing to resume).
 */
class Place {
  current: { readonly batch: string; readonly key?: string | undefined } | undefined = undefined
}

/** Runs `effect` on Node's HTTP client and file system; a failure rejects with the client's error. */
const run = <A>(
  effect: Effect.Effect<A, unknown, Scope.Scope | HttpClient.HttpClient | FileSystem.FileSystem>,
  place?: Place
): Promise<A> =>
  Effect.runPromiseExit(
    Effect.scoped(effect).pipe(Effect.provide(Layer.mergeAll(NodeHttpClient.layerUndici, NodeFileSystem.layer)))
  ).then((exit) => {
    if (Exit.isSuccess(exit)) return exit.value
    const failure = Cause.failureOption(exit.cause)
    throw Errors.fromFailure(failure._tag === "Some" ? failure.value : Cause.squash(exit.cause), place?.current)
  })

/** Completes when `signal` aborts (never without one). */
const aborted = (signal: AbortSignal | undefined): Effect.Effect<void> =>
  signal === undefined
    ? Effect.never
    : Effect.async<void>((resume) => {
        if (signal.aborted) return resume(Effect.void)
        const onAbort = () => resume(Effect.void)
        signal.addEventListener("abort", onAbort, { once: true })
        return Effect.sync(() => signal.removeEventListener("abort", onAbort))
      })

/** The events of one run, kept for its outcome and handed to the caller's `onEvent`. */
class Recorder {
  readonly saved = new Map<string, SavedVideo>()
  readonly failed = new Map<string, unknown>()
  readonly charged = new Map<string, Money.Usd>()
  uncertain: Money.Usd = Money.zero
  constructor(private readonly listener: ((event: GenerationEvent) => void) | undefined) {}

  readonly record = (event: GenerationEvent): Effect.Effect<void> =>
    Effect.sync(() => {
      if (event._tag === "Saved") this.saved.set(event.key, event.video)
      if (event._tag === "Failed") this.failed.set(event.key, event.error)
      if (event._tag === "Charged") {
        if (event.billing === "charged") {
          this.charged.set(event.key, Money.sum([this.charged.get(event.key) ?? Money.zero, event.amount]))
        } else if (event.billing === "unknown") {
          this.uncertain = Money.sum([this.uncertain, event.amount])
        }
      }
      // A listener that throws must not stop a generation that money was spent on.
      try {
        this.listener?.(event)
      } catch {
        // ignored: documented on `CallOptions.onEvent`
      }
    })

  report(batch: string): RunReport {
    return {
      batch,
      videos: [...this.saved].map(([key, saved]) => videoOf(saved, batch, key, this.charged.get(key))),
      failures: [...this.failed].map(([key, error]) => Errors.fromFailure(error, { batch, key })),
      charged: dollars(Money.sum(this.charged.values())),
      uncertain: dollars(this.uncertain)
    }
  }
}

/** A stop that came from the caller: rejects with `Aborted`, saying what was left and how to continue. */
const abortedError = (
  batch: string,
  key: string | undefined,
  outcome: { readonly lost: ReadonlyArray<string>; readonly unanswered: ReadonlyArray<string> }
) => {
  const left = [
    ...(outcome.lost.length === 0
      ? []
      : [
          `${outcome.lost.length} stream(s) already paid for were given up, their videos lost: ${outcome.lost.join(", ")}`
        ]),
    ...(outcome.unanswered.length === 0
      ? []
      : [
          `${outcome.unanswered.length} create(s) gave no answer before the stop, so a task may exist (a resume reports them uncertain; recreateUncertain creates them again): ${outcome.unanswered.join(", ")}`
        ])
  ]
  const resume = key === undefined ? `"${batch}"` : "error.resume"
  return new Errors.Aborted(
    "Aborted",
    left.length === 0
      ? `aborted; nothing paid was abandoned: the journal holds the run (continue it with reelay.resume(${resume}))`
      : `aborted; ${left.join("; ")}; the journal holds the rest (continue it with reelay.resume(${resume}))`,
    { billing: "unknown", batch, resume: key === undefined ? undefined : { batch, key } }
  )
}

/**
 * A reelay client.
 *
 * @example
 * ```ts
 * const reelay = createClient() // nothing configured: the built-in simulator
 * const video = await reelay.generate({ prompt: "A red fox in the snow", output: "fox.mp4" })
 * console.log(video.path, video.sha256, video.cost)
 * ```
 */
export const createClient = (options: ClientOptions = {}): Client => {
  const cwd = process.cwd()
  const flags: Setup.Flags = {
    provider: options.provider,
    model: options.model,
    baseUrl: options.baseUrl,
    profile: options.profile,
    config: options.config,
    journal: options.journal,
    maxCost: options.budget === undefined ? undefined : String(options.budget),
    timeout: options.timeout
  }

  /** The settings, with the options no variable or flag expresses (a key, a time scale) applied. */
  const settingsOf = (overrides: Partial<Setup.Flags> = {}) =>
    Effect.gen(function* () {
      if (options.apiKey !== undefined && options.apiKey.trim() === "") {
        return yield* new UsageError({ message: "createClient({ apiKey }) is empty; give the key, or leave it out" })
      }
      if (options.timeScale !== undefined && !(options.timeScale > 0 && Number.isFinite(options.timeScale))) {
        return yield* new UsageError({
          message: `createClient({ timeScale }) must be a positive number (1 for real providers), got ${options.timeScale}`
        })
      }
      const settings = yield* Setup.settings({ ...flags, ...overrides })
      const selected = settings.provider.value
      const apiKey = options.apiKey
      if (apiKey !== undefined && Settings.isSimulator(selected)) {
        // A key meant for a real provider must not end up unused while the simulator answers.
        return yield* new UsageError({
          message: `createClient({ apiKey }) is given, but the provider is the built-in simulator (${settings.provider.source}); name the provider the key is for: createClient({ provider: "${Settings.builtins[0]?.id}", apiKey })`
        })
      }
      return {
        ...settings,
        providers:
          apiKey === undefined
            ? settings.providers
            : settings.providers.map((provider) =>
                provider.id === selected
                  ? { ...provider, apiKey: { value: Redacted.make(apiKey.trim()), source: "createClient({ apiKey })" } }
                  : provider
              ),
        timeScale:
          options.timeScale === undefined
            ? settings.timeScale
            : { value: options.timeScale, source: "createClient({ timeScale })" }
      } satisfies Settings.Settings
    })

  /** Runs `items` as batch `batch` to its outcome, with the checks a new run makes first. */
  const execute = (
    settings: Settings.Settings,
    batch: string,
    items: ReadonlyArray<Run.Item>,
    recorder: Recorder,
    call: CallOptions & { readonly outDir?: string | undefined; readonly overwrite?: boolean | undefined },
    /** Called once the run is in the journal. */
    journaled: () => void
  ) =>
    Effect.gen(function* () {
      const simulator = yield* Layers.startSimulator(settings, Run.providersOf(items.map((item) => item.request)))
      const registry = yield* Providers.registry(settings, simulator)
      const models = yield* Run.preflight(settings, registry, items)
      yield* Run.withinBudgetForAny(settings, models)
      yield* Run.refuseSharedOutputs(items, call.outDir)
      yield* Run.refuseExisting(items, {
        outputDir: call.outDir,
        overwrite: call.overwrite === true,
        started: Run.startedItems(settings, batch),
        hint: { flag: "overwrite: true", perItem: 'or "overwrite: true" on the item' }
      })
      yield* Run.checkOutputs(items, {
        outputDir: call.outDir === undefined ? undefined : { path: call.outDir, flag: "outDir" }
      })
      if (call.signal?.aborted === true) {
        return yield* Effect.fail(
          new Errors.Aborted("Aborted", "aborted before anything was sent or journaled", { billing: "not-charged" })
        )
      }
      const journal = yield* Layer.build(Layers.journalLayer(settings))
      journaled()
      return yield* Run.execute(
        { batch, items, settings, outputDir: call.outDir, overwrite: call.overwrite },
        registry,
        journal,
        {
          onEvent: recorder.record,
          stop: aborted(call.signal),
          stopNow: Effect.never,
          note: () => Effect.void
        }
      )
    })

  const requestOf = (input: GenerateInput, settings: Settings.Settings) => {
    const { output: _output, overwrite: _overwrite, key: _key, ...fields } = input as BatchInput
    return Either.match(
      Requests.toRequest(
        // The caller's own routes stand as given; else a request naming neither provider nor model
        // takes the settings' (a profile's routes, or the selected provider and model).
        input.routes !== undefined
          ? fields
          : input.provider === undefined && input.model === undefined
            ? { ...fields, ...Settings.requestDefaults(settings) }
            : {
                ...fields,
                provider: input.provider ?? settings.provider.value,
                model: input.model ?? settings.model?.value
              },
        cwd
      ),
      { onLeft: Effect.fail, onRight: Effect.succeed }
    )
  }

  const generate = (input: GenerateInput, call: CallOptions = {}): Promise<Video> => {
    const id = randomBytes(4).toString("hex")
    const batch = `gen-${id}`
    const key = Run.slug(typeof input?.prompt === "string" ? input.prompt : "")
    const recorder = new Recorder(call.onEvent)
    const place = new Place()
    return run(
      Effect.gen(function* () {
        if (typeof input?.prompt !== "string") {
          return yield* new UsageError({
            message: "generate({ prompt }) needs a prompt: a string describing the video"
          })
        }
        const settings = yield* settingsOf()
        const request = yield* requestOf(input, settings)
        const output = Run.outputPath(input.output, settings.outDir?.value ?? "out", `${key}-${id}.mp4`)
        const outcome = yield* execute(
          settings,
          batch,
          [{ key, request, output, overwrite: input.overwrite }],
          recorder,
          call,
          () => {
            place.current = { batch, key }
          }
        )
        if (outcome._tag === "Stopped") return yield* Effect.fail(abortedError(batch, key, outcome))
        return yield* outcomeOf(recorder, batch, key)
      }),
      place
    )
  }

  /** The video of `key`, or its failure (with how to resume it). */
  const outcomeOf = (recorder: Recorder, batch: string, key: string) => {
    const saved = recorder.saved.get(key)
    if (saved !== undefined) return Effect.succeed(videoOf(saved, batch, key, recorder.charged.get(key)))
    const failure = recorder.failed.get(key)
    return Effect.fail(
      failure === undefined
        ? new Errors.VideoError("InternalError", `the run ended without a video or an error for ${key}`, {
            resume: { batch, key }
          })
        : Errors.fromFailure(failure, { batch, key })
    )
  }

  const batchRun = (inputs: ReadonlyArray<BatchInput>, call: BatchOptions = {}): BatchRun => {
    const batch = call.batch ?? `batch-${randomBytes(4).toString("hex")}`
    const queue: Array<GenerationEvent> = []
    let wake: (() => void) | undefined
    let done = false
    const recorder = new Recorder((event) => {
      queue.push(event)
      wake?.()
      call.onEvent?.(event)
    })
    const place = new Place()
    const report = run(
      Effect.gen(function* () {
        const settings = yield* settingsOf()
        const keys = new Set<string>()
        const items: Array<Run.Item> = []
        for (const [index, input] of inputs.entries()) {
          const label = `item ${index + 1}`
          if (typeof input?.key !== "string" || input.key.trim() === "") {
            return yield* new UsageError({ message: `${label}: needs a key (unique in the batch)` })
          }
          if (keys.has(input.key))
            return yield* new UsageError({ message: `${label}: key "${input.key}" is used twice` })
          keys.add(input.key)
          const request = yield* Effect.mapError(requestOf(input, settings), (error) => Run.relabel(error, label))
          items.push({
            key: input.key,
            request,
            output: input.output === undefined ? undefined : Run.outputPath(input.output, cwd, `${input.key}.mp4`),
            overwrite: input.overwrite,
            label
          })
        }
        const outDir = call.outDir ?? settings.outDir?.value ?? "out"
        const outcome = yield* execute(settings, batch, items, recorder, { ...call, outDir }, () => {
          place.current = { batch }
        })
        if (outcome._tag === "Stopped") return yield* Effect.fail(abortedError(batch, undefined, outcome))
        return recorder.report(batch)
      }),
      place
    ).finally(() => {
      done = true
      wake?.()
    })
    // A caller that only iterates still hears of a failure from `report`; never an unhandled rejection.
    report.catch(() => undefined)
    return {
      report,
      async *[Symbol.asyncIterator]() {
        while (true) {
          const next = queue.shift()
          if (next !== undefined) {
            yield next
            continue
          }
          if (done) return
          await new Promise<void>((resolve) => {
            wake = resolve
          })
          wake = undefined
        }
      }
    }
  }

  function resume(handle: Errors.ResumeHandle | undefined, call?: ResumeOptions): Promise<Video>
  function resume(batch: string, call?: ResumeOptions): Promise<RunReport>
  function resume(
    target: string | Errors.ResumeHandle | undefined,
    call: ResumeOptions = {}
  ): Promise<Video | RunReport> {
    const batch = typeof target === "string" ? target : target?.batch
    const key = typeof target === "string" ? undefined : target?.key
    const recorder = new Recorder(call.onEvent)
    const place = new Place()
    return run(
      Effect.gen(function* () {
        if (typeof batch !== "string" || batch === "") {
          return yield* new UsageError({
            message:
              target === undefined
                ? "resume got no handle: the error did not come from a generation the journal holds (its resume is undefined)"
                : "resume needs a batch name or a handle ({ batch, key }, such as an error's resume)"
          })
        }
        const initial = yield* settingsOf()
        if (!Run.journalExists(initial)) {
          return yield* new UsageError({
            message: `no batch "${batch}": there is no journal at ${Redacted.value(initial.journal.value)}`
          })
        }
        const journal = yield* Layer.build(Layers.journalLayer(initial))
        const plan = yield* Run.planResume(initial, flags, Context.get(journal, Journal.Journal), {
          batch,
          out: call.out,
          outDir: call.outDir,
          overwrite: call.overwrite === true,
          key,
          hints: {
            flag: "overwrite: true",
            elsewhere: "outDir (or out for one video)",
            out: "out",
            outDir: "outDir",
            profile: "createClient({ profile }) to choose another"
          },
          settingsFor: (resolved) => settingsOf(resolved)
        })
        if (plan._tag === "Nothing") return yield* new UsageError({ message: plan.message })
        place.current = { batch: plan.batch, key }
        const simulator = yield* Layers.startSimulator(plan.settings, plan.used.filter(Settings.isSimulator))
        const registry = yield* Providers.registry(plan.settings, simulator)
        const outcome = yield* Run.execute(
          {
            batch: plan.batch,
            items: plan.items,
            settings: plan.settings,
            recreateUncertain: call.recreateUncertain,
            retryFailed: call.retryFailed,
            overwrite: call.overwrite
          },
          registry,
          journal,
          { onEvent: recorder.record, stop: aborted(call.signal), stopNow: Effect.never, note: () => Effect.void }
        )
        if (outcome._tag === "Stopped") return yield* Effect.fail(abortedError(plan.batch, key, outcome))
        if (key === undefined) return recorder.report(plan.batch)
        // Saved by an earlier run: the journal has it.
        const stored = plan.stored.find((item) => item.key === key)
        if (!recorder.saved.has(key) && !recorder.failed.has(key) && stored?.video !== undefined) {
          return videoOf(stored.video, plan.batch, key, undefined)
        }
        return yield* outcomeOf(recorder, plan.batch, key)
      }),
      place
    )
  }

  const withJournal = <A>(body: (journal: Journal.Service) => Effect.Effect<A, unknown>, empty: A): Promise<A> =>
    run(
      Effect.gen(function* () {
        const settings = yield* settingsOf()
        if (!Run.journalExists(settings)) return empty
        const context = yield* Layer.build(Layers.journalReader(settings))
        return yield* body(Context.get(context, Journal.Journal))
      })
    )

  function status(): Promise<ReadonlyArray<BatchStatus>>
  function status(batch: string): Promise<ReadonlyArray<ItemStatus>>
  function status(batch?: string): Promise<ReadonlyArray<BatchStatus> | ReadonlyArray<ItemStatus>> {
    if (batch === undefined) {
      return withJournal(
        (journal) =>
          Effect.map(journal.batches, (batches) =>
            batches.map((summary) => ({
              batch: summary.batch,
              createdAt: summary.createdAt,
              updatedAt: summary.updatedAt,
              items: summary.items,
              states: { ...summary.states } as Record<string, number>
            }))
          ),
        [] as ReadonlyArray<BatchStatus>
      )
    }
    return withJournal(
      (journal) =>
        Effect.map(journal.items(batch), (items) =>
          items.map(
            (item): ItemStatus => ({
              batch: item.batch,
              key: item.key,
              state: item.state,
              provider: item.provider,
              model: item.model,
              taskId: item.taskId,
              progress: item.progress,
              output: item.output,
              path: item.path,
              sha256: item.sha256,
              billing: item.billing,
              error: item.error === undefined ? undefined : Errors.fromFailure(item.error, { batch, key: item.key })
            })
          )
        ),
      [] as ReadonlyArray<ItemStatus>
    )
  }

  const cost: Client["cost"] = (filter = {}) =>
    withJournal(
      (journal) =>
        Effect.map(
          journal.costSummary({
            ...(filter.batch === undefined ? {} : { batch: filter.batch }),
            ...(filter.provider === undefined ? {} : { provider: filter.provider })
          }),
          (rows) =>
            rows.map((row) => ({
              day: row.day,
              provider: row.provider,
              model: row.model,
              simulator: Settings.isSimulator(row.provider),
              estimated: dollars(row.estimated),
              charged: dollars(row.charged),
              uncertain: dollars(row.unknown)
            }))
        ),
      []
    )

  const models: Client["models"] = () =>
    run(
      Effect.map(settingsOf(), (settings) =>
        Providers.listing(settings).flatMap((provider) =>
          provider.models.map((model) => ({
            provider: provider.id,
            mode: provider.mode,
            id: model.id,
            price: dollars(model.price),
            chargePolicy: model.chargePolicy
          }))
        )
      )
    )

  return { generate, batch: batchRun, resume, status, cost, models }
}
