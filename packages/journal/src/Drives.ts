/**
 * The cluster's hold on each item it runs (`@reelay/cluster`): which generation of its workflow
 * drives it, and when that workflow is due to move it again. The workflow engine carries the work;
 * these rows let a watchdog notice an item no workflow has moved past its due time (an engine that
 * stopped consuming, a shard never acquired) and drive it again under a new generation, while the
 * old one, should it wake, finds itself superseded and stops. The money stays the engine's own: a
 * new generation carries the item on from where the journal says it stands, never creating it twice.
 *
 * @since 0.4.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Database from "./Database.js"
import * as JobState from "./JobState.js"
import { JournalError } from "./JournalError.js"
import * as Records from "./Records.js"

/** One item's hold. */
export interface Drive {
  readonly batch: string
  readonly key: string
  /** The generation of the workflow that drives it: 1, then one more for each re-drive. */
  readonly generation: number
  /** When its workflow is due to move it again (epoch millis). */
  readonly dueAt: number
  /** Whether it may replace a file at its output (as it was enqueued). */
  readonly overwrite: boolean
}

export interface Service {
  /**
   * Records `keys` of `batch` as driven by the cluster, generation 1 due at `dueAt`, unless already
   * recorded; answers each key's current generation (enqueuing again re-sends the current one).
   */
  readonly enlist: (
    batch: string,
    items: ReadonlyArray<{ readonly key: string; readonly overwrite: boolean }>,
    dueAt: number
  ) => Effect.Effect<ReadonlyArray<Drive>, JournalError>
  /**
   * The workflow of `generation` moved the item: due again at `dueAt`. `false` when a later
   * generation has superseded it (it must stop), or the item has ended.
   */
  readonly moved: (
    batch: string,
    key: string,
    generation: number,
    dueAt: number
  ) => Effect.Effect<boolean, JournalError>
  /** The item ended under `generation`: no longer watched. */
  readonly ended: (batch: string, key: string, generation: number) => Effect.Effect<void, JournalError>
  /**
   * Items not ended whose due time passed before `now`, that no live process holds a claim on,
   * oldest due first.
   */
  readonly overdue: (now: number, limit: number) => Effect.Effect<ReadonlyArray<Drive>, JournalError>
  /**
   * Moves the item from `drive.generation` to the next generation, due at `dueAt`, unless another
   * process did first, or (with `overdueAt`) its workflow moved it meanwhile (its due time is no
   * longer before `overdueAt`): the new generation when this process moved it.
   */
  readonly redrive: (
    drive: Pick<Drive, "batch" | "key" | "generation">,
    dueAt: number,
    overdueAt?: number | undefined
  ) => Effect.Effect<number | undefined, JournalError>
}

export class Drives extends Context.Tag("@reelay/journal/Drives")<Drives, Service>() {}

interface DriveRecord {
  readonly batch: string
  readonly item_key: string
  readonly generation: number | string
  readonly due_at: number | string
  readonly overwrite: number | string
}

const toDrive = (record: DriveRecord): Drive => ({
  batch: record.batch,
  key: record.item_key,
  generation: Number(record.generation),
  dueAt: Records.num(record.due_at) ?? 0,
  overwrite: Number(record.overwrite) === 1
})

/** The holds over the client in the context; the table must exist (migration 7). */
export const make = (label = "journal"): Effect.Effect<Service, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const fail = (operation: string) => (cause: SqlError) =>
      new JournalError({ operation, message: `the ${label} could not ${operation}: ${Database.explain(cause)}`, cause })

    return {
      enlist: (batch, items, dueAt) =>
        Effect.gen(function* () {
          const drives: Array<Drive> = []
          // In slices: a statement's parameters are bounded (SQLite allows 32,766).
          for (let start = 0; start < items.length; start += 500) {
            const slice = items.slice(start, start + 500)
            yield* sql`INSERT INTO reelay_drives ${sql.insert(
              slice.map((item) => ({
                batch,
                item_key: item.key,
                generation: 1,
                due_at: dueAt,
                overwrite: item.overwrite ? 1 : 0
              }))
            )} ON CONFLICT DO NOTHING`
            const records = yield* sql<DriveRecord>`SELECT * FROM reelay_drives
              WHERE batch = ${batch} AND item_key IN ${sql.in(slice.map((item) => item.key))}`
            drives.push(...records.map(toDrive))
          }
          return drives
        }).pipe(Effect.mapError(fail("record the items enqueued"))),
      moved: (batch, key, generation, dueAt) =>
        sql<{ readonly generation: number }>`UPDATE reelay_drives SET due_at = ${dueAt}
          WHERE batch = ${batch} AND item_key = ${key} AND generation = ${generation} AND ended_at IS NULL
          RETURNING generation`.pipe(
          Effect.map((rows) => rows.length === 1),
          Effect.mapError(fail("record an item moved"))
        ),
      ended: (batch, key, generation) =>
        Effect.flatMap(
          Clock.currentTimeMillis,
          (now) => sql`UPDATE reelay_drives SET ended_at = ${now}
            WHERE batch = ${batch} AND item_key = ${key} AND generation = ${generation}`
        ).pipe(Effect.asVoid, Effect.mapError(fail("record an item ended"))),
      overdue: (now, limit) =>
        sql<DriveRecord>`SELECT d.* FROM reelay_drives d
          LEFT JOIN reelay_jobs j ON j.batch = d.batch AND j.item_key = d.item_key
          LEFT JOIN reelay_owners o ON o.owner = j.claimed_by
          WHERE d.ended_at IS NULL AND d.due_at < ${now}
            AND (j.state IS NULL OR j.state NOT IN ${sql.in(JobState.ended)})
            AND (o.owner IS NULL OR o.expires_at <= ${now})
          ORDER BY d.due_at LIMIT ${limit}`.pipe(
          Effect.map((records) => records.map(toDrive)),
          Effect.mapError(fail("find items overdue"))
        ),
      redrive: (drive, dueAt, overdueAt) =>
        sql<{ readonly generation: number | string }>`UPDATE reelay_drives
          SET generation = generation + 1, due_at = ${dueAt}, redriven = redriven + 1
          WHERE batch = ${drive.batch} AND item_key = ${drive.key} AND generation = ${drive.generation}
            AND ended_at IS NULL ${overdueAt === undefined ? sql`` : sql`AND due_at < ${overdueAt}`}
          RETURNING generation`.pipe(
          Effect.map((rows) => (rows[0] === undefined ? undefined : Number(rows[0].generation))),
          Effect.mapError(fail("drive an item again"))
        )
    }
  })
