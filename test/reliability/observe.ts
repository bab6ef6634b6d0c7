/**
 * Everything a run can say, captured for the secrets test: every log line at every level (message,
 * annotations, spans, cause), every span the code opens (name, attributes, events, how it ended),
 * and whatever reaches `process.stdout` / `process.stderr` or `console` meanwhile.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as List from "effect/List"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

export interface Observed {
  /** One entry per log line: level, message, annotations, spans and cause, as text. */
  readonly logs: Array<string>
  /** One entry per span: name, attributes, events, links, exit. */
  readonly spans: Array<string>
  /** What was written to stdout / stderr / console while the capture was on. */
  readonly output: Array<string>
}

const text = (value: unknown): string => {
  if (typeof value === "string") return value
  try {
    return `${String(value)} ${JSON.stringify(value, (_key, inner) => (typeof inner === "bigint" ? String(inner) : inner))}`
  } catch {
    return String(value)
  }
}

class RecordingSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId = Math.random().toString(16).slice(2)
  readonly traceId: string
  readonly sampled = true
  status: Tracer.SpanStatus
  readonly attributes = new Map<string, unknown>()
  readonly events: Array<string> = []
  links: Array<Tracer.SpanLink>
  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: import("effect/Context").Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind,
    private readonly sink: Array<string>
  ) {
    this.traceId = Option.match(parent, { onNone: () => this.spanId, onSome: (span) => span.traceId })
    this.status = { _tag: "Started", startTime }
    this.links = [...links]
  }
  end(endTime: bigint, exit: import("effect/Exit").Exit<unknown, unknown>): void {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
    const attributes = [...this.attributes.entries()].map(([key, value]) => `${key}=${text(value)}`)
    // A success value is not rendered: rendering an HTTP response (its `toJSON`) would consume its body.
    const ended = exit._tag === "Failure" ? Cause.pretty(exit.cause) : "success"
    this.sink.push(
      [
        `span ${this.name}`,
        ...attributes,
        ...this.events,
        ...this.links.map((link) => text(link.attributes)),
        `exit ${ended}`
      ].join("\n")
    )
  }
  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }
  event(name: string, _startTime: bigint, attributes?: Record<string, unknown>): void {
    this.events.push(`event ${name} ${text(attributes ?? {})}`)
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }
}

/** A fresh capture. */
export const make = (): Observed => ({ logs: [], spans: [], output: [] })

/**
 * A layer that routes every log line (all levels) and every span into `observed`, replacing the
 * default logger (so nothing is printed) and the tracer.
 */
export const layer = (observed: Observed): Layer.Layer<never> => {
  const logger = Logger.make(({ logLevel, message, annotations, spans, cause, fiberId }) => {
    observed.logs.push(
      [
        logLevel.label,
        text(message),
        ...HashMap.toEntries(annotations).map(([key, value]) => `${key}=${text(value)}`),
        ...List.toArray(spans).map((span) => `span ${span.label}`),
        Cause.isEmpty(cause) ? "" : Cause.pretty(cause),
        String(fiberId)
      ].join(" ")
    )
  })
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) =>
      new RecordingSpan(name, parent, context, links, startTime, kind, observed.spans),
    context: (f) => f()
  })
  return Layer.mergeAll(
    Logger.replace(Logger.defaultLogger, logger),
    Logger.minimumLogLevel(LogLevel.All),
    Layer.setTracer(tracer)
  )
}

/**
 * Runs `effect` with stdout, stderr and `console` captured into `observed.output` (and not
 * printed), restoring them afterwards.
 */
export const capturingOutput = <A, E, R>(observed: Observed, effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      // The console is replaced, not used: what anything prints is what is being checked.
      const terminal = globalThis.console
      const names = ["log", "info", "warn", "error", "debug"] as const
      const saved = {
        out: process.stdout.write,
        err: process.stderr.write,
        console: Object.fromEntries(names.map((name) => [name, terminal[name]]))
      }
      const sink =
        (stream: string) =>
        (chunk: unknown, ...rest: Array<unknown>): boolean => {
          observed.output.push(`${stream}: ${typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array)}`)
          const callback = rest.find((arg) => typeof arg === "function") as (() => void) | undefined
          callback?.()
          return true
        }
      process.stdout.write = sink("stdout") as typeof process.stdout.write
      process.stderr.write = sink("stderr") as typeof process.stderr.write
      for (const name of names) {
        terminal[name] = (...args: Array<unknown>) => {
          observed.output.push(`console.${name}: ${args.map(text).join(" ")}`)
        }
      }
      return saved
    }),
    () => effect,
    (saved) =>
      Effect.sync(() => {
        process.stdout.write = saved.out
        process.stderr.write = saved.err
        Object.assign(globalThis.console, saved.console)
      })
  )
