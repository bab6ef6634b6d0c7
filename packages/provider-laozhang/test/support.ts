/**
 * Test support: an engine over real sockets around providers built against the simulator, at the
 * simulator's time scale, with millisecond retries (server hints still win).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Budget from "@reelay/core/Budget"
import * as Engine from "@reelay/core/Engine"
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import * as ProviderRegistry from "@reelay/core/ProviderRegistry"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"

/** Vendor seconds become 5 ms: a fast model takes 150-300 ms. */
export const timeScale = 1 / 200

export const engineOptions: Engine.EngineOptions = {
  polling: { timeScale, jitter: 0, deadline: "30 seconds" },
  retry: { baseDelay: "1 millis", maxDelay: "5 millis", jitter: 0 }
}

/** Engine + registry + budget + undici + file system, around provider effects. */
export const engineLayer = <E>(
  providers: ReadonlyArray<Effect.Effect<VideoProvider.Service, E, HttpClient.HttpClient>>,
  options: Engine.EngineOptions = {}
) =>
  Engine.layer({ ...engineOptions, ...options }).pipe(
    Layer.provideMerge(ProviderRegistry.layer(providers).pipe(Layer.orDie)),
    Layer.provideMerge(Layer.mergeAll(NodeHttpClient.layerUndici, NodeFileSystem.layer, Budget.layer({})))
  )

/** Every event of a generation, and how it ended. */
export const collect = <E, R>(stream: Stream.Stream<GenerationEvent, E, R>) =>
  Effect.gen(function* () {
    const events: Array<GenerationEvent> = []
    const exit = yield* Effect.exit(Stream.runForEach(stream, (event) => Effect.sync(() => events.push(event))))
    return { events, exit }
  })

/** The typed failure of an exit (throws otherwise). */
export const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail")
    throw new Error(`expected a typed failure, got ${String(exit)}`)
  return exit.cause.error
}

/** A fresh temporary directory. */
export const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "reelay-provider-laozhang-"))

/** A real 1x1 PNG. */
export const png = Uint8Array.from(
  Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
    "base64"
  )
)
