/**
 * Adaptive polling. The vendors' sample code polls every 5 seconds; that spends requests while
 * nothing can have changed and still detects completion 2.5 s late on average. reelay instead:
 *
 * 1. waits for most of the model's typical generation time before the first poll,
 * 2. estimates the finish from the provider's progress (two readings give a rate; one reading gives
 *    a pessimistic estimate that the next, earlier poll refines),
 * 3. polls just after the estimated finish (a long task once more on the way, to correct the
 *    estimate), then at a tight interval while the task is overdue,
 * 4. honours server hints (`openai-poll-after-ms`, `Retry-After`), adds jitter so many clients do
 *    not poll in lockstep, and never polls more often than a floor,
 * 5. stops waiting at a deadline with a resumable `PollTimeout`, cancelling nothing. The deadline
 *    bounds a status read in flight too (retries included): a server that answers slowly, or
 *    trickles its answer, cannot hold a task past it.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import type { GenerationTime } from "./ModelSpec.js"
import type { TaskHandle } from "./TaskHandle.js"
import { isTerminal, type TaskStatus } from "./TaskStatus.js"
import { PollTimeout } from "./VideoError.js"

export interface PollingOptions {
  /**
   * How long to wait for a task before giving up with `PollTimeout` (default 10 minutes). A status
   * read still in flight when it passes is cut there.
   */
  readonly deadline: Duration.DurationInput
  /**
   * How long the last look, made at the deadline, may take (default 5 s, not scaled); cut there, it
   * ends in `PollTimeout` like a read cut by the deadline.
   */
  readonly lastLook: Duration.DurationInput
  /** The shortest interval between two polls of one task (default 1 s). */
  readonly floor: Duration.DurationInput
  /**
   * The longest interval between two polls of one task while its finish is a guess or overdue
   * (default 30 s). The first wait (most of the typical time) and the wait toward a finish measured
   * from progress may be longer: a long task is then looked at once on the way, at 80 % of the
   * remaining time, rather than every `ceiling`.
   */
  readonly ceiling: Duration.DurationInput
  /** Relative jitter applied to each delay (default 0.1). */
  readonly jitter: number
  /**
   * Scales the model's generation times, the floor and the ceiling (default 1). For a simulator
   * that runs generation 30× faster, use 1/30; the deadline is not scaled.
   */
  readonly timeScale: number
}

export const defaultPollingOptions: PollingOptions = {
  deadline: "10 minutes",
  lastLook: "5 seconds",
  floor: "1 second",
  ceiling: "30 seconds",
  jitter: 0.1,
  timeScale: 1
}

/** One status reading: when it was taken and the progress it reported (0 while queued). */
export interface Reading {
  readonly at: number
  readonly progress: number | undefined
}

export interface PlanInput {
  readonly time: GenerationTime
  /** When the task was submitted (epoch millis). */
  readonly submittedAt: number
  readonly now: number
  /** Readings so far, oldest first. */
  readonly readings: ReadonlyArray<Reading>
  /** The server's requested delay from the last reading, if it gave one. */
  readonly hintMillis?: number | undefined
}

export interface Plan {
  /** How long to wait before the next poll, jitter not yet applied. */
  readonly delayMillis: number
  /** When we expect the task to finish (epoch millis). */
  readonly finishAt: number
  /** Whether `finishAt` comes from a measured progress rate, not a guess. */
  readonly measured: boolean
}

/** Estimates the finish time from the readings, falling back to the model's typical time. */
export const estimateFinish = (input: PlanInput, typicalMillis: number): { at: number; measured: boolean } => {
  const progressing = input.readings.filter(
    (reading): reading is Reading & { progress: number } => reading.progress !== undefined && reading.progress > 0
  )
  const last = progressing.at(-1)
  if (last === undefined) return { at: input.submittedAt + typicalMillis, measured: false }
  if (last.progress >= 100) return { at: last.at, measured: true }
  // The rate between the two latest distinct readings is the best predictor of linear progress.
  for (let index = progressing.length - 2; index >= 0; index--) {
    const earlier = progressing[index]!
    if (earlier.progress < last.progress && earlier.at < last.at) {
      const rate = (last.progress - earlier.progress) / (last.at - earlier.at)
      return { at: last.at + (100 - last.progress) / rate, measured: true }
    }
  }
  // One reading: assume the work began at submission. Queue time makes this late, never early.
  return { at: input.submittedAt + ((last.at - input.submittedAt) * 100) / last.progress, measured: false }
}

/** Plans the next poll. Pure, so the schedule can be tested exhaustively. */
export const plan = (input: PlanInput, options: PollingOptions = defaultPollingOptions): Plan => {
  const scale = options.timeScale
  const typical = input.time.typicalSeconds * 1000 * scale
  const floor = Duration.toMillis(options.floor) * scale
  const ceiling = Duration.toMillis(options.ceiling) * scale
  const finish = estimateFinish(input, typical)
  const clamp = (millis: number) => Math.min(ceiling, Math.max(floor, millis))
  if (input.hintMillis !== undefined) {
    return { delayMillis: Math.max(floor, input.hintMillis), finishAt: finish.at, measured: finish.measured }
  }
  const remaining = finish.at - input.now
  if (remaining > 0 && input.readings.length === 0) {
    // The first look: most of the typical time, however long (the ceiling bounds re-polls, not this).
    return { delayMillis: Math.max(floor, remaining * 0.6, typical * 0.1), finishAt: finish.at, measured: false }
  }
  if (remaining > 0 && finish.measured) {
    // Aim just past the predicted finish. Far from it, look once on the way instead (at 80 % of the
    // remaining time): the rate over that longer stretch corrects the estimate, and a long task is
    // not polled every `ceiling` for minutes.
    const delay = remaining > 2 * ceiling ? remaining * 0.8 : remaining + Math.max(floor * 0.25, typical * 0.01)
    return { delayMillis: Math.max(floor, delay), finishAt: finish.at, measured: true }
  }
  // Overdue: poll steadily and tightly; the estimate was wrong or progress is not linear. A guess:
  // look again before it, to measure a rate, but not so often that it costs requests.
  const delay = remaining <= 0 ? typical * 0.1 : Math.max(remaining * 0.6, typical * 0.1)
  return { delayMillis: clamp(delay), finishAt: finish.at, measured: finish.measured }
}

/**
 * Spreads a planned delay by `random` (in [0, 1)): symmetric for guesses, only later for measured
 * finishes (polling early is a wasted request).
 */
export const spread = (planned: Plan, options: PollingOptions, random: number): number => {
  if (options.jitter <= 0) return planned.delayMillis
  const factor = planned.measured ? 1 + random * options.jitter : 1 - options.jitter + random * 2 * options.jitter
  return Math.round(planned.delayMillis * factor)
}

/** Applies jitter (see `spread`) with Effect's `Random`. */
export const jitter = (planned: Plan, options: PollingOptions): Effect.Effect<number> =>
  Effect.map(Random.next, (random) => spread(planned, options, random))

/** The progress a status reports: 0 while queued, its percentage while running. */
export const progressOf = (status: TaskStatus): number | undefined => {
  switch (status._tag) {
    case "Queued":
      return status.progress ?? 0
    case "Running":
      return status.progress
    default:
      return 100
  }
}

/**
 * A tracker's state as plain data, so a wait can outlive the process that planned it (a durable
 * workflow sleeps between polls and polls on from here, its readings and deadline kept).
 */
export const TrackerState = Schema.Struct({
  /** The task it follows: a state is carried on only for the same task. */
  taskId: Schema.String,
  startedAt: Schema.Number,
  readings: Schema.Array(Schema.Struct({ at: Schema.Number, progress: Schema.UndefinedOr(Schema.Number) })),
  hintMillis: Schema.UndefinedOr(Schema.Number),
  lastSeen: Schema.UndefinedOr(Schema.Literal("queued", "running"))
})
export type TrackerState = typeof TrackerState.Type

/**
 * One task's polling state: its readings, the server's last hint, and where the deadline stands. It
 * holds no fiber and no closure, so a scheduler can keep thousands of them in a table; `poll` drives
 * one from a loop.
 */
export class Tracker {
  readonly startedAt: number
  readonly deadlineAt: number
  readonly submittedAt: number
  private readonly readings: Array<Reading> = []
  private hintMillis: number | undefined = undefined
  private first = true
  private lastSeen: "queued" | "running" | undefined = undefined
  /** Whether the poll being planned is the last look, at the deadline. */
  finalPoll = false

  constructor(
    readonly handle: TaskHandle,
    readonly time: GenerationTime,
    readonly options: PollingOptions,
    now: number,
    /** Poll at once instead of waiting (a resumed task: its state is unknown). */
    private readonly immediately: boolean,
    /** Carry on from a state taken earlier (`state`): its readings, and the deadline it started. */
    restored?: TrackerState | undefined
  ) {
    this.startedAt = restored?.startedAt ?? now
    this.deadlineAt = this.startedAt + Duration.toMillis(options.deadline)
    this.submittedAt = Math.min(handle.createdAt.getTime(), now)
    if (restored !== undefined) {
      this.readings.push(...restored.readings.slice(-8))
      this.hintMillis = restored.hintMillis
      this.lastSeen = restored.lastSeen
    }
  }

  /** The state to carry on from later (see `TrackerState`). */
  get state(): TrackerState {
    return {
      taskId: this.handle.taskId,
      startedAt: this.startedAt,
      readings: [...this.readings],
      hintMillis: this.hintMillis,
      lastSeen: this.lastSeen
    }
  }

  private planAt(now: number): Plan {
    return plan(
      { time: this.time, submittedAt: this.submittedAt, now, readings: this.readings, hintMillis: this.hintMillis },
      this.options
    )
  }

  /** How long to wait before the next status call (`random` in [0, 1) for the jitter); never past the deadline. */
  nextDelay(now: number, random: number): number {
    let delay = this.first && this.immediately ? 0 : spread(this.planAt(now), this.options, random)
    this.first = false
    this.finalPoll = now + delay >= this.deadlineAt
    if (this.finalPoll) delay = Math.max(0, this.deadlineAt - now)
    return delay
  }

  /** How long a status call started at `asking` may take: until the deadline, or the last look's allowance. */
  bound(asking: number): number {
    return this.finalPoll || asking >= this.deadlineAt
      ? Duration.toMillis(this.options.lastLook)
      : this.deadlineAt - asking
  }

  /** Records a status read at `at`; returns the finish estimate while the task is not done. */
  record(status: TaskStatus, at: number): number | undefined {
    this.lastSeen = status._tag === "Queued" ? "queued" : status._tag === "Running" ? "running" : this.lastSeen
    this.readings.push({ at, progress: progressOf(status) })
    if (this.readings.length > 8) this.readings.shift()
    this.hintMillis = status._tag === "Queued" || status._tag === "Running" ? status.pollAfterMillis : undefined
    return isTerminal(status) ? undefined : this.planAt(at).finishAt
  }

  /** The `PollTimeout` the wait ends with at `at`: `cut` when a status call was still unanswered. */
  timedOut(at: number, cut: boolean): PollTimeout {
    const { handle } = this
    const state = this.lastSeen
    const waited = `${Math.round((at - this.startedAt) / 1000)} s`
    return new PollTimeout({
      provider: handle.provider,
      taskId: handle.taskId,
      handle,
      waitedMillis: at - this.startedAt,
      message: cut
        ? `task ${handle.taskId}: ${handle.provider} had not answered a status request when the deadline passed, after ${waited}${state === undefined ? "" : ` (last seen ${state})`}; it was not cancelled: resume it later to collect the video`
        : `task ${handle.taskId} was still ${state} after ${waited}; it was not cancelled: resume it later to collect the video`
    })
  }
}

export interface PollParams<E, R> {
  readonly handle: TaskHandle
  readonly time: GenerationTime
  /** One status call; the caller adds retries and concurrency limits. */
  readonly status: Effect.Effect<TaskStatus, E, R>
  /** Called with every reading and our finish estimate. */
  readonly onReading: (status: TaskStatus, finishAt: number | undefined) => Effect.Effect<void, never, R>
  /** Poll at once instead of waiting (a resumed task: its state is unknown). */
  readonly immediately?: boolean
  readonly options?: Partial<PollingOptions>
}

/**
 * Polls until the task succeeds or fails, or the deadline passes. At the deadline a last poll is
 * made (completion just before it should not be missed), bounded by `lastLook`; if the task is
 * still running the result is `PollTimeout` carrying the handle, and the task is left alone. A
 * status call (with its retries) still running when the deadline passes is cut there, with the same
 * `PollTimeout`.
 */
export const poll = <E, R>(params: PollParams<E, R>): Effect.Effect<TaskStatus, E | PollTimeout, R> =>
  Effect.gen(function* () {
    const options = { ...defaultPollingOptions, ...params.options }
    const tracker = new Tracker(
      params.handle,
      params.time,
      options,
      yield* Clock.currentTimeMillis,
      params.immediately === true
    )
    while (true) {
      const delay = tracker.nextDelay(yield* Clock.currentTimeMillis, yield* Random.next)
      if (delay > 0) yield* Effect.sleep(Duration.millis(delay))
      const answered = yield* Effect.timeoutOption(
        params.status,
        Duration.millis(tracker.bound(yield* Clock.currentTimeMillis))
      )
      const at = yield* Clock.currentTimeMillis
      if (Option.isNone(answered)) return yield* tracker.timedOut(at, true)
      const status = answered.value
      const finishAt = tracker.record(status, at)
      yield* params.onReading(status, finishAt)
      if (isTerminal(status)) return status
      if (tracker.finalPoll) return yield* tracker.timedOut(at, false)
    }
  })
