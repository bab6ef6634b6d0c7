/**
 * reelay through its public API: `Engine.runMany` over the laozhang provider pointed at the
 * simulator, `polling.timeScale` equal to the simulator's, downloads on (each video streamed to
 * disk, hashed, fsync'ed, renamed and probed as MP4, as always).
 *
 * In-flight runs (`settings.hold`, ms): `Engine.generateMany`'s events are counted instead, and
 * `hold` ms after the last `Submitted` the process is measured with every task in flight (see
 * `common.inflight`). `settings.deadlineMs` lengthens the polling deadline (default 10 minutes), so
 * a long batch's first tasks do not time out before its last are created. `settings.journal`: a
 * SQLite journal at that path (the engine as the gateway runs it), instead of memory.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Engine, GenerateRequest, ProviderRegistry } from "@reelay/core"
import { Journal } from "@reelay/journal"
import { Laozhang } from "@reelay/provider-laozhang"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { Agent } from "undici"
import { begin, inflight, input, report, workload } from "./common.js"

const { urls, apiKey, outDir, timeScale, settings, workload: file } = input()
const items = workload(file)
const num = (name: string) => (typeof settings[name] === "number" ? (settings[name] as number) : undefined)

const Providers = ProviderRegistry.layer([Laozhang.make({ apiKey: Redacted.make(apiKey), baseUrl: urls.laozhang })], {
  defaultProvider: "laozhang"
})
// `settings.connections`: an undici Agent with at most that many sockets per origin; requests beyond
// them wait in undici's own FIFO queue. Default: the platform's Agent (no limit).
const connections = num("connections")
const Http =
  connections === undefined
    ? NodeHttpClient.layerUndici
    : NodeHttpClient.layerUndiciWithoutDispatcher.pipe(
        Layer.provide(
          Layer.scoped(
            NodeHttpClient.Dispatcher,
            Effect.acquireRelease(
              Effect.sync(() => new Agent({ connections })),
              (agent) => Effect.promise(() => agent.destroy())
            )
          )
        )
      )
const deadlineMs = num("deadlineMs")
const Live = Engine.layer({
  polling: { timeScale, ...(deadlineMs === undefined ? {} : { deadline: deadlineMs }) },
  statusConcurrency: num("statusConcurrency")
}).pipe(
  Layer.provide(Providers),
  Layer.provide(Layer.mergeAll(Http, NodeFileSystem.layer)),
  Layer.provide(typeof settings.journal === "string" ? Journal.layerSqlite({ path: settings.journal }) : Layer.empty)
)

const batch = items.map((item) => ({
  key: item.key,
  request: GenerateRequest.GenerateRequest.make({ prompt: item.prompt, model: item.model })
}))

const options = {
  outputDir: outDir,
  concurrency: { submit: num("submit"), status: num("status"), download: num("download") }
}

const hold = num("hold")

const holding = Effect.gen(function* () {
  const counter = inflight({ total: batch.length, holdMs: hold ?? 0, startedAt: begin() })
  // Reports and exits from `counter` once every task is in flight; the batch never ends by itself.
  yield* Stream.runForEach(Engine.generateMany(batch, options), (event) =>
    Effect.sync(() => {
      if (event._tag === "Submitted") counter.submitted()
      else if (event._tag === "Failed") counter.ended(`${event.error._tag}: ${event.error.message}`)
    })
  )
})

const program = Effect.gen(function* () {
  const startedAt = begin()
  const result = yield* Engine.runMany(batch, options)
  const endedAt = Date.now()
  const firstError = [...result.failed.values()][0]
  report({
    startedAt,
    endedAt,
    saved: result.saved.size,
    failed: result.failed.size,
    firstError: firstError === undefined ? undefined : `${firstError._tag}: ${firstError.message}`
  })
})

Effect.runPromise((hold === undefined ? program : holding).pipe(Effect.provide(Live))).catch((error) => {
  process.stderr.write(`reelay contestant failed: ${error}\n`)
  process.exit(1)
})
