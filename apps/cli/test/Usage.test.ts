/**
 * The command line checked against the commands' specs before parsing, and the help written from
 * them: unknown commands and flags name the nearest one; every flag's help shows its default and
 * variable; what the checker lets through, the parser accepts.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cli from "../src/Cli.js"
import * as Help from "../src/Help.js"
import * as Usage from "../src/Usage.js"

const help = { root: () => Help.root(Cli.specs, Cli.version), command: Help.command }
const check = (...args: ReadonlyArray<string>) => Usage.check(args, Cli.specs, help)
const refusal = (...args: ReadonlyArray<string>) => {
  const verdict = check(...args)
  if (verdict._tag !== "Refused") throw new Error(`expected a refusal, got ${verdict._tag}`)
  return verdict.message
}

describe("Usage.check", () => {
  it("lets a well-formed command line through, flags before or after its arguments", () => {
    expect(check("generate", "A fox", "--model", "veo-3.1-fast", "--json")._tag).toBe("Parse")
    expect(check("--log-level", "debug", "status", "--json")._tag).toBe("Parse")
    expect(check("generate", "--seconds=8", "A fox", "--image", "a.png", "--image", "b.png")._tag).toBe("Parse")
    expect(check("resume")._tag).toBe("Parse")
    expect(check("generate", "--", "-a prompt that starts with a dash")._tag).toBe("Parse")
    // As the parser reads them: a boolean's written value, a text value that starts with dashes,
    // the built-ins wherever they stand, and -h inside a value or after --.
    expect(check("generate", "A fox", "--overwrite", "false")._tag).toBe("Parse")
    expect(check("generate", "A fox", "--negative-prompt", "--no text")._tag).toBe("Parse")
    expect(check("generate", "--wizard")._tag).toBe("Parse")
    expect(check("generate", "--version")._tag).toBe("Parse")
    expect(check("generate", "A fox", "--negative-prompt", "-h")._tag).toBe("Parse")
    expect(check("generate", "--", "-h")._tag).toBe("Parse")
  })

  it("shows the root help with nothing or --help, and a command's with its --help", () => {
    expect(check()).toEqual({ _tag: "Help", text: help.root() })
    expect(check("--help")).toEqual({ _tag: "Help", text: help.root() })
    const batch = check("batch", "-h")
    expect(batch._tag === "Help" && batch.text).toContain("reelay batch <file.jsonl> [flags]")
  })

  it("names the nearest command or flag", () => {
    expect(refusal("genrate")).toContain('did you mean "generate"?')
    expect(refusal("stauts")).toContain('did you mean "status"?')
    expect(refusal("deploy", "--help")).toMatch(/^unknown command "deploy" \(commands: generate, batch, /)
    expect(refusal("batch", "jobs.jsonl", "--concurency-submit", "2")).toContain("did you mean --concurrency-submit?")
    expect(refusal("cost", "--sinse", "2026-01-01")).toContain("did you mean --since?")
    expect(refusal("status", "--frobnicate")).toBe(
      "unknown flag --frobnicate for reelay status (see reelay status --help)"
    )
  })

  it("refuses a missing value, a number that is not one, a missing or extra argument", () => {
    expect(refusal("generate", "A fox", "--model")).toBe("--model needs a value (see reelay generate --help)")
    expect(refusal("batch", "jobs.jsonl", "--concurrency-submit", "two")).toBe(
      '--concurrency-submit must be a whole number, got "two"'
    )
    expect(refusal("generate")).toBe("reelay generate needs <prompt> (see reelay generate --help)")
    expect(refusal("models", "laozhang")).toContain("reelay models takes no argument, only flags")
  })

  it("finds a near name by edit distance", () => {
    expect(Usage.distance("modle", "model")).toBe(2)
    expect(Usage.nearest("modle", ["model", "json", "out"])).toBe("model")
    expect(Usage.nearest("zzzzzz", ["model", "json"])).toBeUndefined()
  })
})

describe("Help", () => {
  it("lists every flag of every command, with its default and variable when it has them", () => {
    for (const spec of Cli.specs) {
      const text = Help.command(spec)
      for (const flag of Object.values(spec.flags)) {
        expect(text).toContain(`--${flag.name}`)
        if (flag.env !== undefined) expect(text).toContain(`env ${flag.env}`)
        if (flag.default !== undefined) expect(text).toContain(`default: ${flag.default}`)
      }
      expect(text).not.toContain("A user-defined piece of text")
    }
  })
})
