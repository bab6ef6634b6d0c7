/**
 * The provider conformance suite. Each scenario starts its own simulator, builds the provider with
 * a fresh API key, runs a generation through the engine over real sockets, and compares what the
 * engine reported (events, error, `billing`, budget) with what the simulated vendor saw and charged
 * (request log, CDN log, ledger). Expected charges come from the vendors' rules (`VendorRules`).
 *
 * @example
 * ```ts
 * // packages/provider-x/test/conformance.test.ts
 * import { Conformance } from "@reelay/testkit"
 * import * as X from "../src/X.js"
 *
 * Conformance.run({
 *   name: "x",
 *   host: "laozhang",
 *   protocol: "async",
 *   provider: ({ baseUrl, apiKey }) => X.make({ baseUrl, apiKey }),
 *   textModel: "veo-3.1-fast",
 *   imageModel: "veo-3.1-fast-fl"
 * })
 * ```
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, describe, it } from "@effect/vitest"
import type { BillingOutcome } from "@reelay/core/Billing"
import * as Budget from "@reelay/core/Budget"
import * as Engine from "@reelay/core/Engine"
import { BytesSource, GenerateRequest, ImageInput, type ImageRole, UrlSource } from "@reelay/core/GenerateRequest"
import * as GenerationEvent from "@reelay/core/GenerationEvent"
import type { ModelSpec } from "@reelay/core/ModelSpec"
import * as Money from "@reelay/core/Money"
import type * as Polling from "@reelay/core/Polling"
import * as ProviderRegistry from "@reelay/core/ProviderRegistry"
import type { SavedVideo } from "@reelay/core/SavedVideo"
import type { TaskHandle } from "@reelay/core/TaskHandle"
import * as Validation from "@reelay/core/Validation"
import type { VideoError } from "@reelay/core/VideoError"
import * as VideoProvider from "@reelay/core/VideoProvider"
import * as SimModels from "@reelay/simulator/Models"
import type * as Simulator from "@reelay/simulator/Simulator"
import * as BigDecimal from "effect/BigDecimal"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Testkit from "./Testkit.js"
import * as VendorRules from "./VendorRules.js"

/** Every scenario, by name (see the package README for what each checks). */
export const scenarioNames = [
  "catalog",
  "text-to-video",
  "sizes-and-durations",
  "image-url",
  "image-bytes",
  "first-last-frame",
  "local-refusal",
  "429-retried",
  "503-retried",
  "500-retried",
  "429-exhausted",
  "connection-refused",
  "reset-before-create",
  "reset-after-create",
  "malformed-create",
  "502-create",
  "504-create",
  "late-create-answer",
  "malformed-event",
  "unauthorized",
  "insufficient-balance",
  "invalid-request",
  "content-policy-create",
  "content-policy-task",
  "generation-failed",
  "status-retried",
  "status-malformed",
  "status-unknown",
  "content-retried",
  "status-retry-after",
  "content-retry-after",
  "download-resumed",
  "task-expired",
  "poll-timeout-resume",
  "stream-deadline",
  "sse-cut"
] as const

/** The name of one scenario. */
export type ScenarioName = (typeof scenarioNames)[number]

/** What the provider factory gets for one scenario. */
export interface ProviderContext {
  /** The scenario's simulator. */
  readonly urls: Simulator.Urls
  /** The base URL of `host` on that simulator, `/v1` included (`urls.laozhang` or `urls.apiyi`). */
  readonly baseUrl: string
  /** The scenario's own key. `sk-invalid…` and `sk-nofunds…` keys make the simulator answer 401 and 402. */
  readonly apiKey: Redacted.Redacted<string>
}

/** What the suite needs to know about a provider. */
export interface Options {
  /** Shown in the `describe` title. */
  readonly name: string
  /** The simulated host the provider talks to. */
  readonly host: SimModels.Host
  /** The wire protocol, which decides the vendor's charge rule and the scenarios that apply. */
  readonly protocol: VendorRules.Protocol
  /**
   * Builds the provider for one scenario (usually the package's `make`). It is also called once at
   * registration, against placeholder URLs, to read the catalog: it must not do I/O.
   */
  readonly provider: (
    context: ProviderContext
  ) => Effect.Effect<VideoProvider.Service, unknown, Testkit.ProviderRequirements>
  /** A model of the catalog for the text-to-video and error scenarios. */
  readonly textModel: string
  /** A model that takes images; the image scenarios follow its capabilities. */
  readonly imageModel?: string | undefined
  /** Scenarios not to run, each with the reason, shown as skipped tests. */
  readonly skip?: Partial<Record<ScenarioName, string>> | undefined
  /** The simulator's time scale and the engine's polling scale (default `Testkit.defaultTimeScale`). */
  readonly timeScale?: number | undefined
  /** Per-test timeout in milliseconds (default 30 000). */
  readonly timeout?: number | undefined
  /** More simulator options; the suite sets `timeScale` and the system clock unless given here. */
  readonly simulator?: Simulator.Options | undefined
}

/** One scenario as a plain Effect, for use outside vitest. */
export interface Scenario {
  readonly name: ScenarioName
  readonly description: string
  /** Why the scenario does not run, when `options.skip` names it. */
  readonly skip?: string | undefined
  readonly run: Effect.Effect<void, unknown>
}

// ---------------------------------------------------------------------------------------------
// One scenario's world: its simulator, output directory, key, provider and engine.
// ---------------------------------------------------------------------------------------------

type EngineContext = Context.Context<
  Engine.Engine | Budget.Budget | ProviderRegistry.ProviderRegistry | HttpClient.HttpClient
>

interface World {
  readonly options: Options
  readonly rule: VendorRules.Rule
  readonly sim: Simulator.Service
  readonly dir: string
  readonly apiKey: Redacted.Redacted<string>
  readonly provider: VideoProvider.Service
  readonly context: EngineContext
  /** Every generation's events, for the invariants checked at the end. */
  readonly runs: Array<Testkit.Collected<VideoError>>
  /** The `@sim:` directives the scenario's prompts carried; each must show in the vendor's logs. */
  readonly directives: Array<string>
}

interface SetupOptions {
  /** The key's prefix (default `sk-conformance`). */
  readonly keyPrefix?: string
  /** Points the provider somewhere else than the simulator's host (a closed port, say). */
  readonly baseUrl?: (context: ProviderContext) => Effect.Effect<string>
  /** Overrides of the engine's settings (`Testkit.engineOptions`) for this scenario. */
  readonly engine?: Engine.EngineOptions
}

const timeScaleOf = (options: Options) => options.timeScale ?? Testkit.defaultTimeScale

const setup = (
  options: Options,
  name: ScenarioName,
  settings: SetupOptions = {}
): Effect.Effect<World, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const sim = yield* Testkit.simulator({ timeScale: timeScaleOf(options), ...options.simulator })
    const dir = yield* Testkit.tempDir(`reelay-conformance-${name}-`)
    const apiKey = Redacted.make(`${settings.keyPrefix ?? "sk-conformance"}-${name}`)
    const base: ProviderContext = { urls: sim.urls, baseUrl: sim.urls[options.host], apiKey }
    const context = { ...base, baseUrl: settings.baseUrl === undefined ? base.baseUrl : yield* settings.baseUrl(base) }
    const built = yield* Layer.build(
      Testkit.engineLayer([options.provider(context)], { timeScale: timeScaleOf(options), engine: settings.engine })
    )
    const provider = Context.get(built, ProviderRegistry.ProviderRegistry).providers[0]!
    return {
      options,
      rule: VendorRules.ruleOf[options.protocol],
      sim,
      dir,
      apiKey,
      provider,
      context: built,
      runs: [],
      directives: []
    }
  })

const modelOf = (world: World, id: string): ModelSpec => {
  const model = VideoProvider.findModel(world.provider, id)
  assert.isDefined(model, `model ${id} is not in the catalog of ${world.provider.id}`)
  return model!
}

const basePrompt = "A red fox running through fresh snow at dawn"
/** Short, fixed phases (simulator seconds, unscaled) for the error scenarios. */
const quick = "@sim:timing(queue=0.02,run=0.12)"

const requestFor = (
  world: World,
  fields: Partial<Omit<ConstructorParameters<typeof GenerateRequest>[0], "provider">> = {}
): GenerateRequest =>
  GenerateRequest.make({ prompt: basePrompt, model: world.options.textModel, ...fields, provider: world.provider.id })

const generate = (
  world: World,
  request: GenerateRequest,
  options: { readonly output?: string; readonly polling?: Partial<Polling.PollingOptions> } = {}
) =>
  Testkit.collect(
    Engine.generate(request, {
      output: options.output ?? NodePath.join(world.dir, `video-${world.runs.length + 1}.mp4`),
      ...(options.polling === undefined ? {} : { polling: options.polling })
    })
  ).pipe(
    Effect.provide(world.context),
    Effect.tap((run) => Effect.sync(() => world.runs.push(run)))
  )

const errorOf = (run: Testkit.Collected<VideoError>): VideoError | undefined => Testkit.failureOf(run)

const describeExit = (run: Testkit.Collected<VideoError>): string => {
  const error = errorOf(run)
  if (error !== undefined) return `${error._tag} (billing ${error.billing}): ${error.message}`
  return Exit.isSuccess(run.exit) ? "success" : Cause.pretty(run.exit.cause)
}

const savedOf = (run: Testkit.Collected<VideoError>): SavedVideo | undefined => {
  for (const event of run.events) if (event._tag === "Saved") return event.video
  return undefined
}

const submittedOf = (run: Testkit.Collected<VideoError>): TaskHandle | undefined => {
  for (const event of run.events) if (event._tag === "Submitted") return event.handle
  return undefined
}

const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex")

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

interface Expectation {
  /** A video is saved (otherwise the generation fails with one of `error`). */
  readonly saved?: boolean
  readonly error?: ReadonlyArray<VideoError["_tag"]>
  readonly billing?: BillingOutcome
  /** Creates the simulator received with this scenario's key (a list: any of these counts). */
  readonly creates: number | ReadonlyArray<number>
  /** Whether the creates share one idempotency key (a retried create) or each has its own (new tasks). */
  readonly keys?: "same" | "distinct"
  /** Ledger entries once every task has ended on the vendor's side. */
  readonly ledger: number
}

/** The ledger after every `on-success` charge that will fall due has (tasks keep running after we stop). */
const finalLedger = (world: World) =>
  Effect.zipRight(
    world.rule === "on-success" ? Testkit.settled(world.sim) : Effect.void,
    Testkit.ledgerOf(world.sim, world.apiKey)
  )

const checkCreates = (world: World, expected: Expectation) =>
  Effect.gen(function* () {
    const creates = yield* Testkit.creates(world.sim, world.apiKey)
    const counts = typeof expected.creates === "number" ? [expected.creates] : expected.creates
    assert.include(
      counts,
      creates.length,
      `creates received by the vendor: ${creates.length}, expected ${counts.join(" or ")} (${creates.map((c) => c.status ?? c.outcome).join(", ")})`
    )
    for (const create of creates) {
      assert.isString(create.idempotencyKey, "every create carries an Idempotency-Key header")
    }
    const keys = new Set(creates.map((create) => create.idempotencyKey))
    if (expected.keys === "same")
      assert.strictEqual(keys.size, 1, "every attempt of one submission reuses its Idempotency-Key")
    if (expected.keys === "distinct") {
      assert.strictEqual(keys.size, creates.length, "each new task is asked for with a new Idempotency-Key")
    }
    return creates
  })

const checkLedger = (world: World, model: ModelSpec, expected: number) =>
  Effect.gen(function* () {
    const entries = yield* finalLedger(world)
    assert.strictEqual(
      entries.length,
      expected,
      `the vendor's ledger (${world.rule}) should show ${expected} charge(s); it shows ${entries.length}`
    )
    for (const entry of entries) {
      assert.isTrue(
        BigDecimal.equals(Money.usd(entry.amount), model.price),
        `the vendor charged ${entry.amount}; the catalog says ${Money.format(model.price)}`
      )
      assert.strictEqual(entry.rule, world.rule)
      assert.strictEqual(entry.model, model.id)
    }
    return entries
  })

/** Checks one generation's outcome against the expectation and the vendor's records. */
const expectRun = (world: World, run: Testkit.Collected<VideoError>, model: ModelSpec, expected: Expectation) =>
  Effect.gen(function* () {
    if (expected.saved === true) {
      assert.isTrue(Exit.isSuccess(run.exit), `expected a saved video, got ${describeExit(run)}`)
      assert.isDefined(savedOf(run), "a Saved event")
    } else {
      const error = errorOf(run)
      assert.isDefined(error, `expected ${expected.error?.join(" or ")}, got ${describeExit(run)}`)
      if (expected.error !== undefined) {
        assert.include(expected.error, error!._tag, `expected ${expected.error.join(" or ")}, got ${describeExit(run)}`)
      }
      if (expected.billing !== undefined) {
        assert.strictEqual(error!.billing, expected.billing, `billing of ${error!._tag}: ${error!.message}`)
      }
      const failed = run.events.at(-1)
      assert.strictEqual(failed?._tag, "Failed", "a failed generation ends with a Failed event")
    }
    yield* checkCreates(world, expected)
    yield* checkLedger(world, model, expected.ledger)
  })

/** What the vendor produced for `taskId`, and checks that the saved file is exactly it. */
const verifySaved = (world: World, run: Testkit.Collected<VideoError>, model: ModelSpec, request: GenerateRequest) =>
  Effect.sync(() => {
    const video = savedOf(run)
    assert.isDefined(video, `expected a saved video, got ${describeExit(run)}`)
    const saved = video!
    assert.isTrue(NodeFs.existsSync(saved.path), `${saved.path} exists`)
    const bytes = NodeFs.readFileSync(saved.path)
    assert.strictEqual(bytes.length, saved.bytes, "SavedVideo.bytes is the file's size")
    assert.strictEqual(sha256(bytes), saved.sha256, "SavedVideo.sha256 is the file's hash")
    assert.isDefined(saved.taskId, "the saved video names its task")
    const task = world.sim.state.tasks.find(saved.taskId!)
    assert.isDefined(task, `the vendor knows task ${saved.taskId}`)
    const delivered = task!.asset.fixture.bytes
    if (task!.asset.size === delivered.length) {
      assert.strictEqual(saved.sha256, sha256(delivered), "the saved file is byte for byte the vendor's video")
    }
    const expected = Validation.expectedOutput(model, request)
    assert.strictEqual(saved.probe.size, expected.size, "the frame size asked for")
    assert.strictEqual(task!.size, expected.size, "the vendor produced the frame size asked for")
    assert.approximately(saved.probe.durationSeconds, expected.seconds, 0.5, "the duration asked for")
    assert.strictEqual(task!.seconds, expected.seconds, "the vendor produced the duration asked for")
    assert.strictEqual(saved.probe.hasAudio, model.capabilities.audio, "an audio track as the catalog says")
    assert.strictEqual(saved.model, model.id)
    const submitted = submittedOf(run)
    assert.strictEqual(submitted?.taskId, saved.taskId, "Submitted and Saved name the same task")
    return { video: saved, task: task! }
  })

/** Invariants of every scenario, over every generation it ran. */
const checkInvariants = (world: World) =>
  Effect.gen(function* () {
    const secret = Redacted.value(world.apiKey)
    for (const run of world.runs) {
      let last = Number.NEGATIVE_INFINITY
      for (const event of run.events) {
        if (event._tag !== "Progress") continue
        assert.isAtLeast(event.percent, 0)
        assert.isAtMost(event.percent, 100)
        assert.isAtLeast(event.percent, last, "Progress never goes down")
        last = event.percent
      }
      for (const event of run.events) {
        const text = JSON.stringify(GenerationEvent.encode(event))
        assert.notInclude(text, secret, `the API key appears in a ${event._tag} event`)
      }
      const error = errorOf(run)
      if (error !== undefined)
        assert.notInclude(`${error.message} ${JSON.stringify(error)}`, secret, "the API key appears in an error")
    }
    assert.deepStrictEqual(Testkit.partFiles(world.dir), [], "no .part file is left behind")
    const leaks = yield* Testkit.cdnCredentialLeaks(world.sim)
    assert.deepStrictEqual(
      leaks.map((record) => `${record.method} ${record.path}`),
      [],
      "no credential reached the CDN"
    )
    // The engine's money must agree with the vendor's: certain charges are exactly the ledger, and
    // where billing is unknown the ledger lies between what is certain and what is possible.
    const budget = Context.get(world.context, Budget.Budget)
    const snapshot = yield* budget.snapshot
    assert.isTrue(BigDecimal.equals(snapshot.reserved, Money.zero), "nothing stays reserved")
    // A task's last word on its charge is what counts (see `Testkit.chargesOf`).
    const { certain, possible } = Testkit.chargesOf(world.runs.flatMap((run) => run.events))
    assert.isTrue(BigDecimal.equals(snapshot.spent, certain), "the budget spent what the Charged events say")
    assert.isTrue(BigDecimal.equals(snapshot.uncertain, possible), "the budget holds what is unknown as uncertain")
    const ledger = yield* finalLedger(world)
    const vendor = Money.sum(ledger.map((entry) => Money.usd(entry.amount)))
    if (BigDecimal.equals(possible, Money.zero)) {
      assert.isTrue(
        BigDecimal.equals(vendor, certain),
        `the vendor charged ${Money.format(vendor)}, reelay reports ${Money.format(certain)} charged`
      )
    } else {
      assert.isTrue(
        BigDecimal.lessThanOrEqualTo(certain, vendor) &&
          BigDecimal.lessThanOrEqualTo(vendor, BigDecimal.sum(certain, possible)),
        `the vendor charged ${Money.format(vendor)}, reelay reports ${Money.format(certain)} charged and ${Money.format(possible)} unknown`
      )
    }
  })

/** The CDN (or, for bytes served by the API, the API) delivered the video, credentials only to the API. */
const checkDelivery = (world: World, run: Testkit.Collected<VideoError>, taskId: string) =>
  Effect.gen(function* () {
    const succeeded = run.events.find((event) => event._tag === "Succeeded")
    assert.isDefined(succeeded, "a Succeeded event")
    const asset = succeeded?._tag === "Succeeded" ? succeeded.asset : undefined
    const cdn = (yield* world.sim.cdnRequests).filter((record) => record.taskId === taskId)
    const onCdn = asset?._tag === "Url" && new URL(asset.url).origin === new URL(world.sim.urls.cdn).origin
    if (onCdn) {
      assert.isAbove(cdn.length, 0, "the video was fetched from the CDN")
      for (const record of cdn) assert.isFalse(record.authorization.present, "no Authorization on the CDN")
    } else {
      assert.strictEqual(cdn.length, 0, "a video served by the API is not fetched from the CDN")
      const content = (yield* world.sim.requests).filter(
        (record) =>
          record.route === "content" && record.taskId === taskId && record.status !== null && record.status < 300
      )
      assert.isAbove(content.length, 0, "the video was fetched from the API")
      for (const record of content) assert.isTrue(record.authorization.present, "the API's own key goes to the API")
    }
  })

/**
 * Every directive a scenario sent was applied by the vendor (a scenario whose fault never happened
 * would pass without testing anything).
 */
const checkDirectivesApplied = (world: World) =>
  Effect.gen(function* () {
    const requests = yield* world.sim.requests
    const cdn = yield* world.sim.cdnRequests
    for (const name of world.directives) {
      const applied =
        requests.some((record) => record.faults.some((fault) => fault.startsWith(`@sim:${name}`))) ||
        (name === "truncate" && cdn.some((record) => record.truncated))
      assert.isTrue(applied, `the simulator applied @sim:${name}`)
    }
  })

/** Runs `body` in a fresh world, then the invariants. */
const scenario = (
  options: Options,
  name: ScenarioName,
  body: (world: World) => Effect.Effect<void, unknown>,
  settings?: SetupOptions
): Effect.Effect<void, unknown> =>
  Effect.scoped(
    Effect.gen(function* () {
      const world = yield* setup(options, name, settings)
      yield* body(world)
      yield* checkDirectivesApplied(world)
      yield* checkInvariants(world)
    })
  )

/** A generation that must be saved: verified, one create, one charge. */
const savedOnce = (
  world: World,
  request: GenerateRequest,
  expected: Partial<Expectation> = {}
): Effect.Effect<Testkit.Collected<VideoError>> =>
  Effect.gen(function* () {
    const model = modelOf(world, request.model!)
    const run = yield* generate(world, request)
    const { task } = yield* verifySaved(world, run, model, request)
    yield* expectRun(world, run, model, { saved: true, creates: 1, keys: "same", ledger: 1, ...expected })
    const ledger = yield* Testkit.ledgerOf(world.sim, world.apiKey)
    assert.include(
      ledger.map((entry) => entry.taskId),
      task.id,
      "the vendor charged the task whose video was saved"
    )
    yield* checkDelivery(world, run, task.id)
    return run
  })

/** A generation that must fail as expected. */
const fails = (world: World, request: GenerateRequest, expected: Expectation) =>
  Effect.gen(function* () {
    const model = modelOf(world, request.model!)
    const run = yield* generate(world, request)
    yield* expectRun(world, run, model, expected)
    return run
  })

const retries = (run: Testkit.Collected<VideoError>, operation: string) =>
  run.events.filter((event) => event._tag === "Retrying" && event.operation === operation)

/**
 * A create the vendor may have acted on although its answer never arrived (a gateway's 502 / 504, an
 * answer after the client's timeout): it must end as `UncertainSubmission` (billing `unknown`), never
 * be repeated as a fresh create, and never be reported as not charged. The vendor's side (its request
 * log and ledger) is compared with what reelay reported, and a failure says both.
 */
const uncertainCreate = (world: World, request: GenerateRequest, what: string) =>
  Effect.gen(function* () {
    const model = modelOf(world, request.model!)
    const run = yield* generate(world, request)
    // The ledger first: it waits for the vendor's tasks to end, by when the log has settled too.
    const ledger = yield* finalLedger(world)
    const creates = yield* Testkit.creates(world.sim, world.apiKey)
    const tasks = new Set(creates.flatMap((create) => (create.taskId === null ? [] : [create.taskId])))
    const vendor = Money.sum(ledger.map((entry) => Money.usd(entry.amount)))
    const { certain, possible } = Testkit.chargesOf(run.events)
    const story =
      `the vendor received ${creates.length} create(s) (${creates.map((c) => c.status ?? c.outcome).join(", ")}), ` +
      `created ${tasks.size} task(s) and charges ${ledger.length} (${Money.format(vendor)}) by its ${world.rule} rule; ` +
      `reelay reported ${describeExit(run)}, ${Money.format(certain)} charged and ${Money.format(possible)} unknown`
    assert.strictEqual(
      creates.length,
      1,
      `${what}: a task may exist, so the create must not be repeated as a fresh one — ${story}`
    )
    assert.isTrue(
      BigDecimal.lessThanOrEqualTo(vendor, BigDecimal.sum(certain, possible)),
      `${what}: the vendor charges more than reelay reported as charged or unknown — ${story}`
    )
    const error = errorOf(run)
    assert.strictEqual(error?._tag, "UncertainSubmission", `${what}: expected UncertainSubmission — ${story}`)
    assert.strictEqual(error?.billing, "unknown", `${what}: the charge is unknown, not known — ${story}`)
    yield* expectRun(world, run, model, { error: ["UncertainSubmission"], billing: "unknown", creates: 1, ledger: 1 })
  })

/**
 * After the vendor's 429 with a Retry-After on `route`, the next request on that route came no sooner
 * than the hint: read from the vendor's request log (arrival times on its clock), not from reelay's
 * `Retrying` events.
 */
const checkRetryAfterHonoured = (world: World, route: string, hintMillis: number) =>
  Effect.gen(function* () {
    const fingerprint = (yield* Testkit.creates(world.sim, world.apiKey))[0]?.authorization.fingerprint
    const requests = (yield* world.sim.requests).filter(
      (record) => record.route === route && record.authorization.fingerprint === fingerprint
    )
    const limited = requests.findIndex((record) => record.status === 429)
    assert.isAtLeast(limited, 0, `the vendor answered a ${route} request with 429`)
    const next = requests[limited + 1]
    assert.isDefined(next, `the ${route} request was made again after the 429`)
    const waited = Date.parse(next!.at) - Date.parse(requests[limited]!.at)
    // A millisecond of slack: the log's clock and the client's timers round differently.
    assert.isAtLeast(
      waited,
      hintMillis - 1,
      `the vendor asked to wait ${hintMillis} ms (Retry-After) after a 429 on ${route}; the next ${route} request came ${waited} ms later`
    )
  })

// ---------------------------------------------------------------------------------------------
// The scenarios
// ---------------------------------------------------------------------------------------------

const unusedAspectRatio = (model: ModelSpec): string =>
  ["1:1", "4:3", "3:4", "21:9", "5:4"].find((ratio) => !model.capabilities.aspectRatios.includes(ratio)) ?? "7:3"

/**
 * An image host on 127.0.0.1 for the scenario's scope: a link that really serves the PNG, whether the
 * vendor takes links as they are or the provider fetches them and uploads the bytes.
 */
const imageHost = Testkit.stubServer((_request, response) => {
  response.writeHead(200, { "content-type": "image/png", "content-length": String(Testkit.png.length) })
  response.end(Testkit.png)
})

const imageInput = (role: ImageRole, transport: "url" | "bytes") =>
  Effect.map(
    transport === "url" ? Effect.map(imageHost, (host) => host.url(`/reelay/${role}.png`)) : Effect.succeed(undefined),
    (url) =>
      new ImageInput({
        role,
        source:
          url !== undefined
            ? new UrlSource({ url })
            : new BytesSource({ bytes: Testkit.png, mimeType: "image/png", fileName: `${role}.png` })
      })
  )

interface Definition {
  readonly name: ScenarioName
  readonly description: string
  readonly applies: boolean
  readonly run: Effect.Effect<void, unknown>
}

const definitions = (options: Options, catalog: ReadonlyArray<ModelSpec>): ReadonlyArray<Definition> => {
  const protocol = options.protocol
  const rule = VendorRules.ruleOf[protocol]
  const polled = protocol !== "sora"
  const textSpec = catalog.find((model) => model.id === options.textModel)
  const imageSpec = options.imageModel === undefined ? undefined : catalog.find((m) => m.id === options.imageModel)
  const imageRole: ImageRole | undefined =
    imageSpec === undefined
      ? undefined
      : imageSpec.capabilities.imageInput !== "none"
        ? "first-frame"
        : imageSpec.capabilities.referenceImages > 0
          ? "reference"
          : undefined
  const transports = imageSpec?.capabilities.imageTransports ?? []
  const failedCharged = VendorRules.chargesFailedGeneration(rule)
  const acceptedCharged = VendorRules.chargesOnAcceptance(rule)
  const maxRetries = Testkit.engineOptions().retry?.maxRetries ?? 3
  // The hint of the Retry-After scenarios: far above the engine's own backoff (2-20 ms), far below
  // its `maxServerDelay`.
  const retryAfterSeconds = 0.3
  // The engine's create timeout in `late-create-answer`: the vendor holds its answer far longer.
  const lateSubmitTimeout = "1500 millis"
  const def = (
    name: ScenarioName,
    description: string,
    applies: boolean,
    body: (world: World) => Effect.Effect<void, unknown>,
    settings?: SetupOptions
  ): Definition => ({ name, description, applies, run: scenario(options, name, body, settings) })
  const withPrompt = (world: World, directives: string) => {
    for (const match of directives.matchAll(/@sim:([a-z0-9-]+)/g)) world.directives.push(match[1]!)
    return requestFor(world, { prompt: `${basePrompt} ${directives}` })
  }

  return [
    def("catalog", "every model exists on the host, with the vendor's price and charge rule", true, (world) =>
      Effect.sync(() => {
        assert.isDefined(modelOf(world, world.provider.defaultModel), "the default model is in the catalog")
        modelOf(world, options.textModel)
        if (options.imageModel !== undefined) {
          const image = modelOf(world, options.imageModel)
          assert.isTrue(
            image.capabilities.imageInput !== "none" || image.capabilities.referenceImages > 0,
            `${image.id} takes images`
          )
        }
        for (const model of world.provider.models) {
          const vendor = SimModels.find(options.host, model.id)
          assert.isDefined(vendor, `${options.host} serves ${model.id}`)
          assert.strictEqual(vendor!.protocol, protocol, `${model.id} is a ${protocol} model`)
          assert.isTrue(
            BigDecimal.equals(model.price, Money.usd(vendor!.price)),
            `${model.id} costs ${vendor!.price} at ${options.host}; the catalog says ${Money.format(model.price)}`
          )
          assert.strictEqual(model.chargePolicy, rule, `${model.id} is charged ${rule}`)
        }
      })
    ),
    def("text-to-video", "saved, byte for byte the vendor's video, charged once", true, (world) =>
      Effect.gen(function* () {
        const request = requestFor(world)
        const run = yield* savedOnce(world, request)
        const tags = run.tags.filter((tag) => tag !== "Downloading" && tag !== "Progress" && tag !== "Queued")
        assert.deepStrictEqual(tags.slice(0, 3), ["Validated", "Submitting", "Submitted"])
        assert.strictEqual(tags.at(-1), "Saved")
        const charged = run.events.filter((event) => event._tag === "Charged")
        assert.deepStrictEqual(
          charged.map((event) => event.billing),
          ["charged"],
          "one Charged event, charged"
        )
        const submitting = run.events.find((event) => event._tag === "Submitting")
        const [create] = yield* Testkit.creates(world.sim, world.apiKey)
        assert.strictEqual(
          create?.idempotencyKey,
          submitting?._tag === "Submitting" ? submitting.idempotencyKey : undefined,
          "the create carries the engine's Idempotency-Key"
        )
        if (!polled)
          assert.isAbove(run.tags.filter((tag) => tag === "Progress").length, 0, "the stream reports progress")
      })
    ),
    def(
      "sizes-and-durations",
      "every size and duration of the catalog is delivered as asked",
      textSpec !== undefined && (textSpec.capabilities.sizes.length > 1 || textSpec.capabilities.durations.length > 1),
      (world) =>
        Effect.gen(function* () {
          const model = modelOf(world, options.textModel)
          const [defaultSize] = model.capabilities.sizes
          const [defaultSeconds] = model.capabilities.durations
          const wanted = [
            ...model.capabilities.sizes.map((size) => ({ size, seconds: defaultSeconds })),
            ...model.capabilities.durations.slice(1).map((seconds) => ({ size: defaultSize, seconds }))
          ]
          let saved = 0
          for (const { size, seconds } of wanted) {
            const request = requestFor(world, { prompt: `${basePrompt} ${quick}`, size, seconds })
            const run = yield* generate(world, request)
            const error = errorOf(run)
            if (error?._tag === "InvalidRequest" && !run.tags.includes("Submitting")) continue
            yield* verifySaved(world, run, model, request)
            saved++
          }
          assert.isAbove(saved, 0, "at least one combination is generated")
          yield* checkCreates(world, { creates: saved, keys: "distinct", ledger: saved })
          yield* checkLedger(world, model, saved)
        })
    ),
    def(
      "image-url",
      "one image by URL reaches the vendor; saved, charged once",
      imageRole !== undefined && transports.includes("url"),
      (world) =>
        Effect.gen(function* () {
          const images = [yield* imageInput(imageRole!, "url")]
          const request = requestFor(world, { model: options.imageModel, images })
          const run = yield* savedOnce(world, request)
          const task = world.sim.state.tasks.find(savedOf(run)!.taskId!)
          assert.strictEqual(task?.images, 1, "the vendor received one image")
        }).pipe(Effect.scoped)
    ),
    def(
      "image-bytes",
      "one image as bytes reaches the vendor; saved, charged once",
      imageRole !== undefined && transports.includes("bytes"),
      (world) =>
        Effect.gen(function* () {
          const request = requestFor(world, {
            model: options.imageModel,
            images: [yield* imageInput(imageRole!, "bytes")]
          })
          const run = yield* savedOnce(world, request)
          const task = world.sim.state.tasks.find(savedOf(run)!.taskId!)
          assert.strictEqual(task?.images, 1, "the vendor received one image")
        }).pipe(Effect.scoped)
    ),
    def(
      "first-last-frame",
      "a first and a last frame reach the vendor; saved, charged once",
      imageSpec?.capabilities.imageInput === "first-last-frame",
      (world) =>
        Effect.gen(function* () {
          const transport = transports.includes("bytes") ? "bytes" : "url"
          const request = requestFor(world, {
            model: options.imageModel,
            images: [yield* imageInput("first-frame", transport), yield* imageInput("last-frame", transport)]
          })
          const run = yield* savedOnce(world, request)
          const task = world.sim.state.tasks.find(savedOf(run)!.taskId!)
          assert.strictEqual(task?.images, 2, "the vendor received two images")
        }).pipe(Effect.scoped)
    ),
    def("local-refusal", "a request the catalog refuses sends nothing", true, (world) =>
      Effect.gen(function* () {
        const model = modelOf(world, options.textModel)
        const run = yield* generate(world, requestFor(world, { aspectRatio: unusedAspectRatio(model) }))
        assert.strictEqual(errorOf(run)?._tag, "InvalidRequest", describeExit(run))
        assert.strictEqual(errorOf(run)?.billing, "not-charged")
        assert.notInclude(run.tags, "Submitting", "nothing was submitted")
        assert.strictEqual((yield* world.sim.requests).length, 0, "the vendor received nothing")
        yield* checkLedger(world, model, 0)
      })
    ),
    def("429-retried", "a 429 before the create is retried after the server's delay, same key", true, (world) =>
      Effect.gen(function* () {
        const run = yield* savedOnce(world, withPrompt(world, `${quick} @sim:429(retry-after=0.02)`), { creates: 2 })
        const waits = retries(run, "submit")
        assert.strictEqual(waits.length, 1, "retried once")
        assert.isAtLeast(waits[0]?._tag === "Retrying" ? waits[0].delayMillis : 0, 20, "after the server's retry-after")
      })
    ),
    def("503-retried", "503s before the create are retried, same key", true, (world) =>
      Effect.asVoid(savedOnce(world, withPrompt(world, `${quick} @sim:503(times=2)`), { creates: 3 }))
    ),
    def("500-retried", "a 500 before the create is retried, same key", true, (world) =>
      Effect.asVoid(savedOnce(world, withPrompt(world, `${quick} @sim:500`), { creates: 2 }))
    ),
    def("429-exhausted", "429s that never end: RateLimited once retries run out, nothing charged", true, (world) =>
      Effect.asVoid(
        fails(world, withPrompt(world, "@sim:429(times=always,retry-after=0.01)"), {
          error: ["RateLimited"],
          billing: "not-charged",
          creates: maxRetries + 1,
          keys: "same",
          ledger: 0
        })
      )
    ),
    def(
      "connection-refused",
      "nothing listens: ProviderUnavailable(connect), retried, nothing charged",
      true,
      (world) =>
        Effect.gen(function* () {
          const run = yield* fails(world, requestFor(world), {
            error: ["ProviderUnavailable"],
            billing: "not-charged",
            creates: 0,
            ledger: 0
          })
          const error = errorOf(run)
          assert.strictEqual(error?._tag === "ProviderUnavailable" ? error.stage : undefined, "connect")
          assert.isAbove(retries(run, "submit").length, 0, "a refused connection is retried")
        }),
      {
        baseUrl: ({ baseUrl }) =>
          Effect.map(Testkit.closedPort, (port) => `http://127.0.0.1:${port}${new URL(baseUrl).pathname}`)
      }
    ),
    def("reset-before-create", "the connection breaks after sending: UncertainSubmission, not retried", true, (world) =>
      Effect.asVoid(
        fails(world, withPrompt(world, "@sim:reset-before-create"), {
          error: ["UncertainSubmission"],
          billing: "unknown",
          creates: 1,
          ledger: 0
        })
      )
    ),
    def(
      "reset-after-create",
      "the answer to a create is lost: UncertainSubmission, not retried; the vendor charged by its rule",
      true,
      (world) =>
        Effect.asVoid(
          fails(world, withPrompt(world, `${quick} @sim:reset-after-create`), {
            error: ["UncertainSubmission"],
            billing: "unknown",
            creates: 1,
            // The task exists: charged now (per-request, on-response) or when it completes (on-success).
            ledger: 1
          })
        )
    ),
    def(
      "malformed-create",
      "an unreadable create answer: UncertainSubmission, not retried; the vendor charged by its rule",
      polled,
      (world) =>
        Effect.asVoid(
          fails(world, withPrompt(world, `${quick} @sim:malformed(on=create)`), {
            error: ["UncertainSubmission"],
            billing: "unknown",
            creates: 1,
            ledger: 1
          })
        )
    ),
    def(
      "502-create",
      "a gateway's 502 to a create the vendor acted on: UncertainSubmission, never repeated, never called free",
      true,
      (world) => uncertainCreate(world, withPrompt(world, `${quick} @sim:502`), "a 502 from the gateway to a create")
    ),
    def(
      "504-create",
      "a gateway's 504 to a create the vendor acted on: UncertainSubmission, never repeated, never called free",
      true,
      (world) => uncertainCreate(world, withPrompt(world, `${quick} @sim:504`), "a 504 from the gateway to a create")
    ),
    def(
      "late-create-answer",
      "the vendor creates the task but answers after the client's timeout: UncertainSubmission, never repeated",
      true,
      (world) =>
        uncertainCreate(
          world,
          withPrompt(world, `${quick} @sim:slow-after-create(ms=60000,times=always)`),
          "a create answered only after the client's timeout"
        ),
      { engine: { submitTimeout: lateSubmitTimeout } }
    ),
    def("malformed-event", "a garbled stream event is skipped; saved, charged once", !polled, (world) =>
      Effect.asVoid(savedOnce(world, withPrompt(world, `${quick} @sim:malformed(on=create)`)))
    ),
    def(
      "unauthorized",
      "a refused key: AuthenticationFailed, not retried, nothing charged",
      true,
      (world) =>
        Effect.asVoid(
          fails(world, requestFor(world), {
            error: ["AuthenticationFailed"],
            billing: "not-charged",
            creates: 1,
            ledger: 0
          })
        ),
      { keyPrefix: "sk-invalid" }
    ),
    def(
      "insufficient-balance",
      "an empty balance: InsufficientBalance, not retried, nothing charged",
      true,
      (world) =>
        Effect.asVoid(
          fails(world, requestFor(world), {
            error: ["InsufficientBalance"],
            billing: "not-charged",
            creates: 1,
            ledger: 0
          })
        ),
      { keyPrefix: "sk-nofunds" }
    ),
    def(
      "invalid-request",
      "the vendor refuses the request (400): InvalidRequest, not retried, nothing charged",
      true,
      (world) =>
        Effect.asVoid(
          fails(world, requestFor(world, { prompt: "A quiet lake at dusk. ".repeat(230) }), {
            error: ["InvalidRequest"],
            billing: "not-charged",
            creates: [0, 1],
            ledger: 0
          })
        )
    ),
    def(
      "content-policy-create",
      "refused at create under the content policy: ContentRejected, nothing charged",
      true,
      (world) =>
        Effect.asVoid(
          fails(world, withPrompt(world, "@sim:content-policy(on=create)"), {
            error: ["ContentRejected"],
            billing: "not-charged",
            creates: 1,
            ledger: 0
          })
        )
    ),
    def(
      "content-policy-task",
      `rejected during generation: ContentRejected, never regenerated, ${failedCharged ? "charged" : "free"}`,
      true,
      (world) =>
        Effect.asVoid(
          fails(world, withPrompt(world, `${quick} @sim:content-policy`), {
            error: ["ContentRejected"],
            billing: failedCharged ? "charged" : "not-charged",
            creates: 1,
            ledger: failedCharged ? 1 : 0
          })
        )
    ),
    def(
      "generation-failed",
      VendorRules.freeRegeneration(rule)
        ? "a failed generation is free and regenerated once: GenerationFailed, nothing charged"
        : "a failed generation is charged and not regenerated: GenerationFailed, charged once",
      true,
      (world) =>
        Effect.gen(function* () {
          const free = VendorRules.freeRegeneration(rule)
          const run = yield* fails(world, withPrompt(world, `${quick} @sim:fail`), {
            error: ["GenerationFailed"],
            billing: failedCharged ? "charged" : "not-charged",
            creates: free ? 2 : 1,
            keys: "distinct",
            ledger: failedCharged ? 1 : 0
          })
          const error = errorOf(run)
          const vendorText =
            error?._tag === "GenerationFailed"
              ? `${error.vendorCode ?? ""} ${error.vendorMessage ?? ""} ${error.message}`
              : ""
          assert.match(vendorText, /generation.failed/i, "GenerationFailed carries the vendor's explanation")
          if (free) assert.strictEqual(retries(run, "generate").length, 1, "regenerated once")
        })
    ),
    def("status-retried", "503s on status polls are polled again; saved, charged once", polled, (world) =>
      Effect.gen(function* () {
        const run = yield* savedOnce(world, withPrompt(world, `${quick} @sim:503(on=status,times=2)`))
        assert.isAbove(retries(run, "status").length, 0, "the status call was retried")
      })
    ),
    def("status-malformed", "an unreadable status answer is polled again; saved, charged once", polled, (world) =>
      Effect.asVoid(savedOnce(world, withPrompt(world, `${quick} @sim:malformed`)))
    ),
    def("status-unknown", "an unknown status value does not end the task; saved, charged once", polled, (world) =>
      Effect.asVoid(savedOnce(world, withPrompt(world, `${quick} @sim:unknown-status`)))
    ),
    def("content-retried", "a 503 on the content call is retried; saved, charged once", polled, (world) =>
      Effect.asVoid(savedOnce(world, withPrompt(world, `${quick} @sim:503(on=content)`)))
    ),
    def(
      "status-retry-after",
      "a 429 on a status poll: the next poll waits the server's Retry-After; saved, charged once",
      polled,
      (world) =>
        Effect.gen(function* () {
          yield* savedOnce(world, withPrompt(world, `${quick} @sim:429(on=status,retry-after=${retryAfterSeconds})`))
          yield* checkRetryAfterHonoured(world, "status", retryAfterSeconds * 1000)
        })
    ),
    def(
      "content-retry-after",
      "a 429 on the content call: asked again after the server's Retry-After; saved, charged once",
      polled,
      (world) =>
        Effect.gen(function* () {
          yield* savedOnce(world, withPrompt(world, `${quick} @sim:429(on=content,retry-after=${retryAfterSeconds})`))
          yield* checkRetryAfterHonoured(world, "content", retryAfterSeconds * 1000)
        })
    ),
    def("download-resumed", "a cut download resumes with Range; byte for byte the vendor's video", true, (world) =>
      Effect.gen(function* () {
        const run = yield* savedOnce(world, withPrompt(world, `${quick} @sim:truncate`))
        assert.isAbove(retries(run, "download").length, 0, "the download was resumed")
        const taskId = savedOf(run)!.taskId
        const cdn = (yield* world.sim.cdnRequests).filter((record) => record.taskId === taskId && record.range !== null)
        const api = (yield* world.sim.requests).filter(
          (record) => record.taskId === taskId && record.headers["range"] !== undefined
        )
        assert.isAbove(cdn.length + api.length, 0, "a Range request resumed the transfer")
      })
    ),
    def(
      "task-expired",
      `the task expires before it completes: TaskExpired, ${acceptedCharged ? "charged" : "free"}`,
      polled,
      (world) =>
        Effect.gen(function* () {
          const run = yield* fails(world, withPrompt(world, "@sim:timing(queue=0,run=3) @sim:expire(after=0.15)"), {
            error: ["TaskExpired", "TaskNotFound"],
            creates: 1,
            ledger: acceptedCharged ? 1 : 0
          })
          // Under on-success the vendor charged nothing (the ledger says so above), but a 404 before
          // the task's stated expiry may as well mean a wrong key: the task may yet complete and be
          // charged, so reelay can only say `unknown` until the expiry has passed.
          const error = errorOf(run)
          const billing = acceptedCharged ? "charged" : error?._tag === "TaskExpired" ? "not-charged" : "unknown"
          assert.strictEqual(error?.billing, billing, describeExit(run))
        })
    ),
    def(
      "poll-timeout-resume",
      "a deadline ends the wait with PollTimeout; resume saves the video without a second create",
      polled,
      (world) =>
        Effect.gen(function* () {
          const request = withPrompt(world, "@sim:timing(queue=0,run=1)")
          const model = modelOf(world, request.model!)
          const first = yield* generate(world, request, { polling: { deadline: Duration.millis(250) } })
          const error = errorOf(first)
          assert.strictEqual(error?._tag, "PollTimeout", describeExit(first))
          assert.strictEqual(error?.billing, acceptedCharged ? "charged" : "unknown")
          const handle = error?._tag === "PollTimeout" ? error.handle : undefined
          assert.isDefined(handle)
          const ledgerAtTimeout = yield* Testkit.ledgerOf(world.sim, world.apiKey)
          assert.strictEqual(
            ledgerAtTimeout.length,
            acceptedCharged ? 1 : 0,
            "charged by the vendor's rule at the timeout"
          )
          const output = NodePath.join(world.dir, "resumed.mp4")
          const resumed = yield* Testkit.collect(Engine.resume(handle!, { output })).pipe(
            Effect.provide(world.context),
            Effect.tap((run) => Effect.sync(() => world.runs.push(run)))
          )
          yield* verifySavedResumed(world, resumed, model, request, handle!)
          yield* checkCreates(world, { creates: 1, keys: "same", ledger: 1 })
          yield* checkLedger(world, model, 1)
        })
    ),
    def(
      "stream-deadline",
      "a deadline ends the stream with PollTimeout, charged: the vendor charged the 200",
      !polled,
      (world) =>
        Effect.gen(function* () {
          const request = withPrompt(world, "@sim:timing(queue=0,run=3)")
          const model = modelOf(world, request.model!)
          const run = yield* generate(world, request, { polling: { deadline: Duration.millis(600) } })
          yield* expectRun(world, run, model, {
            error: ["PollTimeout"],
            billing: "charged",
            creates: 1,
            ledger: 1
          })
        })
    ),
    def(
      "sse-cut",
      "the stream is cut before the link: ProviderUnavailable(exchange), charged (the 200 was), never retried",
      !polled,
      (world) =>
        Effect.gen(function* () {
          const run = yield* fails(world, withPrompt(world, `${quick} @sim:sse-cut(at=50)`), {
            error: ["ProviderUnavailable"],
            billing: "charged",
            creates: 1,
            ledger: 1
          })
          const error = errorOf(run)
          // "Never retried" is read from the vendor's request log (one create, above), not from
          // `Retrying` events: the engine emits one before deciding not to retry (see the README).
          assert.strictEqual(error?._tag === "ProviderUnavailable" ? error.stage : undefined, "exchange")
        })
    )
  ]
}

/** `verifySaved` for a resumed task, whose events have no Submitted. */
const verifySavedResumed = (
  world: World,
  run: Testkit.Collected<VideoError>,
  model: ModelSpec,
  request: GenerateRequest,
  handle: TaskHandle
) =>
  Effect.gen(function* () {
    assert.isTrue(Exit.isSuccess(run.exit), `resume: ${describeExit(run)}`)
    const saved = savedOf(run)
    assert.isDefined(saved)
    assert.strictEqual(saved!.taskId, handle.taskId)
    const bytes = NodeFs.readFileSync(saved!.path)
    assert.strictEqual(sha256(bytes), saved!.sha256)
    const task = world.sim.state.tasks.find(handle.taskId)
    assert.isDefined(task)
    if (task!.asset.size === task!.asset.fixture.bytes.length) {
      assert.strictEqual(saved!.sha256, sha256(task!.asset.fixture.bytes), "byte for byte the vendor's video")
    }
    const expected = Validation.expectedOutput(model, request)
    assert.strictEqual(saved!.probe.size, expected.size)
    assert.approximately(saved!.probe.durationSeconds, expected.seconds, 0.5)
    yield* checkDelivery(world, run, handle.taskId)
  })

const placeholderUrls: Simulator.Urls = {
  laozhang: "http://127.0.0.1:9/laozhang/v1",
  apiyi: "http://127.0.0.1:9/apiyi/v1",
  cdn: "http://127.0.0.1:9",
  control: "http://127.0.0.1:9/_sim"
}

/** Builds the provider once, without I/O, to read its catalog at registration time. */
const readCatalog = (options: Options): Exit.Exit<ReadonlyArray<ModelSpec>, unknown> =>
  Effect.runSyncExit(
    options
      .provider({
        urls: placeholderUrls,
        baseUrl: placeholderUrls[options.host],
        apiKey: Redacted.make("sk-conformance-catalog")
      })
      .pipe(
        Effect.map((provider) => provider.models),
        Effect.provide(Layer.merge(FetchHttpClient.layer, NodeFileSystem.layer))
      )
  )

/**
 * The scenarios that apply to `options` (by protocol and by the catalog's capabilities), as plain
 * Effects. Scenarios named in `options.skip` carry the reason and should not be run.
 */
export const scenarios = (options: Options): ReadonlyArray<Scenario> => {
  const catalog = readCatalog(options)
  if (Exit.isFailure(catalog)) {
    throw new Error(
      `Conformance ${options.name}: the provider factory must build its provider synchronously (no I/O) so its catalog can be read: ${Cause.pretty(catalog.cause)}`
    )
  }
  return definitions(options, catalog.value)
    .filter((definition) => definition.applies)
    .map((definition) => ({
      name: definition.name,
      description: definition.description,
      skip: options.skip?.[definition.name],
      run: definition.run
    }))
}

/**
 * Registers the suite with vitest: a `describe` named after the provider with one test per
 * scenario, each against its own simulator.
 */
export const run = (options: Options): void => {
  describe(`conformance: ${options.name}`, () => {
    for (const each of scenarios(options)) {
      const title = `${each.name}: ${each.description}`
      if (each.skip !== undefined) it.live.skip(`${title} (skipped: ${each.skip})`, () => Effect.void)
      else it.live(title, () => each.run, options.timeout ?? 30_000)
    }
  })
}
