/**
 * Everything one simulator instance knows: its configuration, clock, tasks, ledger, logs and faults.
 * The protocol modules read and write it; the control endpoint and the in-process API expose it.
 *
 * @since 0.1.0
 */
import * as BigDecimal from "effect/BigDecimal"
import type { KeyRules } from "./Auth.js"
import * as Faults from "./Faults.js"
import * as Ledger from "./Ledger.js"
import type { Host } from "./Models.js"
import * as RequestLog from "./RequestLog.js"
import * as Seeded from "./Seeded.js"
import type * as SimClock from "./SimClock.js"
import * as Tasks from "./Tasks.js"
import type * as Timeline from "./Timeline.js"
import type { Fixture } from "./Videos.js"

/** The settings that can change while running (`POST /_sim/config`). */
export interface Config {
  seed: string
  timeScale: number
  timings: Record<string, Timeline.Timing>
  queueFraction: [number, number]
  /** Task lifetime after creation; `undefined`: 24 h times the time scale. */
  taskTtlMs: number | undefined
  /** URL lifetime after completion; `undefined`: 24 h times the time scale. */
  urlTtlMs: number | undefined
  honourIdempotencyKey: boolean
  /** Progress lines in a Sora stream (spread over the running phase). */
  soraProgressLines: number
}

/** Where the simulator listens, once it does. */
export interface Urls {
  readonly laozhang: string
  readonly apiyi: string
  readonly cdn: string
  readonly control: string
}

/**
 * Where the state goes when it changes in a way a later run needs (a task created, a charge written,
 * an idempotency key remembered, a balance set, the clock pushed). Without a state file it goes
 * nowhere (`none`); `Persistence.attach` installs one that writes the file.
 */
export interface Persist {
  readonly changed: () => void
  /** The state was cleared (`reset`): the next save replaces the file instead of merging with it. */
  readonly cleared: () => void
  /**
   * Resolves once every change so far is on disk; `undefined` without a state file, so callers answer
   * at once exactly as before.
   */
  readonly durable: () => Promise<void> | undefined
}

/** No state file. */
export const none: Persist = { changed: () => {}, cleared: () => {}, durable: () => undefined }

/** One simulator's world. */
export interface State {
  readonly config: Config
  readonly clock: SimClock.OffsetClock
  readonly keys: KeyRules
  readonly ledger: Ledger.Ledger
  readonly faults: Faults.Faults
  readonly tasks: Tasks.Tasks
  readonly requests: RequestLog.Log<RequestLog.RequestRecord>
  readonly cdnRequests: RequestLog.Log<RequestLog.CdnRecord>
  readonly fixtures: ReadonlyMap<string, Fixture>
  readonly maxBodyBytes: number
  urls: Urls
  /** Aborted when the simulator stops: pending delays and streams end. */
  readonly shutdown: AbortController
  /** Where changes are saved; `none` unless the simulator keeps a state file. */
  persist: Persist
  /** The next task sequence number (1, 2, ...), the input of every seeded draw. */
  readonly nextSeq: () => number
  /** The last sequence number handed out (0 before the first task). */
  readonly lastSeq: () => number
  /** Makes sure the next sequence number is above `seq` (a resumed world's tasks keep theirs). */
  readonly raiseSeq: (seq: number) => void
  /** The simulator clock, after settling every charge that became due. */
  readonly now: () => number
  readonly taskTtlMs: () => number
  readonly urlTtlMs: () => number
  /** Clears tasks, ledger, balances, logs, faults and the sequence; keeps the configuration. */
  readonly reset: () => void
}

const day = 24 * 60 * 60 * 1000

/** What `make` needs. */
export interface Init {
  readonly config: Config
  readonly clock: SimClock.OffsetClock
  readonly fixtures: ReadonlyMap<string, Fixture>
  readonly invalidKeys: ReadonlyArray<string>
  readonly defaultBalance: BigDecimal.BigDecimal
  readonly balances: ReadonlyMap<string, BigDecimal.BigDecimal>
  readonly logCapacity: number
  readonly maxBodyBytes: number
}

/** A fresh world. */
export const make = (init: Init): State => {
  const { config } = init
  const changed = () => state.persist.changed()
  // Pushing the clock is a change a later run needs: its tasks must not run backwards.
  const clock: SimClock.OffsetClock = {
    ...init.clock,
    advance: (ms) => {
      init.clock.advance(ms)
      if (ms > 0) changed()
    }
  }
  const ledger = Ledger.make(changed)
  const random = Seeded.stream(() => config.seed, "faults")
  const faults = Faults.make(random)
  const tasks = Tasks.make(changed)
  const requests = RequestLog.makeLog<RequestLog.RequestRecord>(init.logCapacity)
  const cdnRequests = RequestLog.makeLog<RequestLog.CdnRecord>(init.logCapacity)
  let seq = 0
  const state: State = {
    config,
    clock,
    keys: {
      invalidKeys: new Set(init.invalidKeys),
      defaultBalance: init.defaultBalance,
      zero: BigDecimal.fromBigInt(0n),
      balances: init.balances
    },
    ledger,
    faults,
    tasks,
    requests,
    cdnRequests,
    fixtures: init.fixtures,
    maxBodyBytes: init.maxBodyBytes,
    urls: { laozhang: "", apiyi: "", cdn: "", control: "" },
    shutdown: new AbortController(),
    persist: none,
    nextSeq: () => ++seq,
    lastSeq: () => seq,
    raiseSeq: (n) => {
      seq = Math.max(seq, n)
    },
    now: () => {
      const now = clock.now()
      ledger.settle(now)
      return now
    },
    taskTtlMs: () => config.taskTtlMs ?? day * config.timeScale,
    urlTtlMs: () => config.urlTtlMs ?? day * config.timeScale,
    reset: () => {
      ledger.reset()
      faults.reset()
      tasks.clear()
      requests.clear()
      cdnRequests.clear()
      seq = 0
      state.persist.cleared()
    }
  }
  return state
}

/** The host a path prefix names. */
export const hostOf = (segment: string | undefined): Host | undefined =>
  segment === "laozhang" || segment === "apiyi" ? segment : undefined
