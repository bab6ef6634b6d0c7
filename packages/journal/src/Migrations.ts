/**
 * The journal's schema, as `@effect/sql` migrations shared by SQLite and PostgreSQL. Tables are
 * prefixed `reelay_` so a journal can live in a database that holds other things (a shared
 * PostgreSQL, typically).
 *
 * Times are epoch milliseconds (`BIGINT`); money is an exact decimal string (`"0.25"`); the
 * engine's values (request, task handle, asset, saved video, error, event) are JSON as their
 * schemas encode them.
 *
 * @since 0.1.0
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"

/** The table `@effect/sql`'s migrator keeps its bookkeeping in. */
export const table = "reelay_migrations"

const create = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const serial = sql.onDialectOrElse({
    pg: () => "BIGSERIAL PRIMARY KEY",
    orElse: () => "INTEGER PRIMARY KEY AUTOINCREMENT"
  })
  yield* sql`CREATE TABLE reelay_batches (
    batch TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  )`
  yield* sql`CREATE TABLE reelay_jobs (
    batch TEXT NOT NULL,
    item_key TEXT NOT NULL,
    position INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    request TEXT NOT NULL,
    output TEXT NOT NULL,
    state TEXT NOT NULL,
    provider TEXT,
    model TEXT,
    estimated_cost TEXT,
    charge_policy TEXT,
    validated_at BIGINT,
    idempotency_key TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    submitted_at BIGINT,
    task_id TEXT,
    handle TEXT,
    expires_at BIGINT,
    asset TEXT,
    progress INTEGER,
    path TEXT,
    sha256 TEXT,
    bytes BIGINT,
    video TEXT,
    error TEXT,
    error_tag TEXT,
    failed_from TEXT,
    billing TEXT,
    duplicate_of TEXT,
    released_at BIGINT,
    releases INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (batch, item_key)
  )`
  yield* sql`CREATE INDEX reelay_jobs_fingerprint ON reelay_jobs (batch, fingerprint)`
  yield* sql`CREATE INDEX reelay_jobs_task ON reelay_jobs (task_id)`
  yield* sql`CREATE TABLE reelay_charges (
    id ${sql.literal(serial)},
    batch TEXT NOT NULL,
    item_key TEXT NOT NULL,
    ref TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    task_id TEXT,
    amount TEXT NOT NULL,
    charge_policy TEXT NOT NULL,
    billing TEXT NOT NULL,
    at BIGINT NOT NULL,
    day TEXT NOT NULL,
    UNIQUE (batch, item_key, ref)
  )`
  yield* sql`CREATE INDEX reelay_charges_day ON reelay_charges (day, provider, model)`
  yield* sql`CREATE TABLE reelay_events (
    seq ${sql.literal(serial)},
    batch TEXT NOT NULL,
    item_key TEXT NOT NULL,
    tag TEXT NOT NULL,
    at BIGINT NOT NULL,
    data TEXT NOT NULL
  )`
  yield* sql`CREATE INDEX reelay_events_item ON reelay_events (batch, item_key, seq)`
  // Who holds a SQLite journal for writing, so a second writer can be told (the lock itself is
  // elsewhere: see `WriterLock`). Unused with PostgreSQL, where several writers are allowed.
  yield* sql`CREATE TABLE reelay_writer (
    id INTEGER PRIMARY KEY,
    pid INTEGER NOT NULL,
    hostname TEXT NOT NULL,
    started_at BIGINT NOT NULL
  )`
})

/**
 * What a batch was run with (the CLI's profile and configuration file, say), so a resume uses the
 * same key and base URL: a task is visible only to the key that created it.
 */
const batchSettings = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE reelay_batches ADD COLUMN settings TEXT`
})

/** Every migration, by id. Append only: a released migration is never edited. */
export const migrations = {
  "1_create": create,
  "2_batch_settings": batchSettings
} as const

/** The id of the latest migration: a journal older than this is migrated, a newer one refused by readers. */
export const latest = 2

/** Runs the migrations that have not run yet. */
export const run: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  Migrator.MigrationError | SqlError,
  SqlClient.SqlClient
> = Migrator.make({})({ loader: Migrator.fromRecord(migrations), table })
