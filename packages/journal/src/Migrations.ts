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
  // Who held a SQLite journal for writing, when one writer at a time was the rule (until
  // migration 3, whose claims let several processes share a journal). No longer written.
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

/**
 * Claims, exposure and endpoints.
 *
 * - `reelay_owners`: the processes working batches, each with a lease it renews (its heartbeat);
 *   `reelay_jobs.claimed_by` names the owner working an item. An item whose owner's lease expired
 *   (or whose owner is known to be dead) may be taken over.
 * - Money per create attempt: a charge row `attempt:<n>` is written with the intent (`pending`,
 *   counted as possibly charged: the exposure) and settled by the engine's report. Earlier rows,
 *   filed under the task id or the idempotency key, are re-filed under the item's latest attempt
 *   where they belong to it, and an item stranded mid-create by an older reelay gets its exposure.
 * - `reelay_jobs.base_url`: where the item's create was sent, so a resume polls the same host.
 */
const claimsAndExposure = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE reelay_owners (
    owner TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    hostname TEXT NOT NULL,
    pid_namespace TEXT,
    started_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  )`
  yield* sql`ALTER TABLE reelay_jobs ADD COLUMN claimed_by TEXT`
  yield* sql`ALTER TABLE reelay_jobs ADD COLUMN claimed_at BIGINT`
  yield* sql`ALTER TABLE reelay_jobs ADD COLUMN base_url TEXT`
  yield* sql`CREATE INDEX reelay_jobs_claims ON reelay_jobs (claimed_by)`
  yield* sql`UPDATE reelay_charges SET ref = ${sql.literal("'attempt:' || (SELECT j.attempts FROM reelay_jobs j WHERE j.batch = reelay_charges.batch AND j.item_key = reelay_charges.item_key)")}
    WHERE EXISTS (SELECT 1 FROM reelay_jobs j WHERE j.batch = reelay_charges.batch AND j.item_key = reelay_charges.item_key
      AND (j.task_id = reelay_charges.task_id OR ${sql.literal("'idempotency:' || j.idempotency_key")} = reelay_charges.ref))`
  // The day of each such row is the day (UTC) the item was last touched, as every charge's day is.
  const dayOf = sql.onDialectOrElse({
    pg: () => "to_char(to_timestamp(j.updated_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    orElse: () => "strftime('%Y-%m-%d', j.updated_at / 1000, 'unixepoch')"
  })
  yield* sql`INSERT INTO reelay_charges (batch, item_key, ref, provider, model, task_id, amount, charge_policy, billing, at, day)
    SELECT j.batch, j.item_key, ${sql.literal("'attempt:' || j.attempts")}, j.provider, j.model, j.task_id, j.estimated_cost,
      j.charge_policy, 'unknown', j.updated_at, ${sql.literal(dayOf)}
    FROM reelay_jobs j
    WHERE j.state IN ('submitting', 'uncertain') AND j.attempts > 0 AND j.provider IS NOT NULL AND j.model IS NOT NULL
      AND j.estimated_cost IS NOT NULL AND j.charge_policy IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM reelay_charges c WHERE c.batch = j.batch AND c.item_key = j.item_key
        AND c.ref = ${sql.literal("'attempt:' || j.attempts")})`
})

/**
 * The gateway's videos (`Videos`): each tenant's videos by id, the journal batch and item that
 * generate each, the request as asked (so a video accepted just before a crash still runs), its
 * `Idempotency-Key` (one video per tenant and key), and when it was deleted.
 */
const gatewayVideos = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE reelay_videos (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    batch TEXT NOT NULL,
    item_key TEXT NOT NULL,
    request TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    output TEXT NOT NULL,
    idempotency_key TEXT,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, idempotency_key)
  )`
  yield* sql`CREATE INDEX reelay_videos_listing ON reelay_videos (tenant, created_at, id)`
})

/**
 * The gateway's webhooks: whether a video's tenant asked to hear of its end when it was admitted
 * (`reelay_videos.notify`), and the deliveries (`reelay_webhooks`): one per video, its event and
 * body fixed when the video ended, retried until delivered or given up, so a restart drops none.
 */
const gatewayWebhooks = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE reelay_videos ADD COLUMN notify INTEGER NOT NULL DEFAULT 0`
  yield* sql`CREATE TABLE reelay_webhooks (
    tenant TEXT NOT NULL,
    video_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at BIGINT,
    delivered_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, video_id)
  )`
  yield* sql`CREATE INDEX reelay_webhooks_due ON reelay_webhooks (next_at)`
})

/**
 * When the gateway saw a video end (`reelay_videos.ended_at`): from then on it is never created
 * again, whichever gateway would resume it (a failure that cost nothing is otherwise tried afresh).
 * And its price as checked at admission (`price`): a budget counts a video admitted and not yet
 * created, whichever gateway holds it.
 */
const gatewayVideoEnds = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE reelay_videos ADD COLUMN ended_at BIGINT`
  yield* sql`ALTER TABLE reelay_videos ADD COLUMN price TEXT`
})

/**
 * The cluster's hold on the items it runs (`Drives`): the generation of the workflow driving each,
 * and when it is due to move it again, so a watchdog can drive a stalled item again.
 */
const clusterDrives = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE reelay_drives (
    batch TEXT NOT NULL,
    item_key TEXT NOT NULL,
    generation INTEGER NOT NULL,
    due_at BIGINT NOT NULL,
    overwrite INTEGER NOT NULL DEFAULT 0,
    redriven INTEGER NOT NULL DEFAULT 0,
    ended_at BIGINT,
    PRIMARY KEY (batch, item_key)
  )`
  yield* sql`CREATE INDEX reelay_drives_due ON reelay_drives (due_at)`
})

/** Every migration, by id. Append only: a released migration is never edited. */
export const migrations = {
  "1_create": create,
  "2_batch_settings": batchSettings,
  "3_claims_and_exposure": claimsAndExposure,
  "4_gateway_videos": gatewayVideos,
  "5_gateway_webhooks": gatewayWebhooks,
  "6_gateway_video_ends": gatewayVideoEnds,
  "7_cluster_drives": clusterDrives
} as const

/** The id of the latest migration: a journal older than this is migrated, a newer one refused by readers. */
export const latest = 7

/** Runs the migrations that have not run yet. */
export const run: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  Migrator.MigrationError | SqlError,
  SqlClient.SqlClient
> = Migrator.make({})({ loader: Migrator.fromRecord(migrations), table })
