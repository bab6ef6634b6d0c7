/** The engine around test providers, fast enough for tests (the model's times scaled down 1000×). */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { afterAll } from "@effect/vitest"
import * as Engine from "@reelay/core/Engine"
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import type * as Polling from "@reelay/core/Polling"
import * as ProviderRegistry from "@reelay/core/ProviderRegistry"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

const made: Array<string> = []
// Registered by every test file that imports this module: its directories go when it is done.
afterAll(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
})

/** A temporary directory, deleted after the test file. */
export const tempDir = (prefix = "reelay-journal-") => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  made.push(dir)
  return dir
}

export const engineLayer = (
  providers: ReadonlyArray<VideoProvider.Service>,
  options: { readonly polling?: Partial<Polling.PollingOptions> } = {}
) =>
  Engine.layer({
    polling: { timeScale: 0.001, jitter: 0, ...options.polling },
    retry: { baseDelay: "1 millis", maxDelay: "5 millis", jitter: 0 }
  }).pipe(
    Layer.provide(
      Layer.mergeAll(
        Layer.effect(ProviderRegistry.ProviderRegistry, ProviderRegistry.make(providers)).pipe(Layer.orDie),
        NodeHttpClient.layerUndici,
        NodeFileSystem.layer
      )
    )
  )

/** Every event of a stream. */
export const collect = <E, R>(stream: Stream.Stream<GenerationEvent, E, R>) =>
  Effect.gen(function* () {
    const events: Array<GenerationEvent> = []
    yield* Stream.runForEach(stream, (event) => Effect.sync(() => events.push(event)))
    return events
  })
