/**
 * The engine's side of the journal: the core's `JobStore` (open, record, release) with claims, over
 * an `@effect/sql` client, the same SQL for SQLite and PostgreSQL. Decisions live in `JobState`;
 * this module reads rows, applies them and writes them back, one small transaction per event.
 *
 * Three rules hold whatever number of processes share a batch:
 *
 * - **Fencing.** Every event is recorded only while this process holds the item's claim, checked
 *   in the same transaction that writes it: a process whose item was taken over cannot record a
 *   create's intent, so it cannot send the create.
 * - **Exposure.** A create's intent writes its charge row at once (`pending`: possibly charged, at
 *   the model's price), so money a crash strands is counted from the moment it may have been spent;
 *   the engine's settlement then turns it `charged`, `unknown`, or removes it (`not-charged`).
 * - **Failures are errors.** A write that fails (a full disk, a lost connection) fails with a
 *   `JobStoreError` that says why; the engine stops the batch.
 *
 * @since 0.2.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as GenerationEvent from "@reelay/core/GenerationEvent"
import * as JobStore from "@reelay/core/JobStore"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Claims from "./Claims.js"
import { describe as describeOwner, isAlive, type OwnerRecord } from "./Claims.js"
import * as Database from "./Database.js"
import * as JobState from "./JobState.js"
import * as Records from "./Records.js"

/** Rows per multi-row insert: well under SQLite's limit on bound parameters. */
const insertChunk = 200

export interface Options {
  /** This process's lease: every item it works is claimed under it. */
  readonly lease: Claims.Lease
  /** The journal as messages name it (`SQLite journal /srv/j.db`): never a URL or a password. */
  readonly label: string
}

/** A full-disk or lost-connection failure, as the engine sees it. */
const failure = (label: string, operation: string) => (cause: unknown) =>
  new JobStore.JobStoreError({
    operation,
    message: `the ${label} could not ${operation}: ${Database.explain(cause)}`,
    cause
  })

/** `failure`, except that a lost claim stays what it is. */
const keepClaimLost =
  (label: string, operation: string) =>
  (error: unknown): JobStore.JobStoreError | JobStore.ClaimLost =>
    error instanceof JobStore.ClaimLost ? error : failure(label, operation)(error)

/** Builds the `JobStore` over the client in the context. The tables must exist (see `Migrations`). */
export const make = (options: Options): Effect.Effect<JobStore.Service, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const transaction = Database.transaction(sql)
    const { lease, label } = options
    const me = lease.owner.id
    const forUpdate = sql.onDialectOrElse({ pg: () => sql.literal("FOR UPDATE"), orElse: () => sql.literal("") })
    // A row another transaction is claiming right now is skipped, not waited for: it is held.
    const forClaim = sql.onDialectOrElse({
      pg: () => sql.literal("FOR UPDATE SKIP LOCKED"),
      orElse: () => sql.literal("")
    })
    /** Items whose key came back with another request in this process: their events must not touch the original. */
    const conflicted = new Set<string>()
    /** The last progress written per item, so most readings cost nothing. */
    const lastProgress = new Map<string, number>()
    /** Items this process claimed and has not given back. */
    const mine = new Set<string>()
    const id = (batch: string, key: string) => `${batch}\u0000${key}`

    const guard = <A, E>(
      operation: string,
      effect: Effect.Effect<A, E>
    ): Effect.Effect<A, E | JobStore.JobStoreError> =>
      Effect.suspend(
        (): Effect.Effect<A, E | JobStore.JobStoreError> =>
          lease.isLost()
            ? Effect.fail(
                new JobStore.JobStoreError({
                  operation,
                  message: `this process lost its claims on the ${label}; it records nothing more`
                })
              )
            : effect
      )

    const selectJob = (batch: string, key: string) =>
      sql<Records.JobRecord>`SELECT * FROM reelay_jobs WHERE batch = ${batch} AND item_key = ${key} ${forUpdate}`

    const updateJob = (batch: string, key: string, patch: JobState.Patch, now: number, extra = {}) =>
      sql`UPDATE reelay_jobs SET ${sql.update({ ...Records.columns(patch), ...extra, updated_at: now })} WHERE batch = ${batch} AND item_key = ${key}`

    const insertEvent = (batch: string, key: string, tag: string, now: number, data: unknown) =>
      sql`INSERT INTO reelay_events ${sql.insert({ batch, item_key: key, tag, at: now, data: JSON.stringify(data) })}`

    /** The intent of the n-th create: its worst case, possibly charged from now on. */
    const insertExposure = (
      batch: string,
      key: string,
      record: Records.JobRecord,
      event: GenerationEvent.Submitting,
      attempt: number,
      now: number
    ) =>
      record.estimated_cost === null || record.charge_policy === null
        ? Effect.void
        : sql`INSERT INTO reelay_charges ${sql.insert({
            batch,
            item_key: key,
            ref: Records.attemptRef(attempt),
            provider: event.provider,
            model: event.model,
            task_id: null,
            amount: record.estimated_cost,
            charge_policy: record.charge_policy,
            billing: "pending",
            at: now,
            day: Records.dayOf(now)
          })} ON CONFLICT (batch, item_key, ref) DO NOTHING`

    /** The current attempt's settlement. A certain charge is never downgraded. */
    const settleCharge = (batch: string, key: string, attempt: number, event: GenerationEvent.Charged, now: number) => {
      const ref = Records.attemptRef(attempt)
      if (event.billing === "not-charged") {
        return sql`DELETE FROM reelay_charges WHERE batch = ${batch} AND item_key = ${key} AND ref = ${ref} AND billing <> 'charged'`
      }
      return sql`INSERT INTO reelay_charges ${sql.insert({
        batch,
        item_key: key,
        ref,
        provider: event.provider,
        model: event.model,
        task_id: event.taskId ?? null,
        amount: Records.encodeMoney(event.amount),
        charge_policy: event.chargePolicy,
        billing: event.billing,
        at: now,
        day: Records.dayOf(now)
      })}
        ON CONFLICT (batch, item_key, ref) DO UPDATE SET billing = excluded.billing, at = excluded.at, day = excluded.day,
          task_id = COALESCE(excluded.task_id, reelay_charges.task_id)
        WHERE reelay_charges.billing <> 'charged'`
    }

    /** How each item's current attempt was counted so far, for `Poll.billed`. */
    const billedOf = (
      charges: ReadonlyArray<{
        readonly item_key: string
        readonly ref: string
        readonly task_id: string | null
        readonly billing: string
      }>
    ) => {
      const byRef = new Map<string, "charged" | "unknown">()
      const byTask = new Map<string, "charged" | "unknown">()
      for (const charge of charges) {
        const billing = charge.billing === "charged" ? ("charged" as const) : ("unknown" as const)
        byRef.set(id(charge.item_key, charge.ref), billing)
        if (charge.task_id !== null) byTask.set(id(charge.item_key, charge.task_id), billing)
      }
      return (key: string, record: Records.JobRecord, row: JobState.Row) =>
        byRef.get(id(key, Records.attemptRef(row.attempts))) ??
        (row.taskId === undefined ? undefined : byTask.get(id(key, row.taskId))) ??
        (record.task_id === null ? undefined : byTask.get(id(key, record.task_id)))
    }

    const chargesOf = (batch: string, key?: string) =>
      key === undefined
        ? sql<{
            readonly item_key: string
            readonly ref: string
            readonly task_id: string | null
            readonly billing: string
          }>`SELECT item_key, ref, task_id, billing FROM reelay_charges WHERE batch = ${batch}`
        : sql<{
            readonly item_key: string
            readonly ref: string
            readonly task_id: string | null
            readonly billing: string
          }>`SELECT item_key, ref, task_id, billing FROM reelay_charges WHERE batch = ${batch} AND item_key = ${key}`

    const open: JobStore.Service["open"] = (batch, items) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        // On PostgreSQL this upsert locks the batch's row until commit: two processes opening the
        // same batch at once take turns, so the second sees (and does not insert again) the first's items.
        yield* sql`INSERT INTO reelay_batches ${sql.insert({ batch, created_at: now, updated_at: now })}
          ON CONFLICT (batch) DO UPDATE SET updated_at = excluded.updated_at`
        const existing =
          yield* sql<Records.JobRecord>`SELECT * FROM reelay_jobs WHERE batch = ${batch} ORDER BY position`
        const byKey = new Map(existing.map((record) => [record.item_key, record]))
        const byFingerprint = new Map<string, string>()
        for (const record of existing) {
          if (record.state !== "duplicate" && !byFingerprint.has(record.fingerprint)) {
            byFingerprint.set(record.fingerprint, record.item_key)
          }
        }
        const billed = billedOf(yield* chargesOf(batch))
        let position = existing.reduce((max, record) => Math.max(max, (Records.num(record.position) ?? 0) + 1), 0)
        const inserts: Array<Record<string, unknown>> = []
        const moved: Array<{ readonly key: string; readonly output: string }> = []
        const seen = new Set<string>()
        const plans: Array<JobStore.Plan> = []
        const newRow = (item: JobStore.JobItem, rowState: JobState.JobState, duplicateOf: string | null) => ({
          batch,
          item_key: item.key,
          position: position++,
          fingerprint: item.fingerprint,
          request: JSON.stringify(Records.encodeRequest(item.request)),
          output: item.output,
          state: rowState,
          duplicate_of: duplicateOf,
          attempts: 0,
          releases: 0,
          created_at: now,
          updated_at: now
        })
        for (const item of items) {
          if (seen.has(item.key)) {
            plans.push({ key: item.key, resumption: { _tag: "Duplicate", of: item.key }, claimable: false })
            continue
          }
          seen.add(item.key)
          const record = byKey.get(item.key)
          if (record !== undefined) {
            if (record.fingerprint !== item.fingerprint) {
              conflicted.add(id(batch, item.key))
              plans.push({
                key: item.key,
                resumption: { _tag: "Ended", error: JobState.keyReused(batch, item.key) },
                claimable: false
              })
              continue
            }
            conflicted.delete(id(batch, item.key))
            const row = Records.toRow(record)
            // A video not saved yet goes where this run says (a resume to another directory).
            if (record.output !== item.output && row.state !== "downloaded") {
              moved.push({ key: item.key, output: item.output })
            }
            plans.push({ key: item.key, resumption: JobState.resumption(row, now, billed(item.key, record, row)) })
            continue
          }
          const original = byFingerprint.get(item.fingerprint)
          if (original !== undefined) {
            inserts.push(newRow(item, "duplicate", original))
            plans.push({ key: item.key, resumption: { _tag: "Duplicate", of: original } })
            continue
          }
          byFingerprint.set(item.fingerprint, item.key)
          inserts.push(newRow(item, "planned", null))
          plans.push({ key: item.key, resumption: { _tag: "Fresh" } })
        }
        for (let start = 0; start < inserts.length; start += insertChunk) {
          yield* sql`INSERT INTO reelay_jobs ${sql.insert(inserts.slice(start, start + insertChunk))}`
        }
        for (const { key, output } of moved) {
          yield* sql`UPDATE reelay_jobs SET output = ${output}, updated_at = ${now} WHERE batch = ${batch} AND item_key = ${key}`
        }
        return plans
      }).pipe(
        transaction,
        Effect.mapError(failure(label, "open the batch")),
        (effect) => guard("open the batch", effect),
        Effect.withSpan("JobStore.open", { attributes: { batch, items: items.length } })
      )

    const claim: JobStore.Claims["claim"] = (batch, key) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const records = yield* sql<Records.JobRecord>`SELECT * FROM reelay_jobs
          WHERE batch = ${batch} AND item_key = ${key} ${forClaim}`
        const record = records[0]
        if (record === undefined) {
          return { _tag: "Held", holder: "another process claiming it at this moment" } satisfies JobStore.Claim
        }
        const holder = Records.text(record.claimed_by ?? null)
        if (holder !== undefined && holder !== me) {
          const owners = yield* sql<OwnerRecord>`SELECT * FROM reelay_owners WHERE owner = ${holder}`
          if (isAlive(owners[0], now, lease.owner)) {
            return { _tag: "Held", holder: describeOwner(owners[0]) } satisfies JobStore.Claim
          }
        }
        yield* sql`UPDATE reelay_jobs SET claimed_by = ${me}, claimed_at = ${now} WHERE batch = ${batch} AND item_key = ${key}`
        let row = Records.toRow(record)
        // A create whose answer was never recorded, and whose process is gone: it may have reached
        // the provider. Say so in the journal now, so the item reads `uncertain` from here on.
        if (row.state === "submitting") {
          const error = JobState.interrupted(key, row)
          const patch: JobState.Patch = {
            state: "uncertain",
            error,
            billing: row.billing === "charged" ? "charged" : "unknown"
          }
          yield* updateJob(batch, key, patch, now)
          yield* insertEvent(batch, key, "Interrupted", now, { idempotencyKey: row.idempotencyKey })
          row = JobState.apply(row, patch)
        }
        const billed = billedOf(yield* chargesOf(batch, key))
        mine.add(id(batch, key))
        return {
          _tag: "Claimed",
          resumption: JobState.resumption(row, now, billed(key, record, row))
        } satisfies JobStore.Claim
      }).pipe(
        transaction,
        Effect.mapError(failure(label, "claim an item")),
        (effect) => guard("claim an item", effect),
        Effect.withSpan("JobStore.claim", { attributes: { batch, key } })
      )

    const unclaim: JobStore.Claims["unclaim"] = (batch, key) =>
      Effect.suspend(() => {
        if (!mine.delete(id(batch, key))) return Effect.void
        return sql`UPDATE reelay_jobs SET claimed_by = NULL, claimed_at = NULL
          WHERE batch = ${batch} AND item_key = ${key} AND claimed_by = ${me}`.pipe(
          Effect.asVoid,
          Effect.mapError(failure(label, "give an item back"))
        )
      })

    /** The row of an item this process holds, locked for the transaction; `ClaimLost` otherwise. */
    const owned = (batch: string, key: string) =>
      Effect.gen(function* () {
        const record = (yield* selectJob(batch, key))[0]
        if (record !== undefined && record.claimed_by !== me) {
          mine.delete(id(batch, key))
          return yield* new JobStore.ClaimLost({
            batch,
            key,
            message: `item ${key} was taken over by another process (this one's claim had expired); this process stops working it`
          })
        }
        return record
      })

    const record: JobStore.Service["record"] = (batch, key, event) => {
      const item = id(batch, key)
      if (conflicted.has(item)) return Effect.void
      if (event._tag === "Downloading") return guard("record an event", Effect.void)
      if (event._tag === "Progress") {
        const last = lastProgress.get(item)
        if (last !== undefined && event.percent < last + JobState.progressStep) return Effect.void
      }
      return Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const found = yield* owned(batch, key)
        const row = found === undefined ? undefined : Records.toRow(found)
        // A settlement that cost nothing is the store's alone: it releases the exposure, logs nothing.
        const silent = event._tag === "Charged" && event.billing === "not-charged"
        const change =
          row === undefined
            ? { patch: undefined, log: true }
            : silent
              ? { patch: undefined, log: false }
              : JobState.transition(row, event, now)
        // The claim ends with the item's last word in this run: nothing else is recorded after it.
        const ends = event._tag === "Saved" || event._tag === "Failed"
        const extra = {
          ...(event._tag === "Submitting" && event.baseUrl !== undefined ? { base_url: event.baseUrl } : {}),
          ...(ends ? { claimed_by: null, claimed_at: null } : {})
        }
        if (change.patch !== undefined || Object.keys(extra).length > 0) {
          yield* updateJob(batch, key, change.patch ?? {}, now, extra)
        }
        if (change.log) yield* insertEvent(batch, key, event._tag, now, GenerationEvent.encode(event))
        if (found !== undefined && row !== undefined) {
          if (event._tag === "Submitting") yield* insertExposure(batch, key, found, event, row.attempts + 1, now)
          if (event._tag === "Submitted") {
            yield* sql`UPDATE reelay_charges SET task_id = ${event.handle.taskId}
              WHERE batch = ${batch} AND item_key = ${key} AND ref = ${Records.attemptRef(row.attempts)}`
          }
          if (event._tag === "Charged") yield* settleCharge(batch, key, row.attempts, event, now)
        }
        return { ends, progress: change.patch?.progress }
      }).pipe(
        transaction,
        Effect.tap(({ ends, progress }) =>
          Effect.sync(() => {
            if (ends) mine.delete(item)
            if (event._tag === "Submitting") lastProgress.delete(item)
            if (event._tag === "Progress" && progress !== undefined) lastProgress.set(item, progress)
          })
        ),
        Effect.asVoid,
        Effect.mapError(keepClaimLost(label, "record an event")),
        (effect) => guard("record an event", effect),
        Effect.withSpan("JobStore.record", { attributes: { batch, key, event: event._tag } })
      )
    }

    const release: NonNullable<JobStore.Service["release"]> = (batch, key) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const record = yield* owned(batch, key)
        if (record === undefined) return
        const row = Records.toRow(record)
        if (JobState.resumption(row, now)._tag !== "Uncertain") return
        // The uncertain create's exposure stays counted: it may still be billed.
        yield* sql`UPDATE reelay_jobs SET ${sql.update({
          state: "planned",
          error: null,
          error_tag: null,
          failed_from: null,
          released_at: now,
          releases: (Records.num(record.releases) ?? 0) + 1,
          updated_at: now
        })} WHERE batch = ${batch} AND item_key = ${key}`
        yield* insertEvent(batch, key, "Released", now, { idempotencyKey: row.idempotencyKey })
      }).pipe(
        transaction,
        Effect.mapError(keepClaimLost(label, "release an uncertain item")),
        (effect) => guard("release an uncertain item", effect),
        Effect.withSpan("JobStore.release", { attributes: { batch, key } })
      )

    return {
      open,
      record,
      release,
      claims: { claim, unclaim, lost: lease.lost, recheck: lease.recheck }
    } satisfies JobStore.Service
  })
