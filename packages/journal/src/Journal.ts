/**
 * The durable task journal: `generateMany` made crash-safe. Provide one of these layers and the
 * engine records every item's intent before each billable call, its task id the moment the create
 * returns, its status changes and its saved file; a batch run again after a crash resumes each item
 * where it stood (polls tasks already created, fetches finished videos, skips verified files) and
 * never creates a task twice without being told to.
 *
 * - `layerSqlite({ path })`: embedded, one machine (default `.reelay/journal.db`); several
 *   processes may share it.
 * - `layerPg({ url })`: PostgreSQL, for several machines sharing batches.
 * - `layerSqliteReader({ path })`: read-only access to a SQLite journal, while writers run.
 * - `layer()`: over any `@effect/sql` client in the context (migrations included).
 *
 * Each writer layer provides the core's `JobStore` (what the engine uses) and `Journal` (what a
 * CLI or an application reads: batches, items, charges, costs, events). Any number of processes
 * may run one batch at once: each item is **claimed** by one live process at a time (a lease it
 * renews), a process works only what it claimed, and an item is taken over only from a process
 * that died (see `Claims`). Every create's worst-case price counts as possibly charged from the
 * moment its intent is recorded until the engine says what it cost (its **exposure**), so `cost`
 * and budgets see money a crash stranded.
 *
 * @example
 * ```ts
 * import { Engine, ProviderRegistry } from "@reelay/core"
 * import { Journal } from "@reelay/journal"
 * import { Laozhang } from "@reelay/provider-laozhang"
 *
 * // The engine reads the `JobStore` when it is built: give it the journal.
 * const EngineLive = Engine.layer().pipe(
 *   Layer.provide(ProviderRegistry.layer([Laozhang.makeConfig()])),
 *   Layer.provide(Layer.mergeAll(NodeHttpClient.layerUndici, NodeFileSystem.layer)),
 *   Layer.provideMerge(Journal.layerSqlite())
 * )
 *
 * // Run it, kill it, run it again: the same batch id resumes where it stood.
 * Engine.runMany(items, { batch: "launch-teasers", outputDir: "out" }).pipe(Effect.provide(EngineLive))
 * ```
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import type { UrlAsset } from "@reelay/core/AssetSource"
import type { BillingOutcome, ChargePolicy } from "@reelay/core/Billing"
import type { GenerateRequest } from "@reelay/core/GenerateRequest"
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import * as JobStore from "@reelay/core/JobStore"
import type { Usd } from "@reelay/core/Money"
import type { SavedVideo } from "@reelay/core/SavedVideo"
import type { TaskHandle } from "@reelay/core/TaskHandle"
import type { VideoError } from "@reelay/core/VideoError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Claims from "./Claims.js"
import * as Database from "./Database.js"
import * as Drives from "./Drives.js"
import type { JobState } from "./JobState.js"
import { JournalError } from "./JournalError.js"
import * as Migrations from "./Migrations.js"
import * as Outbox from "./Outbox.js"
import * as Reader from "./Reader.js"
import * as Sqlite from "./Sqlite.js"
import * as Videos from "./Videos.js"
import * as Writer from "./Writer.js"

/** One batch, with how many of its items are in each state. */
export interface BatchSummary {
  readonly batch: string
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly items: number
  readonly states: Readonly<Partial<Record<JobState, number>>>
  /** What the batch was run with (`describe`); empty when nothing was recorded. */
  readonly settings: Readonly<Record<string, string>>
}

/** One item of a batch as the journal knows it. */
export interface Item {
  readonly batch: string
  readonly key: string
  /** Its place in the batch, in the order items were first recorded. */
  readonly position: number
  readonly fingerprint: string
  /** The request, as given: enough to run the batch again from the journal alone. */
  readonly request: GenerateRequest
  readonly output: string
  readonly state: JobState
  readonly provider: string | undefined
  readonly model: string | undefined
  /** The model's price when the item was validated: the most it can cost. */
  readonly estimatedCost: Usd | undefined
  readonly chargePolicy: ChargePolicy | undefined
  /** The `Idempotency-Key` of the latest create. */
  readonly idempotencyKey: string | undefined
  /** Billable creates made for this item. */
  readonly attempts: number
  readonly taskId: string | undefined
  readonly handle: TaskHandle | undefined
  /** Where the finished video can be fetched (a URL valid for a limited time), until it is saved. */
  readonly asset: UrlAsset | undefined
  readonly progress: number | undefined
  /** The saved file: path, bytes, sha256 and probe. */
  readonly video: SavedVideo | undefined
  readonly path: string | undefined
  readonly sha256: string | undefined
  readonly bytes: number | undefined
  readonly error: VideoError | undefined
  /** Whether money was spent on this item: `charged` once any attempt was. */
  readonly billing: BillingOutcome | undefined
  /** For a `duplicate`, the item it repeats. */
  readonly duplicateOf: string | undefined
  /** When the user last allowed an uncertain item to be created again, and how often they did. */
  readonly releasedAt: Date | undefined
  readonly releases: number
  /** The process working the item now (its owner id, `host:pid:…`), if any; it may have died since. */
  readonly claimedBy: string | undefined
  /** Where the item's create was sent (the provider's base URL), so a resume asks the same host. */
  readonly baseUrl: string | undefined
  readonly createdAt: Date
  readonly updatedAt: Date
}

/**
 * Money of one create attempt: certain (`charged`), or possible (`unknown`): an attempt the engine
 * reported possibly charged, and every create whose intent is recorded and whose outcome is not
 * yet (its exposure, at the model's price).
 */
export interface Charge {
  readonly batch: string
  readonly key: string
  readonly provider: string
  readonly model: string
  readonly taskId: string | undefined
  readonly amount: Usd
  readonly chargePolicy: ChargePolicy
  readonly billing: "charged" | "unknown"
  readonly at: Date
}

/** Which charges to read. Every field narrows; `since` is inclusive, `until` exclusive. */
export interface ChargeFilter {
  readonly batch?: string | undefined
  readonly provider?: string | undefined
  readonly model?: string | undefined
  readonly billing?: "charged" | "unknown" | undefined
  readonly since?: Date | undefined
  readonly until?: Date | undefined
}

/** Money per provider, model and day (UTC): what was estimated against what was charged. */
export interface CostSummary {
  readonly provider: string
  readonly model: string
  /** `YYYY-MM-DD`, UTC. Estimates count on the day they were validated, charges on the day they were made. */
  readonly day: string
  /** The worst case of the items validated (each item's price, once). */
  readonly estimated: Usd
  readonly estimatedItems: number
  /** Certainly spent. */
  readonly charged: Usd
  readonly chargedCount: number
  /** Possibly spent: creates in flight or stranded, ambiguous creates, tasks still running when waiting stopped. */
  readonly unknown: Usd
  readonly unknownCount: number
}

/** The money of one batch. */
export interface BatchCosts {
  readonly estimated: Usd
  readonly charged: Usd
  readonly unknown: Usd
  /**
   * What to seed `Budget.make({ spent, uncertain })` with before resuming this batch: everything
   * charged, and everything possibly charged. A task polled again on resume is not counted twice:
   * the journal tells the engine how its charge was counted (`Poll.billed`), and the engine counts
   * only the difference when the task ends (an `unknown` that turns `charged` moves from uncertain
   * to spent).
   */
  readonly budget: { readonly spent: Usd; readonly uncertain: Usd }
}

/** One entry of an item's event log. */
export interface Entry {
  readonly seq: number
  readonly batch: string
  readonly key: string
  readonly at: Date
  /**
   * The event's tag; or `Released` when the user allowed an uncertain item to be created again, or
   * `Interrupted` when the batch was opened and found a create whose answer was never recorded.
   */
  readonly tag: string
  /** The event, when it is one (`Released` entries are not) and still decodes. */
  readonly event: GenerationEvent | undefined
}

export interface Service {
  /** Every batch, most recently updated first. */
  readonly batches: Effect.Effect<ReadonlyArray<BatchSummary>, JournalError>
  /** One batch's items, in batch order. Empty for an unknown batch. */
  readonly items: (batch: string) => Effect.Effect<ReadonlyArray<Item>, JournalError>
  readonly item: (batch: string, key: string) => Effect.Effect<Option.Option<Item>, JournalError>
  /** The item that created a task (a task id is unique per provider; all matches are returned). */
  readonly byTaskId: (taskId: string) => Effect.Effect<ReadonlyArray<Item>, JournalError>
  readonly charges: (filter?: ChargeFilter) => Effect.Effect<ReadonlyArray<Charge>, JournalError>
  /** Estimated against charged, per provider / model / day. The filter's `billing` is ignored. */
  readonly costSummary: (filter?: ChargeFilter) => Effect.Effect<ReadonlyArray<CostSummary>, JournalError>
  readonly batchCosts: (batch: string) => Effect.Effect<BatchCosts, JournalError>
  /** The event log of a batch, or of one item, oldest first. Progress readings are not logged. */
  readonly events: (batch: string, key?: string) => Effect.Effect<ReadonlyArray<Entry>, JournalError>
  /**
   * Records what a batch is run with (a profile name, a configuration file: never a secret), so a
   * later resume can run it the same way. Replaces what was recorded. Writers only.
   */
  readonly describe: (batch: string, settings: Readonly<Record<string, string>>) => Effect.Effect<void, JournalError>
  /** What `describe` recorded for `batch` (empty when nothing was). */
  readonly settingsOf: (batch: string) => Effect.Effect<Readonly<Record<string, string>>, JournalError>
}

/** Read access to the journal (a writer layer provides it too). */
export class Journal extends Context.Tag("@reelay/journal/Journal")<Journal, Service>() {}

/** The default SQLite file, relative to the working directory. */
export const defaultPath = NodePath.join(".reelay", "journal.db")

export interface SqliteOptions {
  /** Default `.reelay/journal.db`; its directory is created. */
  readonly path?: string | undefined
}

/** How processes sharing a journal keep their claims (see `Claims`). */
export interface WriterOptions {
  /** How long a process's claims last without a heartbeat (default 30 s). */
  readonly leaseTtl?: Duration.DurationInput | undefined
}

/**
 * Runs the migrations that have not run yet, once however many processes open the journal at the
 * same moment: on SQLite inside one `BEGIN IMMEDIATE` (the others wait, then find nothing to do);
 * on PostgreSQL the migrator locks its table, and the loser of a race to create that table tries
 * again.
 */
const migrate = (label: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.onDialectOrElse({
      sqlite: () => Database.transaction(sql)(Migrations.run),
      orElse: () => Effect.retry(Migrations.run, { times: 4 })
    })
  }).pipe(
    Effect.mapError(
      (cause) =>
        new JournalError({
          operation: "migrate",
          message: `the ${label} could not be migrated: ${Database.explain(cause)}`,
          cause
        })
    )
  )

/** The writer's services over the client in the context: migrated, registered as an owner. */
const writer = (label: string, options: WriterOptions) =>
  Effect.gen(function* () {
    yield* migrate(label)
    const sql = yield* SqlClient.SqlClient
    const lease = yield* Claims.register(sql, { ttl: options.leaseTtl }).pipe(
      Effect.mapError(
        (cause) =>
          new JournalError({
            operation: "open",
            message: `the ${label} could not register this process: ${Database.explain(cause)}`,
            cause
          })
      )
    )
    const jobStore = yield* Writer.make({ lease, label })
    const journal = yield* Reader.make(label)
    const videos = yield* Videos.make(label)
    const outbox = yield* Outbox.make(label)
    const drives = yield* Drives.make(label)
    return Context.make(JobStore.JobStore, jobStore).pipe(
      Context.add(Journal, journal),
      Context.add(Videos.Videos, videos),
      Context.add(Outbox.Outbox, outbox),
      Context.add(Drives.Drives, drives)
    )
  })

/**
 * The journal over the `@effect/sql` client in the context: runs the migrations, registers this
 * process as an owner for the layer's life, then provides the `JobStore` (with claims) and the
 * `Journal`. Prefer `layerSqlite` / `layerPg`, which also open the database the right way.
 */
export const layer = (
  options: WriterOptions = {}
): Layer.Layer<
  JobStore.JobStore | Journal | Videos.Videos | Outbox.Outbox | Drives.Drives,
  JournalError,
  SqlClient.SqlClient
> => Layer.scopedContext(writer("journal", options))

export interface SqliteOptions extends WriterOptions {
  /** Default `.reelay/journal.db`; its directory is created. */
  readonly path?: string | undefined
}

/**
 * A SQLite journal, the default. The file (and its directory) is created when missing, in WAL
 * mode with `synchronous = FULL`: a `record` that returned is on disk. Several processes may write
 * one file (say, two `reelay batch` on one batch): each works only the items it has claimed. The
 * file is opened by its canonical name whatever name it is given (a symlink, a hard link), so its
 * processes always share one write-ahead log (see `Sqlite`). One machine: SQLite's locks do not
 * hold across network file systems; use PostgreSQL for several machines.
 */
export const layerSqlite = (
  options: SqliteOptions = {}
): Layer.Layer<JobStore.JobStore | Journal | Videos.Videos | Outbox.Outbox | Drives.Drives, JournalError> =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const sql = yield* Sqlite.openWriter(options.path ?? defaultPath)
      return yield* writer(`SQLite journal ${sql.config.filename}`, options).pipe(
        Effect.provideService(SqlClient.SqlClient, sql)
      )
    })
  )

/**
 * Read-only access to a SQLite journal: for `reelay status` while a batch runs, reports, audits.
 * Never writes; fails when the file does not exist.
 */
export const layerSqliteReader = (options: SqliteOptions = {}): Layer.Layer<Journal, JournalError> =>
  Layer.scoped(
    Journal,
    Effect.gen(function* () {
      const path = NodePath.resolve(options.path ?? defaultPath)
      const sql = yield* Sqlite.openReader(path)
      return yield* Reader.make(`SQLite journal ${path}`).pipe(Effect.provideService(SqlClient.SqlClient, sql))
    })
  )

export interface PgOptions extends WriterOptions {
  /** `postgres://user:password@host:port/database`. Redacted: it never appears in an error or a log. */
  readonly url: Redacted.Redacted<string>
  /** Connections in the pool (default 10). */
  readonly maxConnections?: number | undefined
}

/**
 * A PostgreSQL journal, for several machines sharing batches. The tables are created by the
 * migrations (prefixed `reelay_`, so the database may hold other things). Requires the optional
 * peer dependency `@effect/sql-pg`, loaded only when this layer is built.
 */
export const layerPg = (
  options: PgOptions
): Layer.Layer<JobStore.JobStore | Journal | Videos.Videos | Outbox.Outbox | Drives.Drives, JournalError> =>
  Layer.unwrapEffect(
    Effect.tryPromise({
      try: () => import("@effect/sql-pg/PgClient"),
      catch: (cause) =>
        new JournalError({
          operation: "open",
          message: "the PostgreSQL journal needs @effect/sql-pg: add it to your dependencies",
          cause
        })
    }).pipe(
      Effect.map((PgClient) =>
        Layer.scopedContext(writer("PostgreSQL journal", options)).pipe(
          Layer.provide(
            PgClient.layer({
              url: options.url,
              maxConnections: options.maxConnections ?? 10,
              applicationName: "reelay-journal"
            }).pipe(
              Layer.mapError(
                (cause) =>
                  new JournalError({
                    operation: "open",
                    // The driver's own explanation (refused, authentication, unknown database)
                    // names the host and the user at most, never the password.
                    message: `cannot connect to the PostgreSQL journal: ${cause.message}${
                      cause.cause instanceof Error ? ` (${cause.cause.message})` : ""
                    }`,
                    cause
                  })
              )
            )
          )
        )
      )
    )
  )
