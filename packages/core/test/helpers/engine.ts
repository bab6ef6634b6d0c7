/**
 * Builds an engine around test providers. The tests run on the TestClock (see `clock.ts`), so the
 * engine keeps its own policies and the models their real generation times: waiting costs nothing.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as Budget from "../../src/Budget.js"
import * as Engine from "../../src/Engine.js"
import type { GenerationEvent } from "../../src/GenerationEvent.js"
import type * as Money from "../../src/Money.js"
import * as ProviderRegistry from "../../src/ProviderRegistry.js"
import type * as VideoProvider from "../../src/VideoProvider.js"

export const tempDir = (prefix = "reelay-engine-") => fs.mkdtempSync(path.join(os.tmpdir(), prefix))

/**
 * The layers an engine needs, around `providers`, with an optional budget limit. The polling and
 * retry jitter draws from a `Random` seeded the same for every test, so a run repeats exactly.
 */
export const engineLayer = (
  providers: ReadonlyArray<VideoProvider.Service>,
  options: { readonly limit?: Money.Usd; readonly engine?: Engine.EngineOptions } = {}
) =>
  Engine.layer(options.engine).pipe(
    Layer.provide(
      Layer.mergeAll(
        Layer.effect(ProviderRegistry.ProviderRegistry, ProviderRegistry.make(providers)).pipe(Layer.orDie),
        NodeHttpClient.layerUndici,
        NodeFileSystem.layer
      )
    ),
    Layer.provideMerge(Budget.layer({ limit: options.limit })),
    Layer.provideMerge(Layer.setRandom(Random.make("reelay engine tests")))
  )

/** Every event of a stream, and how it ended. */
export const collect = <E, R>(stream: Stream.Stream<GenerationEvent, E, R>) =>
  Effect.gen(function* () {
    const events: Array<GenerationEvent> = []
    const exit = yield* Effect.exit(Stream.runForEach(stream, (event) => Effect.sync(() => events.push(event))))
    return { events, exit, tags: events.map((event) => event._tag) }
  })
