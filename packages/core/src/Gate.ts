/**
 * A first-come-first-served limit on how much work runs at once.
 *
 * `Effect.Semaphore` (effect 3.22) wakes every waiting fiber when a permit is released, and all but
 * one go back to waiting: with thousands of batch items queued for ten submit permits that is
 * quadratic work and memory (measured: 1,000 fibers through 10 permits took 4.3 s and 1.1 GB; 3,000
 * ran out of memory). Here a released permit goes to the one fiber that has waited longest, so
 * 10,000 queued items cost what 10,000 small waits cost.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"

export interface Gate {
  /** Runs `effect` once a permit is free, waiting in arrival order; the permit is returned however it ends. */
  readonly run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

interface Waiter {
  granted: boolean
  readonly resume: (effect: Effect.Effect<void>) => void
}

/** A gate letting `permits` effects run at once. */
export const make = (permits: number): Effect.Effect<Gate> =>
  Effect.sync(() => {
    let free = Math.max(1, permits)
    // A Set keeps arrival order and removes an interrupted waiter in constant time.
    const waiting = new Set<Waiter>()

    const release = () => {
      const next = waiting.values().next()
      if (next.done === true) {
        free++
        return
      }
      waiting.delete(next.value)
      next.value.granted = true
      next.value.resume(Effect.void)
    }

    const acquire = Effect.async<void>((resume) => {
      const waiter: Waiter = { granted: false, resume }
      if (free > 0 && waiting.size === 0) {
        free--
        waiter.granted = true
        resume(Effect.void)
      } else {
        waiting.add(waiter)
      }
      // Interrupted while waiting: leave the line. Interrupted in the instant between being handed
      // the permit and resuming (the runtime may still prefer the interruption then): pass the
      // permit on, or it would be lost for good.
      return Effect.sync(() => (waiter.granted ? release() : waiting.delete(waiter)))
    })

    return {
      run: (effect) =>
        Effect.uninterruptibleMask((restore) =>
          // Waiting for a permit stays interruptible (Ctrl-C while queued); once it is held, it is
          // always given back.
          Effect.zipRight(restore(acquire), Effect.ensuring(restore(effect), Effect.sync(release)))
        )
    }
  })

/** Runs `effect` through `gate`, or directly when there is none. */
export const through = <A, E, R>(gate: Gate | undefined, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  gate === undefined ? effect : gate.run(effect)
