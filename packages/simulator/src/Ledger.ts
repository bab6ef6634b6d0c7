/**
 * The billing ledger: one entry per charge, following each vendor's documented rule, plus a balance
 * per (vendor, key). It is the truth tests compare a client against ("charged exactly once").
 *
 * `on-success` charges are scheduled when the task is created (its outcome is decided then) and
 * settled lazily: whenever anything reads or touches the simulator, every charge whose completion
 * time has passed is written, in completion order, whether or not anyone polled the task.
 *
 * @since 0.1.0
 */
import * as BigDecimal from "effect/BigDecimal"
import type { ChargeRule, Host, Protocol } from "./Models.js"

/** One charge. */
export interface Entry {
  readonly seq: number
  /** When the vendor charged, ISO 8601 on the simulator clock. */
  readonly at: string
  readonly atMs: number
  readonly host: Host
  readonly protocol: Protocol
  readonly model: string
  readonly taskId: string
  /** The key's fingerprint (see `RequestLog.fingerprint`), never the key. */
  readonly key: string
  /** Exact decimal US dollars, two decimals at least. */
  readonly amount: string
  readonly currency: "USD"
  readonly rule: ChargeRule
}

/** What to charge, before it has a time and a sequence number. */
export type Charge = Omit<Entry, "seq" | "at" | "atMs">

/** Formats money as an exact decimal string with at least two decimals ("0.25", "1.20", "0.125"). */
export const formatUsd = (n: BigDecimal.BigDecimal): string => {
  const normal = BigDecimal.normalize(n)
  const scaled = normal.scale < 2 ? BigDecimal.scale(normal, 2) : normal
  const negative = scaled.value < 0n
  const digits = (negative ? -scaled.value : scaled.value).toString().padStart(scaled.scale + 1, "0")
  const cut = digits.length - scaled.scale
  return `${negative ? "-" : ""}${digits.slice(0, cut)}.${digits.slice(cut)}`
}

/** Parses an exact decimal amount ("12", "0.15"). */
export const parseUsd = (text: string): BigDecimal.BigDecimal | undefined => {
  if (!/^-?\d+(\.\d+)?$/.test(text.trim())) return undefined
  return BigDecimal.unsafeFromString(text.trim())
}

/** The sum of the entries' amounts, exact. */
export const total = (entries: ReadonlyArray<Entry>): string =>
  formatUsd(
    entries.reduce((sum, e) => BigDecimal.sum(sum, BigDecimal.unsafeFromString(e.amount)), BigDecimal.fromBigInt(0n))
  )

interface Scheduled {
  readonly dueMs: number
  readonly order: number
  readonly account: Account
  readonly charge: Charge
}

/** A binary min-heap of scheduled charges by due time, then creation order. */
class Heap {
  private items: Array<Scheduled> = []
  get size(): number {
    return this.items.length
  }
  private less(a: Scheduled, b: Scheduled): boolean {
    return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.order < b.order)
  }
  push(item: Scheduled): void {
    const items = this.items
    items.push(item)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(items[i]!, items[parent]!)) break
      ;[items[i], items[parent]] = [items[parent]!, items[i]!]
      i = parent
    }
  }
  peek(): Scheduled | undefined {
    return this.items[0]
  }
  pop(): Scheduled | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      items[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < items.length && this.less(items[l]!, items[m]!)) m = l
        if (r < items.length && this.less(items[r]!, items[m]!)) m = r
        if (m === i) break
        ;[items[i], items[m]] = [items[m]!, items[i]!]
        i = m
      }
    }
    return top
  }
  clear(): void {
    this.items = []
  }
}

/** A key's account at one vendor. */
export interface Account {
  readonly host: Host
  readonly fingerprint: string
  /** The balance the account starts with the first time it is seen. */
  readonly initial: BigDecimal.BigDecimal
}

/** A balance as listed by the control endpoint. */
export interface Balance {
  readonly host: Host
  readonly key: string
  readonly balance: string
}

/**
 * An account's starting point as a state file keeps it: its balance is `base` minus every charge
 * written against it, so two ledgers merged by charge never debit one charge twice.
 */
export interface SavedAccount {
  readonly host: Host
  readonly key: string
  readonly base: string
  /** When `setBalance` last set it (wall-clock epoch ms), so the later setting wins a merge; `null`: never. */
  readonly setAt: number | null
}

/** The ledger as a state file keeps it. Scheduled charges are not kept: they follow from the tasks. */
export interface Saved {
  readonly entries: ReadonlyArray<Entry>
  readonly accounts: ReadonlyArray<SavedAccount>
}

/** The ledger and the balances. */
export interface Ledger {
  /** Charges now: the entry is written and the balance debited. */
  readonly charge: (account: Account, charge: Charge, atMs: number) => Entry
  /** Charges at `dueMs` (an `on-success` completion), settled lazily. */
  readonly schedule: (account: Account, charge: Charge, dueMs: number) => void
  /** Writes every scheduled charge due at or before `now`. */
  readonly settle: (now: number) => void
  readonly entries: () => ReadonlyArray<Entry>
  readonly pending: () => number
  readonly balance: (account: Account) => BigDecimal.BigDecimal
  readonly setBalance: (host: Host, fingerprint: string, amount: BigDecimal.BigDecimal) => void
  readonly balances: () => ReadonlyArray<Balance>
  /** Whether the task has been charged (a task is charged at most once, so its id names its charge). */
  readonly charged: (taskId: string) => boolean
  readonly save: () => Saved
  /**
   * Adds a saved ledger's charges (by task id; ours win a tie) and accounts (the later `setBalance`
   * wins). Charges arriving from elsewhere are put in time order and numbered again.
   */
  readonly merge: (saved: Saved) => void
  readonly reset: () => void
}

interface Base {
  readonly host: Host
  readonly key: string
  readonly base: BigDecimal.BigDecimal
  readonly setAt: number | null
}

const zero = BigDecimal.fromBigInt(0n)

/** An empty ledger; `onChange` hears of every charge written and every balance set. */
export const make = (onChange: () => void = () => {}): Ledger => {
  let entries: Array<Entry> = []
  const heap = new Heap()
  const charged = new Set<string>()
  // A balance is its base minus what was spent, not a running number: merging two ledgers then
  // only needs the union of their charges.
  const bases = new Map<string, Base>()
  const spent = new Map<string, BigDecimal.BigDecimal>()
  let order = 0
  const id = (host: Host, fp: string) => `${host}\u0000${fp}`
  const baseOf = (account: Account): BigDecimal.BigDecimal => {
    const k = id(account.host, account.fingerprint)
    const existing = bases.get(k)
    if (existing !== undefined) return existing.base
    bases.set(k, { host: account.host, key: account.fingerprint, base: account.initial, setAt: null })
    return account.initial
  }
  const spend = (entry: Entry) => {
    const k = id(entry.host, entry.key)
    spent.set(k, BigDecimal.sum(spent.get(k) ?? zero, BigDecimal.unsafeFromString(entry.amount)))
  }
  const balanceOf = (account: Account): BigDecimal.BigDecimal =>
    BigDecimal.subtract(baseOf(account), spent.get(id(account.host, account.fingerprint)) ?? zero)
  const write = (account: Account, charge: Charge, atMs: number): Entry => {
    baseOf(account)
    const entry: Entry = { seq: entries.length + 1, at: new Date(atMs).toISOString(), atMs, ...charge }
    entries.push(entry)
    charged.add(entry.taskId)
    spend(entry)
    onChange()
    return entry
  }
  return {
    charge: write,
    schedule: (account, charge, dueMs) => {
      baseOf(account)
      heap.push({ dueMs, order: order++, account, charge })
    },
    settle: (now) => {
      for (let top = heap.peek(); top !== undefined && top.dueMs <= now; top = heap.peek()) {
        heap.pop()
        // Another simulator sharing the state file may have written this charge already.
        if (!charged.has(top.charge.taskId)) write(top.account, top.charge, top.dueMs)
      }
    },
    entries: () => entries,
    pending: () => heap.size,
    balance: balanceOf,
    setBalance: (host, fingerprint, amount) => {
      const k = id(host, fingerprint)
      bases.set(k, { host, key: fingerprint, base: BigDecimal.sum(amount, spent.get(k) ?? zero), setAt: Date.now() })
      onChange()
    },
    balances: () =>
      [...bases.entries()].map(([k, b]) => ({
        host: b.host,
        key: b.key,
        balance: formatUsd(BigDecimal.subtract(b.base, spent.get(k) ?? zero))
      })),
    charged: (taskId) => charged.has(taskId),
    save: () => ({
      entries,
      accounts: [...bases.values()].map((b) => ({ host: b.host, key: b.key, base: formatUsd(b.base), setAt: b.setAt }))
    }),
    merge: (saved) => {
      const foreign = saved.entries.filter((e) => !charged.has(e.taskId))
      if (foreign.length > 0) {
        const ours = new Set(entries)
        entries = [...entries, ...foreign]
          .sort((a, b) => a.atMs - b.atMs || (ours.has(a) ? 0 : 1) - (ours.has(b) ? 0 : 1) || a.seq - b.seq)
          .map((e, i) => (e.seq === i + 1 ? e : { ...e, seq: i + 1 }))
        for (const e of foreign) {
          charged.add(e.taskId)
          spend(e)
        }
      }
      for (const a of saved.accounts) {
        const k = id(a.host, a.key)
        const mine = bases.get(k)
        if (mine !== undefined && (a.setAt ?? -1) <= (mine.setAt ?? -1)) continue
        bases.set(k, { host: a.host, key: a.key, base: BigDecimal.unsafeFromString(a.base), setAt: a.setAt })
      }
    },
    reset: () => {
      entries = []
      heap.clear()
      charged.clear()
      bases.clear()
      spent.clear()
      order = 0
    }
  }
}
