/**
 * Test helpers for reelay providers: the simulator started inside a test at a fast time scale, an
 * engine layer tuned to that scale, event collection, temporary directories, a stub HTTP server and
 * readers of the simulator's ledger and logs.
 *
 * @since 0.1.0
 */
import * as NodeFs from "node:fs"
import * as NodeHttp from "node:http"
import type { AddressInfo } from "node:net"
import * as NodeNet from "node:net"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Budget from "@reelay/core/Budget"
import * as Engine from "@reelay/core/Engine"
import type { Charged, GenerationEvent } from "@reelay/core/GenerationEvent"
import * as Money from "@reelay/core/Money"
import * as ProviderRegistry from "@reelay/core/ProviderRegistry"
import type { SavedVideo } from "@reelay/core/SavedVideo"
import type { InvalidRequest } from "@reelay/core/VideoError"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import type * as RequestLog from "@reelay/simulator/RequestLog"
import * as SimClock from "@reelay/simulator/SimClock"
import * as Simulator from "@reelay/simulator/Simulator"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/**
 * The simulator's default time scale in tests: 1/300 of the vendors' timings (fast models finish in
 * 0.1–0.2 s, standard ones in 0.2–0.4 s, Sora in 0.4–1 s).
 */
export const defaultTimeScale = 1 / 300

/**
 * Starts the simulator for the scope's lifetime, on free ports, at `defaultTimeScale` and on the
 * system clock (the engine talks to it over real sockets in real time, so the `TestClock` must not
 * drive it). Use it in `it.scopedLive`.
 *
 * @example
 * ```ts
 * it.scopedLive("charges once", () =>
 *   Effect.gen(function* () {
 *     const sim = yield* Testkit.simulator()
 *     // ... generate against sim.urls.laozhang ...
 *     assert.strictEqual((yield* sim.ledger).length, 1)
 *   })
 * )
 * ```
 */
export const simulator = (options: Simulator.Options = {}): Effect.Effect<Simulator.Service, never, Scope.Scope> =>
  Simulator.make({ timeScale: defaultTimeScale, clock: SimClock.system, ...options })

/** `simulator` as a layer, to share one simulator across the tests of a `layer(...)` block. */
export const simulatorLayer = (options: Simulator.Options = {}): Layer.Layer<Simulator.Simulator> =>
  Layer.scoped(Simulator.Simulator, simulator(options))

/**
 * Engine options matched to a simulator running at `timeScale`: polling scaled the same way, retries
 * backing off in milliseconds (a server's `Retry-After` still wins), timeouts of seconds, and one free
 * regeneration after a failed generation where the vendor does not charge for failures.
 */
export const engineOptions = (timeScale: number = defaultTimeScale): Engine.EngineOptions => ({
  polling: { timeScale, jitter: 0, deadline: "60 seconds" },
  retry: { baseDelay: "2 millis", maxDelay: "20 millis", jitter: 0, maxRetries: 3, maxServerDelay: "5 seconds" },
  regeneration: { maxAttempts: 1, allowPaid: false },
  requestTimeout: "10 seconds",
  submitTimeout: "10 seconds",
  download: { idleTimeout: "10 seconds", retry: { attempts: 3, baseDelay: "2 millis", maxDelay: "20 millis" } }
})

/** Settings of `engineLayer`. */
export interface EngineLayerOptions {
  /** The simulator's time scale (default `defaultTimeScale`). */
  readonly timeScale?: number | undefined
  /** A budget limit; none by default (spending is still tracked). */
  readonly limit?: Money.Usd | undefined
  /** Overrides of `engineOptions(timeScale)`, merged one level deep. */
  readonly engine?: Engine.EngineOptions | undefined
  readonly defaultProvider?: string | undefined
}

/** What a provider factory may need: the platform's HTTP client and file system. */
export type ProviderRequirements = HttpClient.HttpClient | FileSystem.FileSystem

/**
 * An engine around `providers`, with everything it needs: a `ProviderRegistry`, a `Budget` (kept in
 * the context so tests can read its snapshot), the undici `HttpClient` and the Node `FileSystem`.
 * Providers may be given as effects (a provider package's `make`): they get the same client.
 *
 * @example
 * ```ts
 * const layer = Testkit.engineLayer([Sora.make({ baseUrl: sim.urls.laozhang, apiKey })])
 * const video = yield* Engine.generateTo(request, output).pipe(Effect.provide(layer))
 * ```
 */
export const engineLayer = <E = never, R = never>(
  providers: ReadonlyArray<VideoProvider.Service | Effect.Effect<VideoProvider.Service, E, R>>,
  options: EngineLayerOptions = {}
): Layer.Layer<
  Engine.Engine | Budget.Budget | ProviderRegistry.ProviderRegistry | HttpClient.HttpClient | FileSystem.FileSystem,
  E | InvalidRequest,
  Exclude<R, ProviderRequirements>
> => {
  const base = engineOptions(options.timeScale)
  const custom = options.engine ?? {}
  const settings: Engine.EngineOptions = {
    ...base,
    ...custom,
    polling: { ...base.polling, ...custom.polling },
    retry: { ...base.retry, ...custom.retry },
    regeneration: { ...base.regeneration, ...custom.regeneration },
    download: { ...base.download, ...custom.download }
  }
  const platform = Layer.merge(NodeHttpClient.layerUndici, NodeFileSystem.layer)
  const registry = Layer.effect(
    ProviderRegistry.ProviderRegistry,
    Effect.flatMap(
      Effect.forEach(providers, (provider) => (Effect.isEffect(provider) ? provider : Effect.succeed(provider))),
      (built) => ProviderRegistry.make(built, { defaultProvider: options.defaultProvider })
    )
  )
  return Engine.layer(settings).pipe(
    Layer.provideMerge(registry),
    Layer.provideMerge(Budget.layer({ limit: options.limit })),
    Layer.provideMerge(platform)
  )
}

/** Every event of a generation, how it ended, and the events' tags in order. */
export interface Collected<E> {
  readonly events: ReadonlyArray<GenerationEvent>
  readonly exit: Exit.Exit<void, E>
  readonly tags: ReadonlyArray<GenerationEvent["_tag"]>
}

/** Runs a stream of events to its end, keeping every event and the exit. Never fails. */
export const collect = <E, R>(stream: Stream.Stream<GenerationEvent, E, R>): Effect.Effect<Collected<E>, never, R> =>
  Effect.gen(function* () {
    const events: Array<GenerationEvent> = []
    const exit = yield* Effect.exit(Stream.runForEach(stream, (event) => Effect.sync(() => events.push(event))))
    return { events, exit, tags: events.map((event) => event._tag) }
  })

/** The typed error a collected generation failed with, or `undefined` when it succeeded (or died). */
export const failureOf = <E>(run: Collected<E>): E | undefined =>
  Exit.isFailure(run.exit) ? Option.getOrUndefined(Cause.failureOption(run.exit.cause)) : undefined

/**
 * The helpers a provider package's own integration tests share, at that package's time scale:
 * `engineLayer` (the testkit's, with `engine` overrides), `collect`, `failureOf` for an `Exit`, a
 * synchronous `tempDir` named after the package, and `png`.
 *
 * @example
 * ```ts
 * // test/support.ts
 * export const { timeScale, engineLayer, collect, failureOf, tempDir, png, savedVideo } = Testkit.providerSupport("apiyi")
 * ```
 */
export const providerSupport = (name: string, timeScale = 1 / 200) => ({
  timeScale,
  engineLayer: <E = never, R = never>(
    providers: ReadonlyArray<VideoProvider.Service | Effect.Effect<VideoProvider.Service, E, R>>,
    engine: Engine.EngineOptions = {}
  ) => engineLayer(providers, { timeScale, engine }),
  collect,
  /** The typed failure of an exit; throws when there is none, so a test can read it directly. */
  failureOf: <A, E>(exit: Exit.Exit<A, E>): E => {
    const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
    if (Option.isNone(failure)) throw new Error(`expected a typed failure, got ${String(exit)}`)
    return failure.value
  },
  tempDir: (): string => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), `reelay-${name}-`)),
  png,
  savedVideo
})

/** The video a run saved, from its `Saved` event; throws when there is none, so a test can read it directly. */
export const savedVideo = (events: ReadonlyArray<GenerationEvent>): SavedVideo => {
  for (const event of events) if (event._tag === "Saved") return event.video
  throw new Error(`expected a Saved event, got ${events.map((event) => event._tag).join(", ")}`)
}

/** What the `Charged` events of one or more generations say was spent. */
export interface ChargesReported {
  /** Certainly spent (`billing: "charged"`). */
  readonly certain: Money.Usd
  /** Possibly spent (`billing: "unknown"`). */
  readonly possible: Money.Usd
  /** The last `Charged` event of each task (of each attempt without a task), in order. */
  readonly charges: ReadonlyArray<Charged>
}

/**
 * Sums the `Charged` events. A task's last word counts: a resumed task that completes turns its
 * earlier `unknown` into `charged`. Charges without a task (a lost create) stand alone. The vendor's
 * ledger must then lie between `certain` and `certain + possible`.
 */
export const chargesOf = (events: Iterable<GenerationEvent>): ChargesReported => {
  const byTask = new Map<string, Charged>()
  for (const event of events) {
    if (event._tag === "Charged") byTask.set(event.taskId ?? `attempt-${byTask.size}`, event)
  }
  const charges = [...byTask.values()]
  return {
    certain: Money.sum(charges.filter((event) => event.billing === "charged").map((event) => event.amount)),
    possible: Money.sum(charges.filter((event) => event.billing === "unknown").map((event) => event.amount)),
    charges
  }
}

/** A fresh temporary directory, removed with its content when the scope closes. */
export const tempDir = (prefix = "reelay-testkit-"): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), prefix))),
    (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
  )

/** Files in `dir` (recursively) whose names end with `.part`: a finished run must leave none. */
export const partFiles = (dir: string): ReadonlyArray<string> =>
  NodeFs.existsSync(dir)
    ? (NodeFs.readdirSync(dir, { recursive: true }) as Array<string>).filter((name) => name.endsWith(".part"))
    : []

/** Whether a connection to `127.0.0.1:port` is refused (nothing listens there). */
const refuses = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = NodeNet.connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "ECONNREFUSED"))
  })

/**
 * A local port nothing listens on: a connection to it is refused, which is how a test reaches
 * `ProviderUnavailable` with `stage: "connect"`. Taken below 1024, where no test's server can land
 * (a server asking for port 0 gets an ephemeral one): a port freed a moment ago could be taken again
 * by another test running at the same time before this one connects.
 */
export const closedPort: Effect.Effect<number> = Effect.promise(async () => {
  for (let port = 1; port < 1024; port++) {
    if (await refuses(port)) return port
  }
  throw new Error("every port below 1024 on 127.0.0.1 accepts connections: no closed port to offer")
})

/** One request a stub server received, body included. */
export interface StubRequest {
  readonly method: string
  readonly path: string
  readonly headers: NodeHttp.IncomingHttpHeaders
  readonly body: Buffer
}

/** A running stub server. */
export interface StubServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string
  readonly url: (path: string) => string
  /** Every request received, in order. */
  readonly requests: ReadonlyArray<StubRequest>
}

/** Answers one request; `index` counts requests from 0. */
export type StubHandler = (
  request: StubRequest,
  response: NodeHttp.ServerResponse,
  index: number,
  socket: NodeHttp.IncomingMessage["socket"]
) => void

/**
 * A real HTTP server on 127.0.0.1, port 0, for a provider's own unit tests of wire shapes the
 * simulator does not produce. The body is read before `handler` runs. Stopped (connections
 * included) when the scope closes.
 */
export const stubServer = (handler: StubHandler): Effect.Effect<StubServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: NodeHttp.Server; readonly stub: StubServer }>((resume) => {
      const requests: Array<StubRequest> = []
      const server = NodeHttp.createServer((request, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => {
          const seen: StubRequest = {
            method: request.method ?? "",
            path: request.url ?? "",
            headers: request.headers,
            body: Buffer.concat(chunks)
          }
          requests.push(seen)
          handler(seen, response, requests.length - 1, request.socket)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        const origin = `http://127.0.0.1:${port}`
        resume(Effect.succeed({ server, stub: { origin, url: (path) => `${origin}${path}`, requests } }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ stub }) => stub))

const fingerprintOf = (apiKey: string | Redacted.Redacted<string>): string =>
  Simulator.fingerprint(Redacted.isRedacted(apiKey) ? Redacted.value(apiKey) : apiKey)

/** The routes on which the simulator creates something billable. */
const createRoutes: ReadonlySet<string> = new Set(["create", "chat"])

/** The create requests the simulator received (async/official `POST /videos`, Sora `POST /chat/completions`), optionally only those made with `apiKey`. */
export const creates = (
  sim: Simulator.Service,
  apiKey?: string | Redacted.Redacted<string>
): Effect.Effect<ReadonlyArray<RequestLog.RequestRecord>> =>
  Effect.map(sim.requests, (requests) => {
    const fingerprint = apiKey === undefined ? undefined : fingerprintOf(apiKey)
    return requests.filter(
      (record) =>
        createRoutes.has(record.route) &&
        (fingerprint === undefined || record.authorization.fingerprint === fingerprint)
    )
  })

/** The ledger's entries, optionally only those charged to `apiKey`. */
export const ledgerOf = (sim: Simulator.Service, apiKey?: string | Redacted.Redacted<string>) =>
  Effect.map(sim.ledger, (entries) => {
    const fingerprint = apiKey === undefined ? undefined : fingerprintOf(apiKey)
    return entries.filter((entry) => fingerprint === undefined || entry.key === fingerprint)
  })

/** Request headers that carry credentials. */
export const credentialHeaders: ReadonlyArray<string> = [
  "authorization",
  "proxy-authorization",
  "x-api-key",
  "api-key",
  "cookie",
  "x-goog-api-key"
]

/** The CDN requests that carried a credential header. A correct client never produces one. */
export const cdnCredentialLeaks = (sim: Simulator.Service): Effect.Effect<ReadonlyArray<RequestLog.CdnRecord>> =>
  Effect.map(sim.cdnRequests, (records) =>
    records.filter(
      (record) =>
        record.authorization.present || Object.keys(record.headers).some((name) => credentialHeaders.includes(name))
    )
  )

/**
 * Waits until every task the simulator holds has ended (completed, failed or expired) on its own
 * timeline, so `on-success` charges that fall due at completion are in the ledger. Gives up after
 * `timeoutMillis` (default 15 s) and returns what is there.
 */
export const settled = (sim: Simulator.Service, timeoutMillis = 15_000): Effect.Effect<void> =>
  Effect.gen(function* () {
    const started = Date.now()
    while (Date.now() - started < timeoutMillis) {
      const now = yield* sim.now
      const tasks = yield* sim.tasks
      if (tasks.every((task) => Date.parse(task.endsAt) <= now || task.status === "expired")) return
      yield* Effect.sleep("20 millis")
    }
  })

/** A valid 1x1 PNG (vendors and the engine check image magic bytes). */
export const png: Uint8Array = Uint8Array.from(
  Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
    "base64"
  )
)
