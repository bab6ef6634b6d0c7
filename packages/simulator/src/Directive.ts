/**
 * Fault directives: `@sim:NAME` or `@sim:NAME(key=value,...)` written anywhere in a prompt (or posted
 * to the control endpoint without the `@sim:` prefix). They let one request ask the simulated vendor
 * to misbehave in a precise way, so a client's handling of each failure can be tested in isolation.
 *
 * @since 0.1.0
 */
import * as Timeline from "./Timeline.js"

/** Every fault the simulator can inject. */
export const kinds = [
  "429",
  "500",
  "503",
  "502",
  "504",
  "reset-before-create",
  "reset-after-create",
  "slow",
  "slow-after-create",
  "malformed",
  "unknown-status",
  "fail",
  "content-policy",
  "insufficient-balance",
  "expire",
  "truncate",
  "sse-cut",
  "pad",
  "timing"
] as const

/** The name of a fault. */
export type Kind = (typeof kinds)[number]

/**
 * The request a fault acts on: the create itself, a status poll of the task, its `/content` call,
 * or a transfer of its video bytes (a CDN download, or the official forward's `/content` bytes).
 */
export type Stage = "create" | "status" | "content" | "download"

/** A parsed, validated directive. Fields beyond `kind`, `text`, `on` and `times` depend on the kind. */
export interface Directive {
  readonly kind: Kind
  /** The directive as written, for logs. */
  readonly text: string
  readonly on: Stage
  /** How many matching requests it hits (`Infinity` for `times=always`). */
  readonly times: number
  /** Seconds, for `Retry-After`. */
  readonly retryAfter?: number
  /** Wall-clock delay in milliseconds (`slow`, `slow-after-create`). */
  readonly ms?: number
  /** Where: a fraction 0-1 of the run (`fail`), a percentage (`sse-cut`) or a byte count (`truncate`). */
  readonly at?: number
  /** Total video size in bytes (`pad`). */
  readonly bytes?: number
  /** The status value to report (`unknown-status`). */
  readonly value?: string
  /** Exact phase lengths in simulator milliseconds (`timing`). */
  readonly queueMs?: number
  readonly runMs?: number
  /** How progress moves while running (`timing`'s `progress`). */
  readonly curve?: Timeline.Curve
  /** Task lifetime from creation, simulator milliseconds (`expire`). */
  readonly afterMs?: number
}

type ParamType = "seconds" | "ms" | "bytes" | "percent" | "string"

interface Spec {
  readonly on: Stage
  readonly ons: ReadonlyArray<Stage>
  readonly params: Readonly<Record<string, ParamType>>
}

const anywhere: ReadonlyArray<Stage> = ["create", "status", "content", "download"]

const specs: Readonly<Record<Kind, Spec>> = {
  "429": { on: "create", ons: anywhere, params: { "retry-after": "seconds" } },
  "500": { on: "create", ons: anywhere, params: {} },
  "503": { on: "create", ons: anywhere, params: { "retry-after": "seconds" } },
  "502": { on: "create", ons: anywhere, params: {} },
  "504": { on: "create", ons: anywhere, params: {} },
  "reset-before-create": { on: "create", ons: ["create"], params: {} },
  "reset-after-create": { on: "create", ons: ["create"], params: {} },
  slow: { on: "create", ons: anywhere, params: { ms: "ms" } },
  "slow-after-create": { on: "create", ons: ["create"], params: { ms: "ms" } },
  malformed: { on: "status", ons: ["create", "status", "content"], params: {} },
  "unknown-status": { on: "status", ons: ["status"], params: { value: "string" } },
  fail: { on: "status", ons: ["status"], params: { at: "percent", code: "string" } },
  "content-policy": { on: "status", ons: ["create", "status"], params: {} },
  "insufficient-balance": { on: "create", ons: ["create"], params: {} },
  expire: { on: "status", ons: ["status"], params: { after: "seconds" } },
  truncate: { on: "download", ons: ["download"], params: { at: "bytes" } },
  "sse-cut": { on: "create", ons: ["create"], params: { at: "percent" } },
  pad: { on: "download", ons: ["download"], params: { bytes: "bytes" } },
  timing: { on: "status", ons: ["status"], params: { queue: "seconds", run: "seconds", progress: "string" } }
}

const isKind = (name: string): name is Kind => (kinds as ReadonlyArray<string>).includes(name)

const units: Readonly<Record<string, number>> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }

/** Parses `1048576`, `512k`, `10m`, `1g` (binary units) into bytes. */
export const parseBytes = (text: string): number | undefined => {
  const match = /^(\d+(?:\.\d+)?)([kmg]?)(?:i?b)?$/i.exec(text.trim())
  if (match === null) return undefined
  const value = Number(match[1]) * (units[(match[2] ?? "").toLowerCase()] ?? 1)
  return Number.isFinite(value) ? Math.floor(value) : undefined
}

const parseValue = (type: ParamType, raw: string): number | string | undefined => {
  switch (type) {
    case "string":
      return raw.length > 0 ? raw : undefined
    case "bytes":
      return parseBytes(raw)
    default: {
      const n = Number(raw)
      if (!Number.isFinite(n) || n < 0 || raw.trim() === "") return undefined
      if (type === "percent" && n > 100) return undefined
      return n
    }
  }
}

/** The result of reading a prompt: the directives found and any malformed ones. */
export interface Parsed {
  readonly directives: ReadonlyArray<Directive>
  readonly errors: ReadonlyArray<string>
}

/** Builds one directive from its name and raw parameters, or explains why it is invalid. */
export const build = (name: string, rawParams: string | undefined, text: string): Directive | string => {
  const kind = name.toLowerCase()
  if (!isKind(kind)) return `unknown simulator directive ${text} (known: ${kinds.join(", ")})`
  const spec = specs[kind]
  let on = spec.on
  let times = 1
  const values: Record<string, number | string> = {}
  const pairs = rawParams === undefined || rawParams.trim() === "" ? [] : rawParams.split(",")
  for (const pair of pairs) {
    const eq = pair.indexOf("=")
    const key = (eq < 0 ? pair : pair.slice(0, eq)).trim().toLowerCase()
    const raw = eq < 0 ? "" : pair.slice(eq + 1).trim()
    if (key === "on" || key === "route") {
      if (!(spec.ons as ReadonlyArray<string>).includes(raw)) {
        return `${text}: on=${raw} is not supported (use one of ${spec.ons.join(", ")})`
      }
      on = raw as Stage
      continue
    }
    if (key === "times") {
      const n = raw === "always" ? Number.POSITIVE_INFINITY : Number(raw)
      if (!(n >= 1) || (Number.isFinite(n) && !Number.isInteger(n))) return `${text}: times must be >= 1 or "always"`
      times = n
      continue
    }
    const type = spec.params[key]
    if (type === undefined) {
      const allowed = ["on", "times", ...Object.keys(spec.params)].join(", ")
      return `${text}: unknown parameter "${key}" (allowed: ${allowed})`
    }
    const value = parseValue(type, raw)
    if (value === undefined) return `${text}: invalid value for ${key}: "${raw}"`
    values[key] = value
  }
  const num = (key: string): number | undefined => {
    const v = values[key]
    return typeof v === "number" ? v : undefined
  }
  const base = { kind, text, on, times }
  switch (kind) {
    case "429":
      return { ...base, retryAfter: num("retry-after") ?? 1 }
    case "503": {
      const retryAfter = num("retry-after")
      return retryAfter === undefined ? base : { ...base, retryAfter }
    }
    case "slow":
    case "slow-after-create":
      return { ...base, ms: num("ms") ?? 2000 }
    case "unknown-status":
      return { ...base, value: typeof values["value"] === "string" ? values["value"] : "paused" }
    case "fail": {
      const code = values["code"]
      return { ...base, at: (num("at") ?? 50) / 100, ...(typeof code === "string" ? { value: code } : {}) }
    }
    case "expire":
      return { ...base, afterMs: (num("after") ?? 5) * 1000 }
    case "truncate": {
      const at = num("at")
      return at === undefined ? base : { ...base, at }
    }
    case "sse-cut":
      return { ...base, at: num("at") ?? 50 }
    case "pad": {
      const bytes = num("bytes")
      return bytes === undefined ? `${text}: pad needs bytes=N (e.g. bytes=1g)` : { ...base, bytes }
    }
    case "timing": {
      const progress = values["progress"]
      if (typeof progress === "string" && !Timeline.isCurve(progress)) {
        return `${text}: progress=${progress} is not a progress curve (use one of ${Object.keys(Timeline.curves).join(", ")})`
      }
      return {
        ...base,
        queueMs: (num("queue") ?? 0) * 1000,
        runMs: (num("run") ?? 1) * 1000,
        ...(typeof progress === "string" ? { curve: progress as Timeline.Curve } : {})
      }
    }
    default:
      return base
  }
}

const pattern = /@sim:([a-z0-9-]+)(?:\(([^)]*)\))?/gi

/** Finds every `@sim:` directive in a prompt. */
export const parsePrompt = (prompt: string): Parsed => {
  const directives: Array<Directive> = []
  const errors: Array<string> = []
  for (const match of prompt.matchAll(pattern)) {
    const result = build(match[1] ?? "", match[2], match[0])
    if (typeof result === "string") errors.push(result)
    else directives.push(result)
  }
  return { directives, errors }
}

/** Parses one directive given without the `@sim:` prefix, as the control endpoint takes it. */
export const parseOne = (text: string): Directive | string => {
  const trimmed = text.trim().replace(/^@sim:/i, "")
  const match = /^([a-z0-9-]+)(?:\(([^)]*)\))?$/i.exec(trimmed)
  if (match === null) return `not a directive: "${text}" (expected NAME or NAME(key=value,...))`
  return build(match[1] ?? "", match[2], `@sim:${trimmed}`)
}
