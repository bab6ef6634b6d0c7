/**
 * Where faults come from and when they fire: directives in a prompt (counted per logical request or
 * per task) and global rules posted to the control endpoint (counted per rule, optionally random).
 *
 * @since 0.1.0
 */
import type { Directive, Stage } from "./Directive.js"
import type { Host, Protocol } from "./Models.js"
import type * as Seeded from "./Seeded.js"

/**
 * Where a directive acts. `task` directives shape the task when it is created (its outcome, lifetime,
 * timing, size, SSE cut); the others act on requests of their stage.
 */
export const actsAt = (d: Directive): Stage | "task" => {
  switch (d.kind) {
    case "fail":
    case "expire":
    case "pad":
    case "timing":
    case "sse-cut":
      return "task"
    case "content-policy":
      return d.on === "create" ? "create" : "task"
    default:
      return d.on
  }
}

/** Which requests a global rule applies to; absent fields match anything. */
export interface Match {
  readonly host?: Host
  readonly protocol?: Protocol
  readonly model?: string
}

/** A global fault rule, as listed by `GET /_sim/faults`. */
export interface Rule {
  readonly id: string
  readonly directive: Directive
  readonly match: Match
  /** Hits left; `null` for unlimited. */
  remaining: number | null
  readonly probability: number
  hits: number
}

/** What a request is about, for matching rules. */
export interface Facts {
  readonly stage: Stage | "task"
  readonly host: Host | undefined
  readonly protocol: Protocol | undefined
  readonly model: string | undefined
}

/** The global rules and the burst counters of prompt directives. */
export interface Faults {
  readonly add: (directive: Directive, match: Match, count: number | null, probability: number) => Rule
  readonly remove: (id: string) => boolean
  readonly list: () => ReadonlyArray<Rule>
  readonly clear: () => void
  /** The global rules that fire for this request, consuming their counts. */
  readonly fire: (facts: Facts) => ReadonlyArray<Directive>
  /**
   * Whether a prompt directive still fires for the logical request `identity`, counting the hit.
   * Retries of one logical request share the count, so `503(times=3)` fails three attempts.
   */
  readonly takeBurst: (identity: string, index: number, d: Directive) => boolean
  readonly reset: () => void
}

const matches = (m: Match, f: Facts): boolean =>
  (m.host === undefined || m.host === f.host) &&
  (m.protocol === undefined || m.protocol === f.protocol) &&
  (m.model === undefined || m.model === f.model)

/** An empty fault book drawing probabilities from `random`. */
export const make = (random: Seeded.Stream): Faults => {
  let rules: Array<Rule> = []
  let nextId = 1
  const bursts = new Map<string, number>()
  return {
    add: (directive, match, count, probability) => {
      const rule: Rule = { id: `rule_${nextId++}`, directive, match, remaining: count, probability, hits: 0 }
      rules.push(rule)
      return rule
    },
    remove: (id) => {
      const before = rules.length
      rules = rules.filter((r) => r.id !== id)
      return rules.length < before
    },
    list: () => rules,
    clear: () => {
      rules = []
    },
    fire: (facts) => {
      const fired: Array<Directive> = []
      for (const rule of rules) {
        if (actsAt(rule.directive) !== facts.stage || !matches(rule.match, facts)) continue
        if (rule.remaining !== null && rule.remaining <= 0) continue
        if (rule.probability < 1 && random.next() >= rule.probability) continue
        rule.hits++
        if (rule.remaining !== null) rule.remaining--
        fired.push(rule.directive)
      }
      return fired
    },
    takeBurst: (identity, index, d) => {
      const key = `${identity}\u0000${index}`
      const used = bursts.get(key) ?? 0
      if (used >= d.times) return false
      bursts.set(key, used + 1)
      return true
    },
    reset: () => {
      rules = []
      nextId = 1
      bursts.clear()
      random.reset()
    }
  }
}
