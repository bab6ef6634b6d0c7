/**
 * The simulator's notion of "now". Every task's state is computed from its creation time and this
 * clock, so swapping the clock (a manual one in tests, Effect's `TestClock`) moves every task at once
 * without a single timer per task.
 *
 * @since 0.1.0
 */
import type * as Clock from "effect/Clock"

/** A source of wall-clock milliseconds since the Unix epoch. */
export interface SimClock {
  readonly now: () => number
}

/** The machine's clock. */
export const system: SimClock = { now: () => Date.now() }

/**
 * An Effect `Clock` as a `SimClock`. Inside `it.effect` this is the `TestClock`, so
 * `TestClock.adjust` drives the simulated vendors.
 */
export const fromClock = (clock: Clock.Clock): SimClock => ({ now: () => clock.unsafeCurrentTimeMillis() })

/** A clock that only moves when told to: deterministic tests without Effect's test services. */
export interface ManualClock extends SimClock {
  /** Moves the clock forward by `ms` milliseconds. */
  readonly advance: (ms: number) => void
  /** Sets the clock to an absolute time in epoch milliseconds. */
  readonly set: (epochMs: number) => void
}

/**
 * A manual clock starting at `startMs` (default 2025-01-01T00:00:00Z).
 *
 * @example
 * ```ts
 * const clock = SimClock.manual()
 * const sim = yield* Simulator.make({ clock })
 * clock.advance(60_000)
 * ```
 */
export const manual = (startMs = Date.UTC(2025, 0, 1)): ManualClock => {
  let current = startMs
  return {
    now: () => current,
    advance: (ms) => {
      current += ms
    },
    set: (epochMs) => {
      current = epochMs
    }
  }
}

/**
 * A clock that can be pushed forward by the control endpoint (`POST /_sim/time`): the base clock plus
 * an offset. Pushing only ever moves time forward, so tasks never run backwards.
 */
export interface OffsetClock extends SimClock {
  readonly offsetMs: () => number
  readonly advance: (ms: number) => void
  readonly resetOffset: () => void
}

/** Wraps `base` with an adjustable forward offset, starting at `offsetMs` (a resumed simulator's lead). */
export const withOffset = (base: SimClock, offsetMs = 0): OffsetClock => {
  let offset = Math.max(0, offsetMs)
  return {
    now: () => base.now() + offset,
    offsetMs: () => offset,
    advance: (ms) => {
      if (ms > 0) offset += ms
    },
    resetOffset: () => {
      offset = 0
    }
  }
}
