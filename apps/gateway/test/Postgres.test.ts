/**
 * Several gateways on one PostgreSQL journal, as a team runs them behind a load balancer: a video
 * one of them admitted and stopped mid-job is taken up by another without a restart (its sweep finds
 * no live holder), created once; an `Idempotency-Key` sent to both names one video; a tenant's
 * budget spent through one is spent for the other.
 */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { Simulator } from "@reelay/simulator"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Postgres from "../../../packages/journal/test/helpers/postgres.js"
import * as Harness from "./helpers/gateway.js"

const work = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "reelay-gateway-pg-"))
const keys = { TEAM_A_KEY: "sk-team-a-pg-0123456789", TEAM_C_KEY: "sk-team-c-pg-9876543210" }
const vendorKey = `sk-vendor-pg-${process.pid}`
let sim: Simulator.Handle
let pg: Postgres.PgServer | undefined

const config = NodePath.join(work, "reelay.config.json")
NodeFs.writeFileSync(
  config,
  JSON.stringify({
    profiles: { draft: { provider: "laozhang", model: "veo-3.1-fast" } },
    gateway: {
      tenants: [
        { id: "team-a", keyEnv: "TEAM_A_KEY", profile: "draft" },
        { id: "team-c", keyEnv: "TEAM_C_KEY", profile: "draft", budget: "0.20" }
      ]
    }
  })
)

const withPostgres = Postgres.available()

beforeAll(async () => {
  if (!withPostgres) return
  sim = await Simulator.start({ timeScale: 1 / 100, seed: `gateway-pg-${process.pid}` })
  pg = await Postgres.start()
}, 60_000)
afterAll(async () => {
  await sim?.stop()
  pg?.stop()
  NodeFs.rmSync(work, { recursive: true, force: true })
})

const start = () =>
  Harness.start(
    { config, journal: pg!.url("postgres"), outDir: NodePath.join(work, "videos"), sweep: "100 millis" },
    { ...keys, LAOZHANG_API_KEY: vendorKey, LAOZHANG_BASE_URL: sim.urls.laozhang, REELAY_TIME_SCALE: "1/100" }
  )

const client = (baseURL: string, apiKey: string = keys.TEAM_A_KEY) => new OpenAI({ apiKey, baseURL, maxRetries: 0 })
const creates = () => sim.state.requests.list().filter((request) => request.route === "create").length

const { failure, settle, started } = Harness

describe.skipIf(!withPostgres)("gateways sharing a PostgreSQL journal", () => {
  it("a video one gateway stopped mid-job is finished by another, created once", async () => {
    const [a, b] = await Promise.all([start(), start()])
    try {
      const before = creates()
      const { id } = await client(a.baseURL).videos.create({ prompt: "A long pier @sim:timing(queue=0,run=3)" })
      expect(await started(client(a.baseURL), id)).toBe("in_progress")
      await a.stop()
      const done = await settle(client(b.baseURL), id)
      expect(done.status, JSON.stringify(done.error)).toBe("completed")
      expect(creates() - before).toBe(1)
    } finally {
      await b.stop()
    }
  }, 60_000)

  it("an Idempotency-Key sent to two gateways at once names one video; a budget spent through one is spent for both", async () => {
    const [a, b] = await Promise.all([start(), start()])
    try {
      const before = creates()
      const headers = { "Idempotency-Key": `pg-${Date.now()}` }
      const body = { prompt: "The same kite, asked twice" }
      const [first, second] = await Promise.all([
        client(a.baseURL).videos.create(body, { headers }),
        client(b.baseURL).videos.create(body, { headers })
      ])
      expect(second.id).toBe(first.id)
      await settle(client(a.baseURL), first.id)
      expect(creates() - before).toBe(1)

      const paid = await client(a.baseURL, keys.TEAM_C_KEY).videos.create({ prompt: "Team C's one video" })
      expect((await settle(client(a.baseURL, keys.TEAM_C_KEY), paid.id)).status).toBe("completed")
      const refused = await failure(
        client(b.baseURL, keys.TEAM_C_KEY).videos.create({ prompt: "One too many, elsewhere" })
      )
      expect(refused.status).toBe(429)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  }, 60_000)
})
