/**
 * Exact money. Prices and charges are `BigDecimal` US dollars, never floating point: a batch of
 * 10,000 videos at $0.15 must add up to exactly $1,500.00.
 *
 * @since 0.1.0
 */
import * as BigDecimal from "effect/BigDecimal"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

/** An amount of US dollars, encoded as a decimal string ("0.25") on the wire and in the journal. */
export const Usd = Schema.BigDecimal
export type Usd = BigDecimal.BigDecimal

/** Zero dollars. */
export const zero: Usd = BigDecimal.fromBigInt(0n)

/**
 * Parses a decimal string such as `"0.25"` or `"$1.20"`. Throws on anything else, because prices
 * are written by developers in catalogs, and a typo there must fail at start-up, not bill wrongly.
 */
export const usd = (text: string): Usd => {
  const parsed = BigDecimal.fromString(text.trim().replace(/^\$/, ""))
  if (Option.isNone(parsed)) {
    throw new TypeError(`Not a dollar amount: ${JSON.stringify(text)} (expected a decimal such as "0.25")`)
  }
  return BigDecimal.normalize(parsed.value)
}

/** Adds amounts exactly. */
export const sum = (amounts: Iterable<Usd>): Usd => {
  let total = zero
  for (const amount of amounts) total = BigDecimal.sum(total, amount)
  return BigDecimal.normalize(total)
}

/** `amount × count`, exactly. */
export const times = (amount: Usd, count: number): Usd =>
  BigDecimal.normalize(BigDecimal.multiply(amount, BigDecimal.fromBigInt(BigInt(count))))

/** Formats as `$0.25`, with at least two decimals and no rounding of sub-cent amounts. */
export const format = (amount: Usd): string => {
  const text = BigDecimal.format(BigDecimal.normalize(amount))
  const negative = text.startsWith("-")
  const digits = negative ? text.slice(1) : text
  const [whole, fraction = ""] = digits.split(".")
  return `${negative ? "-" : ""}$${whole}.${fraction.padEnd(2, "0")}`
}

/** `true` when `a > b`. */
export const greaterThan = (a: Usd, b: Usd): boolean => BigDecimal.greaterThan(a, b)
