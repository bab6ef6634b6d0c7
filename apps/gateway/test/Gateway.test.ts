/**
 * The gateway as a team's service sees it: the official `openai` SDK, unchanged, against it. A
 * tenant's key selects its models (its profile's provider, or its routes); a wrong key is an
 * OpenAI-shaped 401; the OpenAPI document is served; a configuration it cannot serve is refused.
 */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as HttpServer from "@effect/platform/HttpServer"
import { afterAll, assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import OpenAI from "openai"
import * as Gateway from "../src/Gateway.js"

const work = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "reelay-gateway-"))
afterAll(() => NodeFs.rmSync(work, { recursive: true, force: true }))

const keys = { TEAM_A_KEY: "sk-team-a-0123456789", TEAM_B_KEY: "sk-team-b-9876543210" }

const configFile = (content: object) => {
  const path = NodePath.join(work, `reelay-${Math.random().toString(36).slice(2)}.json`)
  NodeFs.writeFileSync(path, JSON.stringify(content))
  return path
}

const teams = configFile({
  profiles: {
    draft: { provider: "simulator", model: "veo-3.1-fast" },
    resilient: {
      routes: [
        { provider: "simulator:laozhang-sora", model: "sora_video2" },
        { provider: "simulator", model: "veo-3.1-fast" }
      ]
    }
  },
  gateway: {
    tenants: [
      { id: "team-a", keyEnv: "TEAM_A_KEY", profile: "draft" },
      { id: "team-b", keyEnv: "TEAM_B_KEY", profile: "resilient" }
    ]
  }
})

/** Starts the gateway for `config` with `env`; its base URL, stopped with the scope. */
const start = (config: string, env: Record<string, string> = keys) =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const built = yield* Layer.buildWithScope(
      Gateway.layer({
        config,
        port: 0,
        host: "127.0.0.1",
        journal: NodePath.join(work, "journal.db"),
        outDir: NodePath.join(work, "videos")
      }),
      scope
    ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
    const address = Context.get(built, HttpServer.HttpServer).address
    if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
    return `http://127.0.0.1:${address.port}/v1`
  })

const client = (baseURL: string, apiKey: string) => new OpenAI({ apiKey, baseURL, maxRetries: 0 })

describe("gateway: models and tenants", () => {
  it.scopedLive("each tenant's key lists its own profile's models, through the openai SDK", () =>
    Effect.gen(function* () {
      const baseUrl = yield* start(teams)
      const a = yield* Effect.promise(() => client(baseUrl, keys.TEAM_A_KEY).models.list())
      assert.isTrue(a.data.some((model) => model.id === "veo-3.1-fast" && model.owned_by === "simulator"))
      assert.isFalse(a.data.some((model) => model.id === "sora_video2"))
      const b = yield* Effect.promise(() => client(baseUrl, keys.TEAM_B_KEY).models.list())
      assert.deepStrictEqual(
        b.data.map((model) => [model.id, model.owned_by]),
        [
          ["sora_video2", "simulator:laozhang-sora"],
          ["veo-3.1-fast", "simulator"]
        ]
      )
    })
  )

  it.scopedLive("a tenant's models are its profile's, whatever the operator's shell selects", () =>
    Effect.gen(function* () {
      const baseUrl = yield* start(teams, { ...keys, REELAY_PROVIDER: "apiyi", REELAY_MODEL: "veo-3.1" })
      const b = yield* Effect.promise(() => client(baseUrl, keys.TEAM_B_KEY).models.list())
      assert.deepStrictEqual(
        b.data.map((model) => model.id),
        ["sora_video2", "veo-3.1-fast"]
      )
    })
  )

  it.scopedLive("a key no tenant holds is an OpenAI-shaped 401 that never quotes the key", () =>
    Effect.gen(function* () {
      const baseUrl = yield* start(teams)
      const failure = yield* Effect.promise(() =>
        client(baseUrl, "sk-somebody-else-123456")
          .models.list()
          .then(
            () => undefined,
            (error: unknown) => error
          )
      )
      assert.instanceOf(failure, OpenAI.AuthenticationError)
      const error = failure as InstanceType<typeof OpenAI.AuthenticationError>
      assert.strictEqual(error.status, 401)
      assert.strictEqual(error.code, "invalid_api_key")
      assert.strictEqual(error.type, "invalid_request_error")
      assert.notInclude(JSON.stringify(error.error), "somebody-else")
    })
  )

  it.scopedLive("serves its OpenAPI document", () =>
    Effect.gen(function* () {
      const baseUrl = yield* start(teams)
      const document = yield* Effect.promise(() =>
        fetch(baseUrl.replace(/\/v1$/, "/openapi.json")).then((answer) => answer.json() as Promise<{ paths: object }>)
      )
      assert.property(document.paths, "/v1/models")
    })
  )

  it.scopedLive(
    "refuses to start without tenants, with a tenant whose key is unset, or two tenants sharing a key",
    () =>
      Effect.gen(function* () {
        const refusal = (config: string, env: Record<string, string> = keys) =>
          Effect.gen(function* () {
            const scope = yield* Scope.make()
            const exit = yield* Effect.exit(start(config, env).pipe(Scope.extend(scope)))
            yield* Scope.close(scope, Exit.void)
            assert.isTrue(Exit.isFailure(exit))
            return Exit.isFailure(exit) ? String(exit.cause) : ""
          })
        assert.include(yield* refusal(configFile({})), "names no gateway tenants")
        assert.include(yield* refusal(teams, { TEAM_A_KEY: keys.TEAM_A_KEY }), "has no key: set TEAM_B_KEY")
        assert.include(
          yield* refusal(teams, { TEAM_A_KEY: "same-key-for-both", TEAM_B_KEY: "same-key-for-both" }),
          'gateway tenants "team-a" and "team-b" have the same key'
        )
        const vendorKey = configFile({ gateway: { tenants: [{ id: "team-a", keyEnv: "LAOZHANG_API_KEY" }] } })
        assert.include(
          yield* refusal(vendorKey, { LAOZHANG_API_KEY: "sk-vendor" }),
          "LAOZHANG_API_KEY holds a provider's key"
        )
      })
  )
})
