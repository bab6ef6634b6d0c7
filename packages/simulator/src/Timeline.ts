/**
 * The life of a simulated task: queued, then running with progress along a curve (linear unless the
 * `timing` directive names another), then completed or failed.
 *
 * Nothing is scheduled: a task is its creation time, its queue and run durations (drawn once from the
 * seed) and its outcome, and its state at any instant is computed on demand. Ten thousand tasks cost
 * ten thousand small records, not ten thousand timers.
 *
 * @since 0.1.0
 */
import type { Model, SpeedClass } from "./Models.js"
import * as Seeded from "./Seeded.js"

/** A range of generation times in vendor seconds (before the time scale). */
export interface Timing {
  readonly minSeconds: number
  readonly maxSeconds: number
}

/**
 * Generation times from the reference pages: fast models 30-60 s, standard 1-2 min, Sora 2-5 min.
 * The official forward models share the fast / standard classes.
 */
export const defaultTimings: Readonly<Record<SpeedClass, Timing>> = {
  fast: { minSeconds: 30, maxSeconds: 60 },
  standard: { minSeconds: 60, maxSeconds: 120 },
  sora: { minSeconds: 120, maxSeconds: 300 }
}

/** The default time scale: vendor durations divided by 30, so a fast model takes 1-2 s. */
export const defaultTimeScale = 1 / 30

/** How durations are drawn. */
export interface TimelineConfig {
  readonly seed: string
  /** Multiplies every vendor duration (1 = real vendor timings). */
  readonly timeScale: number
  /** Overrides by model id or by speed class (`fast`, `standard`, `sora`); a model id wins. */
  readonly timings: Readonly<Record<string, Timing>>
  /** The share of the total spent queued, drawn per task within this range. */
  readonly queueFraction: readonly [number, number]
}

/**
 * How progress moves over the running phase. Real vendors do not report linear progress: a client
 * that estimates the finish from two readings must cope with a stall (progress stops for a while)
 * and a jump (slow, then most of the way at once).
 *
 * - `linear`: evenly from 0 to 100.
 * - `stall`: half the way in the first 30 % of the run, no movement until 70 %, the rest by the end.
 * - `jump`: 15 % over the first 60 % of the run, then 85 at once, the rest by the end.
 */
export const curves = {
  linear: [
    [0, 0],
    [1, 100]
  ],
  stall: [
    [0, 0],
    [0.3, 50],
    [0.7, 50],
    [1, 100]
  ],
  jump: [
    [0, 0],
    [0.6, 15],
    [0.6, 85],
    [1, 100]
  ]
} as const satisfies Record<string, ReadonlyArray<readonly [number, number]>>

/** The name of a progress curve. */
export type Curve = keyof typeof curves

/** Whether `name` names a progress curve. */
export const isCurve = (name: string): name is Curve => Object.hasOwn(curves, name)

/** When a task was created and how long each phase lasts, in simulator-clock milliseconds. */
export interface Timeline {
  readonly createdAt: number
  readonly queueMs: number
  readonly runMs: number
  /** How progress moves while running (absent: `linear`). */
  readonly curve?: Curve | undefined
}

/** How a task ends. A failure happens at `at` (a fraction of the running phase). */
export type Outcome =
  | { readonly _tag: "Success" }
  | { readonly _tag: "Failure"; readonly code: string; readonly message: string; readonly at: number }

/** A task's state at one instant. */
export type Phase =
  | { readonly status: "queued"; readonly progress: number }
  | { readonly status: "running"; readonly progress: number }
  | { readonly status: "completed"; readonly progress: number; readonly at: number }
  | {
      readonly status: "failed"
      readonly progress: number
      readonly at: number
      readonly code: string
      readonly message: string
    }

/** The timing that applies to `model`. */
export const timingFor = (config: TimelineConfig, model: Model): Timing =>
  config.timings[model.id] ?? config.timings[model.speed] ?? defaultTimings[model.speed]

/**
 * Draws the timeline of the `seq`-th task. `override` (from the `timing` directive) gives exact
 * phase lengths in simulator milliseconds, unscaled.
 */
export const plan = (
  config: TimelineConfig,
  model: Model,
  seq: number,
  createdAt: number,
  override?: { readonly queueMs: number; readonly runMs: number; readonly curve?: Curve | undefined }
): Timeline => {
  if (override !== undefined) {
    const timeline = { createdAt, queueMs: Math.max(0, override.queueMs), runMs: Math.max(1, override.runMs) }
    return override.curve === undefined || override.curve === "linear"
      ? timeline
      : { ...timeline, curve: override.curve }
  }
  const timing = timingFor(config, model)
  const seconds =
    timing.minSeconds + Seeded.unit(config.seed, "duration", seq) * (timing.maxSeconds - timing.minSeconds)
  const totalMs = seconds * 1000 * config.timeScale
  const [qMin, qMax] = config.queueFraction
  const share = qMin + Seeded.unit(config.seed, "queue", seq) * (qMax - qMin)
  const queueMs = Math.round(totalMs * share)
  return { createdAt, queueMs, runMs: Math.max(1, Math.round(totalMs - queueMs)) }
}

/** When the running phase starts. */
export const startsAt = (t: Timeline): number => t.createdAt + t.queueMs

/** When the task would complete if it succeeds. */
export const completesAt = (t: Timeline): number => t.createdAt + t.queueMs + t.runMs

/** When the task reaches its terminal state. */
export const endsAt = (t: Timeline, outcome: Outcome): number =>
  outcome._tag === "Success" ? completesAt(t) : startsAt(t) + Math.floor(t.runMs * outcome.at)

/** Progress (0-100) at `now`, along the task's curve over the running phase, 99 at most until the end. */
export const progressAt = (t: Timeline, now: number): number => {
  const elapsed = now - startsAt(t)
  if (elapsed <= 0) return 0
  if (t.curve === undefined || t.curve === "linear") return Math.min(99, Math.floor((100 * elapsed) / t.runMs))
  const knots: ReadonlyArray<readonly [number, number]> = curves[t.curve]
  const x = elapsed / t.runMs
  // The segment [a, b) holding x; two knots at the same x make a jump, taken at that x.
  let index = 1
  while (index < knots.length - 1 && x >= knots[index]![0]) index++
  const [x0, y0] = knots[index - 1]!
  const [x1, y1] = knots[index]!
  const y = x >= x1 ? y1 : y0 + ((y1 - y0) * (x - x0)) / (x1 - x0)
  return Math.min(99, Math.floor(y))
}

/** The task's state at `now`. */
export const phaseAt = (t: Timeline, outcome: Outcome, now: number): Phase => {
  const end = endsAt(t, outcome)
  if (now >= end) {
    return outcome._tag === "Success"
      ? { status: "completed", progress: 100, at: end }
      : { status: "failed", progress: progressAt(t, end), at: end, code: outcome.code, message: outcome.message }
  }
  if (now < startsAt(t)) return { status: "queued", progress: 0 }
  return { status: "running", progress: progressAt(t, now) }
}
