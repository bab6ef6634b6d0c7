/**
 * Settlement: an attempt's money, accounted exactly once. An attempt reserves its worst case before
 * anything is sent; when its outcome is known it settles once, against the budget and as a `Charged`
 * event (the stream hears money spent or possibly spent; the store hears every settlement, so the
 * exposure it counted from the intent on is released when nothing was charged). An attempt that
 * ends without settling (interrupted, a defect) is abandoned: the budget keeps its amount as
 * uncertain.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Billing from "../../Billing.js"
import type * as Budget from "../../Budget.js"
import { Charged, Submitting } from "../../GenerationEvent.js"
import type { ModelSpec } from "../../ModelSpec.js"
import type { BudgetExceeded } from "../../VideoError.js"
import type * as VideoProvider from "../../VideoProvider.js"
import type { Item } from "./Item.js"
import type { Shared } from "./Shared.js"

/**
 * How an attempt's money is accounted: against a reservation made for it, or, for a task created
 * earlier and resumed now, against how its charge was counted then (`was`).
 */
export type Account =
  | { readonly _tag: "Reserved"; readonly reservation: Budget.Reservation }
  | { readonly _tag: "Resumed"; readonly was: Billing.BillingOutcome | undefined }

/** One attempt's money: settled once, or abandoned. A small record, not closures: a followed task holds one. */
export class Settlement {
  private settled = false

  constructor(
    private readonly shared: Shared,
    private readonly item: Item,
    private readonly provider: string,
    private readonly model: ModelSpec,
    private readonly account: Account
  ) {}

  /** Settles the attempt's money; every call after the first does nothing. */
  settle(billing: Billing.BillingOutcome, taskId?: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.settled) return Effect.void
      this.settled = true
      const { account, item, model } = this
      // A charge already reported (a per-request create before a timeout) is not reported again.
      if (account._tag === "Resumed" && (account.was === "charged" || account.was === billing)) return Effect.void
      const accounted =
        account._tag === "Reserved"
          ? this.shared.budget.settle(account.reservation, billing)
          : this.shared.budget.record(model.price, billing, account.was)
      const charged = new Charged({
        key: item.key,
        provider: this.provider,
        model: model.id,
        amount: model.price,
        chargePolicy: model.chargePolicy,
        billing,
        ...(taskId === undefined ? {} : { taskId })
      })
      return Effect.zipRight(accounted, billing === "not-charged" ? item.note(charged) : item.emit(charged))
    })
  }

  /**
   * The attempt goes on in a later stage, which accounts it as resumed (`Resumed`, from the store):
   * its reservation here is given back, so it is not counted twice (no event; nothing if settled).
   */
  get release(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const { account } = this
      if (this.settled || account._tag !== "Reserved") return Effect.void
      this.settled = true
      return this.shared.budget.settle(account.reservation, "not-charged")
    })
  }

  /** The attempt ended unsettled: its reservation is kept as uncertain (no event; nothing if settled). */
  get abandon(): Effect.Effect<void> {
    return Effect.suspend(() => {
      const { account } = this
      if (this.settled || account._tag !== "Reserved") return Effect.void
      return this.shared.budget.settle(account.reservation, "unknown")
    })
  }
}

/**
 * Runs a billable attempt: reserves its worst case, records its intent (the journal counts it possibly
 * charged from here), then runs `use`. From then on its money is settled exactly once; if `use` ends
 * in a failure without settling (interrupted, a defect), the attempt is abandoned. `use` may succeed
 * unsettled: then whoever carries the attempt on owns its settlement.
 */
export const attempt = <A, E>(
  shared: Shared,
  item: Item,
  provider: VideoProvider.Service,
  model: ModelSpec,
  idempotencyKey: string,
  use: (settlement: Settlement) => Effect.Effect<A, E>
): Effect.Effect<A, E | BudgetExceeded> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(restore(shared.budget.reserve(model.price, { provider: provider.id })), (reservation) => {
      const settlement = new Settlement(shared, item, provider.id, model, { _tag: "Reserved", reservation })
      const intent = new Submitting({
        key: item.key,
        provider: provider.id,
        model: model.id,
        idempotencyKey,
        ...(provider.baseUrl === undefined ? {} : { baseUrl: provider.baseUrl })
      })
      return restore(Effect.zipRight(item.emit(intent), use(settlement))).pipe(Effect.onError(() => settlement.abandon))
    })
  )
