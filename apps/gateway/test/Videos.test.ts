/**
 * `/v1/videos` through the official `openai` SDK, unchanged, against the gateway in front of the
 * simulator: create, poll with `retrieve`, `downloadContent` streamed to a file whose SHA-256 is the
 * one the gateway saved; idempotent creates; tenants that cannot see each other's videos; a budget
 * per tenant; a gateway stopped mid-job and started again; every bad input an OpenAI-shaped error
 * with nothing sent.
 */
import { createHash } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { Simulator } from "@reelay/simulator"
import OpenAI, { toFile } from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Harness from "./helpers/gateway.js"

const work = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "reelay-gateway-videos-"))
const keys = { TEAM_A_KEY: "sk-team-a-videos-0123", TEAM_B_KEY: "sk-team-b-videos-4567", TEAM_C_KEY: "sk-team-c-89ab" }
const vendorKey = `sk-vendor-gateway-${process.pid}`
let sim: Simulator.Handle

beforeAll(async () => {
  sim = await Simulator.start({ timeScale: 1 / 100, seed: `gateway-${process.pid}` })
})
afterAll(async () => {
  await sim.stop()
  NodeFs.rmSync(work, { recursive: true, force: true })
})

const config = NodePath.join(work, "reelay.config.json")
NodeFs.writeFileSync(
  config,
  JSON.stringify({
    profiles: { draft: { provider: "laozhang", model: "veo-3.1-fast" } },
    gateway: {
      tenants: [
        { id: "team-a", keyEnv: "TEAM_A_KEY", profile: "draft" },
        { id: "team-b", keyEnv: "TEAM_B_KEY", profile: "draft" },
        { id: "team-c", keyEnv: "TEAM_C_KEY", profile: "draft", budget: "0.20" }
      ]
    }
  })
)

const journal = NodePath.join(work, "journal.db")
const outDir = NodePath.join(work, "videos")

/** Starts a gateway on the shared journal; its base URL, and how to stop it (gracefully). */
const start = () =>
  Harness.start(
    { config, journal, outDir },
    { ...keys, LAOZHANG_API_KEY: vendorKey, LAOZHANG_BASE_URL: sim.urls.laozhang, REELAY_TIME_SCALE: "1/100" }
  )

const client = (baseURL: string, apiKey: string = keys.TEAM_A_KEY) => new OpenAI({ apiKey, baseURL, maxRetries: 0 })

/** Creates at the simulator so far. */
const creates = () => sim.state.requests.list().filter((request) => request.route === "create").length

const { failure, settle } = Harness

describe("gateway: /v1/videos", () => {
  it("creates, polls to completion, and streams the saved MP4 whose sha256 it reports", async () => {
    const gateway = await start()
    try {
      const openai = client(gateway.baseURL)
      const before = creates()
      const created = await openai.videos.create({ prompt: "A lighthouse at dusk", model: "veo-3.1-fast" })
      expect(created.object).toBe("video")
      expect(created.id).toMatch(/^video_[0-9a-f]{32}$/)
      expect(["queued", "in_progress"]).toContain(created.status)
      const done = await settle(openai, created.id)
      expect(done.status, JSON.stringify(done.error)).toBe("completed")
      expect(done.progress).toBe(100)
      expect(done.seconds).toBe("8")
      expect(done.size).toBe("720x1280")
      const extra = done as typeof done & { cost: string; billing: string; provider: string; sha256: string }
      expect(extra.cost).toBe("0.15")
      expect(extra.billing).toBe("charged")
      expect(extra.provider).toBe("laozhang")
      const content = await openai.videos.downloadContent(created.id)
      const file = NodePath.join(work, "downloaded.mp4")
      await pipeline(Readable.fromWeb(content.body as never), NodeFs.createWriteStream(file))
      const digest = createHash("sha256").update(NodeFs.readFileSync(file)).digest("hex")
      expect(digest).toBe(extra.sha256)
      expect(creates() - before).toBe(1)

      // A part of it, as a player asks.
      const part = await fetch(`${gateway.baseURL}/videos/${created.id}/content`, {
        headers: { authorization: `Bearer ${keys.TEAM_A_KEY}`, range: "bytes=0-99" }
      })
      expect(part.status).toBe(206)
      expect(part.headers.get("content-range")).toBe(`bytes 0-99/${NodeFs.statSync(file).size}`)
      expect((await part.arrayBuffer()).byteLength).toBe(100)

      // Listed, then deleted: gone from retrieve, the list and the content.
      const listed = await openai.videos.list({ limit: 100 })
      expect(listed.data.map((video) => video.id)).toContain(created.id)
      const deleted = await openai.videos.delete(created.id)
      expect(deleted).toEqual({ id: created.id, object: "video.deleted", deleted: true })
      expect((await failure(openai.videos.retrieve(created.id))).status).toBe(404)
      expect((await failure(openai.videos.downloadContent(created.id))).status).toBe(404)
    } finally {
      await gateway.stop()
    }
  }, 60_000)

  it("takes a first frame uploaded as multipart, as the SDK sends it", async () => {
    const gateway = await start()
    try {
      const openai = client(gateway.baseURL)
      const png = Buffer.from(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
        "base64"
      )
      const created = await openai.videos.create({
        prompt: "The frame comes alive",
        model: "veo-3.1-fast-fl",
        input_reference: await toFile(png, "frame.png", { type: "image/png" })
      })
      const done = await settle(openai, created.id)
      expect(done.status, JSON.stringify(done.error)).toBe("completed")
      expect(done.model).toBe("veo-3.1-fast-fl")
    } finally {
      await gateway.stop()
    }
  }, 60_000)

  it("an Idempotency-Key returns the same video and never creates twice; reused with another request, 409", async () => {
    const gateway = await start()
    try {
      const openai = client(gateway.baseURL)
      const before = creates()
      const key = `idem-${Date.now()}`
      const body = { prompt: "A kite over dunes", model: "veo-3.1-fast" }
      const [first, second] = await Promise.all([
        openai.videos.create(body, { headers: { "Idempotency-Key": key } }),
        openai.videos.create(body, { headers: { "Idempotency-Key": key } })
      ])
      expect(second.id).toBe(first.id)
      const again = await openai.videos.create(body, { headers: { "Idempotency-Key": key } })
      expect(again.id).toBe(first.id)
      await settle(openai, first.id)
      expect(creates() - before).toBe(1)
      const reused = await failure(
        openai.videos.create({ ...body, prompt: "Another kite" }, { headers: { "Idempotency-Key": key } })
      )
      expect(reused.status).toBe(409)
      expect(reused.code).toBe("idempotency_key_reused")
      // The same prompt without a key is another video.
      const other = await openai.videos.create(body)
      expect(other.id).not.toBe(first.id)
      await settle(openai, other.id)
      expect(creates() - before).toBe(2)
    } finally {
      await gateway.stop()
    }
  }, 60_000)

  it("a tenant sees only its own videos: another tenant's id is a 404, and lists are separate", async () => {
    const gateway = await start()
    try {
      const a = client(gateway.baseURL, keys.TEAM_A_KEY)
      const b = client(gateway.baseURL, keys.TEAM_B_KEY)
      const mine = await a.videos.create({ prompt: "Team A's own video" })
      const notFound = await failure(b.videos.retrieve(mine.id))
      expect(notFound.status).toBe(404)
      expect(notFound.code).toBe("video_not_found")
      expect((await failure(b.videos.downloadContent(mine.id))).status).toBe(404)
      expect((await failure(b.videos.delete(mine.id))).status).toBe(404)
      const listed = await b.videos.list()
      expect(listed.data.map((video) => video.id)).not.toContain(mine.id)
      await settle(a, mine.id)
    } finally {
      await gateway.stop()
    }
  }, 60_000)

  it("lists a tenant's videos a page at a time, in either order", async () => {
    const gateway = await start()
    try {
      const b = client(gateway.baseURL, keys.TEAM_B_KEY)
      const ids: Array<string> = []
      for (const prompt of ["Page one", "Page two", "Page three"]) ids.push((await b.videos.create({ prompt })).id)
      const seen: Array<string> = []
      for await (const video of b.videos.list({ limit: 2, order: "asc" })) seen.push(video.id)
      expect(seen.filter((id) => ids.includes(id))).toEqual(ids)
      const newest = await b.videos.list({ limit: 1, order: "desc" })
      expect(newest.data[0]?.id).toBe(ids[2])
      expect(newest.has_more).toBe(true)
      for (const id of ids) await settle(b, id)
    } finally {
      await gateway.stop()
    }
  }, 60_000)

  it("enforces a tenant's budget on every gateway of a journal: a video it cannot pay for is a 429, nothing sent", async () => {
    // Two gateways on one journal, both started before anything was spent.
    const [gateway, other] = await Promise.all([start(), start()])
    try {
      const c = client(gateway.baseURL, keys.TEAM_C_KEY)
      const paid = await c.videos.create({ prompt: "The only video team C can pay for" })
      expect((await settle(c, paid.id)).status).toBe("completed")
      const before = creates()
      const refused = await failure(c.videos.create({ prompt: "One too many" }))
      expect(refused.status).toBe(429)
      expect(refused.code).toBe("insufficient_quota")
      expect(refused.message).toContain("$0.20 budget")
      // The other gateway never held that money, but the journal's charges say it was spent.
      const elsewhere = await failure(client(other.baseURL, keys.TEAM_C_KEY).videos.create({ prompt: "Elsewhere" }))
      expect(elsewhere.status).toBe(429)
      expect(creates()).toBe(before)
    } finally {
      await Promise.all([gateway.stop(), other.stop()])
    }
    // Started again, the gateway remembers what the tenant spent.
    const again = await start()
    try {
      const refused = await failure(
        client(again.baseURL, keys.TEAM_C_KEY).videos.create({ prompt: "Still one too many" })
      )
      expect(refused.status).toBe(429)
    } finally {
      await again.stop()
    }
  }, 60_000)

  it("a gateway stopped mid-job goes on with it when started again: one create, the client sees it complete", async () => {
    const first = await start()
    const before = creates()
    const id = (await client(first.baseURL).videos.create({ prompt: "A slow glacier @sim:timing(queue=0,run=2)" })).id
    // Wait until the task exists at the provider, then stop.
    for (let tries = 0; tries < 200 && creates() === before; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(creates() - before).toBe(1)
    await first.stop()
    const second = await start()
    try {
      // Its task was created by the first gateway; the second follows it (or has already).
      expect(["in_progress", "completed"]).toContain((await client(second.baseURL).videos.retrieve(id)).status)
      const done = await settle(client(second.baseURL), id)
      expect(done.status, JSON.stringify(done.error)).toBe("completed")
      expect(creates() - before).toBe(1)
    } finally {
      await second.stop()
    }
  }, 60_000)

  it("refuses bad input with OpenAI-shaped errors, sending nothing", async () => {
    const gateway = await start()
    try {
      const openai = client(gateway.baseURL)
      const before = creates()
      const unknownModel = await failure(openai.videos.create({ prompt: "x", model: "sora-2" }))
      expect(unknownModel.status).toBe(400)
      expect(unknownModel.code).toBe("model_not_found")
      expect(unknownModel.param).toBe("model")
      expect(unknownModel.message).toContain("veo-3.1-fast")

      const noPrompt = await failure(openai.videos.create({} as never))
      expect(noPrompt.status).toBe(400)
      expect(noPrompt.param).toBe("prompt")

      const badSeconds = await failure(openai.videos.create({ prompt: "x", seconds: "12" }))
      expect(badSeconds.status).toBe(400)
      expect(badSeconds.message).toMatch(/8/)

      const wrongKey = await failure(client(gateway.baseURL, "sk-nobody").videos.create({ prompt: "x" }))
      expect(wrongKey.status).toBe(401)
      expect(wrongKey.code).toBe("invalid_api_key")

      const huge = await failure(
        openai.videos.create({
          prompt: "x",
          model: "veo-3.1-fast-fl",
          input_reference: await toFile(Buffer.alloc(21 * 1024 * 1024), "huge.png", { type: "image/png" })
        })
      )
      expect(huge.status).toBe(413)
      expect(huge.code).toBe("request_too_large")

      // The same without a Content-Length (a streamed body): counted as it arrives, still a 413.
      const chunk = new Uint8Array(1024 * 1024).fill(32)
      let sent = 0
      const streamed = await fetch(`${gateway.baseURL}/videos`, {
        method: "POST",
        headers: { authorization: `Bearer ${keys.TEAM_A_KEY}`, "content-type": "application/json" },
        body: new ReadableStream({
          pull: (controller) => {
            if (sent++ < 21) controller.enqueue(chunk)
            else controller.close()
          }
        }),
        duplex: "half"
      } as RequestInit)
      expect(streamed.status).toBe(413)
      expect(await streamed.json()).toMatchObject({ error: { code: "request_too_large" } })

      const unknownField = await fetch(`${gateway.baseURL}/videos`, {
        method: "POST",
        headers: { authorization: `Bearer ${keys.TEAM_A_KEY}`, "content-type": "application/json" },
        body: JSON.stringify({ prompt: "x", duration: 8 })
      })
      expect(unknownField.status).toBe(400)
      expect(await unknownField.json()).toMatchObject({
        error: { type: "invalid_request_error", param: "duration", code: "unknown_parameter" }
      })
      // A call the gateway does not serve: OpenAI's 404, in its shape.
      const remix = await failure(openai.videos.remix("video_0", { prompt: "x" }))
      expect(remix.status).toBe(404)
      expect(remix.type).toBe("invalid_request_error")
      expect(remix.message).toContain("Invalid URL (POST /v1/videos/video_0/remix)")
      expect(creates()).toBe(before)
      expect((await openai.videos.list()).data.every((video) => video.prompt !== "x")).toBe(true)
    } finally {
      await gateway.stop()
    }
  }, 60_000)
})
