/**
 * Spending limits. Before each billable call the engine reserves the worst case (the model's
 * price); when the outcome is known it settles: the reservation becomes a charge, is released, or,
 * when nobody can tell whether money was spent, stays counted as uncertain.
 *
 * A reservation that does not fit now but could once calls in flight settle waits for them rather
 * than failing: under `on-success` a rejected or failed video costs nothing, and its reservation
 * comes back. Refusing at once would throw away work the budget can pay for (reported: a budget
 * for three videos, two free rejections among the first three, and the other items refused while
 * the rejections were still pending). A reservation fails with `BudgetExceeded`, and nothing is
 * sent, only when no release can make room: when what is spent or possibly spent plus its own
 * amount already passes the limit. Waiters are answered in arrival order, each time a settlement
 * changes the totals.
 *
 * @since 0.1.0
 */
import * as BigDecimal from "effect/BigDecimal"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { BillingOutcome } from "./Billing.js"
import * as Money from "./Money.js"
import { BudgetExceeded } from "./VideoError.js"

export interface Reservation {
  readonly id: number
  readonly amount: Money.Usd
}

export interface Snapshot {
  /** The limit, if any. */
  readonly limit: Money.Usd | undefined
  /** Certainly spent. */
  readonly spent: Money.Usd
  /** Held for calls in flight. */
  readonly reserved: Money.Usd
  /** Possibly spent: ambiguous submissions, tasks still running when we stopped waiting. */
  readonly uncertain: Money.Usd
  /** `spent + reserved + uncertain`: what counts against the limit. */
  readonly committed: Money.Usd
}

export interface Service {
  /**
   * Holds `amount` against the limit.
   *
   * When it fits (`committed + amount <= limit`) and nobody is waiting, it is held at once. When it
   * would fit only once reservations in flight are released (`spent + uncertain + amount <= limit`),
   * it waits, behind earlier waiters, until settlements make room; a settlement that leaves no room
   * even if every open reservation were released fails it. It fails with `BudgetExceeded`, holding
   * nothing and with nothing sent, when no release can make room. Interrupted while waiting, it
   * holds nothing.
   *
   * A caller that holds something others wait for (a concurrency slot they need to settle) must
   * not wait here while holding it, or neither side moves.
   */
  readonly reserve: (
    amount: Money.Usd,
    context?: { readonly provider?: string }
  ) => Effect.Effect<Reservation, BudgetExceeded>
  /**
   * Settles a reservation once the outcome is known: `charged` moves `actual` (default: the
   * reserved amount) to spent, `not-charged` releases it, `unknown` keeps it counted as uncertain.
   * Settling twice is a no-op.
   */
  readonly settle: (reservation: Reservation, billing: BillingOutcome, actual?: Money.Usd) => Effect.Effect<void>
  /**
   * Counts the outcome of a charge that had no reservation here: a task created earlier (by this
   * process before a `PollTimeout`, or by a crashed one) and resumed now. `was` is how the charge
   * was counted before: `unknown` moves the amount out of uncertain, `charged` means it is already
   * spent and nothing changes. Counted whatever the limit: the money is spent either way.
   */
  readonly record: (amount: Money.Usd, billing: BillingOutcome, was?: BillingOutcome | undefined) => Effect.Effect<void>
  readonly snapshot: Effect.Effect<Snapshot>
}

export class Budget extends Context.Tag("@reelay/core/Budget")<Budget, Service>() {}

export interface Options {
  /** The most that may be committed; no limit when absent. */
  readonly limit?: Money.Usd | undefined
  /** Already spent before this process started (say, by earlier runs of a resumed batch). */
  readonly spent?: Money.Usd | undefined
  /** Already possibly spent before this process started. */
  readonly uncertain?: Money.Usd | undefined
}

/** A `reserve` waiting for room. */
interface Waiter {
  readonly amount: Money.Usd
  readonly provider: string | undefined
  /** Set when it is handed a reservation, so an interruption racing the hand-over gives it back. */
  granted: Reservation | undefined
  readonly resume: (effect: Effect.Effect<Reservation, BudgetExceeded>) => void
}

interface State {
  spent: Money.Usd
  uncertain: Money.Usd
  /** The sum of `open`, kept as it changes: a batch of 10,000 must not re-add 10,000 amounts per reserve. */
  reserved: Money.Usd
  /** Open reservations by id. */
  readonly open: Map<number, Money.Usd>
  nextId: number
  /** Waiting reserves in arrival order; a Set also drops an interrupted one in constant time. */
  readonly waiting: Set<Waiter>
}

/**
 * A budget kept in memory.
 *
 * The state is plain mutable data changed only inside `Effect.sync` and `Effect.async` callbacks,
 * which run without interleaving, like `Gate`: a waiter must be queued in the same step as the check
 * that found no room, or a settlement in between would never wake it.
 *
 * A settlement hands room to the waiters directly, oldest first, rather than waking them all to try
 * again (a broadcast wakes every waiter for one to get in, see `Gate`). Only a settlement that adds
 * to what is spent or uncertain looks at the whole line, for waiters that can no longer fit; in a
 * batch the line is at most the submit concurrency, since the engine reserves under its submit gate.
 */
export const make = (options: Options = {}): Effect.Effect<Service> =>
  Effect.sync(() => {
    const limit = options.limit
    const state: State = {
      spent: options.spent ?? Money.zero,
      uncertain: options.uncertain ?? Money.zero,
      reserved: Money.zero,
      open: new Map(),
      nextId: 1,
      waiting: new Set()
    }

    const committed = (): Money.Usd => Money.sum([state.spent, state.uncertain, state.reserved])
    /** What no release can bring back. */
    const floor = (): Money.Usd => Money.sum([state.spent, state.uncertain])
    const fitsNow = (amount: Money.Usd) =>
      limit === undefined || !Money.greaterThan(BigDecimal.sum(committed(), amount), limit)
    const canEverFit = (amount: Money.Usd) =>
      limit === undefined || !Money.greaterThan(BigDecimal.sum(floor(), amount), limit)

    const exceeded = (amount: Money.Usd, provider: string | undefined, limit: Money.Usd) => {
      const now = committed()
      // Reservations in flight are part of what is committed, but not why it is refused: say so.
      const why = BigDecimal.isZero(state.reserved)
        ? ""
        : ` (${Money.format(floor())} of it spent or possibly spent, too much even if the calls in flight cost nothing)`
      return new BudgetExceeded({
        ...(provider === undefined ? {} : { provider }),
        limit,
        requested: amount,
        committed: now,
        billing: "not-charged",
        message: `this video costs up to ${Money.format(amount)} and ${Money.format(now)} of the ${Money.format(limit)} budget is already committed${why}; nothing was sent`
      })
    }

    const hold = (amount: Money.Usd): Reservation => {
      const id = state.nextId++
      state.open.set(id, amount)
      state.reserved = Money.sum([state.reserved, amount])
      return { id, amount }
    }

    /**
     * Answers waiters after the totals changed. When `floorRose` (more spent or uncertain), those
     * that can no longer fit fail, wherever they stand in line. Then the oldest are handed room for
     * as long as it lasts. Strictly in order: a cheap late waiter does not pass an expensive early
     * one, or a steady stream of cheap items could keep the expensive one waiting for ever.
     */
    const wake = (floorRose: boolean) => {
      if (limit === undefined) return
      if (floorRose) {
        for (const waiter of state.waiting) {
          if (canEverFit(waiter.amount)) continue
          state.waiting.delete(waiter)
          waiter.resume(Effect.fail(exceeded(waiter.amount, waiter.provider, limit)))
        }
      }
      for (const waiter of state.waiting) {
        if (!fitsNow(waiter.amount)) break
        state.waiting.delete(waiter)
        waiter.granted = hold(waiter.amount)
        waiter.resume(Effect.succeed(waiter.granted))
      }
    }

    const settleNow = (reservation: Reservation, billing: BillingOutcome, actual?: Money.Usd) => {
      if (!state.open.delete(reservation.id)) return
      state.reserved = BigDecimal.normalize(BigDecimal.subtract(state.reserved, reservation.amount))
      switch (billing) {
        case "charged":
          state.spent = Money.sum([state.spent, actual ?? reservation.amount])
          break
        case "unknown":
          state.uncertain = Money.sum([state.uncertain, reservation.amount])
          break
        case "not-charged":
          break
      }
      wake(billing !== "not-charged")
    }

    const reserve: Service["reserve"] = (amount, context) =>
      Effect.async<Reservation, BudgetExceeded>((resume) => {
        const waiter: Waiter = { amount, provider: context?.provider, granted: undefined, resume }
        if (limit !== undefined && !canEverFit(amount)) {
          resume(Effect.fail(exceeded(amount, waiter.provider, limit)))
        } else if (state.waiting.size === 0 && fitsNow(amount)) {
          waiter.granted = hold(amount)
          resume(Effect.succeed(waiter.granted))
        } else {
          state.waiting.add(waiter)
        }
        // Interrupted while waiting: leave the line, which may let those behind in. Interrupted in the
        // instant between being handed a reservation and resuming (the runtime may still prefer the
        // interruption then): give it back, or it would be held for ever.
        return Effect.sync(() => {
          if (waiter.granted !== undefined) settleNow(waiter.granted, "not-charged")
          else if (state.waiting.delete(waiter)) wake(false)
        })
      })

    const record: Service["record"] = (amount, billing, was) =>
      Effect.sync(() => {
        if (was === "charged" || was === billing) return
        const before = floor()
        // Resolving an uncertain charge takes it out of uncertain (never below zero: a budget seeded
        // without it has nothing to take).
        if (was === "unknown")
          state.uncertain = BigDecimal.max(Money.zero, BigDecimal.subtract(state.uncertain, amount))
        switch (billing) {
          case "charged":
            state.spent = Money.sum([state.spent, amount])
            break
          case "unknown":
            state.uncertain = Money.sum([state.uncertain, amount])
            break
          case "not-charged":
            break
        }
        wake(Money.greaterThan(floor(), before))
      })

    return {
      reserve,
      settle: (reservation, billing, actual) => Effect.sync(() => settleNow(reservation, billing, actual)),
      record,
      snapshot: Effect.sync(() => ({
        limit,
        spent: state.spent,
        reserved: BigDecimal.normalize(state.reserved),
        uncertain: state.uncertain,
        committed: committed()
      }))
    }
  })

/** A budget with a limit (and, for resumed work, what was already spent). */
export const layer = (options: Options): Layer.Layer<Budget> => Layer.effect(Budget, make(options))

/** No limit; spending is still tracked. The engine uses this when no `Budget` is provided. */
export const unlimited: Layer.Layer<Budget> = layer({})
