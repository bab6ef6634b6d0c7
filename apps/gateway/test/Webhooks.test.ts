/**
 * Webhooks out, as a tenant's receiver sees them: `video.completed` and `video.failed`, signed per
 * Standard Webhooks and verified by the `openai` SDK's own `webhooks.unwrap`; retried with one
 * `webhook-id` until answered 2xx; kept in the journal across a restart; a secret that is not a
 * Standard Webhooks secret refused at start.
 */
import * as NodeFs from "node:fs"
import * as Http from "node:http"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { Simulator } from "@reelay/simulator"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Harness from "./helpers/gateway.js"

const work = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "reelay-gateway-webhooks-"))
const tenantKey = "sk-team-w-webhooks-0123"
const secret = `whsec_${Buffer.from("a webhook secret of 32 bytes!!!!").toString("base64")}`

interface Received {
  readonly headers: Record<string, string>
  readonly body: string
  readonly status: number
}

/** A tenant's receiver: answers `answer()` to each delivery, and keeps what it received. */
const receiver = {
  received: [] as Array<Received>,
  answer: (): number => 200,
  server: Http.createServer((request, response) => {
    let body = ""
    request.setEncoding("utf8")
    request.on("data", (chunk: string) => {
      body += chunk
    })
    request.on("end", () => {
      const status = receiver.answer()
      receiver.received.push({ headers: request.headers as Record<string, string>, body, status })
      response.writeHead(status).end()
    })
  })
}

let sim: Simulator.Handle
let receiverUrl = ""
beforeAll(async () => {
  sim = await Simulator.start({ timeScale: 1 / 100, seed: `webhooks-${process.pid}` })
  await new Promise<void>((resolve) => receiver.server.listen(0, "127.0.0.1", resolve))
  receiverUrl = `http://127.0.0.1:${(receiver.server.address() as { port: number }).port}/hooks`
})
afterAll(async () => {
  await sim.stop()
  await new Promise<void>((resolve) => receiver.server.close(() => resolve()))
  NodeFs.rmSync(work, { recursive: true, force: true })
})

const configWith = (secretEnv: string) => {
  const path = NodePath.join(work, `reelay-${secretEnv}.json`)
  NodeFs.writeFileSync(
    path,
    JSON.stringify({
      profiles: { draft: { provider: "laozhang", model: "veo-3.1-fast" } },
      gateway: {
        tenants: [{ id: "team-w", keyEnv: "TEAM_W_KEY", profile: "draft", webhook: { url: receiverUrl, secretEnv } }]
      }
    })
  )
  return path
}

const start = async (secretEnv = "TEAM_W_WEBHOOK_SECRET", env: Record<string, string> = {}) => {
  const gateway = await Harness.start(
    {
      config: configWith(secretEnv),
      journal: NodePath.join(work, "journal.db"),
      outDir: NodePath.join(work, "videos"),
      webhooks: {
        retryDelays: Array.from({ length: 50 }, () => "40 millis"),
        tick: "40 millis",
        attemptTimeout: "5 seconds"
      }
    },
    {
      TEAM_W_KEY: tenantKey,
      TEAM_W_WEBHOOK_SECRET: secret,
      LAOZHANG_API_KEY: "sk-vendor-webhooks",
      LAOZHANG_BASE_URL: sim.urls.laozhang,
      REELAY_TIME_SCALE: "1/100",
      ...env
    }
  )
  return {
    openai: new OpenAI({ apiKey: tenantKey, baseURL: gateway.baseURL, maxRetries: 0 }),
    stop: gateway.stop
  }
}

/** Waits until `predicate` holds of what the receiver got. */
const until = async (predicate: () => boolean, what: string, limitMs = 30_000) => {
  const deadline = Date.now() + limitMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

const deliveriesOf = (id: string) => receiver.received.filter((entry) => entry.body.includes(`"id":"${id}"`))

const verifier = new OpenAI({ apiKey: "unused", webhookSecret: secret })

describe("gateway: webhooks", () => {
  it("signs video.completed as Standard Webhooks says, retried with one webhook-id until answered 2xx", async () => {
    const failures = { left: 2 }
    receiver.answer = () => (failures.left-- > 0 ? 503 : 204)
    const gateway = await start()
    try {
      const { id } = await gateway.openai.videos.create({ prompt: "A heron lifting off" })
      await until(() => deliveriesOf(id).some((entry) => entry.status === 204), "the delivery")
      const deliveries = deliveriesOf(id)
      expect(deliveries.map((entry) => entry.status)).toEqual([503, 503, 204])
      expect(new Set(deliveries.map((entry) => entry.headers["webhook-id"])).size).toBe(1)
      const last = deliveries.at(-1)!
      const event = (await verifier.webhooks.unwrap(last.body, last.headers)) as unknown as {
        type: string
        data: { id: string; status: string; cost: string }
      }
      expect(event.type).toBe("video.completed")
      expect(event.data.id).toBe(id)
      expect(event.data.status).toBe("completed")
      expect(event.data.cost).toBe("0.15")
      // A body changed on the way fails verification.
      await expect(verifier.webhooks.unwrap(last.body.replace("completed", "failed"), last.headers)).rejects.toThrow()
    } finally {
      await gateway.stop()
    }
  }, 60_000)

  it("tells of a failed video with video.failed and its error", async () => {
    receiver.answer = () => 200
    const gateway = await start()
    try {
      const { id } = await gateway.openai.videos.create({ prompt: "A heron @sim:fail(at=10)" })
      await until(() => deliveriesOf(id).length > 0, "the delivery")
      const [delivery] = deliveriesOf(id)
      const event = (await verifier.webhooks.unwrap(delivery!.body, delivery!.headers)) as unknown as {
        type: string
        data: { error: { code: string } }
      }
      expect(event.type).toBe("video.failed")
      expect(event.data.error.code).toBe("generation_failed")
    } finally {
      await gateway.stop()
    }
  }, 60_000)

  it("keeps an undelivered webhook in the journal: a gateway started again delivers it", async () => {
    receiver.answer = () => 500
    const first = await start()
    const { id } = await first.openai.videos.create({ prompt: "A heron at rest" })
    await until(() => deliveriesOf(id).length >= 2, "failed attempts")
    await first.stop()
    receiver.answer = () => 200
    const second = await start()
    try {
      await until(() => deliveriesOf(id).some((entry) => entry.status === 200), "the delivery after the restart")
      // At least once: an attempt cut by the stop may have reached the receiver too.
      expect(deliveriesOf(id).filter((entry) => entry.status === 200).length).toBeGreaterThanOrEqual(1)
    } finally {
      await second.stop()
    }
  }, 60_000)

  it("refuses to start with a secret that is not a Standard Webhooks secret, without quoting it", async () => {
    const refused = await start("TEAM_W_BAD_SECRET", { TEAM_W_BAD_SECRET: "hunter2-not-a-secret" }).then(
      () => "started",
      (error: unknown) => String(error)
    )
    expect(refused).toContain("TEAM_W_BAD_SECRET is not a Standard Webhooks secret")
    expect(refused).not.toContain("hunter2")
  })
})
