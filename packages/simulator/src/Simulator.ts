/**
 * The simulator as a service: `make` starts it within a scope (stopped, sockets and all, when the
 * scope closes), `layer` provides it, `start` is the same for code that does not use Effect.
 *
 * @example
 * ```ts
 * import { Simulator } from "@reelay/simulator"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function*() {
 *     const sim = yield* Simulator.make({ timeScale: 1 / 100 })
 *     const res = yield* Effect.promise(() =>
 *       fetch(`${sim.urls.laozhang}/videos`, {
 *         method: "POST",
 *         headers: { authorization: "Bearer sk-test", "content-type": "application/json" },
 *         body: JSON.stringify({ model: "veo-3.1-fast", prompt: "a cat" })
 *       })
 *     )
 *     // ... poll, then check what was charged:
 *     const charges = yield* sim.ledger
 *   })
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Path from "node:path"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Auth from "./Auth.js"
import * as Control from "./Control.js"
import type * as Faults from "./Faults.js"
import * as Ledger from "./Ledger.js"
import type { Host, Protocol } from "./Models.js"
import * as Persistence from "./Persistence.js"
import type * as RequestLog from "./RequestLog.js"
import { fingerprint } from "./RequestLog.js"
import * as Server from "./Server.js"
import * as SimClock from "./SimClock.js"
import * as State from "./State.js"
import * as StateFile from "./StateFile.js"
import * as Tasks from "./Tasks.js"
import * as Timeline from "./Timeline.js"
import * as Videos from "./Videos.js"

/** How to run the simulator. Every field is optional. */
export interface Options {
  /** API port (both hosts and `/_sim`). Default 0: a free port. */
  readonly port?: number
  /** CDN port. Default 0: a free port. */
  readonly cdnPort?: number
  /** Interface to listen on. Default `127.0.0.1`. */
  readonly hostname?: string
  /** Seed of every draw (durations, ids, fault probabilities). Default `"reelay"`. */
  readonly seed?: string | number
  /** Multiplies every vendor duration. Default 1/30 (a fast model takes 1-2 s). */
  readonly timeScale?: number
  /**
   * Generation times in vendor seconds, by model id or speed class (`fast`, `standard`, `sora`),
   * before the time scale. Defaults: fast 30-60, standard 60-120, sora 120-300.
   */
  readonly timings?: Readonly<Record<string, Timeline.Timing>>
  /** The share of a task's time spent queued, drawn per task in this range. Default [0.1, 0.3]. */
  readonly queueFraction?: readonly [number, number]
  /** Task lifetime after creation. Default 24 h times the time scale. */
  readonly taskTtl?: Duration.DurationInput
  /** Video URL lifetime after completion. Default 24 h times the time scale. */
  readonly urlTtl?: Duration.DurationInput
  /**
   * The simulator's clock. Default: the Effect `Clock` of the context `make` runs in (the `TestClock`
   * inside `it.effect`, the system clock otherwise).
   */
  readonly clock?: SimClock.SimClock
  /** Replay the first create for a repeated `Idempotency-Key` instead of creating again. Default false. */
  readonly honourIdempotencyKey?: boolean
  /** Starting balance of every key, exact decimal US dollars. Default "1000000.00". */
  readonly defaultBalance?: string
  /** Starting balances of particular keys (raw key → dollars). */
  readonly balances?: Readonly<Record<string, string>>
  /** Keys refused with 401 besides those starting with `sk-invalid`. */
  readonly invalidKeys?: ReadonlyArray<string>
  /** Records kept in each request log. Default 100,000. */
  readonly logCapacity?: number
  /** Largest request body. Default 25 MiB. */
  readonly maxBodyBytes?: number
  /** Where the MP4 files are. Default: the package's `videos/`. */
  readonly videosDirectory?: string
  /** Progress lines in a Sora answer. Default 10. */
  readonly soraProgressLines?: number
  /**
   * Keep the world in this file, so a later process continues it: loaded at start when it exists
   * (a file that cannot be read or decoded fails `make`), saved atomically whenever a later run would
   * need the change, and at stop. Kept: tasks, the ledger and balances, idempotency records, the task
   * sequence, the clock and the ports. Not kept: request logs, global fault rules, prompt fault
   * counters per request. With no `port` / `cdnPort` given, the ports of the last run are tried first.
   * See the README, "State file".
   */
  readonly stateFile?: string
}

/** The base URLs. */
export type Urls = State.Urls

/** A global fault rule's options. */
export interface FaultOptions {
  readonly host?: Host
  readonly protocol?: Protocol
  readonly model?: string
  readonly route?: "create" | "status" | "content" | "download"
  readonly count?: number
  readonly probability?: number
}

/** A directive the simulator does not understand. */
export class InvalidDirective extends Schema.TaggedError<InvalidDirective>()("InvalidDirective", {
  message: Schema.String
}) {}

/** A state file the simulator cannot read, decode or write; the message names the file. */
export { StateFileError } from "./StateFile.js"

/** A running simulator. */
export interface Service {
  readonly urls: Urls
  /** Every charge so far (settling charges that became due). */
  readonly ledger: Effect.Effect<ReadonlyArray<Ledger.Entry>>
  /** The exact sum of the ledger, as a decimal string. */
  readonly total: Effect.Effect<string>
  readonly requests: Effect.Effect<ReadonlyArray<RequestLog.RequestRecord>>
  readonly cdnRequests: Effect.Effect<ReadonlyArray<RequestLog.CdnRecord>>
  readonly tasks: Effect.Effect<ReadonlyArray<Tasks.Snapshot>>
  /** Adds a global fault rule, e.g. `addFault("503(times=2)", { host: "apiyi" })`. */
  readonly addFault: (directive: string, options?: FaultOptions) => Effect.Effect<Faults.Rule, InvalidDirective>
  readonly clearFaults: Effect.Effect<void>
  /** The simulator clock, in epoch milliseconds. */
  readonly now: Effect.Effect<number>
  /** Moves the simulator clock forward. */
  readonly advance: (duration: Duration.DurationInput) => Effect.Effect<void>
  readonly balance: (host: Host, key: string) => Effect.Effect<string>
  readonly setBalance: (host: Host, key: string, amount: string) => Effect.Effect<void>
  /** Clears tasks, ledger, balances, logs and faults. */
  readonly reset: Effect.Effect<void>
  /** The simulator's state, for what the accessors above do not cover. */
  readonly state: State.State
  /**
   * Writes the state file now, after any save under way (nothing without `stateFile`). Changes are
   * saved on their own; this is for a caller that must know they are on disk. A failed write is a defect.
   */
  readonly save: Effect.Effect<void>
}

/** The simulator as a service tag, for `layer`. */
export class Simulator extends Context.Tag("@reelay/simulator/Simulator")<Simulator, Service>() {}

/** The fingerprint the ledger and the logs show for `key`. */
export { fingerprint }

const build = (options: Options, clock: SimClock.SimClock, offsetMs: number): State.State => {
  const timeScale = options.timeScale ?? Timeline.defaultTimeScale
  const money = (text: string) => {
    const parsed = Ledger.parseUsd(text)
    if (parsed === undefined) throw new Error(`not a decimal amount: ${text}`)
    return parsed
  }
  return State.make({
    config: {
      seed: String(options.seed ?? "reelay"),
      timeScale,
      timings: { ...options.timings },
      queueFraction:
        options.queueFraction === undefined ? [0.1, 0.3] : [options.queueFraction[0], options.queueFraction[1]],
      taskTtlMs: options.taskTtl === undefined ? undefined : Duration.toMillis(options.taskTtl),
      urlTtlMs: options.urlTtl === undefined ? undefined : Duration.toMillis(options.urlTtl),
      honourIdempotencyKey: options.honourIdempotencyKey ?? false,
      soraProgressLines: options.soraProgressLines ?? 10
    },
    clock: SimClock.withOffset(clock, offsetMs),
    fixtures: Videos.load(options.videosDirectory),
    invalidKeys: options.invalidKeys ?? [],
    defaultBalance: money(options.defaultBalance ?? "1000000.00"),
    balances: new Map(Object.entries(options.balances ?? {}).map(([k, v]) => [k, money(v)])),
    logCapacity: options.logCapacity ?? 100_000,
    maxBodyBytes: options.maxBodyBytes ?? 25 * 1024 * 1024
  })
}

const service = (state: State.State, saver: Persistence.Saver | undefined): Service => {
  const sync = <A>(f: () => A) => Effect.sync(f)
  return {
    urls: state.urls,
    ledger: sync(() => {
      state.now()
      return [...state.ledger.entries()]
    }),
    total: sync(() => {
      state.now()
      return Ledger.total(state.ledger.entries())
    }),
    requests: sync(() => state.requests.list()),
    cdnRequests: sync(() => state.cdnRequests.list()),
    tasks: sync(() => {
      const now = state.now()
      return [...state.tasks.all()].map((t) => Tasks.snapshot(t, now, state.urls.cdn))
    }),
    addFault: (directive, options = {}) =>
      Effect.suspend(() => {
        const result = Control.addRule(state, { directive, ...options })
        return Either.isLeft(result)
          ? Effect.fail(new InvalidDirective({ message: result.left }))
          : Effect.succeed(result.right)
      }),
    clearFaults: sync(() => state.faults.clear()),
    now: sync(() => state.now()),
    advance: (duration) => sync(() => state.clock.advance(Duration.toMillis(duration))),
    balance: (host, key) =>
      sync(() => {
        state.now()
        const initial = Auth.initialBalance(state.keys, key)
        return Ledger.formatUsd(state.ledger.balance({ host, fingerprint: fingerprint(key), initial }))
      }),
    setBalance: (host, key, amount) =>
      sync(() => {
        const parsed = Ledger.parseUsd(amount)
        if (parsed === undefined) throw new Error(`not a decimal amount: ${amount}`)
        state.ledger.setBalance(host, fingerprint(key), parsed)
      }),
    reset: sync(() => state.reset()),
    state,
    save: saver === undefined ? Effect.void : Effect.promise(() => saver.save())
  }
}

const stateFileError = (path: string) => (e: unknown) =>
  e instanceof StateFile.StateFileError ? e : StateFile.error(path, "unreadable", String(e))

/**
 * `make` with a state file's problems in the error channel: the file cannot be read, is not a state
 * file, is corrupt, was written by a newer format version, names a model or video this simulator does
 * not have, or cannot be written.
 */
export const makeChecked = (options: Options = {}): Effect.Effect<Service, StateFile.StateFileError, Scope.Scope> =>
  Effect.gen(function* () {
    const path = options.stateFile === undefined ? undefined : Path.resolve(options.stateFile)
    const saved =
      path === undefined
        ? undefined
        : yield* Effect.try({ try: () => StateFile.read(path), catch: stateFileError(path) })
    const clock = options.clock ?? SimClock.fromClock(yield* Effect.clock)
    const state = build(options, clock, saved === undefined ? 0 : Persistence.resumeOffset(saved.clock, clock.now()))
    const hostname = options.hostname ?? "127.0.0.1"
    let saver: Persistence.Saver | undefined
    let listening: Persistence.Listen = saved?.listen ?? null
    if (path !== undefined) {
      if (saved !== undefined) {
        yield* Effect.try({ try: () => Persistence.absorb(state, path, saved), catch: stateFileError(path) })
      }
      const attached = Persistence.attach(state, path, () => listening)
      saver = attached
      // Written before listening, so a file that cannot be written fails here, not at the first create.
      yield* Effect.tryPromise({ try: () => attached.save(), catch: stateFileError(path) })
    }
    // Old links keep working when the last run's ports are free (the same host only).
    const last = saved?.listen?.hostname === hostname ? saved.listen : undefined
    yield* Effect.acquireRelease(
      Effect.promise(() =>
        Server.listen(state, {
          hostname,
          port: options.port ?? 0,
          cdnPort: options.cdnPort ?? 0,
          preferred: {
            port: options.port === undefined ? last?.port : undefined,
            cdnPort: options.cdnPort === undefined ? last?.cdnPort : undefined
          }
        })
      ),
      // The servers stop first, so the last save sees every change.
      (running) =>
        Effect.promise(async () => {
          await running.close()
          await saver?.close()
        })
    )
    if (saver !== undefined) {
      listening = {
        hostname,
        port: Number(new URL(state.urls.laozhang).port),
        cdnPort: Number(new URL(state.urls.cdn).port)
      }
      state.persist.changed()
    }
    return service(state, saver)
  }).pipe(Effect.withSpan("Simulator.make"))

/**
 * Starts the simulator: both servers listen when this succeeds, and stop (open connections
 * included) when the scope closes. Failing to listen (a port in use) is a defect, and so is a state
 * file that cannot be used (a `StateFileError`; `makeChecked` has it in the error channel).
 */
export const make = (options: Options = {}): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.orDie(makeChecked(options))

/** The simulator as a layer. */
export const layer = (options: Options = {}): Layer.Layer<Simulator> => Layer.scoped(Simulator, make(options))

/** A running simulator for code that does not use Effect. */
export interface Handle {
  readonly urls: Urls
  readonly state: State.State
  readonly ledger: () => ReadonlyArray<Ledger.Entry>
  readonly stop: () => Promise<void>
}

/**
 * Starts the simulator without Effect; call `stop()` when done.
 *
 * @example
 * ```ts
 * const sim = await Simulator.start({ timeScale: 1 / 100 })
 * // ... use sim.urls.laozhang ...
 * await sim.stop()
 * ```
 */
export const start = async (options: Options = {}): Promise<Handle> => {
  const scope = Effect.runSync(Scope.make())
  const sim = await Effect.runPromise(Scope.extend(make(options), scope))
  return {
    urls: sim.urls,
    state: sim.state,
    ledger: () => Effect.runSync(sim.ledger),
    stop: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
