/**
 * The gateway's videos, kept in the journal beside the jobs that generate them: each tenant's
 * videos by id, each with its journal batch and item, the request as it was asked (a video accepted
 * just before a crash still runs after it), its `Idempotency-Key`, and when it was deleted.
 *
 * A tenant sees only its own rows: every read is by tenant. An `Idempotency-Key` names one video
 * per tenant, whatever process admits it (a unique index, so two gateways sharing a PostgreSQL
 * journal agree). Money stays where the engine put it (`reelay_charges`): deleting a video hides
 * it and never forgets what it cost.
 *
 * @since 0.3.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as Money from "@reelay/core/Money"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Claims from "./Claims.js"
import * as Database from "./Database.js"
import * as JobState from "./JobState.js"
import { JournalError } from "./JournalError.js"
import * as Records from "./Records.js"

/** One video as the gateway admitted it. */
export interface Video {
  readonly tenant: string
  readonly id: string
  /** The journal batch and item that generate it. */
  readonly batch: string
  readonly key: string
  readonly request: GenerateRequest
  /** `JobStore.fingerprint` of the request: the same key with another request is refused. */
  readonly fingerprint: string
  /** Where its file is saved. */
  readonly output: string
  readonly idempotencyKey: string | undefined
  /** Whether its tenant is told of its end (`Webhooks`): as the tenant was configured when it was admitted. */
  readonly notify: boolean
  /** The most it can cost, as checked at admission: counted against its tenant's budget until it is charged or ends. */
  readonly price: Money.Usd | undefined
  readonly createdAt: Date
  /** When a gateway saw it end (saved, or failed): from then on it is never created again. */
  readonly endedAt: Date | undefined
  readonly deletedAt: Date | undefined
}

/** What admitting a video did: recorded it, or found the video its `Idempotency-Key` already names. */
export type Admission =
  | { readonly _tag: "Admitted"; readonly video: Video }
  | { readonly _tag: "Existing"; readonly video: Video }

/** One page of a tenant's videos, oldest first (`asc`) or newest first (`desc`). */
export interface PageRequest {
  /** The id of the last video of the previous page. */
  readonly after?: string | undefined
  readonly limit: number
  readonly order: "asc" | "desc"
}

export interface Page {
  readonly videos: ReadonlyArray<Video>
  readonly hasMore: boolean
}

export interface Service {
  /** Records `video`, unless its tenant already has a video under its `Idempotency-Key`. */
  readonly admit: (video: Omit<Video, "createdAt" | "endedAt" | "deletedAt">) => Effect.Effect<Admission, JournalError>
  /** A tenant's video, deleted or not. */
  readonly get: (tenant: string, id: string) => Effect.Effect<Option.Option<Video>, JournalError>
  /** The tenant's video admitted under `idempotencyKey`, deleted or not. */
  readonly byIdempotencyKey: (
    tenant: string,
    idempotencyKey: string
  ) => Effect.Effect<Option.Option<Video>, JournalError>
  /** A tenant's videos not deleted, a page at a time (`after` an id the tenant does not have: from the start). */
  readonly list: (tenant: string, page: PageRequest) => Effect.Effect<Page, JournalError>
  /** Marks a video deleted; its money records stay. */
  readonly remove: (tenant: string, id: string) => Effect.Effect<void, JournalError>
  /** Records that a video ended (the first time only). */
  readonly end: (tenant: string, id: string) => Effect.Effect<void, JournalError>
  /**
   * Every tenant's videos still to be generated: not deleted nor ended, and whose job is not
   * recorded yet or has not ended; each with the process working its job now, if any (it may have
   * died since: see `Claims.isAlive`). Oldest first.
   */
  readonly unfinished: Effect.Effect<ReadonlyArray<Unfinished>, JournalError>
  /**
   * What a tenant's videos have cost, certainly (`spent`) and possibly (`uncertain`), as
   * `Budget.make` is seeded; and what its admitted videos not yet created may cost (`waiting`).
   */
  readonly costs: (
    tenant: string
  ) => Effect.Effect<
    { readonly spent: Money.Usd; readonly uncertain: Money.Usd; readonly waiting: Money.Usd },
    JournalError
  >
}

/** A video still to be generated, and who holds its job. */
export interface Unfinished {
  readonly video: Video
  /** The owner of the job's claim, when it is claimed and its owner is registered. */
  readonly holder: Claims.OwnerRecord | undefined
  /** Whether the job is claimed at all (by a holder that may be gone). */
  readonly claimed: boolean
  /** Whether its job got past `planned` (a create was at least intended). */
  readonly started: boolean
}

export class Videos extends Context.Tag("@reelay/journal/Videos")<Videos, Service>() {}

interface VideoRecord {
  readonly tenant: string
  readonly id: string
  readonly batch: string
  readonly item_key: string
  readonly request: string
  readonly fingerprint: string
  readonly output: string
  readonly idempotency_key: string | null
  readonly notify: number | string
  readonly price: string | null
  readonly created_at: number | string
  readonly ended_at: number | string | null
  readonly deleted_at: number | string | null
}

const decodeRequest = Schema.decodeUnknownSync(GenerateRequest)

const toVideo = (record: VideoRecord): Video => ({
  tenant: record.tenant,
  id: record.id,
  batch: record.batch,
  key: record.item_key,
  request: decodeRequest(JSON.parse(record.request)),
  fingerprint: record.fingerprint,
  output: record.output,
  idempotencyKey: Records.text(record.idempotency_key),
  notify: Number(record.notify) === 1,
  price: Records.money(record.price),
  createdAt: Records.date(record.created_at) ?? new Date(0),
  endedAt: Records.date(record.ended_at),
  deletedAt: Records.date(record.deleted_at)
})

/** The video index over the client in the context; the table must exist (migration 4). */
export const make = (label = "journal"): Effect.Effect<Service, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const fail = (operation: string) => (cause: SqlError) =>
      new JournalError({ operation, message: `the ${label} could not ${operation}: ${Database.explain(cause)}`, cause })

    const get: Service["get"] = (tenant, id) =>
      sql<VideoRecord>`SELECT * FROM reelay_videos WHERE tenant = ${tenant} AND id = ${id}`.pipe(
        Effect.map((records) => Option.map(Option.fromNullable(records[0]), toVideo)),
        Effect.mapError(fail("read a video"))
      )

    const byIdempotencyKey: Service["byIdempotencyKey"] = (tenant, idempotencyKey) =>
      sql<VideoRecord>`SELECT * FROM reelay_videos WHERE tenant = ${tenant} AND idempotency_key = ${idempotencyKey}`.pipe(
        Effect.map((records) => Option.map(Option.fromNullable(records[0]), toVideo)),
        Effect.mapError(fail("read a video"))
      )

    const admit: Service["admit"] = (video) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        // One statement decides: the row it returns is ours; none means the key named a video already.
        const inserted = yield* sql<VideoRecord>`INSERT INTO reelay_videos ${sql.insert({
          tenant: video.tenant,
          id: video.id,
          batch: video.batch,
          item_key: video.key,
          request: JSON.stringify(Records.encodeRequest(video.request)),
          fingerprint: video.fingerprint,
          output: video.output,
          idempotency_key: video.idempotencyKey ?? null,
          notify: video.notify ? 1 : 0,
          price: video.price === undefined ? null : Records.encodeMoney(video.price),
          created_at: now
        })} ON CONFLICT DO NOTHING RETURNING *`
        if (inserted[0] !== undefined) return { _tag: "Admitted", video: toVideo(inserted[0]) } as const
        const existing =
          video.idempotencyKey === undefined
            ? undefined
            : (yield* sql<VideoRecord>`SELECT * FROM reelay_videos WHERE tenant = ${video.tenant} AND idempotency_key = ${video.idempotencyKey}`)[0]
        if (existing === undefined) return yield* Effect.dieMessage(`video ${video.id} was neither recorded nor found`)
        return { _tag: "Existing", video: toVideo(existing) } as const
      }).pipe(Effect.mapError(fail("record a video")))

    const list: Service["list"] = (tenant, page) =>
      Effect.gen(function* () {
        const cursor =
          page.after === undefined
            ? undefined
            : (yield* sql<VideoRecord>`SELECT * FROM reelay_videos WHERE tenant = ${tenant} AND id = ${page.after}`)[0]
        const start =
          cursor === undefined
            ? sql.literal("")
            : page.order === "asc"
              ? sql`AND (created_at > ${Records.num(cursor.created_at)} OR (created_at = ${Records.num(cursor.created_at)} AND id > ${cursor.id}))`
              : sql`AND (created_at < ${Records.num(cursor.created_at)} OR (created_at = ${Records.num(cursor.created_at)} AND id < ${cursor.id}))`
        const direction = sql.literal(page.order === "asc" ? "ASC" : "DESC")
        const records = yield* sql<VideoRecord>`SELECT * FROM reelay_videos
          WHERE tenant = ${tenant} AND deleted_at IS NULL ${start}
          ORDER BY created_at ${direction}, id ${direction} LIMIT ${page.limit + 1}`
        return { videos: records.slice(0, page.limit).map(toVideo), hasMore: records.length > page.limit }
      }).pipe(Effect.mapError(fail("list videos")))

    const remove: Service["remove"] = (tenant, id) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        yield* sql`UPDATE reelay_videos SET deleted_at = ${now} WHERE tenant = ${tenant} AND id = ${id} AND deleted_at IS NULL`
      }).pipe(Effect.mapError(fail("delete a video")))

    const end: Service["end"] = (tenant, id) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        yield* sql`UPDATE reelay_videos SET ended_at = ${now} WHERE tenant = ${tenant} AND id = ${id} AND ended_at IS NULL`
      }).pipe(Effect.mapError(fail("record a video's end")))

    const unfinished: Service["unfinished"] = sql<
      VideoRecord & {
        readonly j_claimed_by: string | null
        readonly j_state: string | null
        readonly o_owner: string | null
        readonly o_pid: number | string | null
        readonly o_hostname: string | null
        readonly o_pid_namespace: string | null
        readonly o_started_at: number | string | null
        readonly o_expires_at: number | string | null
      }
    >`SELECT v.*, j.claimed_by AS j_claimed_by, j.state AS j_state, o.owner AS o_owner, o.pid AS o_pid, o.hostname AS o_hostname, o.pid_namespace AS o_pid_namespace,
        o.started_at AS o_started_at, o.expires_at AS o_expires_at
      FROM reelay_videos v
      LEFT JOIN reelay_jobs j ON j.batch = v.batch AND j.item_key = v.item_key
      LEFT JOIN reelay_owners o ON o.owner = j.claimed_by
      WHERE v.deleted_at IS NULL AND v.ended_at IS NULL AND (j.state IS NULL OR j.state IN ${sql.in(JobState.working)})
      ORDER BY v.created_at, v.id`.pipe(
      Effect.map((records) =>
        records.map((record) => ({
          video: toVideo(record),
          claimed: record.j_claimed_by !== null,
          started: record.j_state !== null && record.j_state !== "planned",
          holder:
            record.o_owner === null
              ? undefined
              : {
                  owner: record.o_owner,
                  pid: record.o_pid ?? 0,
                  hostname: record.o_hostname ?? "",
                  pid_namespace: record.o_pid_namespace,
                  started_at: record.o_started_at ?? 0,
                  expires_at: record.o_expires_at ?? 0
                }
        }))
      ),
      Effect.mapError(fail("find unfinished videos"))
    )

    const costs: Service["costs"] = (tenant) =>
      Effect.gen(function* () {
        const rows = yield* sql<{ readonly amount: string; readonly billing: string }>`SELECT c.amount, c.billing
          FROM reelay_charges c
          WHERE c.batch IN (SELECT v.batch FROM reelay_videos v WHERE v.tenant = ${tenant})`
        // Admitted and neither charged nor ended: a create still to come (queued behind a gateway's
        // submit slots, on any gateway of the journal), counted at its price.
        const waiting = yield* sql<{ readonly price: string | null }>`SELECT v.price FROM reelay_videos v
          WHERE v.tenant = ${tenant} AND v.ended_at IS NULL AND v.deleted_at IS NULL AND v.price IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM reelay_charges c WHERE c.batch = v.batch)`
        // As `Reader.batchCosts` counts: a create whose outcome is not settled (`pending`, its
        // exposure) is possibly charged, like an `unknown` one.
        const sum = (charged: boolean) =>
          Money.sum(
            rows.flatMap((row) => ((row.billing === "charged") === charged ? (Records.money(row.amount) ?? []) : []))
          )
        return {
          spent: sum(true),
          uncertain: sum(false),
          waiting: Money.sum(waiting.flatMap((row) => Records.money(row.price) ?? []))
        }
      }).pipe(Effect.mapError(fail("read a tenant's costs")))

    return { admit, get, byIdempotencyKey, list, remove, end, unfinished, costs }
  })
