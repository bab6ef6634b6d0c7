/**
 * The gateway's traces and metrics at an in-process OTLP/HTTP receiver: a span per request and per
 * engine stage, the video and dollar counters, the generation histogram; no key in any of it.
 */
import * as NodeFs from "node:fs"
import * as Http from "node:http"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { Simulator } from "@reelay/simulator"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Harness from "./helpers/gateway.js"

const work = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "reelay-gateway-otel-"))
const tenantKey = "sk-team-o-telemetry-0123"
const vendorKey = "sk-vendor-telemetry-4567"

/** What the collector received, by path (`/v1/traces`, `/v1/metrics`). */
const received: Array<{ readonly path: string; readonly body: string }> = []
const collector = Http.createServer((request, response) => {
  let body = ""
  request.setEncoding("utf8")
  request.on("data", (chunk: string) => {
    body += chunk
  })
  request.on("end", () => {
    received.push({ path: request.url ?? "", body })
    response.writeHead(200, { "content-type": "application/json" }).end("{}")
  })
})

let sim: Simulator.Handle
let endpoint = ""
beforeAll(async () => {
  sim = await Simulator.start({ timeScale: 1 / 100, seed: `otel-${process.pid}` })
  await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve))
  endpoint = `http://127.0.0.1:${(collector.address() as { port: number }).port}`
})
afterAll(async () => {
  await sim.stop()
  await new Promise<void>((resolve) => collector.close(() => resolve()))
  NodeFs.rmSync(work, { recursive: true, force: true })
})

const spanNames = () =>
  received
    .filter((entry) => entry.path === "/v1/traces")
    .flatMap(
      (entry) =>
        (
          JSON.parse(entry.body) as {
            resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string }> }> }>
          }
        ).resourceSpans
    )
    .flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans.map((span) => span.name)))

const metricNames = () =>
  received
    .filter((entry) => entry.path === "/v1/metrics")
    .flatMap(
      (entry) =>
        (
          JSON.parse(entry.body) as {
            resourceMetrics: Array<{ scopeMetrics: Array<{ metrics: Array<{ name: string }> }> }>
          }
        ).resourceMetrics
    )
    .flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics.map((metric) => metric.name)))

describe("gateway: telemetry", () => {
  it("sends a span per request and per engine stage, and the video and dollar metrics, to an OTLP endpoint", async () => {
    const config = NodePath.join(work, "reelay.config.json")
    NodeFs.writeFileSync(
      config,
      JSON.stringify({
        profiles: { draft: { provider: "laozhang", model: "veo-3.1-fast" } },
        gateway: { tenants: [{ id: "team-o", keyEnv: "TEAM_O_KEY", profile: "draft" }] }
      })
    )
    const gateway = await Harness.start(
      {
        config,
        journal: NodePath.join(work, "journal.db"),
        outDir: NodePath.join(work, "videos"),
        telemetry: { exportInterval: "100 millis" }
      },
      {
        TEAM_O_KEY: tenantKey,
        LAOZHANG_API_KEY: vendorKey,
        LAOZHANG_BASE_URL: sim.urls.laozhang,
        REELAY_TIME_SCALE: "1/100",
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint
      }
    )
    try {
      const openai = new OpenAI({ apiKey: tenantKey, baseURL: gateway.baseURL, maxRetries: 0 })
      const { id } = await openai.videos.create({ prompt: "A heron in the reeds" })
      expect((await Harness.settle(openai, id)).status).toBe("completed")
      const deadline = Date.now() + 20_000
      const wanted = () =>
        spanNames().some((name) => name.startsWith("http.server")) &&
        spanNames().includes("Gateway.video") &&
        spanNames().includes("Engine.generateMany") &&
        metricNames().includes("reelay_gateway_videos_total") &&
        metricNames().includes("reelay_gateway_dollars_charged_total") &&
        metricNames().includes("reelay_gateway_generation_seconds")
      while (!wanted() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
      expect(
        wanted(),
        `spans: ${[...new Set(spanNames())].join(", ")}; metrics: ${[...new Set(metricNames())].join(", ")}`
      ).toBe(true)
    } finally {
      await gateway.stop()
    }
    const everything = received.map((entry) => entry.body).join("\n")
    expect(everything).not.toContain(tenantKey)
    expect(everything).not.toContain(vendorKey)
  }, 60_000)
})
