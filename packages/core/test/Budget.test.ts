import { assert, describe, it } from "@effect/vitest"
import * as BigDecimal from "effect/BigDecimal"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
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

  it.effect("refuses a reservation that would pass the limit, holding nothing", () =>
    Effect.gen(function* () {
      const budget = yield* Budget.make({ limit: Money.usd("0.40"), spent: Money.usd("0.10") })
      yield* budget.reserve(Money.usd("0.25"))
      const refused = yield* Effect.either(budget.reserve(Money.usd("0.15")))
      assert.isTrue(Either.isLeft(refused))
      if (Either.isLeft(refused)) {
        assert.strictEqual(refused.left._tag, "BudgetExceeded")
        assert.strictEqual(refused.left.billing, "not-charged")
        assert.include(refused.left.message, "$0.15")
        assert.include(refused.left.message, "$0.35")
        assert.include(refused.left.message, "$0.40")
      }
      equal((yield* budget.snapshot).committed, "0.35")
      // Exactly at the limit is allowed.
      yield* budget.reserve(Money.usd("0.05"))
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
