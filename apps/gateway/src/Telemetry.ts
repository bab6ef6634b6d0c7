/**
 * The gateway's traces and metrics, exported as OTLP/JSON over HTTP by `@effect/opentelemetry`'s
 * `Otlp` (no OpenTelemetry SDK in the process), and off unless an endpoint is configured
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, the collector's base URL; `/v1/traces` and `/v1/metrics` are
 * added).
 *
 * Traces: a span per request (`http.server …`, from the HTTP server) and per engine stage (the
 * engine's own `Engine.*` spans, whose parents are the video's job).
 *
 * Metrics, per tenant:
 * - `reelay_gateway_videos_total{tenant,status}`: videos ended, `completed` or `failed`;
 * - `reelay_gateway_dollars_charged_total{tenant}` and `reelay_gateway_dollars_uncertain_total{tenant}`:
 *   dollars charged, and possibly charged (the engine's `Charged` events);
 * - `reelay_gateway_generation_seconds{tenant}`: from the task's creation to the provider's "done";
 * - `reelay_gateway_detection_seconds{tenant}`: from the last status reading that said "not done"
 *   to the one that said "done": an upper bound on how late the engine noticed a finished video.
 *
 * @since 0.3.0
 */
import * as Otlp from "@effect/opentelemetry/Otlp"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import * as BigDecimal from "effect/BigDecimal"
import * as Config from "effect/Config"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as Option from "effect/Option"

export interface Options {
  /** The collector's base URL; else `OTEL_EXPORTER_OTLP_ENDPOINT`; else telemetry is off. */
  readonly endpoint?: string | undefined
  /** How often spans and metrics are sent (default 5 s). */
  readonly exportInterval?: Duration.DurationInput | undefined
}

/** The exporters, when an endpoint is configured; nothing otherwise. */
export const layer = (options: Options = {}): Layer.Layer<never> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const configured = yield* Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT")).pipe(
        Effect.orElseSucceed(() => Option.none<string>())
      )
      const endpoint = options.endpoint ?? Option.getOrUndefined(configured)
      if (endpoint === undefined || endpoint.trim() === "") return Layer.empty
      const serviceName = yield* Config.string("OTEL_SERVICE_NAME").pipe(Effect.orElseSucceed(() => "reelay-gateway"))
      const interval = options.exportInterval ?? "5 seconds"
      return Otlp.layerJson({
        baseUrl: endpoint.replace(/\/+$/, ""),
        resource: { serviceName },
        tracerExportInterval: interval,
        metricsExportInterval: interval
      }).pipe(Layer.provide(NodeHttpClient.layerUndici))
    })
  )

const videos = Metric.counter("reelay_gateway_videos_total", { description: "Videos ended, by status" })
const charged = Metric.counter("reelay_gateway_dollars_charged_total", { description: "Dollars charged" })
const uncertain = Metric.counter("reelay_gateway_dollars_uncertain_total", {
  description: "Dollars possibly charged (a create's outcome unknown)"
})
const seconds = MetricBoundaries.exponential({ start: 1, factor: 2, count: 12 })
const generation = Metric.histogram(
  "reelay_gateway_generation_seconds",
  seconds,
  "Task created to done at the provider"
)
const detection = Metric.histogram(
  "reelay_gateway_detection_seconds",
  MetricBoundaries.exponential({ start: 0.25, factor: 2, count: 12 }),
  "Last 'not done' reading to the 'done' one: an upper bound on how late a finished video was noticed"
)

/**
 * What one job's events add to the metrics: a function to call with each event, keeping what it
 * needs between them (when the task was created, when it was last seen unfinished).
 */
export const observer = (tenant: string) => {
  let createdAt: number | undefined
  let lastUnfinished: number | undefined
  const mine = {
    videos: Metric.tagged(videos, "tenant", tenant),
    charged: Metric.tagged(charged, "tenant", tenant),
    uncertain: Metric.tagged(uncertain, "tenant", tenant),
    generation: Metric.tagged(generation, "tenant", tenant),
    detection: Metric.tagged(detection, "tenant", tenant)
  }
  return (event: GenerationEvent, now: number): Effect.Effect<void> => {
    switch (event._tag) {
      case "Submitted":
        createdAt = event.handle.createdAt.getTime()
        return Effect.void
      case "Queued":
      case "Progress":
        lastUnfinished = now
        return Effect.void
      case "Succeeded":
        return Effect.all(
          [
            createdAt === undefined ? Effect.void : Metric.update(mine.generation, (now - createdAt) / 1000),
            lastUnfinished === undefined ? Effect.void : Metric.update(mine.detection, (now - lastUnfinished) / 1000)
          ],
          { discard: true }
        )
      case "Charged": {
        const dollars = BigDecimal.unsafeToNumber(event.amount)
        if (event.billing === "charged") return Metric.incrementBy(mine.charged, dollars)
        if (event.billing === "unknown") return Metric.incrementBy(mine.uncertain, dollars)
        return Effect.void
      }
      case "Saved":
        return Metric.increment(Metric.tagged(mine.videos, "status", "completed"))
      case "Failed":
        return Metric.increment(Metric.tagged(mine.videos, "status", "failed"))
      default:
        return Effect.void
    }
  }
}
