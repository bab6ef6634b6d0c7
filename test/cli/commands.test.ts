/**
 * The rest of the command line end to end: bad input refused in one line with nothing sent and
 * nothing charged, `--help`, `models`, `config` (keys never printed), `simulate`, and the
 * installed `reelay` bin and `pnpm reelay` from the repository.
 */
import { spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import * as Harness from "./harness.js"

const harness = Harness.forFile()

const repo = NodePath.resolve(NodePath.dirname(fileURLToPath(import.meta.url)), "../..")

/** A PNG header followed by `size - 8` zero bytes. */
const png = (path: string, size: number) => {
  const bytes = Buffer.alloc(size)
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes)
  NodeFs.writeFileSync(path, bytes)
}

describe("bad input: one clear line, a non-zero exit, nothing sent, nothing charged", () => {
  const cases: ReadonlyArray<{
    readonly name: string
    readonly args: (cwd: string) => ReadonlyArray<string>
    readonly code: number
    readonly line: RegExp
    readonly withoutKey?: string
    readonly setup?: (cwd: string) => void
  }> = [
    {
      name: "an unknown provider",
      args: () => ["generate", "A fox", "--provider", "acme"],
      code: 10,
      line: /^reelay: InvalidRequest: unknown provider "acme" \(from --provider\); available: laozhang, apiyi, /
    },
    {
      name: "an unknown model",
      args: () => ["generate", "A fox", "--model", "veo-9"],
      code: 10,
      line: /^reelay: InvalidRequest: unknown model "veo-9" for provider "laozhang" \(available: veo-3\.1, /
    },
    {
      name: "an option the model does not support",
      args: () => ["generate", "A fox", "--model", "veo-3.1-fast", "--seconds", "4"],
      code: 10,
      line: /^reelay: InvalidRequest: model "veo-3\.1-fast" does not support a duration of seconds 4 \(supported: 8\)/
    },
    {
      name: "an image the model does not take",
      args: (cwd) => ["generate", "A fox", "--model", "veo-3.1-fast", "--image", NodePath.join(cwd, "frame.png")],
      setup: (cwd) => png(NodePath.join(cwd, "frame.png"), 100),
      code: 10,
      line: /does not take images \(text to video only\); models of "laozhang" that do: veo-3\.1-fl/
    },
    {
      name: "an unreadable image",
      args: () => ["generate", "A fox", "--model", "veo-3.1-fast-fl", "--image", "missing.png"],
      code: 10,
      line: /^reelay: InvalidRequest: cannot read image ".*missing\.png"/
    },
    {
      name: "an oversized image",
      args: () => ["generate", "A fox", "--model", "veo-3.1-fast-fl", "--image", "big.png"],
      setup: (cwd) => png(NodePath.join(cwd, "big.png"), 11 * 1024 * 1024),
      code: 10,
      line: /^reelay: InvalidRequest: image ".*big\.png" is 11534336 bytes; the limit for "veo-3\.1-fast-fl" is 10485760 bytes/
    },
    {
      name: "a file that is not an image",
      args: () => ["generate", "A fox", "--model", "veo-3.1-fast-fl", "--image", "notes.txt"],
      setup: (cwd) => NodeFs.writeFileSync(NodePath.join(cwd, "notes.txt"), "not an image at all, just text"),
      code: 10,
      line: /is not a JPEG, PNG, WebP or GIF image/
    },
    {
      name: "a missing key",
      args: () => ["generate", "A fox", "--provider", "apiyi"],
      withoutKey: "APIYI_API_KEY",
      code: 11,
      line: /^reelay: AuthenticationFailed: apiyi has no API key: set APIYI_API_KEY; nothing was sent \(not charged\)$/
    },
    {
      name: "a malformed batch line, with its line number",
      args: () => ["batch", "jobs.jsonl"],
      setup: (cwd) =>
        NodeFs.writeFileSync(
          NodePath.join(cwd, "jobs.jsonl"),
          '{"prompt": "fine"}\n\n{"prompt": "typo", "aspect_ratio": "16:9"}\n'
        ),
      code: 2,
      line: /^reelay: BatchFileError: jobs\.jsonl:3: aspect_ratio: is unexpected/
    },
    {
      name: "a batch line the model does not support, with its line number",
      args: () => ["batch", "jobs.jsonl"],
      setup: (cwd) =>
        NodeFs.writeFileSync(
          NodePath.join(cwd, "jobs.jsonl"),
          '{"prompt": "fine", "model": "veo-3.1-fast"}\n{"prompt": "4k", "model": "veo-3.1-fast", "resolution": "4k"}\n'
        ),
      code: 10,
      line: /^reelay: InvalidRequest: jobs\.jsonl:2: model "veo-3\.1-fast" does not support resolution "4k"/
    },
    {
      name: "a batch line naming a provider without a key",
      args: () => ["batch", "jobs.jsonl"],
      withoutKey: "APIYI_API_KEY",
      setup: (cwd) =>
        NodeFs.writeFileSync(
          NodePath.join(cwd, "jobs.jsonl"),
          '{"prompt": "fine"}\n{"prompt": "elsewhere", "provider": "apiyi"}\n'
        ),
      code: 11,
      line: /^reelay: AuthenticationFailed: jobs\.jsonl:2: apiyi has no API key: set APIYI_API_KEY/
    },
    {
      name: "an unknown flag",
      args: () => ["generate", "A fox", "--colour", "red"],
      code: 2,
      line: /^reelay: UsageError: unknown flag --colour for reelay generate \(see reelay generate --help\); nothing was sent$/
    },
    {
      name: "an unknown flag where the prompt goes",
      args: () => ["generate", "--colour"],
      code: 2,
      line: /^reelay: UsageError: unknown flag --colour for reelay generate/
    },
    {
      name: "a misspelt flag, with the nearest one",
      args: () => ["generate", "A fox", "--modle", "veo-3.1-fast"],
      code: 2,
      line: /^reelay: UsageError: unknown flag --modle for reelay generate; did you mean --model\?/
    },
    {
      name: "an unknown command, with the nearest one",
      args: () => ["genrate", "A fox"],
      code: 2,
      line: /^reelay: UsageError: unknown command "genrate"; did you mean "generate"\? \(commands: generate, batch/
    },
    {
      name: "an unknown command asked for its help",
      args: () => ["deploy", "--help"],
      code: 2,
      line: /^reelay: UsageError: unknown command "deploy" \(commands: /
    },
    {
      name: "a flag without its value",
      args: () => ["generate", "A fox", "--model"],
      code: 2,
      line: /^reelay: UsageError: --model needs a value/
    },
    {
      name: "a whole number that is not one",
      args: () => ["generate", "A fox", "--seconds", "eight"],
      code: 2,
      line: /^reelay: UsageError: --seconds must be a whole number, got "eight"/
    },
    {
      name: "an argument too many",
      args: () => ["generate", "A", "fox"],
      code: 2,
      line: /^reelay: UsageError: reelay generate takes <prompt> only; quote a value that has spaces/
    },
    {
      name: "a budget below the price",
      args: () => ["generate", "A fox", "--max-cost", "0.10"],
      code: 23,
      line: /^reelay: BudgetExceeded: this video costs up to \$0\.25 and the budget is \$0\.10 \(--max-cost\); nothing was sent \(not charged\)$/
    },
    {
      name: "a broken configuration file",
      args: () => ["generate", "A fox"],
      setup: (cwd) =>
        NodeFs.writeFileSync(
          NodePath.join(cwd, "reelay.config.json"),
          JSON.stringify({ profiles: { p: { provider: "laozhang", apiKey: "sk-oops" } } })
        ),
      code: 2,
      line: /profiles\.p\.apiKey: an API key does not belong in the configuration file/
    }
  ]

  it.each(cases)("$name", async ({ args, code, line, withoutKey, setup }) => {
    const cwd = Harness.workdir("bad")
    setup?.(cwd)
    const key = harness.freshKey()
    const env: Record<string, string | undefined> = {
      ...harness.env(key),
      ...(withoutKey === undefined ? {} : { [withoutKey]: undefined })
    }
    const result = await Harness.run(args(cwd), { cwd, env })
    expect(result.code, result.stderr).toBe(code)
    const lines = result.stderr.split("\n").filter((text) => text.trim() !== "")
    expect(
      lines.some((text) => line.test(text)),
      result.stderr
    ).toBe(true)
    // One line for the user.
    expect(lines).toHaveLength(1)
    expect(result.stdout).toBe("")
    expect(harness.requestsOf(key)).toEqual([])
    expect(harness.chargesOf(key)).toEqual([])
  })

  it("reports a usage error as JSON with --json", async () => {
    const cwd = Harness.workdir("usage-json")
    const result = await Harness.run(["generate", "A fox", "--modle", "x", "--json"], { cwd })
    expect(result.code).toBe(2)
    expect(Harness.ndjson(result)).toEqual([
      {
        error: {
          _tag: "UsageError",
          message: expect.stringContaining("did you mean --model?"),
          exitCode: 2
        }
      }
    ])
  })

  it("reports bad input as the last NDJSON line with --json", async () => {
    const cwd = Harness.workdir("bad-json")
    const key = harness.freshKey()
    const result = await Harness.run(["generate", "A fox", "--model", "veo-9", "--json"], {
      cwd,
      env: harness.env(key)
    })
    expect(result.code).toBe(10)
    expect(Harness.ndjson(result)).toEqual([
      {
        error: expect.objectContaining({ _tag: "InvalidRequest", field: "model", billing: "not-charged", exitCode: 10 })
      }
    ])
    expect(harness.requestsOf(key)).toEqual([])
  })
})

describe("reelay commands", () => {
  it("--help lists every command and exits 0", async () => {
    const cwd = Harness.workdir("help")
    const result = await Harness.run(["--help"], { cwd })
    expect(result.code).toBe(0)
    for (const command of ["generate", "batch", "resume", "status", "cost", "models", "config", "simulate"]) {
      expect(result.stdout).toContain(`- ${command}`)
    }
    const generate = await Harness.run(["generate", "--help"], { cwd })
    expect(generate.code).toBe(0)
    for (const flag of [
      "--provider",
      "--model",
      "--image",
      "--seconds",
      "--resolution",
      "--aspect-ratio",
      "--size",
      "--negative-prompt",
      "--seed",
      "--base-url",
      "--out",
      "--timeout",
      "--max-cost",
      "--json"
    ]) {
      expect(generate.stdout).toContain(flag)
    }
    // Each flag with its default and the variable that sets it; none of the parser's filler.
    expect(generate.stdout).toMatch(/--model TEXT +A model of the provider\. \(env REELAY_MODEL; default: /)
    expect(generate.stdout).toMatch(/--timeout TEXT .*\(env REELAY_TIMEOUT; default: 10m\)/)
    expect(generate.stdout).not.toContain("A user-defined piece of text")
    const none = await Harness.run([], { cwd })
    expect(none.code).toBe(0)
    expect(none.stdout).toContain("COMMANDS")
    const unknown = await Harness.run(["frobnicate"], { cwd })
    expect(unknown.code).toBe(2)
  })

  it("models lists capabilities, prices and charge rules, for one provider or all", async () => {
    const cwd = Harness.workdir("models")
    const all = await Harness.run(["models"], { cwd })
    expect(all.code, all.stderr).toBe(0)
    expect(all.stdout).toMatch(/^ {2}veo-3\.1-generate-preview +\$1\.20 +per request /m)
    expect(all.stdout).toMatch(/^ {2}sora_video2 +\$0\.15 +per response /m)
    const one = await Harness.run(["models", "--provider", "apiyi", "--json"], { cwd })
    const parsed = JSON.parse(one.stdout) as {
      providers: ReadonlyArray<{
        id: string
        models: ReadonlyArray<{ id: string; price: string; chargePolicy: string }>
      }>
    }
    expect(parsed.providers.map((provider) => provider.id)).toEqual(["apiyi"])
    expect(parsed.providers[0]?.models.find((model) => model.id === "veo-3.1-fast")).toMatchObject({
      price: "0.15",
      chargePolicy: "on-success"
    })
    const unknown = await Harness.run(["models", "--provider", "nope"], { cwd })
    expect(unknown.code).toBe(2)
  })

  it("config shows the effective configuration and its sources, never a key", async () => {
    const cwd = Harness.workdir("config")
    const secret = "sk-live-DO-NOT-PRINT-0123456789"
    const env = {
      LAOZHANG_API_KEY: secret,
      REELAY_MAX_COST: "3.50",
      REELAY_JOURNAL: "postgres://me:hunter2@db.example/reelay"
    }
    const text = await Harness.run(["config", "--model", "veo-3.1-fast"], { cwd, env })
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/^provider +laozhang \(LAOZHANG_API_KEY is set\)$/m)
    expect(text.stdout).toMatch(/^model +veo-3\.1-fast \(--model\)$/m)
    expect(text.stdout).toMatch(/^budget +\$3\.50 \(REELAY_MAX_COST\)$/m)
    expect(text.stdout).toContain("<redacted …6789> (LAOZHANG_API_KEY)")
    const json = await Harness.run(["config", "--json"], { cwd, env })
    const debug = await Harness.run(["--log-level", "debug", "config"], { cwd, env })
    for (const output of [text, json, debug]) {
      expect(output.stdout + output.stderr).not.toContain("DO-NOT-PRINT")
      expect(output.stdout + output.stderr).not.toContain("hunter2")
    }
    expect((JSON.parse(json.stdout) as { provider: { value: string } }).provider.value).toBe("laozhang")
  })

  it("simulate runs the simulator, prints its base URLs, and stops on Ctrl-C", async () => {
    const cwd = Harness.workdir("simulate")
    const child = Harness.start(["simulate", "--json", "--seed", "fixed"], { cwd })
    const done = Harness.finish(child, 20_000)
    const printed = await Harness.waitFor(child, (stdout) => stdout.includes("\n"))
    const urls = JSON.parse(printed.trim()) as {
      laozhang: string
      apiyi: string
      cdn: string
      control: string
      seed: string
    }
    expect(urls.seed).toBe("fixed")
    const health = (await (await fetch(`${urls.control}/health`)).json()) as { ok: boolean }
    expect(health.ok).toBe(true)
    child.kill("SIGINT")
    const result = await done
    expect(result.code).toBe(0)
  })

  it("installs a reelay bin, and pnpm reelay runs from the repository", async () => {
    const bin = NodePath.join(repo, "test/node_modules/.bin/reelay")
    expect(NodeFs.existsSync(bin)).toBe(true)
    const version = await new Promise<string>((resolve, reject) => {
      const child = spawn(bin, ["--version"], { env: Harness.baseEnv() })
      let out = ""
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString()
      })
      child.on("error", reject)
      child.on("close", () => resolve(out))
    })
    expect(version).toContain("0.1.0")
    const cwd = Harness.workdir("pnpm")
    const viaPnpm = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(
        "pnpm",
        ["--silent", "-C", repo, "reelay", "models", "--provider", "laozhang-sora", "--json"],
        {
          cwd,
          env: { ...Harness.baseEnv(), INIT_CWD: cwd }
        }
      )
      let stdout = ""
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString()
      })
      child.on("error", reject)
      child.on("close", (code) => resolve({ code, stdout }))
    })
    expect(viaPnpm.code).toBe(0)
    expect(JSON.parse(viaPnpm.stdout).providers[0].id).toBe("laozhang-sora")
  })
})
