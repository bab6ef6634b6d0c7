/**
 * `reelay serve` as a team starts it: the base URL on the first line, the official `openai` SDK
 * against it with a tenant's key, and SIGTERM to stop.
 */
import * as NodeFs from "node:fs"
import * as Http from "node:http"
import * as NodePath from "node:path"
import OpenAI from "openai"
import { describe, expect, it } from "vitest"
import * as Gateway from "../../apps/gateway/test/helpers/gateway.js"
import * as Harness from "./harness.js"

const harness = Harness.forFile()

describe("reelay serve", () => {
  it("prints its base URL first, serves a tenant's models to the openai SDK, and stops on SIGTERM", async () => {
    const cwd = Harness.workdir("serve")
    NodeFs.writeFileSync(
      NodePath.join(cwd, "reelay.config.json"),
      JSON.stringify({
        profiles: { draft: { provider: "simulator", model: "veo-3.1-fast" } },
        gateway: { tenants: [{ id: "team-a", keyEnv: "TEAM_A_KEY", profile: "draft" }] }
      })
    )
    const key = "sk-team-a-serve-0123456789"
    const child = Harness.start(["serve", "--port", "0"], { cwd, env: { TEAM_A_KEY: key } })
    const first = await Harness.waitFor(child, (stdout) => stdout.includes("\n"))
    const baseURL = first.split("\n")[0]!
    expect(baseURL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/)
    const models = await new OpenAI({ apiKey: key, baseURL, maxRetries: 0 }).models.list()
    expect(models.data.map((model) => model.id)).toContain("veo-3.1-fast")
    child.kill("SIGTERM")
    const ended = await Harness.finish(child)
    expect(ended.code).toBe(0)
    expect(ended.stderr).not.toContain(key)
  }, 60_000)

  it("refuses a configuration without tenants: exit 2, one line", async () => {
    const cwd = Harness.workdir("serve-none")
    NodeFs.writeFileSync(NodePath.join(cwd, "reelay.config.json"), "{}")
    const result = await Harness.run(["serve", "--port", "0"], { cwd })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^reelay: UsageError: .*names no gateway tenants/)
  })

  it("a port already taken is a usage error naming it, not a bug", async () => {
    const cwd = Harness.workdir("serve-taken")
    NodeFs.writeFileSync(
      NodePath.join(cwd, "reelay.config.json"),
      JSON.stringify({ gateway: { tenants: [{ id: "team-a", keyEnv: "TEAM_A_KEY" }] } })
    )
    const taken = Http.createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const { port } = taken.address() as { port: number }
    try {
      const result = await Harness.run(["serve", "--port", String(port)], { cwd, env: { TEAM_A_KEY: "sk-team-a-1" } })
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(
        new RegExp(`^reelay: UsageError: cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`)
      )
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()))
    }
  })

  it("killed with SIGKILL mid-job and started again, goes on with the job: one create, the client sees it complete", async () => {
    const cwd = Harness.workdir("serve-kill")
    NodeFs.writeFileSync(
      NodePath.join(cwd, "reelay.config.json"),
      JSON.stringify({
        profiles: { draft: { provider: "laozhang", model: "veo-3.1-fast" } },
        gateway: { tenants: [{ id: "team-a", keyEnv: "TEAM_A_KEY", profile: "draft" }] }
      })
    )
    const key = "sk-team-a-kill-0123456789"
    const vendor = harness.freshKey()
    const env = { ...harness.env(vendor), TEAM_A_KEY: key }
    const serve = async () => {
      const child = Harness.start(["serve", "--port", "0"], { cwd, env })
      const first = await Harness.waitFor(child, (stdout) => stdout.includes("\n"))
      return { child, openai: new OpenAI({ apiKey: key, baseURL: first.split("\n")[0]!, maxRetries: 0 }) }
    }
    const creates = () => harness.requestsOf(vendor).filter((request) => request.route === "create").length

    const first = await serve()
    const { id } = await first.openai.videos.create({ prompt: "A tide coming in @sim:timing(queue=0,run=3)" })
    // Killed once the task id is journaled (`in_progress`): the create's answer is on record.
    expect(await Gateway.started(first.openai, id)).toBe("in_progress")
    expect(creates()).toBe(1)
    first.child.kill("SIGKILL")
    await Harness.finish(first.child)

    const second = await serve()
    try {
      const video = await Gateway.settle(second.openai, id)
      expect(video.status, JSON.stringify(video.error)).toBe("completed")
      expect(creates()).toBe(1)
      expect(harness.chargesOf(vendor)).toHaveLength(1)
    } finally {
      second.child.kill("SIGTERM")
      await Harness.finish(second.child)
    }
  }, 90_000)
})
