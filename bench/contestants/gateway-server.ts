/**
 * The gateway as a team runs it, for the gateway benchmark: `Gateway.layer` with one tenant whose
 * profile sends to laozhang (the simulator), a SQLite journal and its videos saved under `outDir`.
 * Prints `READY <base URL>` once it listens; on SIGTERM it stops as `reelay serve` does (journal and
 * jobs closed) and reports its own CPU and peak RSS, start-up included.
 *
 * `settings.tenantKey`: the tenant's bearer key.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Gateway from "@reelay/gateway/Gateway"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Scope from "effect/Scope"
import { begin, input, report } from "./common.js"

const { urls, apiKey, outDir, timeScale, settings } = input()
const tenantKey = String(settings.tenantKey)
NodeFs.mkdirSync(outDir, { recursive: true })
const config = NodePath.join(outDir, "reelay.config.json")
NodeFs.writeFileSync(
  config,
  JSON.stringify({
    profiles: { bench: { provider: "laozhang" } },
    gateway: { tenants: [{ id: "bench", keyEnv: "BENCH_TENANT_KEY", profile: "bench" }] }
  })
)
const environment = new Map(
  Object.entries({
    BENCH_TENANT_KEY: tenantKey,
    LAOZHANG_API_KEY: apiKey,
    LAOZHANG_BASE_URL: urls.laozhang,
    REELAY_TIME_SCALE: String(timeScale)
  })
)

const main = async () => {
  const scope = Effect.runSync(Scope.make())
  const built = await Effect.runPromise(
    Layer.buildWithScope(
      Gateway.layer({
        config,
        port: 0,
        host: "127.0.0.1",
        journal: NodePath.join(outDir, "journal.db"),
        outDir: NodePath.join(outDir, "videos")
      }),
      scope
    ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(environment)), Logger.withMinimumLogLevel(LogLevel.Error))
  )
  const address = Context.get(built, HttpServer.HttpServer).address
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  const startedAt = begin()
  process.stdout.write(`READY http://127.0.0.1:${address.port}/v1\n`)
  process.once("SIGTERM", () => {
    void Effect.runPromise(Scope.close(scope, Exit.void)).then(() =>
      report({ startedAt, endedAt: Date.now(), saved: 0, failed: 0 })
    )
  })
}

main().catch((error) => {
  process.stderr.write(`gateway contestant failed: ${error}\n`)
  process.exit(1)
})
