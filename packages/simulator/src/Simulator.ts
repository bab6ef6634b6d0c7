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
import type * as RequestLog from "./RequestLog.js"
import { fingerprint } from "./RequestLog.js"
import * as Server from "./Server.js"
import * as SimClock from "./SimClock.js"
import * as State from "./State.js"
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
}

/** The simulator as a service tag, for `layer`. */
export class Simulator extends Context.Tag("@reelay/simulator/Simulator")<Simulator, Service>() {}

/** The fingerprint the ledger and the logs show for `key`. */
export { fingerprint }

const build = (options: Options, clock: SimClock.SimClock): State.State => {
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
    clock: SimClock.withOffset(clock),
    fixtures: Videos.load(options.videosDirectory),
    invalidKeys: options.invalidKeys ?? [],
    defaultBalance: money(options.defaultBalance ?? "1000000.00"),
    balances: new Map(Object.entries(options.balances ?? {}).map(([k, v]) => [k, money(v)])),
    logCapacity: options.logCapacity ?? 100_000,
    maxBodyBytes: options.maxBodyBytes ?? 25 * 1024 * 1024
  })
}

const service = (state: State.State): Service => {
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
    state
  }
}

/**
 * Starts the simulator: both servers listen when this succeeds, and stop (open connections
 * included) when the scope closes. Failing to listen (a port in use) is a defect.
 */
export const make = (options: Options = {}): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function* () {
    const clock = options.clock ?? SimClock.fromClock(yield* Effect.clock)
    const state = build(options, clock)
    yield* Effect.acquireRelease(
      Effect.promise(() =>
        Server.listen(state, {
          hostname: options.hostname ?? "127.0.0.1",
          port: options.port ?? 0,
          cdnPort: options.cdnPort ?? 0
        })
      ),
      (running) => Effect.promise(() => running.close())
    )
    return service(state)
  }).pipe(Effect.withSpan("Simulator.make"))

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
