import { assert, describe, it } from "@effect/vitest"
import * as BigDecimal from "effect/BigDecimal"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Budget from "../src/Budget.js"
import * as Money from "../src/Money.js"

const equal = (actual: Money.Usd, expected: string) =>
  assert.isTrue(BigDecimal.equals(actual, Money.usd(expected)), `${Money.format(actual)} ≠ $${expected}`)

describe("Budget", () => {
  it.effect("reserves the worst case and settles each outcome", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ limit: Money.usd("1.00") })
      const a = yield* budget.reserve(Money.usd("0.25"))
      const b = yield* budget.reserve(Money.usd("0.25"))
      const c = yield* budget.reserve(Money.usd("0.25"))
      equal((yield* budget.snapshot).reserved, "0.75")
      yield* budget.settle(a, "charged")
      yield* budget.settle(b, "not-charged")
      yield* budget.settle(c, "unknown")
      const snapshot = yield* budget.snapshot
      equal(snapshot.spent, "0.25")
      equal(snapshot.reserved, "0")
      equal(snapshot.uncertain, "0.25")
      equal(snapshot.committed, "0.50")
    })
  )

  it.effect("refuses at once a reservation no release could make room for, holding nothing", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ limit: Money.usd("0.40"), spent: Money.usd("0.10") })
      yield* budget.settle(yield* budget.reserve(Money.usd("0.20")), "unknown")
      yield* budget.reserve(Money.usd("0.05"))
      // $0.10 spent + $0.20 possibly spent + $0.15 > $0.40, even if the $0.05 in flight is released.
      const refused = yield* Effect.flip(budget.reserve(Money.usd("0.15"), { provider: "acme" }))
      assert.strictEqual(refused._tag, "BudgetExceeded")
      assert.strictEqual(refused.billing, "not-charged")
      assert.strictEqual(refused.provider, "acme")
      equal(refused.requested, "0.15")
      equal(refused.committed, "0.35")
      equal(refused.limit, "0.40")
      assert.include(refused.message, "costs up to $0.15 and $0.35 of the $0.40 budget is already committed")
      assert.include(refused.message, "$0.30 of it spent or possibly spent")
      assert.include(refused.message, "nothing was sent")
      equal((yield* budget.snapshot).committed, "0.35")
      // Exactly at the limit is allowed.
      yield* budget.reserve(Money.usd("0.05"))
      // More than the whole limit never waits either.
      const tooMuch = yield* Effect.flip(
        Budget.make({ limit: Money.usd("0.20") }).pipe(Effect.flatMap((b) => b.reserve(Money.usd("0.25"))))
      )
      assert.strictEqual(
        tooMuch.message,
        "this video costs up to $0.25 and $0.00 of the $0.20 budget is already committed; nothing was sent"
      )
    })
  )

  it.effect("waits for a reservation in flight and gets in when it is released", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ limit: Money.usd("0.60") })
      const a = yield* budget.reserve(Money.usd("0.25"))
      yield* budget.reserve(Money.usd("0.25"))
      const waiter = yield* Effect.fork(budget.reserve(Money.usd("0.25")))
      yield* Effect.yieldNow()
      assert.isTrue(Option.isNone(yield* Fiber.poll(waiter)), "waits while the release is possible")
      equal((yield* budget.snapshot).reserved, "0.50")
      yield* budget.settle(a, "not-charged")
      const reservation = yield* Fiber.join(waiter)
      equal(reservation.amount, "0.25")
      const snapshot = yield* budget.snapshot
      equal(snapshot.reserved, "0.50")
      equal(snapshot.committed, "0.50")
    })
  )

  it.effect("a waiter fails once the reservation it waited on is spent and no room is left", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ limit: Money.usd("0.60") })
      const a = yield* budget.reserve(Money.usd("0.25"))
      const b = yield* budget.reserve(Money.usd("0.25"))
      const waiter = yield* Effect.fork(budget.reserve(Money.usd("0.25"), { provider: "acme" }))
      yield* Effect.yieldNow()
      // Still $0.25 in flight: $0.25 spent + $0.25 fits if `b` is released.
      yield* budget.settle(a, "charged")
      yield* Effect.yieldNow()
      assert.isTrue(Option.isNone(yield* Fiber.poll(waiter)))
      // Possibly spent counts like spent: now nothing in flight can make room.
      yield* budget.settle(b, "unknown")
      const refused = yield* Effect.flip(Fiber.join(waiter))
      assert.strictEqual(refused._tag, "BudgetExceeded")
      assert.strictEqual(refused.provider, "acme")
      equal(refused.committed, "0.50")
      assert.strictEqual(
        refused.message,
        "this video costs up to $0.25 and $0.50 of the $0.60 budget is already committed; nothing was sent"
      )
      const snapshot = yield* budget.snapshot
      equal(snapshot.reserved, "0")
      equal(snapshot.committed, "0.50")
    })
  )

  it.effect("serves waiters in arrival order, a cheap late one behind an expensive early one", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ limit: Money.usd("1.00") })
      const a = yield* budget.reserve(Money.usd("0.40"))
      const b = yield* budget.reserve(Money.usd("0.40"))
      const order: Array<string> = []
      const wait = (name: string, amount: string) =>
        Effect.fork(Effect.tap(budget.reserve(Money.usd(amount)), () => Effect.sync(() => order.push(name)))).pipe(
          Effect.zipLeft(Effect.yieldNow())
        )
      const expensive = yield* wait("expensive", "0.60")
      const cheap = yield* wait("cheap", "0.10")
      // $0.20 is free now, but the cheap one arrived after a waiter: it queues too.
      const cheaper = yield* wait("cheaper", "0.05")
      assert.deepStrictEqual(order, [])
      yield* budget.settle(a, "not-charged")
      yield* Effect.yieldNow()
      // $0.60 free: all of it to the first in line, nothing left for the others.
      yield* Fiber.join(expensive)
      assert.deepStrictEqual(order, ["expensive"])
      assert.isTrue(Option.isNone(yield* Fiber.poll(cheap)))
      yield* budget.settle(b, "not-charged")
      yield* Fiber.join(cheap)
      yield* Fiber.join(cheaper)
      assert.deepStrictEqual(order, ["expensive", "cheap", "cheaper"])
      equal((yield* budget.snapshot).reserved, "0.75")
    })
  )

  it.effect("fails a waiter that can no longer fit wherever it stands in line", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ limit: Money.usd("1.00") })
      const a = yield* budget.reserve(Money.usd("0.50"))
      yield* budget.reserve(Money.usd("0.40"))
      const first = yield* Effect.fork(budget.reserve(Money.usd("0.30")))
      yield* Effect.yieldNow()
      const second = yield* Effect.fork(budget.reserve(Money.usd("0.60")))
      yield* Effect.yieldNow()
      // $0.50 spent: the second ($0.60) can never fit, the first ($0.30) still can.
      yield* budget.settle(a, "charged")
      assert.strictEqual((yield* Effect.flip(Fiber.join(second)))._tag, "BudgetExceeded")
      assert.isTrue(Option.isNone(yield* Fiber.poll(first)))
    })
  )

  it.effect("an interrupted waiter holds nothing and lets the next in line in", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ limit: Money.usd("1.00") })
      const a = yield* budget.reserve(Money.usd("0.50"))
      yield* budget.reserve(Money.usd("0.30"))
      const head = yield* Effect.fork(budget.reserve(Money.usd("0.40")))
      yield* Effect.yieldNow()
      const next = yield* Effect.fork(budget.reserve(Money.usd("0.20")))
      yield* Effect.yieldNow()
      assert.isTrue(Option.isNone(yield* Fiber.poll(next)), "behind the head, though it fits")
      yield* Fiber.interrupt(head)
      // The head is gone: the one behind it fits and gets in.
      equal((yield* Fiber.join(next)).amount, "0.20")
      equal((yield* budget.snapshot).reserved, "1.00")
      // Interrupted while waiting, then the room it waited for appears: nothing is held for it.
      const late = yield* Effect.fork(budget.reserve(Money.usd("0.50")))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(late)
      yield* budget.settle(a, "not-charged")
      const after = yield* budget.snapshot
      equal(after.reserved, "0.50")
      equal(after.committed, "0.50")
      equal(after.spent, "0")
      equal(after.uncertain, "0")
    })
  )

  it.effect("a waiter interrupted as it is handed a reservation gives it back", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ limit: Money.usd("0.50") })
      const a = yield* budget.reserve(Money.usd("0.50"))
      const waiter = yield* Effect.fork(budget.reserve(Money.usd("0.50")))
      yield* Effect.yieldNow()
      // No yield between the hand-over and the interruption: whichever the runtime honours (effect
      // 3 honours the interruption, which takes the give-back path), the totals agree with the exit.
      yield* budget.settle(a, "not-charged")
      const exit = yield* Fiber.interrupt(waiter)
      equal((yield* budget.snapshot).reserved, Exit.isSuccess(exit) ? "0.50" : "0")
    })
  )

  it.effect("a resolved uncertain charge makes room for a waiter, a confirmed one refuses it", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ limit: Money.usd("0.50"), uncertain: Money.usd("0.25") })
      const open = yield* budget.reserve(Money.usd("0.25"))
      const waiter = yield* Effect.fork(budget.reserve(Money.usd("0.25")))
      yield* Effect.yieldNow()
      // A resumed task turned out free: its $0.25 leaves uncertain.
      yield* budget.record(Money.usd("0.25"), "not-charged", "unknown")
      yield* Fiber.join(waiter)
      const refused = yield* Effect.fork(budget.reserve(Money.usd("0.25")))
      yield* Effect.yieldNow()
      // Another one turned out charged: $0.30 spent, counted whatever the limit, leaves no room.
      yield* budget.record(Money.usd("0.30"), "charged")
      assert.strictEqual((yield* Effect.flip(Fiber.join(refused)))._tag, "BudgetExceeded")
      yield* budget.settle(open, "not-charged")
      equal((yield* budget.snapshot).committed, "0.55")
    })
  )

  it.effect("without a limit nothing waits", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make()
      for (let i = 0; i < 3; i++) yield* budget.reserve(Money.usd("100"))
      equal((yield* budget.snapshot).reserved, "300")
    })
  )

  it.effect("settles once, whatever happens after", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make()
      const reservation = yield* budget.reserve(Money.usd("1.20"))
      yield* budget.settle(reservation, "charged")
      yield* budget.settle(reservation, "charged")
      yield* budget.settle(reservation, "unknown")
      const snapshot = yield* budget.snapshot
      equal(snapshot.spent, "1.20")
      equal(snapshot.uncertain, "0")
    })
  )

  it.effect("resolves the charges of resumed tasks against how they were counted before", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ uncertain: Money.usd("0.50") })
      yield* budget.record(Money.usd("0.25"), "charged", "unknown")
      yield* budget.record(Money.usd("0.25"), "not-charged", "unknown")
      yield* budget.record(Money.usd("1.20"), "charged", "charged")
      yield* budget.record(Money.usd("0.15"), "charged")
      const snapshot = yield* budget.snapshot
      equal(snapshot.spent, "0.40")
      equal(snapshot.uncertain, "0")
      // Never below zero, whatever the caller claims was uncertain.
      yield* budget.record(Money.usd("0.25"), "not-charged", "unknown")
      equal((yield* budget.snapshot).uncertain, "0")
    })
  )

  it.effect("adds exactly, without floating point drift", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ limit: Money.usd("1500") })
      for (let i = 0; i < 10_000; i++) {
        yield* budget.settle(yield* budget.reserve(Money.usd("0.15")), "charged")
      }
      equal((yield* budget.snapshot).spent, "1500")
      assert.isTrue(Either.isLeft(yield* Effect.either(budget.reserve(Money.usd("0.01")))))
    })
  )

  it("formats money", () => {
    assert.strictEqual(Money.format(Money.usd("0.3")), "$0.30")
    assert.strictEqual(Money.format(Money.usd("1500")), "$1500.00")
    assert.strictEqual(Money.format(Money.usd("0.125")), "$0.125")
    assert.throws(() => Money.usd("abc"), /Not a dollar amount/)
  })
})
