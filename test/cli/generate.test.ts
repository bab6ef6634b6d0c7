/**
 * `reelay generate` end to end, the real process against the simulator, for every provider: the
 * four built-ins, the default in-process simulator, and a reseller defined in reelay.config.json.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as GenerationEvent from "@reelay/core/GenerationEvent"
import { describe, expect, it } from "vitest"
import * as Harness from "./harness.js"

const harness = Harness.forFile()

/** The video path of a plain-mode summary (`saved <path>`). */
const savedPath = (cwd: string, stdout: string) => {
  const match = /^saved (.+)$/m.exec(stdout)
  expect(match, stdout).not.toBeNull()
  return NodePath.resolve(cwd, match![1]!)
}

describe("reelay generate", () => {
  it.each([
    { provider: "laozhang", model: "veo-3.1-fast", price: "0.15", rule: "on-success", size: "720x1280" },
    { provider: "apiyi", model: "veo-3.1-landscape-fast", price: "0.15", rule: "on-success", size: "1280x720" },
    {
      provider: "laozhang-official",
      model: "veo-3.1-fast-generate-preview",
      price: "0.30",
      rule: "per-request",
      size: "1280x720"
    },
    { provider: "laozhang-sora", model: "sora_video2", price: "0.15", rule: "on-response", size: "704x1280" }
  ])(
    "generates with $provider, saves a verified MP4 and is charged once",
    async ({ provider, model, price, rule, size }) => {
      const cwd = Harness.workdir(provider)
      const key = harness.freshKey()
      const result = await Harness.run(
        ["generate", "A red fox running through fresh snow at dawn", "--provider", provider, "--model", model],
        {
          cwd,
          env: { ...harness.env(key), LAOZHANG_OFFICIAL_API_KEY: key }
        }
      )
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr).not.toContain("built-in simulator")
      const path = savedPath(cwd, result.stdout)
      expect(path.startsWith(NodePath.join(cwd, "out"))).toBe(true)
      expect(Harness.isMp4(path)).toBe(true)
      expect(result.stdout).toContain(`resolution  ${size}`)
      expect(result.stdout).toMatch(/duration {4}\d+\.\d s/)
      expect(result.stdout).toMatch(/size {8}\d/)
      expect(result.stdout).toContain(`cost        $${price} charged`)
      const charges = harness.chargesOf(key)
      expect(charges.map((charge) => [charge.model, charge.amount, charge.rule])).toEqual([[model, price, rule]])
      expect(
        harness.requestsOf(key).filter((request) => request.route === "create" || request.route === "chat")
      ).toHaveLength(1)
    }
  )

  it("uses the built-in simulator when nothing is configured, and says so in one line", async () => {
    const cwd = Harness.workdir("default")
    const result = await Harness.run(["generate", "A red fox running through fresh snow at dawn"], { cwd })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr.split("\n").filter((line) => line.includes("built-in simulator"))).toEqual([
      "reelay: no provider configured; using the built-in simulator (set LAOZHANG_API_KEY or --provider to use a real one)"
    ])
    expect(Harness.isMp4(savedPath(cwd, result.stdout))).toBe(true)
    expect(result.stdout).toContain("model       simulator veo-3.1")
    expect(NodeFs.existsSync(NodePath.join(cwd, ".reelay/journal.db"))).toBe(true)
  })

  it("generates with a reseller defined in reelay.config.json alone", async () => {
    const cwd = Harness.workdir("reseller")
    const key = harness.freshKey()
    NodeFs.writeFileSync(
      NodePath.join(cwd, "reelay.config.json"),
      JSON.stringify({
        defaultProfile: "acme",
        profiles: { acme: { provider: "acme", model: "veo-3.1-fast" } },
        providers: [
          {
            id: "acme",
            baseUrl: harness.sim.urls.apiyi,
            apiKeyEnv: "ACME_KEY",
            auth: "raw",
            chargePolicy: "on-success",
            models: [
              {
                id: "veo-3.1-fast",
                price: "0.15",
                capabilities: {
                  aspectRatios: ["9:16"],
                  resolutions: ["720p"],
                  durations: [8],
                  sizes: ["720x1280"],
                  imageInput: "none",
                  audio: true
                },
                generationTime: { typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 }
              }
            ]
          }
        ]
      })
    )
    const result = await Harness.run(["generate", "A lighthouse in a storm"], { cwd, env: { ACME_KEY: key } })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain("model       acme veo-3.1-fast")
    expect(Harness.isMp4(savedPath(cwd, result.stdout))).toBe(true)
    expect(harness.chargesOf(key).map((charge) => [charge.host, charge.amount])).toEqual([["apiyi", "0.15"]])
  })

  it("--json prints every event as NDJSON, then the result", async () => {
    const cwd = Harness.workdir("json")
    const key = harness.freshKey()
    const result = await Harness.run(["generate", "An owl", "--model", "veo-3.1-fast", "--json", "--out", "owl.mp4"], {
      cwd,
      env: harness.env(key)
    })
    expect(result.code, result.stderr).toBe(0)
    const lines = Harness.ndjson(result)
    const events = lines.slice(0, -1).map((line) => GenerationEvent.decode(line))
    expect(events.map((event) => event._tag)).toEqual(
      expect.arrayContaining(["Validated", "Submitting", "Submitted", "Charged", "Succeeded", "Saved"])
    )
    expect(new Set(events.map((event) => event.key)).size).toBe(1)
    const last = lines.at(-1) as { result: { path: string; bytes: number; sha256: string; probe: { width: number } } }
    expect(last.result.path).toBe(NodePath.join(cwd, "owl.mp4"))
    expect(last.result.bytes).toBe(NodeFs.statSync(last.result.path).size)
    expect(last.result.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(last.result.probe.width).toBe(720)
    expect(result.stderr).toBe("")
  })

  it("--json ends with the error, its tag, message and billing outcome", async () => {
    const cwd = Harness.workdir("json-error")
    const key = harness.freshKey()
    const result = await Harness.run(
      ["generate", "A failing video @sim:fail(at=10)", "--model", "veo-3.1-fast", "--json"],
      { cwd, env: harness.env(key) }
    )
    expect(result.code).toBe(18)
    const lines = Harness.ndjson(result)
    const last = lines.at(-1) as { error: Record<string, unknown> }
    expect(last.error).toMatchObject({ _tag: "GenerationFailed", billing: "not-charged", exitCode: 18 })
    expect(typeof last.error.message).toBe("string")
    expect(lines.slice(0, -1).some((line) => line._tag === "Failed")).toBe(true)
    expect(result.stderr).toContain("reelay: GenerationFailed:")
    expect(harness.chargesOf(key)).toEqual([])
  })

  it("selects the provider of a profile, and flags win over it", async () => {
    const cwd = Harness.workdir("profile")
    const key = harness.freshKey()
    NodeFs.writeFileSync(
      NodePath.join(cwd, "reelay.config.json"),
      JSON.stringify({ profiles: { cheap: { provider: "apiyi", model: "veo-3.1-fast", budget: "1.00" } } })
    )
    const viaProfile = await Harness.run(["generate", "A fox", "--profile", "cheap"], { cwd, env: harness.env(key) })
    expect(viaProfile.code, viaProfile.stderr).toBe(0)
    expect(viaProfile.stdout).toContain("model       apiyi veo-3.1-fast")
    const overridden = await Harness.run(
      ["generate", "A fox", "--provider", "laozhang", "--model", "veo-3.1-landscape-fast"],
      {
        cwd,
        env: { ...harness.env(key), REELAY_PROFILE: "cheap" }
      }
    )
    expect(overridden.code, overridden.stderr).toBe(0)
    expect(overridden.stdout).toContain("model       laozhang veo-3.1-landscape-fast")
    expect(harness.chargesOf(key).map((charge) => charge.host)).toEqual(["apiyi", "laozhang"])
  })
})
