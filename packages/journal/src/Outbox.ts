/**
 * The gateway's webhook deliveries, kept in the journal so a restart drops none: one per video,
 * its event and body fixed when the video ended, retried on a schedule until delivered or given up.
 * Several gateways may share the journal: a delivery is taken for a while by the one process that
 * moved its due time first (`take`), so it is sent once per attempt, at least once in all.
 *
 * @since 0.3.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Database from "./Database.js"
import * as JobState from "./JobState.js"
import { JournalError } from "./JournalError.js"
import * as Records from "./Records.js"

/** One delivery. */
export interface Delivery {
  readonly tenant: string
  readonly videoId: string
  /** `webhook-id`: the same on every attempt, so the receiver can drop repeats. */
  readonly messageId: string
  /** `video.completed` or `video.failed`. */
  readonly event: string
  /** The JSON body, exactly as signed. */
  readonly payload: string
  readonly attempts: number
  /** When it is due; absent once delivered or given up. */
  readonly nextAt: number | undefined
  readonly deliveredAt: Date | undefined
  readonly lastError: string | undefined
}

export interface Service {
  /** Records a video's delivery, due now; a second call for the same video changes nothing. */
  readonly enqueue: (
    delivery: Pick<Delivery, "tenant" | "videoId" | "messageId" | "event" | "payload">
  ) => Effect.Effect<void, JournalError>
  /** Deliveries due now, the earliest first. */
  readonly due: (limit: number) => Effect.Effect<ReadonlyArray<Delivery>, JournalError>
  /**
   * Takes a due delivery for `leaseMillis` and counts the attempt: `false` when another process
   * took it first (its due time moved).
   */
  readonly take: (delivery: Delivery, leaseMillis: number) => Effect.Effect<boolean, JournalError>
  readonly delivered: (delivery: Delivery) => Effect.Effect<void, JournalError>
  /**
   * Moves a due delivery to `until` without counting an attempt, unless another process took it
   * meanwhile: one this process cannot send (its tenant has no webhook here) waits for one that can.
   */
  readonly postpone: (delivery: Delivery, until: number) => Effect.Effect<void, JournalError>
  /** An attempt failed: due again at `retryAt`, or given up when it is absent. */
  readonly failed: (
    delivery: Delivery,
    outcome: { readonly error: string; readonly retryAt: number | undefined }
  ) => Effect.Effect<void, JournalError>
  readonly get: (tenant: string, videoId: string) => Effect.Effect<Option.Option<Delivery>, JournalError>
  /**
   * Videos whose tenant asked to hear of their end, that have ended, and whose delivery is not
   * recorded (the process that saw them end stopped first): to be enqueued.
   */
  readonly missing: Effect.Effect<ReadonlyArray<{ readonly tenant: string; readonly videoId: string }>, JournalError>
}

export class Outbox extends Context.Tag("@reelay/journal/Outbox")<Outbox, Service>() {}

interface DeliveryRecord {
  readonly tenant: string
  readonly video_id: string
  readonly message_id: string
  readonly event: string
  readonly payload: string
  readonly attempts: number | string
  readonly next_at: number | string | null
  readonly delivered_at: number | string | null
  readonly last_error: string | null
}

const toDelivery = (record: DeliveryRecord): Delivery => ({
  tenant: record.tenant,
  videoId: record.video_id,
  messageId: record.message_id,
  event: record.event,
  payload: record.payload,
  attempts: Number(record.attempts),
  nextAt: Records.num(record.next_at),
  deliveredAt: Records.date(record.delivered_at),
  lastError: Records.text(record.last_error)
})

/** The outbox over the client in the context; the table must exist (migration 5). */
export const make = (label = "journal"): Effect.Effect<Service, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const fail = (operation: string) => (cause: SqlError) =>
      new JournalError({ operation, message: `the ${label} could not ${operation}: ${Database.explain(cause)}`, cause })
    const where = (delivery: Delivery) => sql`tenant = ${delivery.tenant} AND video_id = ${delivery.videoId}`

    return {
      enqueue: (delivery) =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          yield* sql`INSERT INTO reelay_webhooks ${sql.insert({
            tenant: delivery.tenant,
            video_id: delivery.videoId,
            message_id: delivery.messageId,
            event: delivery.event,
            payload: delivery.payload,
            attempts: 0,
            next_at: now,
            created_at: now
          })} ON CONFLICT DO NOTHING`
        }).pipe(Effect.mapError(fail("record a webhook"))),
      due: (limit) =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const records = yield* sql<DeliveryRecord>`SELECT * FROM reelay_webhooks
            WHERE delivered_at IS NULL AND next_at IS NOT NULL AND next_at <= ${now}
            ORDER BY next_at LIMIT ${limit}`
          return records.map(toDelivery)
        }).pipe(Effect.mapError(fail("read webhooks"))),
      take: (delivery, leaseMillis) =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const taken = yield* sql<{ readonly video_id: string }>`UPDATE reelay_webhooks
            SET attempts = attempts + 1, next_at = ${now + leaseMillis}
            WHERE ${where(delivery)} AND delivered_at IS NULL AND next_at = ${delivery.nextAt ?? -1}
            RETURNING video_id`
          return taken.length === 1
        }).pipe(Effect.mapError(fail("take a webhook"))),
      delivered: (delivery) =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          yield* sql`UPDATE reelay_webhooks SET delivered_at = ${now}, next_at = NULL, last_error = NULL WHERE ${where(delivery)}`
        }).pipe(Effect.mapError(fail("record a webhook delivered"))),
      postpone: (delivery, until) =>
        sql`UPDATE reelay_webhooks SET next_at = ${until}
          WHERE ${where(delivery)} AND delivered_at IS NULL AND next_at = ${delivery.nextAt ?? -1}`.pipe(
          Effect.asVoid,
          Effect.mapError(fail("postpone a webhook"))
        ),
      failed: (delivery, outcome) =>
        sql`UPDATE reelay_webhooks SET next_at = ${outcome.retryAt ?? null}, last_error = ${outcome.error.slice(0, 500)}
          WHERE ${where(delivery)}`.pipe(Effect.asVoid, Effect.mapError(fail("record a webhook attempt"))),
      get: (tenant, videoId) =>
        sql<DeliveryRecord>`SELECT * FROM reelay_webhooks WHERE tenant = ${tenant} AND video_id = ${videoId}`.pipe(
          Effect.map((records) => Option.map(Option.fromNullable(records[0]), toDelivery)),
          Effect.mapError(fail("read a webhook"))
        ),
      missing: sql<{ readonly tenant: string; readonly id: string }>`SELECT v.tenant, v.id FROM reelay_videos v
        JOIN reelay_jobs j ON j.batch = v.batch AND j.item_key = v.item_key
        WHERE v.notify = 1 AND j.state IN ${sql.in(JobState.ended)}
          AND NOT EXISTS (SELECT 1 FROM reelay_webhooks w WHERE w.tenant = v.tenant AND w.video_id = v.id)
        ORDER BY v.created_at`.pipe(
        Effect.map((rows) => rows.map((row) => ({ tenant: row.tenant, videoId: row.id }))),
        Effect.mapError(fail("find webhooks not recorded"))
      )
    }
  })
