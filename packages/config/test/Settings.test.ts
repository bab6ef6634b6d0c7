import { describe, expect, it } from "@effect/vitest"
import * as Money from "@reelay/core/Money"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as ConfigFile from "../src/ConfigFile.js"
import * as Providers from "../src/Providers.js"
import * as Settings from "../src/Settings.js"

const file = (json: object): ConfigFile.Loaded => {
  const parsed = ConfigFile.parse("/work/reelay.config.json", JSON.stringify(json))
  if (Either.isLeft(parsed)) throw new Error(parsed.left.message)
  return parsed.right
}

const resolve = (
  options: {
    readonly flags?: Settings.Flags
    readonly env?: Record<string, string>
    readonly file?: ConfigFile.Loaded
  } = {}
) => {
  const loaded = options.file
  return Settings.resolve({
    flags: options.flags ?? {},
    environment: Settings.fromRecord(options.env ?? {}),
    file: loaded,
    catalogs: Providers.catalogs(loaded?.resellers ?? [])
  })
}

const ok = (result: ReturnType<typeof resolve>) => {
  if (Either.isLeft(result)) throw new Error(`expected settings, got ${result.left.message}`)
  return result.right
}

const profiles = file({
  defaultProfile: "draft",
  profiles: {
    draft: { provider: "apiyi", model: "veo-3.1-fast", budget: "5.00", concurrency: { submit: 2 } },
    final: {
      provider: "laozhang-official",
      model: "veo-3.1-generate-preview",
      apiKeyEnv: "LZ_PROD",
      baseUrl: "https://proxy.example/v1",
      timeout: "20m"
    },
    bare: {}
  }
})

describe("Settings.resolve", () => {
  it("uses the built-in simulator when nothing selects a provider, and says so", () => {
    const settings = ok(resolve())
    expect(settings.provider.value).toBe("simulator")
    expect(settings.simulator).toBe(true)
    expect(settings.notice).toContain("using the built-in simulator")
    expect(settings.timeScale.value).toBeCloseTo(1 / 30)
    expect(Redacted.value(settings.journal.value)).toBe(".reelay/journal.db")
  })

  it("selects the provider whose key is set, laozhang first", () => {
    expect(ok(resolve({ env: { APIYI_API_KEY: "k1" } })).provider).toEqual({
      value: "apiyi",
      source: "APIYI_API_KEY is set"
    })
    expect(ok(resolve({ env: { APIYI_API_KEY: "k1", LAOZHANG_API_KEY: "k2" } })).provider.value).toBe("laozhang")
    expect(ok(resolve({ env: { LAOZHANG_OFFICIAL_API_KEY: "k" } })).provider.value).toBe("laozhang-official")
    const settings = ok(resolve({ env: { LAOZHANG_API_KEY: "k" } }))
    expect(settings.notice).toBeUndefined()
    expect(settings.simulator).toBe(false)
    expect(settings.timeScale.value).toBe(1)
  })

  it("treats a blank key as no key", () => {
    expect(ok(resolve({ env: { LAOZHANG_API_KEY: "  " } })).provider.value).toBe("simulator")
  })

  it("takes flags over environment over profile over defaults", () => {
    const env = { REELAY_PROVIDER: "laozhang", REELAY_MODEL: "veo-3.1-landscape", LAOZHANG_API_KEY: "k" }
    expect(ok(resolve({ file: profiles })).provider).toEqual({ value: "apiyi", source: 'profile "draft"' })
    expect(ok(resolve({ file: profiles, env })).provider).toEqual({ value: "laozhang", source: "REELAY_PROVIDER" })
    expect(ok(resolve({ file: profiles, env, flags: { provider: "laozhang-sora" } })).provider).toEqual({
      value: "laozhang-sora",
      source: "--provider"
    })
    expect(ok(resolve({ file: profiles, env })).model).toEqual({ value: "veo-3.1-landscape", source: "REELAY_MODEL" })
    expect(ok(resolve({ file: profiles, env, flags: { model: "veo-3.1-fast" } })).model?.source).toBe("--model")
  })

  it("selects a profile by flag, then REELAY_PROFILE, then defaultProfile", () => {
    expect(ok(resolve({ file: profiles })).profile?.value).toBe("draft")
    expect(ok(resolve({ file: profiles, env: { REELAY_PROFILE: "final" } })).profile).toEqual({
      value: "final",
      source: "REELAY_PROFILE"
    })
    expect(
      ok(resolve({ file: profiles, env: { REELAY_PROFILE: "final" }, flags: { profile: "bare" } })).profile?.value
    ).toBe("bare")
  })

  it("applies a profile's key reference, base URL, budget, concurrency and timeout", () => {
    const settings = ok(resolve({ file: profiles, flags: { profile: "final" }, env: { LZ_PROD: "secret-key" } }))
    const official = settings.providers.find((p) => p.id === "laozhang-official")!
    expect(settings.providers[0]?.id).toBe("laozhang-official")
    expect(official.apiKey?.source).toBe("LZ_PROD")
    expect(Redacted.value(official.apiKey!.value)).toBe("secret-key")
    expect(official.baseUrl).toEqual({ value: "https://proxy.example/v1", source: 'profile "final"' })
    expect(settings.timeout?.source).toBe('profile "final"')
    // The profile's base URL is for its provider only.
    expect(settings.providers.find((p) => p.id === "laozhang")!.baseUrl.source).toBe("default")
    const draft = ok(resolve({ file: profiles }))
    expect(Money.format(draft.budget!.value)).toBe("$5.00")
    expect(draft.concurrency.submit).toEqual({ value: 2, source: 'profile "draft"' })
    expect(ok(resolve({ file: profiles, flags: { maxCost: "1.5" } })).budget?.source).toBe("--max-cost")
  })

  it("drops the profile's model when another provider is chosen", () => {
    const settings = ok(
      resolve({ file: profiles, flags: { provider: "laozhang-sora" }, env: { LAOZHANG_API_KEY: "k" } })
    )
    expect(settings.model).toBeUndefined()
  })

  it("takes --base-url over the environment over the default, for the selected provider", () => {
    const env = { LAOZHANG_API_KEY: "k", LAOZHANG_BASE_URL: "http://127.0.0.1:1/laozhang/v1" }
    const fromEnv = ok(resolve({ env })).providers.find((p) => p.id === "laozhang")!
    expect(fromEnv.baseUrl).toEqual({ value: "http://127.0.0.1:1/laozhang/v1", source: "LAOZHANG_BASE_URL" })
    const fromFlag = ok(resolve({ env, flags: { baseUrl: "http://127.0.0.1:2/v1" } })).providers[0]!
    expect(fromFlag.baseUrl).toEqual({ value: "http://127.0.0.1:2/v1", source: "--base-url" })
    expect(ok(resolve({ env: { APIYI_API_KEY: "k" } })).providers.find((p) => p.id === "apiyi")!.baseUrl.value).toBe(
      "https://api.apiyi.com/v1"
    )
  })

  it("lets a model named alone pick the provider that has it", () => {
    const sora = ok(resolve({ flags: { model: "sora_video2" } }))
    expect(sora.provider.value).toBe("simulator:laozhang-sora")
    const official = ok(resolve({ flags: { model: "veo-3.1-generate-preview" }, env: { LAOZHANG_API_KEY: "k" } }))
    expect(official.provider.value).toBe("laozhang-official")
    // Both laozhang and apiyi have veo-3.1-fast: the key decides.
    expect(ok(resolve({ flags: { model: "veo-3.1-fast" }, env: { APIYI_API_KEY: "k" } })).provider.value).toBe("apiyi")
  })

  it("refuses an unknown provider or profile in one line", () => {
    const provider = resolve({ flags: { provider: "nope" } })
    expect(Either.isLeft(provider) && provider.left._tag).toBe("InvalidRequest")
    expect(Either.isLeft(provider) && provider.left.message).toContain('unknown provider "nope" (from --provider)')
    const profile = resolve({ file: profiles, flags: { profile: "nope" } })
    expect(Either.isLeft(profile) && profile.left.message).toContain("defines draft, final, bare")
    const noFile = resolve({ env: { REELAY_PROFILE: "x" } })
    expect(Either.isLeft(noFile) && noFile.left.message).toContain("needs a reelay.config.json")
  })

  it("looks a profile up among the file's own: never toString, constructor or __proto__", () => {
    for (const name of ["toString", "constructor", "hasOwnProperty", "__proto__", "valueOf"]) {
      for (const selected of [{ flags: { profile: name } }, { env: { REELAY_PROFILE: name } }]) {
        const result = resolve({ file: profiles, ...selected })
        expect(Either.isLeft(result), name).toBe(true)
        expect(Either.isLeft(result) && result.left.message).toContain(
          `unknown profile "${name}" (from ${"flags" in selected ? "--profile" : "REELAY_PROFILE"}); /work/reelay.config.json defines draft, final, bare`
        )
      }
    }
    // A profile really named so is found.
    const named = file({ profiles: { constructor: { provider: "apiyi", budget: "1.00" } } })
    const settings = ok(resolve({ file: named, flags: { profile: "constructor" } }))
    expect(settings.provider.value).toBe("apiyi")
    expect(settings.budget && Money.format(settings.budget.value)).toBe("$1.00")
  })

  it("refuses a key that an HTTP header cannot carry, naming its variable and never the key", () => {
    for (const key of ["sk-abc\ndef", "sk-abc\rdef", "sk-\u0000x"]) {
      const settings = ok(resolve({ flags: { provider: "apiyi" }, env: { APIYI_API_KEY: key } }))
      const error = Effect.runSync(Effect.flip(Providers.requireKey(settings, "apiyi")))
      expect(error._tag).toBe("UsageError")
      expect(error.message).toContain(
        "the key in APIYI_API_KEY (for apiyi) holds a line break or another control character"
      )
      expect(error.message).not.toContain("sk-abc")
    }
    const fine = ok(resolve({ flags: { provider: "apiyi" }, env: { APIYI_API_KEY: "sk-abc" } }))
    expect(Effect.runSync(Providers.requireKey(fine, "apiyi"))).toBeUndefined()
  })

  it("parses budgets, time scales and timeouts, or names what is wrong", () => {
    expect(Either.isLeft(resolve({ flags: { maxCost: "abc" } }))).toBe(true)
    expect(ok(resolve({ env: { REELAY_TIME_SCALE: "1/100" } })).timeScale.value).toBeCloseTo(0.01)
    expect(Either.isLeft(resolve({ env: { REELAY_TIME_SCALE: "0" } }))).toBe(true)
    expect(Either.getOrThrow(Settings.parseTimeout("90s", "t"))).toBe(90_000)
    expect(Either.getOrThrow(Settings.parseTimeout("10m", "t"))).toBe(600_000)
    expect(Either.getOrThrow(Settings.parseTimeout("1h", "t"))).toBe(3_600_000)
    expect(Either.getOrThrow(Settings.parseTimeout(30, "t"))).toBe(30_000)
    expect(Either.isLeft(Settings.parseTimeout("soon", "t"))).toBe(true)
    expect(Either.isLeft(resolve({ flags: { timeout: "-1" } }))).toBe(true)
  })

  it("takes the journal from --journal, REELAY_JOURNAL, the file, the default", () => {
    const withFile = file({ journal: "data/j.db" })
    expect(Redacted.value(ok(resolve({ file: withFile })).journal.value)).toBe("/work/data/j.db")
    expect(ok(resolve({ file: withFile, env: { REELAY_JOURNAL: "postgres://u:p@h/db" } })).journal.source).toBe(
      "REELAY_JOURNAL"
    )
    expect(ok(resolve({ flags: { journal: "x.db" }, env: { REELAY_JOURNAL: "y.db" } })).journal.source).toBe(
      "--journal"
    )
  })

  it("refuses --base-url with the built-in simulator", () => {
    expect(Either.isLeft(resolve({ flags: { baseUrl: "http://x/v1" } }))).toBe(true)
  })

  it("registers a reseller from the file, with its key variable", () => {
    const reseller = file({
      providers: [
        {
          id: "acme",
          baseUrl: "https://api.acme.example/v1",
          apiKeyEnv: "ACME_KEY",
          auth: "raw",
          chargePolicy: "on-success",
          models: [
            {
              id: "acme-fast",
              price: "0.10",
              capabilities: {
                aspectRatios: ["16:9"],
                resolutions: ["720p"],
                durations: [8],
                sizes: ["1280x720"],
                imageInput: "none",
                audio: false
              },
              generationTime: { typicalSeconds: 30, minSeconds: 10, maxSeconds: 60 }
            }
          ]
        }
      ]
    })
    const settings = ok(resolve({ file: reseller, flags: { provider: "acme" }, env: { ACME_KEY: "k" } }))
    expect(settings.providers[0]).toMatchObject({ id: "acme", kind: "reseller", apiKeyEnv: "ACME_KEY" })
    expect(settings.providers[0]?.apiKey?.source).toBe("ACME_KEY")
    // A model of the reseller named alone selects it.
    expect(ok(resolve({ file: reseller, flags: { model: "acme-fast" }, env: { ACME_KEY: "k" } })).provider.value).toBe(
      "acme"
    )
  })

  it("never holds a key as a plain string", () => {
    const settings = ok(resolve({ env: { LAOZHANG_API_KEY: "sk-very-secret-key-1234" } }))
    expect(JSON.stringify(settings)).not.toContain("sk-very-secret")
    expect(String(settings.providers[0]?.apiKey?.value)).not.toContain("sk-very-secret")
  })
})

describe("a profile's routes", () => {
  const routed = file({
    defaultProfile: "resilient",
    profiles: {
      resilient: {
        routes: [
          { provider: "laozhang-sora", model: "sora_video2" },
          { provider: "laozhang", model: "veo-3.1-fast" }
        ]
      }
    }
  })

  it("are what requests naming no provider or model get; the first route is the provider shown", () => {
    const settings = ok(resolve({ file: routed }))
    expect(settings.routes?.value.map((route) => route.provider)).toEqual(["laozhang-sora", "laozhang"])
    expect(settings.provider.value).toBe("laozhang-sora")
    expect(Settings.requestDefaults(settings)).toEqual({ routes: settings.routes?.value })
  })

  it("give way to a provider or a model chosen on the command line or in the environment", () => {
    for (const inputs of [
      { flags: { provider: "apiyi" } },
      { flags: { model: "veo-3.1-fast" } },
      { env: { REELAY_PROVIDER: "apiyi" } },
      { env: { REELAY_MODEL: "veo-3.1-fast" } }
    ]) {
      const settings = ok(resolve({ ...inputs, file: routed }))
      expect(settings.routes).toBeUndefined()
      expect(Settings.requestDefaults(settings).routes).toBeUndefined()
    }
  })

  it("give the overriding provider nothing of theirs: neither the first route's model nor its key variable", () => {
    const settings = ok(resolve({ file: routed, flags: { provider: "apiyi" } }))
    expect(settings.provider.value).toBe("apiyi")
    expect(settings.model).toBeUndefined()
    expect(settings.providers.find((p) => p.id === "apiyi")?.apiKeyEnv).toBe("APIYI_API_KEY")
  })

  it("cannot stand beside a key variable or base URL of the profile's own", () => {
    const parsed = ConfigFile.parse(
      "/work/reelay.config.json",
      JSON.stringify({ profiles: { r: { apiKeyEnv: "MY_KEY", routes: [{ provider: "apiyi", model: "veo-3.1" }] } } })
    )
    expect(Either.isLeft(parsed) && parsed.left.message).toContain(
      'a profile with "routes" names no "apiKeyEnv" or "baseUrl"'
    )
  })

  it("naming an unknown provider are refused, naming the profile", () => {
    const bad = file({ profiles: { r: { routes: [{ provider: "nowhere", model: "m" }] } } })
    const result = resolve({ file: bad, flags: { profile: "r" } })
    expect(Either.isLeft(result) && result.left.message).toContain('unknown provider "nowhere" (in profile "r" routes)')
  })

  it("cannot stand beside a provider or a model in one profile", () => {
    const parsed = ConfigFile.parse(
      "/work/reelay.config.json",
      JSON.stringify({ profiles: { r: { provider: "laozhang", routes: [{ provider: "apiyi", model: "veo-3.1" }] } } })
    )
    expect(Either.isLeft(parsed) && parsed.left.message).toContain(
      'profiles.r: a profile names either "routes" or a "provider" and "model", not both'
    )
  })
})

describe("the gateway's tenants", () => {
  const parse = (json: object) => ConfigFile.parse("/work/reelay.config.json", JSON.stringify(json))

  it("are read with their key variables and profiles", () => {
    const parsed = parse({
      profiles: { draft: {} },
      gateway: { tenants: [{ id: "team-a", keyEnv: "TEAM_A_KEY", profile: "draft", budget: "25.00" }] }
    })
    expect(Either.getOrThrow(parsed).gateway?.tenants[0]).toEqual({
      id: "team-a",
      keyEnv: "TEAM_A_KEY",
      profile: "draft",
      budget: "25.00"
    })
  })

  it("refuse a profile that does not exist, an id given twice, and a key in the file", () => {
    const message = (json: object) => {
      const parsed = parse(json)
      return Either.isLeft(parsed) ? parsed.left.message : ""
    }
    expect(message({ gateway: { tenants: [{ id: "a", keyEnv: "A_KEY", profile: "nope" }] } })).toContain(
      'gateway.tenants[0].profile: "nope" is not among the profiles'
    )
    expect(
      message({
        gateway: {
          tenants: [
            { id: "a", keyEnv: "A_KEY" },
            { id: "a", keyEnv: "B_KEY" }
          ]
        }
      })
    ).toContain('gateway.tenants[1].id: "a" is given twice')
    expect(message({ gateway: { tenants: [{ id: "a", keyEnv: "A_KEY", key: "sk-123" }] } })).toContain(
      "an API key does not belong in the configuration file"
    )
  })
})
