/**
 * One scenario's world for the conformance kit: its target started fresh, the fault proxy in front of
 * every origin the target's answers lead to, a provider built against the proxy, a temporary
 * directory, and the ways a scenario generates, reads the proxy's log and the target's ledger.
 *
 * @internal
 */
import * as NodePath from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Engine from "@reelay/core/Engine"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import type { TaskHandle } from "@reelay/core/TaskHandle"
import type { VideoError } from "@reelay/core/VideoError"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as FaultProxy from "../FaultProxy.js"
import type * as Target from "../Target.js"
import * as Testkit from "../Testkit.js"

/** What the kit needs to know about a provider and its target. */
export interface Options {
  /** Shown in the `describe` title. */
  readonly name: string
  readonly target: Target.Target
  /** Builds the provider against `baseUrl` with `apiKey` (usually the package's `make`). */
  readonly provider: (context: {
    readonly baseUrl: string
    readonly apiKey: Redacted.Redacted<string>
  }) => Effect.Effect<VideoProvider.Service, unknown, Testkit.ProviderRequirements>
  /** A text-to-video model of the catalog. */
  readonly textModel: string
  /** The engine's polling scale, matched to how fast the target makes a video (default `Testkit.defaultTimeScale`). */
  readonly timeScale?: number | undefined
  /** Per-test timeout in milliseconds (default 30 000). */
  readonly timeout?: number | undefined
}

export interface Run {
  readonly events: ReadonlyArray<GenerationEvent>
  readonly exit: Exit.Exit<void, VideoError>
  readonly output: string
}

export interface World {
  readonly options: Options
  readonly proxy: FaultProxy.FaultProxy
  readonly dir: string
  /** The provider, built against the proxy. */
  readonly provider: Effect.Effect<VideoProvider.Service>
  /** Generates one video through the proxy (engine settings overridden by `engine`), to `output`. */
  readonly generate: (settings?: {
    readonly engine?: Engine.EngineOptions | undefined
    readonly output?: string | undefined
  }) => Effect.Effect<Run>
  /** Continues a task from its handle (`Engine.resume`), as a resume after a crash does. */
  readonly resume: (handle: TaskHandle, output: string) => Effect.Effect<Run>
  /** The creates that reached the target: its ledger's, else those the proxy forwarded. */
  readonly creates: Effect.Effect<number>
  /** The target's ledger, when it keeps one. */
  readonly ledger: Effect.Effect<Target.Ledger | undefined>
}

const collected = <E>(
  stream: Stream.Stream<GenerationEvent, VideoError, Engine.Engine>,
  layer: Layer.Layer<Engine.Engine, E>,
  output: string
): Effect.Effect<Run> =>
  Testkit.collect(stream).pipe(
    Effect.provide(layer),
    Effect.orDie,
    Effect.map((run) => ({ events: run.events, exit: run.exit, output }))
  )

/** The world of one scenario, torn down with the scope. */
export const make = (
  options: Options,
  name: string,
  /** The scenario's engine settings, under any a call gives. */
  engine: Engine.EngineOptions = {}
): Effect.Effect<World, never, Scope.Scope> =>
  Effect.gen(function* () {
    const running = yield* Effect.acquireRelease(
      Effect.promise(() => options.target.start()),
      (target) => Effect.promise(() => target.close())
    )
    const proxy = yield* Effect.acquireRelease(
      Effect.promise(() => FaultProxy.start({ origins: running.origins, classify: running.classify })),
      (started) => Effect.promise(() => started.close())
    )
    const dir = yield* Testkit.tempDir(`reelay-kit-${name}-`)
    const timeScale = options.timeScale ?? Testkit.defaultTimeScale
    const provider = options.provider({ baseUrl: proxy.urlFor(running.baseUrl), apiKey: running.apiKey })
    const layerWith = (more: Engine.EngineOptions = {}) =>
      Testkit.engineLayer([provider], {
        timeScale,
        engine: { ...engine, ...more, polling: { ...engine.polling, ...more.polling } }
      })
    const request = GenerateRequest.make({ prompt: `A heron at dawn (${name})`, model: options.textModel })
    const ledger = running.ledger === undefined ? Effect.succeed(undefined) : Effect.promise(running.ledger)
    return {
      options,
      proxy,
      dir,
      provider: provider.pipe(
        Effect.provide(Layer.merge(NodeHttpClient.layerUndici, NodeFileSystem.layer)),
        Effect.orDie
      ),
      generate: (settings = {}) => {
        const output = settings.output ?? NodePath.join(dir, "video.mp4")
        return collected(Engine.generate(request, { output }), layerWith(settings.engine), output)
      },
      resume: (handle, output) => collected(Engine.resume(handle, { output }), layerWith(), output),
      creates: Effect.flatMap(ledger, (known) =>
        Effect.sync(
          () =>
            known?.creates?.length ??
            proxy.log().filter((entry) => entry.operation === "create" && entry.forwarded).length
        )
      ),
      ledger
    } satisfies World
  })
