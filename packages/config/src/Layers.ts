/**
 * The services a run's settings select: the built-in simulator (when a simulated provider is used),
 * the journal (SQLite or PostgreSQL), the engine's polling options and its download client. The CLI
 * and `@reelay/client` build their runs from these, so both behave alike for the same settings.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Undici from "@effect/platform-node/Undici"
import type * as JobStore from "@reelay/core/JobStore"
import * as NetworkPolicy from "@reelay/core/NetworkPolicy"
import type { Drives, Outbox, Videos } from "@reelay/journal"
import { Journal } from "@reelay/journal"
import type { JournalError } from "@reelay/journal/JournalError"
import { Simulator } from "@reelay/simulator"
import type { StateFileError } from "@reelay/simulator/StateFile"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type * as Providers from "./Providers.js"
import * as Settings from "./Settings.js"

/**
 * The simulator's MP4 files when they sit next to this code (the CLI's bundle carries them), else
 * `undefined`: the simulator package's own are used.
 */
export const simulatorVideos = (): string | undefined => {
  const bundled = fileURLToPath(new URL("./videos/", import.meta.url))
  return NodeFs.existsSync(bundled) ? bundled : undefined
}

/**
 * Where the built-in simulator keeps its world between runs: beside a SQLite journal (so a batch
 * and the simulated vendor that holds its tasks travel together), else under `.reelay/`.
 */
export const simulatorStateFile = (settings: Settings.Settings): string =>
  isPostgres(settings.journal.value)
    ? NodePath.resolve(".reelay", "simulator.json")
    : NodePath.join(NodePath.dirname(NodePath.resolve(Redacted.value(settings.journal.value))), "simulator.json")

/**
 * Starts the built-in simulator in this process when a provider in `used` is one of its ids (or
 * the default is). Stops with the scope. It keeps its tasks, charges and links in a state file
 * beside the journal, so a batch interrupted on the simulator resumes as it would on a vendor.
 */
export const startSimulator = (
  settings: Settings.Settings,
  used: ReadonlyArray<string | undefined>
): Effect.Effect<Providers.SimulatorUrls | undefined, StateFileError, Scope.Scope> =>
  Effect.gen(function* () {
    const needed = used.some((id) => Settings.isSimulator(id ?? settings.provider.value))
    if (!needed) return undefined
    const directory = simulatorVideos()
    const simulator = yield* Simulator.makeChecked({
      timeScale: Settings.simulatorTimeScale,
      // A fresh seed per run: task ids must not repeat across runs (or processes) sharing the state.
      seed: randomBytes(4).toString("hex"),
      stateFile: simulatorStateFile(settings),
      ...(directory === undefined ? {} : { videosDirectory: directory })
    })
    return { laozhang: simulator.urls.laozhang, apiyi: simulator.urls.apiyi }
  })

/** Whether the journal setting is a PostgreSQL URL. */
export const isPostgres = (journal: Redacted.Redacted<string>): boolean =>
  /^postgres(ql)?:\/\//i.test(Redacted.value(journal))

/** The journal for writing: SQLite (the default) or PostgreSQL. */
export const journalLayer = (
  settings: Settings.Settings
): Layer.Layer<JobStore.JobStore | Journal.Journal | Videos.Videos | Outbox.Outbox | Drives.Drives, JournalError> =>
  isPostgres(settings.journal.value)
    ? Journal.layerPg({ url: settings.journal.value })
    : Journal.layerSqlite({ path: Redacted.value(settings.journal.value) })

/** The journal for reading (`status`, `cost`): never takes the writer's lock. */
export const journalReader = (settings: Settings.Settings): Layer.Layer<Journal.Journal, JournalError> =>
  isPostgres(settings.journal.value)
    ? Layer.project(Journal.layerPg({ url: settings.journal.value }), Journal.Journal, Journal.Journal, (j) => j)
    : Journal.layerSqliteReader({ path: Redacted.value(settings.journal.value) })

/** The polling options of the settings: the time scale, and the deadline when `--timeout` is set. */
export const pollingOf = (settings: Settings.Settings) => ({
  timeScale: settings.timeScale.value,
  ...(settings.timeout === undefined ? {} : { deadline: settings.timeout.value })
})

/**
 * The engine's HTTP client (its downloads): host names resolve through `NetworkPolicy.lookup`, so a
 * download connects only to an address its network check approved; a second DNS answer (rebinding)
 * cannot move it elsewhere.
 */
export const downloadClient = NodeHttpClient.layerUndiciWithoutDispatcher.pipe(
  Layer.provide(
    Layer.scoped(
      NodeHttpClient.Dispatcher,
      Effect.acquireRelease(
        Effect.sync(() => new Undici.Agent({ connect: { lookup: NetworkPolicy.lookup } })),
        (agent) => Effect.promise(() => agent.destroy())
      )
    )
  )
)
