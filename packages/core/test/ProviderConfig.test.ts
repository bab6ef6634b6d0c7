import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as ProviderConfig from "../src/ProviderConfig.js"

const withEnv = (env: Record<string, string>) =>
  Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

const variables = { apiKey: ["DEDICATED_KEY", "SHARED_KEY"], baseUrl: "VENDOR_BASE_URL" }

/** Constructors over a `make` that records the options it was given. */
const recording = () => {
  const seen: Array<ProviderConfig.Connection | undefined> = []
  const { makeConfig } = ProviderConfig.constructors(
    (options?: ProviderConfig.Connection) =>
      Effect.sync(() => {
        seen.push(options)
        return undefined as never
      }),
    variables
  )
  return { seen, makeConfig }
}

describe("ProviderConfig", () => {
  it.effect("reads the first key variable that is set, and the base URL", () =>
    Effect.gen(function* () {
      const both = yield* ProviderConfig.fromEnvironment(variables).pipe(
        withEnv({ DEDICATED_KEY: "sk-dedicated", SHARED_KEY: "sk-shared", VENDOR_BASE_URL: "https://x/v1" })
      )
      assert.strictEqual(Redacted.value(both.apiKey!), "sk-dedicated")
      assert.strictEqual(both.baseUrl, "https://x/v1")
      const fallback = yield* ProviderConfig.fromEnvironment(variables).pipe(withEnv({ SHARED_KEY: "sk-shared" }))
      assert.strictEqual(Redacted.value(fallback.apiKey!), "sk-shared")
      assert.isUndefined(fallback.baseUrl)
    })
  )

  it.effect("treats blank variables as unset, and a missing key as no key rather than a failure", () =>
    Effect.gen(function* () {
      const blank = yield* ProviderConfig.fromEnvironment(variables).pipe(
        withEnv({ DEDICATED_KEY: "  ", SHARED_KEY: "", VENDOR_BASE_URL: " " })
      )
      assert.isUndefined(blank.apiKey)
      assert.isUndefined(blank.baseUrl)
    })
  )

  it.effect("lets options given in code win over the environment", () =>
    Effect.gen(function* () {
      const { seen, makeConfig } = recording()
      yield* makeConfig({ baseUrl: "https://code/v1" }).pipe(
        withEnv({ SHARED_KEY: "sk-shared", VENDOR_BASE_URL: "https://env/v1" }),
        Effect.provide(FetchHttpClient.layer)
      )
      assert.strictEqual(seen[0]?.baseUrl, "https://code/v1")
      assert.strictEqual(Redacted.value(seen[0]!.apiKey!), "sk-shared")
    })
  )

  it.effect("takes any option as an Effect Config, read when the provider is made", () =>
    Effect.gen(function* () {
      const { seen, makeConfig } = recording()
      yield* makeConfig({ apiKey: Config.redacted("TEAM_KEY"), baseUrl: Config.string("TEAM_URL") }).pipe(
        withEnv({ TEAM_KEY: "sk-team", TEAM_URL: "https://team/v1", SHARED_KEY: "sk-shared" }),
        Effect.provide(FetchHttpClient.layer)
      )
      assert.strictEqual(Redacted.value(seen[0]!.apiKey!), "sk-team")
      assert.strictEqual(seen[0]?.baseUrl, "https://team/v1")
      // A Config that cannot be read fails making the provider, naming the variable.
      const missing = yield* Effect.flip(
        makeConfig({ apiKey: Config.redacted("ABSENT_KEY") }).pipe(withEnv({}), Effect.provide(FetchHttpClient.layer))
      )
      assert.include(String(missing), "ABSENT_KEY")
    })
  )
})
