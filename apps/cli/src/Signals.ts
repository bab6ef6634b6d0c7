/**
 * Ctrl-C and SIGTERM. By default a signal interrupts the command. A command that runs generations
 * installs a handler instead (`handle`), so the first signal stops it gracefully: no new billable
 * call starts, the calls in flight get a moment to record their task id, then the run is
 * interrupted and the resume command printed. A second signal interrupts at once.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

export type Signal = "SIGINT" | "SIGTERM"

type Handler = (signal: Signal, count: number) => void

let handler: Handler | undefined
let received: Signal | undefined
let count = 0

/** The first signal received, if any (decides the exit code: 130 or 143). */
export const receivedSignal = (): Signal | undefined => received

/**
 * Called by the process's signal listeners. Returns `true` when a handler took the signal;
 * `false` means the caller should interrupt the command itself.
 */
export const dispatch = (signal: Signal): boolean => {
  received ??= signal
  count++
  if (handler === undefined) return false
  handler(signal, count)
  return true
}

/** Routes signals to `onSignal` while the scope is open. */
export const handle = (onSignal: Handler): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      handler = onSignal
    }),
    () =>
      Effect.sync(() => {
        if (handler === onSignal) handler = undefined
      })
  )
