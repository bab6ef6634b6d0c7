/**
 * Spending limits. Before each billable call the engine reserves the worst case (the model's
 * price); when the outcome is known it settles: the reservation becomes a charge, is released, or,
 * when nobody can tell whether money was spent, stays counted as uncertain. A request that would
 * exceed the limit fails with `BudgetExceeded` and nothing is sent.
 *
 * @since 0.1.0
 */
import * as BigDecimal from "effect/BigDecimal"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
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
  /** Holds `amount` against the limit, or fails with `BudgetExceeded` without holding anything. */
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

interface State {
  readonly spent: Money.Usd
  readonly uncertain: Money.Usd
  /** The sum of `open`, kept as it changes: a batch of 10,000 must not re-add 10,000 amounts per reserve. */
  readonly reserved: Money.Usd
  /** Open reservations by id. Mutated in place, only inside `Ref.modify` / `Ref.update`. */
  readonly open: Map<number, Money.Usd>
  readonly nextId: number
}

const committedOf = (state: State): Money.Usd => Money.sum([state.spent, state.uncertain, state.reserved])

/** A budget kept in memory. */
export const make = (options: Options = {}): Effect.Effect<Service> =>
  Effect.map(
    Ref.make<State>({
      spent: options.spent ?? Money.zero,
      uncertain: options.uncertain ?? Money.zero,
      reserved: Money.zero,
      open: new Map(),
      nextId: 1
    }),
    (ref): Service => ({
      reserve: (amount, context) =>
        Effect.flatten(
          Ref.modify(ref, (state): [Effect.Effect<Reservation, BudgetExceeded>, State] => {
            const committed = committedOf(state)
            if (options.limit !== undefined && Money.greaterThan(BigDecimal.sum(committed, amount), options.limit)) {
              const error = new BudgetExceeded({
                ...(context?.provider === undefined ? {} : { provider: context.provider }),
                limit: options.limit,
                requested: amount,
                committed,
                billing: "not-charged",
                message: `this video costs up to ${Money.format(amount)} and ${Money.format(committed)} of the ${Money.format(options.limit)} budget is already committed; nothing was sent`
              })
              return [Effect.fail(error), state]
            }
            state.open.set(state.nextId, amount)
            return [
              Effect.succeed({ id: state.nextId, amount }),
              { ...state, reserved: Money.sum([state.reserved, amount]), nextId: state.nextId + 1 }
            ]
          })
        ),
      settle: (reservation, billing, actual) =>
        Ref.update(ref, (state) => {
          if (!state.open.delete(reservation.id)) return state
          const reserved = BigDecimal.subtract(state.reserved, reservation.amount)
          switch (billing) {
            case "charged":
              return { ...state, reserved, spent: Money.sum([state.spent, actual ?? reservation.amount]) }
            case "unknown":
              return { ...state, reserved, uncertain: Money.sum([state.uncertain, reservation.amount]) }
            case "not-charged":
              return { ...state, reserved }
          }
        }),
      record: (amount, billing, was) =>
        Ref.update(ref, (state) => {
          if (was === "charged" || was === billing) return state
          // Resolving an uncertain charge takes it out of uncertain (never below zero: a budget seeded
          // without it has nothing to take).
          const uncertain =
            was === "unknown"
              ? BigDecimal.max(Money.zero, BigDecimal.subtract(state.uncertain, amount))
              : state.uncertain
          switch (billing) {
            case "charged":
              return { ...state, uncertain, spent: Money.sum([state.spent, amount]) }
            case "unknown":
              return { ...state, uncertain: Money.sum([uncertain, amount]) }
            case "not-charged":
              return { ...state, uncertain }
          }
        }),
      snapshot: Effect.map(Ref.get(ref), (state) => ({
        limit: options.limit,
        spent: state.spent,
        reserved: BigDecimal.normalize(state.reserved),
        uncertain: state.uncertain,
        committed: committedOf(state)
      }))
    })
  )

/** A budget with a limit (and, for resumed work, what was already spent). */
export const layer = (options: Options): Layer.Layer<Budget> => Layer.effect(Budget, make(options))

/** No limit; spending is still tracked. The engine uses this when no `Budget` is provided. */
export const unlimited: Layer.Layer<Budget> = layer({})
