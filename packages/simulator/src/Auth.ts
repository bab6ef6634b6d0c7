/**
 * API keys as the simulated hosts see them. laozhang takes `Authorization: Bearer <key>`; apiyi takes
 * the raw key, `Authorization: <key>`, and refuses a `Bearer` prefix (its page shows only the raw
 * form; the simulator is strict so a client that sends the wrong style fails here, not in production).
 *
 * Any key is accepted (the pages' own samples use `YOUR_API_KEY` and `sk-your-api-key`) except keys
 * starting with `sk-invalid` and keys listed as invalid. Keys starting with `sk-nofunds` start with a
 * zero balance; others start with the configured default or their own configured balance.
 *
 * @since 0.1.0
 */
import type * as BigDecimal from "effect/BigDecimal"
import type { Account } from "./Ledger.js"
import type { Host } from "./Models.js"
import { fingerprint } from "./RequestLog.js"

/** Which keys exist and what they start with. */
export interface KeyRules {
  readonly invalidKeys: ReadonlySet<string>
  readonly defaultBalance: BigDecimal.BigDecimal
  readonly zero: BigDecimal.BigDecimal
  /** Starting balances by key. */
  readonly balances: ReadonlyMap<string, BigDecimal.BigDecimal>
}

/** The outcome of checking a request's credentials. */
export type Result =
  | { readonly _tag: "Authorized"; readonly account: Account }
  | { readonly _tag: "Refused"; readonly message: string }

/** Keys starting with this prefix are refused with 401. */
export const invalidPrefix = "sk-invalid"

/** Keys starting with this prefix have no money. */
export const noFundsPrefix = "sk-nofunds"

const refused = (message: string): Result => ({ _tag: "Refused", message })

/** Checks the `Authorization` header of a request to `host`. */
export const authenticate = (host: Host, header: string | undefined, rules: KeyRules): Result => {
  if (header === undefined || header.trim() === "") {
    return refused(
      host === "laozhang"
        ? "Missing Authorization header: expected 'Authorization: Bearer <key>'"
        : "Missing Authorization header: expected 'Authorization: <key>'"
    )
  }
  const bearer = /^bearer(?:\s+(.*))?$/i.exec(header.trim())
  let key: string
  if (host === "laozhang") {
    if (bearer === null) return refused("Invalid Authorization header: expected 'Authorization: Bearer <key>'")
    key = (bearer[1] ?? "").trim()
  } else {
    if (bearer !== null) {
      return refused("Invalid Authorization header: send the raw key ('Authorization: <key>'), without 'Bearer'")
    }
    key = header.trim()
  }
  if (key === "" || /\s/.test(key) || key.length > 512) return refused("Invalid API key provided")
  if (key.startsWith(invalidPrefix) || rules.invalidKeys.has(key)) return refused("Invalid API key provided")
  return { _tag: "Authorized", account: { host, fingerprint: fingerprint(key), initial: initialBalance(rules, key) } }
}

/** The balance `key` starts with. */
export const initialBalance = (rules: KeyRules, key: string): BigDecimal.BigDecimal =>
  key.startsWith(noFundsPrefix) ? rules.zero : (rules.balances.get(key) ?? rules.defaultBalance)
