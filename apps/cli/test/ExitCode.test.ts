import * as fs from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import * as ExitCode from "@reelay/client/ExitCode"
import * as Providers from "@reelay/config/Providers"
import * as Settings from "@reelay/config/Settings"
import * as VideoError from "@reelay/core/VideoError"
import { Apiyi } from "@reelay/provider-apiyi"
import { Laozhang } from "@reelay/provider-laozhang"
import { LaozhangOfficial } from "@reelay/provider-laozhang-official"
import { LaozhangSora } from "@reelay/provider-laozhang-sora"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Config from "../src/commands/Config.js"

describe("ExitCode", () => {
  it("gives every error class its own code, in VideoError.tags order from 10", () => {
    expect(VideoError.tags.map((tag) => ExitCode.byTag[tag])).toEqual(
      Array.from({ length: VideoError.tags.length }, (_, i) => 10 + i)
    )
    expect(ExitCode.byTag.InvalidRequest).toBe(10)
    expect(ExitCode.byTag.PollTimeout).toBe(19)
    expect(ExitCode.byTag.BudgetExceeded).toBe(23)
  })

  it("maps the CLI's own errors", () => {
    expect(ExitCode.forError({ _tag: "UsageError" })).toBe(2)
    expect(ExitCode.forError({ _tag: "BatchFileError" })).toBe(2)
    expect(ExitCode.forError({ _tag: "ConfigFileError" })).toBe(2)
    expect(ExitCode.forError({ _tag: "JobStoreError" })).toBe(4)
    expect(ExitCode.forError({ _tag: "AuthenticationFailed" })).toBe(11)
    expect(ExitCode.forError({ _tag: "SomethingElse" })).toBe(1)
  })

  it("is the table the README shows", () => {
    const readme = fs.readFileSync(new URL("../README.md", import.meta.url), "utf8")
    const start = readme.indexOf("## Exit codes")
    const section = readme.slice(start, readme.indexOf("\n## ", start + 1))
    const rows = section
      .split("\n")
      .filter((line) => /^\| \d+ /.test(line))
      .map((line) => line.split("|").map((cell) => cell.trim().replaceAll("`", "")))
      .map(([, code, meaning]) => ({ code: Number(code), meaning }))
    expect(rows).toEqual(ExitCode.table)
  })

  it("documents a table of distinct codes", () => {
    const codes = ExitCode.table.map((row) => row.code)
    expect(new Set(codes).size).toBe(codes.length)
    expect(codes).toContain(130)
    expect(codes).toContain(3)
  })
})

describe("Providers", () => {
  it("takes each built-in from its package's descriptor: its variables, base URL and contract", () => {
    const byId = Object.fromEntries(Settings.builtins.map((builtin) => [builtin.id, builtin]))
    expect(byId.laozhang?.env.apiKey).toEqual([Laozhang.env.apiKey])
    expect(byId.laozhang?.env.baseUrl).toEqual([Laozhang.env.baseUrl])
    expect(byId.laozhang?.defaultBaseUrl).toBe(Laozhang.defaultBaseUrl)
    expect(byId.apiyi?.env.apiKey).toEqual([Apiyi.env.apiKey])
    expect(byId.apiyi?.env.baseUrl).toEqual([Apiyi.env.baseUrl])
    expect(byId.apiyi?.defaultBaseUrl).toBe(Apiyi.defaultBaseUrl)
    expect(byId["laozhang-official"]?.env.apiKey).toEqual([
      LaozhangOfficial.env.apiKey,
      LaozhangOfficial.env.fallbackApiKey
    ])
    expect(byId["laozhang-official"]?.env.baseUrl).toEqual([LaozhangOfficial.env.baseUrl])
    expect(byId["laozhang-sora"]?.env.apiKey).toEqual([LaozhangSora.apiKeyVariable])
    expect(byId["laozhang-sora"]?.env.baseUrl).toEqual([LaozhangSora.baseUrlVariable])
    expect(byId["laozhang-sora"]?.defaultBaseUrl).toBe(LaozhangSora.defaultBaseUrl)
    expect(byId["laozhang-sora"]?.mode).toBe("streaming")
    for (const builtin of Settings.builtins) expect(builtin.contract).toBe(1)
  })

  it("lists each built-in's catalog", () => {
    const catalogs = Providers.catalogs([])
    expect(catalogs.laozhang).toContain("veo-3.1-fast")
    expect(catalogs["laozhang-sora"]).toContain("sora_video2")
    expect(catalogs["laozhang-official"]).toContain("veo-3.1-generate-preview")
  })

  it("refuses a provider without a key, naming the variable, before anything is sent", () => {
    const settings = Either.getOrThrow(
      Settings.resolve({
        flags: { provider: "apiyi" },
        environment: Settings.fromRecord({}),
        file: undefined,
        catalogs: Providers.catalogs([])
      })
    )
    const missing = Effect.runSync(Effect.flip(Providers.requireKey(settings, "apiyi")))
    expect(missing._tag).toBe("AuthenticationFailed")
    expect(missing.message).toBe("apiyi has no API key: set APIYI_API_KEY; nothing was sent")
    expect(missing._tag === "AuthenticationFailed" && missing.billing).toBe("not-charged")
    expect(Effect.runSync(Effect.flip(Providers.requireKey(settings, "nope")))._tag).toBe("InvalidRequest")
    expect(Effect.runSync(Providers.requireKey(settings, "simulator:apiyi"))).toBeUndefined()
  })
})

describe("reelay config", () => {
  it("never prints a key: <redacted>, with the last four characters of a long one", () => {
    expect(Config.redactKey(Redacted.make("short"))).toBe("<redacted>")
    expect(Config.redactKey(Redacted.make("sk-0123456789abcdefWXYZ"))).toBe("<redacted …WXYZ>")
    expect(Config.redactJournal(Redacted.make("postgres://me:hunter2@db:5432/reelay"))).toBe(
      "postgres://me:<redacted>@db:5432/reelay"
    )
    expect(Config.redactJournal(Redacted.make(".reelay/journal.db"))).toBe(".reelay/journal.db")
    const settings = Either.getOrThrow(
      Settings.resolve({
        flags: {},
        environment: Settings.fromRecord({
          LAOZHANG_API_KEY: "sk-live-0123456789-secret",
          REELAY_JOURNAL: "postgres://me:hunter2@db/reelay"
        }),
        file: undefined,
        catalogs: Providers.catalogs([])
      })
    )
    const json = JSON.stringify(Config.toJson(settings))
    const text = Config.toLines(settings, { color: false }).join("\n")
    for (const output of [json, text]) {
      expect(output).not.toContain("sk-live-0123456789")
      expect(output).not.toContain("hunter2")
      expect(output).toContain("<redacted")
    }
  })
})
