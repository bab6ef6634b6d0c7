/**
 * Drives the TestClock for tests of the whole engine (`it.effect`).
 *
 * The engine waits on two kinds of thing: timers (poll intervals, retry delays, deadlines, the
 * download watchdog), which run on the TestClock, and real I/O (the file it writes, the video it
 * probes), which runs at the machine's pace. `advancing` moves the clock only when the program can do
 * nothing else: no fiber of it has run for a whole timer turn and no request to the system (a file
 * read or write, a DNS lookup, a connect) is in flight. It then moves the clock to the earliest
 * pending timer and no further, so whatever wakes runs to its next wait before time moves again.
 * Virtual time passes as on an idle machine, whatever the real one's load: a poll planned at 27 s reads what the script shows at 27 s, and a disk write
 * that takes a while never makes the watchdog see a stalled download.
 *
 * A read from a socket is invisible here (an open connection is always "active"), so a test that
 * waits on a real server must not use `advancing` while a timer is pending: it keeps the clock still
 * (nothing it runs sleeps) or runs live.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"

/** Counts every time a supervised fiber starts running. */
class Activity extends Supervisor.AbstractSupervisor<number> {
  runs = 0
  get value() {
    return Effect.sync(() => this.runs)
  }
  override onResume() {
    this.runs++
  }
}

/**
 * Node's requests (not handles) for operations that complete on their own: file-system calls, DNS
 * lookups, connects, socket writes.
 */
const inFlight = () => process.getActiveResourcesInfo().some((name) => /Req|ConnectWrap|WriteWrap/.test(name))

/**
 * One turn of the event loop, on a zero timer: the microtasks queued before it run first, and so
 * does the work Effect's scheduler defers to a zero timer after a long run of microtasks.
 */
const turn = Effect.async<void>((resume) => {
  const timer = setTimeout(() => resume(Effect.void), 0)
  return Effect.sync(() => clearTimeout(timer))
})

/** Waits until a whole turn passes with no supervised fiber running and no request left in flight. */
const quiet = (activity: Activity) =>
  Effect.gen(function* () {
    while (true) {
      const before = activity.runs
      yield* turn
      if (activity.runs === before && !inFlight()) return
    }
  })

/**
 * Runs `effect` on a fiber of its own, moving the TestClock to each next timer whenever the program
 * is quiet, until it ends; ends as it does. Interrupting it interrupts the program.
 */
export const advancing = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.gen(function* () {
    const activity = new Activity()
    const fiber = yield* Effect.fork(Effect.supervised(effect, activity))
    while (true) {
      yield* quiet(activity)
      if (Option.isSome(yield* Fiber.poll(fiber))) return yield* Fiber.join(fiber)
      // Sleeps stay listed after the fiber waiting on them was interrupted (a timeout that lost its
      // race); moving to one of those is time passing while everything waits, which is harmless.
      const next = Chunk.reduce(yield* TestClock.sleeps(), Number.POSITIVE_INFINITY, (min, at) => Math.min(min, at))
      // To the timer's own instant, not by a difference that could round short of it. With nothing
      // pending on the clock, the program waits on the outside world: the next turn looks again.
      if (Number.isFinite(next)) yield* TestClock.setTime(next)
    }
  })
