/** Builds an engine around test providers, fast enough for unit tests (times scaled down 1000×). */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as Budget from "../../src/Budget.js"
import * as Engine from "../../src/Engine.js"
import type { GenerationEvent } from "../../src/GenerationEvent.js"
import type * as Money from "../../src/Money.js"
import * as ProviderRegistry from "../../src/ProviderRegistry.js"
import type * as VideoProvider from "../../src/VideoProvider.js"

export const fastOptions: Engine.EngineOptions = {
  polling: { timeScale: 0.001, jitter: 0 },
  retry: { baseDelay: "1 millis", maxDelay: "5 millis", jitter: 0 }
}

export const tempDir = (prefix = "reelay-engine-") => fs.mkdtempSync(path.join(os.tmpdir(), prefix))

/** The layers an engine needs, around `providers`, with an optional budget limit. */
export const engineLayer = (
  providers: ReadonlyArray<VideoProvider.Service>,
  options: { readonly limit?: Money.Usd; readonly engine?: Engine.EngineOptions } = {}
) =>
  Engine.layer({ ...fastOptions, ...options.engine }).pipe(
    Layer.provide(
      Layer.mergeAll(
        Layer.effect(ProviderRegistry.ProviderRegistry, ProviderRegistry.make(providers)).pipe(Layer.orDie),
        NodeHttpClient.layerUndici,
        NodeFileSystem.layer
      )
    ),
    Layer.provideMerge(Budget.layer({ limit: options.limit }))
  )

/** Every event of a stream, and how it ended. */
export const collect = <E, R>(stream: Stream.Stream<GenerationEvent, E, R>) =>
  Effect.gen(function* () {
    const events: Array<GenerationEvent> = []
    const exit = yield* Effect.exit(Stream.runForEach(stream, (event) => Effect.sync(() => events.push(event))))
    return { events, exit, tags: events.map((event) => event._tag) }
  })
