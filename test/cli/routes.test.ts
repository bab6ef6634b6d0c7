/**
 * A profile with routes, end to end through the `reelay` command with faults on the first route:
 * the second route serves the item only when the first proved nothing was charged; the events say
 * which route served it; `resume` continues on that route, creating nothing anywhere.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "vitest"
import * as Harness from "./harness.js"

const harness = Harness.forFile()

const resilient = {
  profiles: {
    resilient: {
      routes: [
        { provider: "laozhang", model: "veo-3.1-fast" },
        { provider: "apiyi", model: "veo-3.1-fast" }
      ]
    }
  }
}

/** A working directory with the profile, and keys: the first route's (`first`) and the second's. */
const setup = (name: string, firstPrefix = "sk-e2e") => {
  const cwd = Harness.workdir(name)
  NodeFs.writeFileSync(NodePath.join(cwd, "reelay.config.json"), JSON.stringify(resilient))
  const first = harness.freshKey(firstPrefix)
  const second = harness.freshKey()
  const env = { ...harness.env(second), LAOZHANG_API_KEY: first, APIYI_API_KEY: second }
  return { cwd, first, second, env }
}

const createsOf = (key: string) => harness.requestsOf(key).filter((request) => request.route === "create")

describe("routes between providers", () => {
  it("moves to the second route when the first cannot pay, and resume stays on the route that served", async () => {
    const { cwd, first, second, env } = setup("routes-balance", "sk-nofunds")
    const result = await Harness.run(
      ["generate", "A heron @sim:timing(queue=0,run=4)", "--profile", "resilient", "--timeout", "1s", "--json"],
      { cwd, env }
    )
    // Served by the second route and followed there until the deadline: resumable.
    expect(result.code, result.stderr).toBe(19)
    const events = Harness.ndjson(result)
    const validated = events.filter((event) => event._tag === "Validated")
    expect(validated.map((event) => [event.provider, event.route])).toEqual([
      ["laozhang", 1],
      ["apiyi", 2]
    ])
    const moved = events.find((event) => event._tag === "Warning" && event.code === "route-failed")
    expect(String(moved?.message)).toContain("route 1 (laozhang veo-3.1-fast) failed at no cost (InsufficientBalance")
    expect(createsOf(first)).toHaveLength(1)
    expect(createsOf(second)).toHaveLength(1)

    const batch = /reelay resume (gen-[0-9a-f]{8})/.exec(result.stderr)?.[1]
    expect(batch, result.stderr).toBeDefined()
    const resumed = await Harness.run(["resume", batch!], { cwd, env })
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(createsOf(first)).toHaveLength(1)
    expect(createsOf(second)).toHaveLength(1)
    expect(harness.chargesOf(first)).toHaveLength(0)
    expect(harness.chargesOf(second)).toHaveLength(1)
    const status = await Harness.run(["status", batch!, "--json"], { cwd, env })
    expect(status.stdout).toContain('"apiyi"')
  }, 90_000)

  it("never moves on after a create the first route may have acted on (a gateway's 502)", async () => {
    const { cwd, first, second, env } = setup("routes-uncertain")
    const result = await Harness.run(["generate", "A heron @sim:502", "--profile", "resilient"], { cwd, env })
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain("UncertainSubmission")
    expect(createsOf(first)).toHaveLength(1)
    expect(createsOf(second)).toHaveLength(0)
    // Re-created with consent, it goes to the route it went to, with the same key, and nowhere else.
    const batch = /reelay resume (gen-[0-9a-f]{8})/.exec(result.stderr)?.[1]
    expect(batch, result.stderr).toBeDefined()
    const resumed = await Harness.run(["resume", batch!, "--recreate-uncertain"], { cwd, env })
    expect(resumed.code, resumed.stderr).toBe(0)
    const creates = createsOf(first)
    expect(creates).toHaveLength(2)
    expect(creates[1]!.idempotencyKey).toBe(creates[0]!.idempotencyKey)
    expect(createsOf(second)).toHaveLength(0)
  }, 60_000)

  it("a flag naming a provider overrides the profile's routes", async () => {
    const { cwd, first, second, env } = setup("routes-flag")
    const result = await Harness.run(
      ["generate", "A heron", "--profile", "resilient", "--provider", "apiyi", "--model", "veo-3.1-fast"],
      { cwd, env }
    )
    expect(result.code, result.stderr).toBe(0)
    expect(createsOf(first)).toHaveLength(0)
    expect(createsOf(second)).toHaveLength(1)
  }, 60_000)

  it("a batch line naming neither provider nor model takes the routes", async () => {
    const { cwd, first, second, env } = setup("routes-batch", "sk-nofunds")
    NodeFs.writeFileSync(
      NodePath.join(cwd, "jobs.jsonl"),
      `${JSON.stringify({ key: "heron", prompt: "A heron" })}\n${JSON.stringify({ key: "owl", prompt: "An owl", provider: "apiyi", model: "veo-3.1-fast" })}\n`
    )
    const result = await Harness.run(["batch", "jobs.jsonl", "--profile", "resilient"], { cwd, env })
    expect(result.code, result.stderr).toBe(0)
    expect(createsOf(first)).toHaveLength(1)
    expect(createsOf(second)).toHaveLength(2)
  }, 60_000)
})
