/**
 * `reelay batch`, `resume`, `status` and `cost` end to end: a batch across providers, a batch with
 * a failed item, a batch interrupted with SIGINT and resumed to completion with nothing charged
 * twice, and a `PollTimeout` collected by `resume`.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { describe, expect, it } from "vitest"
import * as Harness from "./harness.js"

const harness = Harness.forFile()

const writeLines = (cwd: string, name: string, lines: ReadonlyArray<object>) => {
  NodeFs.writeFileSync(NodePath.join(cwd, name), `${lines.map((line) => JSON.stringify(line)).join("\n")}\n`)
  return name
}

/** Creates sent with `key` (a chat completion is Sora's create). */
const createsOf = (key: string) =>
  harness.requestsOf(key).filter((request) => request.route === "create" || request.route === "chat")

describe("reelay batch", () => {
  it("runs every line across providers, then status and cost read the journal", async () => {
    const cwd = Harness.workdir("batch")
    const key = harness.freshKey()
    const file = writeLines(cwd, "jobs.jsonl", [
      { key: "fox", prompt: "A red fox", model: "veo-3.1-fast" },
      { key: "owl", prompt: "An owl", provider: "apiyi", model: "veo-3.1-landscape-fast" },
      { key: "sea", prompt: "Waves at night", provider: "laozhang-sora" },
      { key: "city", prompt: "A city at dusk", provider: "laozhang-official", resolution: "1080p", aspectRatio: "16:9" }
    ])
    const env = { ...harness.env(key), LAOZHANG_OFFICIAL_API_KEY: key }
    const result = await Harness.run(["batch", file, "--concurrency-submit", "2", "--out-dir", "videos"], { cwd, env })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^batch jobs-[0-9a-f]{8}: 4\/4 saved; \$0\.75 charged$/m)
    for (const name of ["fox", "owl", "sea", "city"])
      expect(Harness.isMp4(NodePath.join(cwd, "videos", `${name}.mp4`))).toBe(true)
    expect(
      harness
        .chargesOf(key)
        .map((charge) => charge.amount)
        .sort()
    ).toEqual(["0.15", "0.15", "0.15", "0.30"])
    const batch = /^batch (\S+):/m.exec(result.stdout)![1]!

    const status = await Harness.run(["status", batch, "--json"], { cwd, env })
    expect(status.code, status.stderr).toBe(0)
    const report = JSON.parse(status.stdout) as {
      charged: string
      items: ReadonlyArray<{ key: string; state: string; taskId: string }>
    }
    expect(report.charged).toBe("0.75")
    expect(report.items.map((item) => [item.key, item.state])).toEqual([
      ["fox", "downloaded"],
      ["owl", "downloaded"],
      ["sea", "downloaded"],
      ["city", "downloaded"]
    ])
    const list = await Harness.run(["status"], { cwd, env })
    expect(list.stdout).toContain(batch)
    const task = await Harness.run(["status", report.items[1]!.taskId], { cwd, env })
    expect(task.code, task.stderr).toBe(0)
    expect(task.stdout).toMatch(/^key {9}owl$/m)

    const cost = await Harness.run(["cost", "--json"], { cwd, env })
    expect(cost.code, cost.stderr).toBe(0)
    const costs = JSON.parse(cost.stdout) as {
      total: { charged: string; estimated: string }
      rows: ReadonlyArray<{ provider: string }>
    }
    expect(costs.total).toMatchObject({ charged: "0.75", estimated: "0.75" })
    expect(new Set(costs.rows.map((row) => row.provider))).toEqual(
      new Set(["laozhang", "apiyi", "laozhang-sora", "laozhang-official"])
    )
    const costTable = await Harness.run(["cost"], { cwd, env })
    expect(costTable.stdout).toMatch(/^total .* \$0\.75 +\$0\.75 +\$0\.00$/m)

    // Running the same file again resumes the same batch: nothing is created or charged again.
    const again = await Harness.run(["batch", file, "--out-dir", "videos"], { cwd, env })
    expect(again.code, again.stderr).toBe(0)
    expect(createsOf(key)).toHaveLength(4)
    expect(harness.chargesOf(key)).toHaveLength(4)
  })

  it("reports failed items and exits 3", async () => {
    const cwd = Harness.workdir("batch-failed")
    const key = harness.freshKey()
    const file = writeLines(cwd, "jobs.jsonl", [
      { key: "good", prompt: "A good one", model: "veo-3.1-fast" },
      { key: "bad", prompt: "A bad one @sim:fail(at=20)", model: "veo-3.1-fast" }
    ])
    const result = await Harness.run(["batch", file, "--json"], { cwd, env: harness.env(key) })
    expect(result.code).toBe(3)
    const report = (
      Harness.ndjson(result).at(-1) as {
        report: { saved: number; failed: number; items: ReadonlyArray<{ key: string; error?: { _tag: string } }> }
      }
    ).report
    expect(report).toMatchObject({ saved: 1, failed: 1 })
    expect(report.items.find((item) => item.key === "bad")?.error?._tag).toBe("GenerationFailed")
    // The failure was free under on-success; the engine regenerates once where that is free.
    expect(harness.chargesOf(key)).toHaveLength(1)
  })

  it("is interrupted with SIGINT, prints the resume command, and resumes to completion without charging twice", async () => {
    const cwd = Harness.workdir("interrupt")
    const key = harness.freshKey()
    const lines = Array.from({ length: 4 }, (_, i) => ({
      key: `clip-${i + 1}`,
      prompt: `Clip ${i + 1} @sim:timing(queue=0.5,run=${3 + i})`,
      model: "veo-3.1-fast"
    }))
    const file = writeLines(cwd, "long.jsonl", lines)
    const env = harness.env(key)
    const child = Harness.start(["batch", file, "--json"], { cwd, env })
    const done = Harness.finish(child, 60_000)
    // Wait until every item has its task, then interrupt while they run.
    await Harness.waitFor(child, (stdout) => (stdout.match(/"_tag":"Submitted"/g) ?? []).length === lines.length)
    child.kill("SIGINT")
    const interrupted = await done
    expect(interrupted.code).toBe(130)
    const batch = /Resume with: reelay resume (\S+)/.exec(interrupted.stderr)?.[1]
    expect(batch, interrupted.stderr).toMatch(/^long-[0-9a-f]{8}$/)

    // Every item has its task: none is left uncertain, so resuming creates nothing.
    const status = await Harness.run(["status", batch!, "--json"], { cwd, env })
    const states = (JSON.parse(status.stdout) as { items: ReadonlyArray<{ state: string; taskId: string | null }> })
      .items
    expect(
      states.every((item) => item.taskId !== null && item.state !== "uncertain"),
      status.stdout
    ).toBe(true)
    expect(states.some((item) => item.state !== "downloaded")).toBe(true)

    const resumed = await Harness.run(["resume"], { cwd, env, timeoutMs: 60_000 })
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stderr).toContain(`resuming ${batch}`)
    expect(resumed.stdout).toContain(`batch ${batch}: 4/4 saved`)
    for (const line of lines) expect(Harness.isMp4(NodePath.join(cwd, "out", batch!, `${line.key}.mp4`))).toBe(true)
    // Each task was created once and charged once.
    expect(createsOf(key)).toHaveLength(4)
    const charges = harness.chargesOf(key)
    expect(charges).toHaveLength(4)
    expect(new Set(charges.map((charge) => charge.taskId)).size).toBe(4)

    const again = await Harness.run(["resume", batch!], { cwd, env })
    expect(again.code, again.stderr).toBe(0)
    expect(harness.chargesOf(key)).toHaveLength(4)
  }, 90_000)

  it("resumes a batch with the profile it was run under, whose key alone can see its tasks", async () => {
    const cwd = Harness.workdir("profile-resume")
    const profileKey = harness.freshKey()
    const otherKey = harness.freshKey()
    NodeFs.writeFileSync(
      NodePath.join(cwd, "reelay.config.json"),
      JSON.stringify({ profiles: { night: { provider: "laozhang", apiKeyEnv: "NIGHT_KEY" } } })
    )
    const file = writeLines(cwd, "night.jsonl", [
      { key: "moth", prompt: "A moth at a lamp @sim:timing(queue=0.2,run=3)", model: "veo-3.1-fast" }
    ])
    // The default key belongs to another account: polling with it would find nothing.
    const env = { ...harness.env(otherKey), NIGHT_KEY: profileKey }
    const child = Harness.start(["batch", file, "--profile", "night", "--json"], { cwd, env })
    const done = Harness.finish(child, 60_000)
    await Harness.waitFor(child, (stdout) => stdout.includes('"_tag":"Submitted"'))
    child.kill("SIGINT")
    const interrupted = await done
    expect(interrupted.code).toBe(130)

    const resumed = await Harness.run(["resume"], { cwd, env })
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stderr).toContain('with profile "night", as it was run')
    expect(Harness.isMp4(NodePath.join(cwd, "out", /resume (\S+)/.exec(interrupted.stderr)![1]!, "moth.mp4"))).toBe(
      true
    )
    expect(createsOf(profileKey)).toHaveLength(1)
    expect(harness.requestsOf(otherKey)).toHaveLength(0)
    expect(harness.chargesOf(profileKey)).toHaveLength(1)
  }, 90_000)

  it("stops waiting at --timeout with PollTimeout, prints the resume command, and resume collects the video", async () => {
    const cwd = Harness.workdir("timeout")
    const key = harness.freshKey()
    const env = harness.env(key)
    const result = await Harness.run(
      ["generate", "A slow one @sim:timing(queue=0,run=4)", "--model", "veo-3.1-fast", "--timeout", "1s"],
      { cwd, env }
    )
    expect(result.code, result.stderr).toBe(19)
    expect(result.stderr).toContain("PollTimeout")
    const batch = /collect it with: reelay resume (gen-[0-9a-f]{8})/.exec(result.stderr)?.[1]
    expect(batch, result.stderr).toBeDefined()
    const resumed = await Harness.run(["resume", batch!], { cwd, env })
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(resumed.stdout).toMatch(/^saved out\/a-slow-one-sim-timing-[0-9a-f]{8}\.mp4$/m)
    expect(createsOf(key)).toHaveLength(1)
    expect(harness.chargesOf(key)).toHaveLength(1)
  }, 60_000)
})
