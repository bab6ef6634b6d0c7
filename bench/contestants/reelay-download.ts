/**
 * One download through reelay's `Download.download` (what the engine runs for every video): streamed
 * to `<path>.part`, SHA-256 on the way, fsync, rename. `settings.url` is a CDN link (no credentials)
 * or the official forward's `/content` on the API origin (the provider's key as credentials, which
 * `Download` sends to that origin only).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as AssetSource from "@reelay/core/AssetSource"
import * as Download from "@reelay/core/Download"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { input, report } from "./common.js"

const { outDir, settings, apiKey } = input()
const url = String(settings.url)
const credentials =
  settings.credentials === true
    ? { origin: new URL(url).origin, headers: [["authorization", Redacted.make(`Bearer ${apiKey}`)] as const] }
    : undefined

const program = Effect.gen(function* () {
  const startedAt = Date.now()
  const saved = yield* Download.download({
    asset: new AssetSource.UrlAsset({ url }),
    path: `${outDir}/reelay.mp4`,
    credentials
  })
  report({ startedAt, endedAt: Date.now(), saved: 1, failed: 0, bytes: saved.bytes, sha256: saved.sha256 })
})

Effect.runPromise(program.pipe(Effect.provide(NodeHttpClient.layerUndici))).catch((error) => {
  process.stderr.write(`reelay download failed: ${error}\n`)
  process.exit(1)
})
