/**
 * The life of a simulated task: queued, then running with linear progress, then completed or failed.
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

/** When a task was created and how long each phase lasts, in simulator-clock milliseconds. */
export interface Timeline {
  readonly createdAt: number
  readonly queueMs: number
  readonly runMs: number
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
  override?: { readonly queueMs: number; readonly runMs: number }
): Timeline => {
  if (override !== undefined) {
    return { createdAt, queueMs: Math.max(0, override.queueMs), runMs: Math.max(1, override.runMs) }
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

/** Progress (0-100) at `now`, linear over the running phase, 99 at most until the end. */
export const progressAt = (t: Timeline, now: number): number => {
  const elapsed = now - startsAt(t)
  if (elapsed <= 0) return 0
  return Math.min(99, Math.floor((100 * elapsed) / t.runMs))
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
