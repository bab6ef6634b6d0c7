/**
 * The journal over an `@effect/sql` client: the core's `JobStore` (open, record, release) and the
 * `Journal` read API, the same SQL for SQLite and PostgreSQL. Decisions live in `JobState`; this
 * module reads rows, applies them and writes them back, one small transaction per event.
 *
 * @since 0.1.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import type { ChargePolicy } from "@reelay/core/Billing"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as GenerationEvent from "@reelay/core/GenerationEvent"
import type * as JobStore from "@reelay/core/JobStore"
import * as Money from "@reelay/core/Money"
import * as BigDecimal from "effect/BigDecimal"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as JobState from "./JobState.js"
import type * as Journal from "./Journal.js"
import { JournalError } from "./JournalError.js"

/** A `reelay_jobs` row as the driver returns it (PostgreSQL returns `BIGINT` as a string). */
interface JobRecord {
  readonly batch: string
  readonly item_key: string
  readonly position: number | string
  readonly fingerprint: string
  readonly request: string
  readonly output: string
  readonly state: string
  readonly provider: string | null
  readonly model: string | null
  readonly estimated_cost: string | null
  readonly charge_policy: string | null
  readonly validated_at: number | string | null
  readonly idempotency_key: string | null
  readonly attempts: number | string
  readonly submitted_at: number | string | null
  readonly task_id: string | null
  readonly handle: string | null
  readonly expires_at: number | string | null
  readonly asset: string | null
  readonly progress: number | string | null
  readonly path: string | null
  readonly sha256: string | null
  readonly bytes: number | string | null
  readonly video: string | null
  readonly error: string | null
  readonly error_tag: string | null
  readonly failed_from: string | null
  readonly billing: string | null
  readonly duplicate_of: string | null
  readonly released_at: number | string | null
  readonly releases: number | string
  readonly created_at: number | string
  readonly updated_at: number | string
}

interface ChargeRecord {
  readonly batch: string
  readonly item_key: string
  readonly provider: string
  readonly model: string
  readonly task_id: string | null
  readonly amount: string
  readonly charge_policy: string
  readonly billing: string
  readonly at: number | string
  readonly day: string
}

interface EventRecord {
  readonly seq: number | string
  readonly batch: string
  readonly item_key: string
  readonly tag: string
  readonly at: number | string
  readonly data: string
}

const num = (value: number | string | null | undefined): number | undefined =>
  value === null || value === undefined ? undefined : Number(value)
const text = (value: string | null | undefined): string | undefined => (value === null ? undefined : value)
const date = (value: number | string | null | undefined): Date | undefined => {
  const millis = num(value)
  return millis === undefined ? undefined : new Date(millis)
}
const isState = Schema.is(JobState.JobState)
const state = (value: string | null | undefined): JobState.JobState | undefined =>
  value !== null && value !== undefined && isState(value) ? value : undefined
const money = (value: string | null | undefined): Money.Usd | undefined => {
  if (value === null || value === undefined) return undefined
  return Option.getOrUndefined(BigDecimal.fromString(value))
}
const encodeRequest = Schema.encodeSync(GenerateRequest)
const decodeRequest = Schema.decodeUnknownSync(GenerateRequest)
const encodeEvent = GenerationEvent.encode
const decodeEvent = Schema.decodeUnknownOption(GenerationEvent.GenerationEvent)
const encodeMoney = Schema.encodeSync(Money.Usd)
const dayOf = (millis: number) => new Date(millis).toISOString().slice(0, 10)

const toRow = (record: JobRecord): JobState.Row => ({
  state: state(record.state) ?? "failed",
  provider: text(record.provider),
  model: text(record.model),
  idempotencyKey: text(record.idempotency_key),
  attempts: num(record.attempts) ?? 0,
  taskId: text(record.task_id),
  handle: JobState.parseJson.handle(record.handle),
  asset: JobState.parseJson.asset(record.asset),
  progress: num(record.progress),
  video: JobState.parseJson.video(record.video),
  error: JobState.parseJson.error(record.error),
  failedFrom: state(record.failed_from),
  billing:
    record.billing === "charged" || record.billing === "unknown" || record.billing === "not-charged"
      ? record.billing
      : undefined,
  duplicateOf: text(record.duplicate_of)
})

const toItem = (record: JobRecord): Journal.Item => {
  const row = toRow(record)
  return {
    batch: record.batch,
    key: record.item_key,
    position: num(record.position) ?? 0,
    fingerprint: record.fingerprint,
    request: decodeRequest(JSON.parse(record.request)),
    output: record.output,
    state: row.state,
    provider: row.provider,
    model: row.model,
    estimatedCost: money(record.estimated_cost),
    chargePolicy: (text(record.charge_policy) as ChargePolicy | undefined) ?? undefined,
    idempotencyKey: row.idempotencyKey,
    attempts: row.attempts,
    taskId: row.taskId,
    handle: row.handle,
    asset: row.asset,
    progress: row.progress,
    video: row.video,
    path: text(record.path),
    sha256: text(record.sha256),
    bytes: num(record.bytes),
    error: row.error,
    billing: row.billing,
    duplicateOf: row.duplicateOf,
    releasedAt: date(record.released_at),
    releases: num(record.releases) ?? 0,
    createdAt: date(record.created_at) ?? new Date(0),
    updatedAt: date(record.updated_at) ?? new Date(0)
  }
}

/** The columns a patch writes. Derived columns (path, sha256, expiry, error tag) follow their source. */
const columns = (patch: JobState.Patch): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  const has = (name: keyof JobState.Patch) => Object.hasOwn(patch, name)
  if (has("state")) out.state = patch.state
  if (has("provider")) out.provider = patch.provider ?? null
  if (has("model")) out.model = patch.model ?? null
  if (has("estimatedCost")) out.estimated_cost = patch.estimatedCost ?? null
  if (has("chargePolicy")) out.charge_policy = patch.chargePolicy ?? null
  if (has("validatedAt")) out.validated_at = patch.validatedAt ?? null
  if (has("idempotencyKey")) out.idempotency_key = patch.idempotencyKey ?? null
  if (has("attempts")) out.attempts = patch.attempts ?? 0
  if (has("submittedAt")) out.submitted_at = patch.submittedAt ?? null
  if (has("taskId")) out.task_id = patch.taskId ?? null
  if (has("handle")) {
    out.handle = patch.handle === undefined ? null : JobState.json.handle(patch.handle)
    out.expires_at = patch.handle?.expiresAt?.getTime() ?? null
  }
  if (has("asset")) out.asset = patch.asset === undefined ? null : JobState.json.asset(patch.asset)
  if (has("progress")) out.progress = patch.progress ?? null
  if (has("video")) {
    out.video = patch.video === undefined ? null : JobState.json.video(patch.video)
    out.path = patch.video?.path ?? null
    out.sha256 = patch.video?.sha256 ?? null
    out.bytes = patch.video?.bytes ?? null
  }
  if (has("error")) {
    out.error = patch.error === undefined ? null : JobState.json.error(patch.error)
    out.error_tag = patch.error?._tag ?? null
  }
  if (has("failedFrom")) out.failed_from = patch.failedFrom ?? null
  if (has("billing")) out.billing = patch.billing ?? null
  if (has("duplicateOf")) out.duplicate_of = patch.duplicateOf ?? null
  return out
}

/** Rows per multi-row insert: well under SQLite's limit on bound parameters. */
const insertChunk = 200

/** The two faces of one journal: what the engine writes through, and what everyone else reads. */
export interface Store {
  readonly jobStore: JobStore.Service
  readonly journal: Journal.Service
}

/** Builds both services over the client in the context. The tables must exist (see `Migrations`). */
export const make: Effect.Effect<Store, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const forUpdate = sql.onDialectOrElse({ pg: () => sql.literal("FOR UPDATE"), orElse: () => sql.literal("") })
  /** Items whose key came back with another request in this process: their events must not touch the original. */
  const conflicted = new Set<string>()
  /** The last progress written per item, so most readings cost nothing. */
  const lastProgress = new Map<string, number>()
  const id = (batch: string, key: string) => `${batch}\u0000${key}`

  const die = (operation: string) => (cause: SqlError) =>
    Effect.die(new JournalError({ operation, message: `the journal could not ${operation}: ${cause.message}`, cause }))
  const fail = (operation: string) => (cause: SqlError) =>
    new JournalError({ operation, message: `the journal could not ${operation}: ${cause.message}`, cause })

  const selectJob = (batch: string, key: string) =>
    sql<JobRecord>`SELECT * FROM reelay_jobs WHERE batch = ${batch} AND item_key = ${key} ${forUpdate}`

  const updateJob = (batch: string, key: string, patch: JobState.Patch, now: number) =>
    sql`UPDATE reelay_jobs SET ${sql.update({ ...columns(patch), updated_at: now })} WHERE batch = ${batch} AND item_key = ${key}`

  const insertEvent = (batch: string, key: string, tag: string, now: number, data: unknown) =>
    sql`INSERT INTO reelay_events ${sql.insert({ batch, item_key: key, tag, at: now, data: JSON.stringify(data) })}`

  const insertCharge = (
    batch: string,
    key: string,
    row: JobState.Row | undefined,
    event: GenerationEvent.Charged,
    now: number
  ) => {
    // One row per task (or per create when no task is known): the same task reported charged by
    // two runs is one charge, and an `unknown` becomes `charged` when the task turns out billed.
    const ref =
      event.taskId ?? (row?.idempotencyKey === undefined ? `event:${now}` : `idempotency:${row.idempotencyKey}`)
    return sql`INSERT INTO reelay_charges ${sql.insert({
      batch,
      item_key: key,
      ref,
      provider: event.provider,
      model: event.model,
      task_id: event.taskId ?? null,
      amount: encodeMoney(event.amount),
      charge_policy: event.chargePolicy,
      billing: event.billing,
      at: now,
      day: dayOf(now)
    })}
      ON CONFLICT (batch, item_key, ref) DO UPDATE SET billing = excluded.billing, at = excluded.at, day = excluded.day
      WHERE reelay_charges.billing <> 'charged' AND excluded.billing = 'charged'`
  }

  const open: JobStore.Service["open"] = (batch, items) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      yield* sql`INSERT INTO reelay_batches ${sql.insert({ batch, created_at: now, updated_at: now })}
        ON CONFLICT (batch) DO UPDATE SET updated_at = excluded.updated_at`
      const existing =
        yield* sql<JobRecord>`SELECT * FROM reelay_jobs WHERE batch = ${batch} ORDER BY position ${forUpdate}`
      const byKey = new Map(existing.map((record) => [record.item_key, record]))
      const byFingerprint = new Map<string, string>()
      for (const record of existing) {
        if (record.state !== "duplicate" && !byFingerprint.has(record.fingerprint)) {
          byFingerprint.set(record.fingerprint, record.item_key)
        }
      }
      // How each task's charge was reported so far, for `Poll.billed`.
      const charges = yield* sql<{
        readonly item_key: string
        readonly task_id: string
        readonly billing: string
      }>`SELECT item_key, task_id, billing FROM reelay_charges WHERE batch = ${batch} AND task_id IS NOT NULL`
      const billedByTask = new Map(
        charges.map((charge) => [
          id(charge.item_key, charge.task_id),
          charge.billing === "charged" ? ("charged" as const) : ("unknown" as const)
        ])
      )
      const taskBilled = (key: string, row: JobState.Row) =>
        row.taskId === undefined ? undefined : billedByTask.get(id(key, row.taskId))
      let position = existing.reduce((max, record) => Math.max(max, (num(record.position) ?? 0) + 1), 0)
      const inserts: Array<Record<string, unknown>> = []
      const interruptedKeys: Array<{ readonly key: string; readonly row: JobState.Row }> = []
      const seen = new Set<string>()
      const plans: Array<{ readonly key: string; readonly resumption: JobStore.Resumption }> = []
      const newRow = (item: JobStore.JobItem, rowState: JobState.JobState, duplicateOf: string | null) => ({
        batch,
        item_key: item.key,
        position: position++,
        fingerprint: item.fingerprint,
        request: JSON.stringify(encodeRequest(item.request)),
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
          plans.push({ key: item.key, resumption: { _tag: "Duplicate", of: item.key } })
          continue
        }
        seen.add(item.key)
        const record = byKey.get(item.key)
        if (record !== undefined) {
          if (record.fingerprint !== item.fingerprint) {
            conflicted.add(id(batch, item.key))
            plans.push({ key: item.key, resumption: { _tag: "Ended", error: JobState.keyReused(batch, item.key) } })
            continue
          }
          conflicted.delete(id(batch, item.key))
          const row = toRow(record)
          if (row.state === "submitting") interruptedKeys.push({ key: item.key, row })
          plans.push({ key: item.key, resumption: JobState.resumption(row, now, taskBilled(item.key, row)) })
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
      // A create whose answer was never recorded: the run that sent it is gone. Say so in the
      // journal now, so the item reads `uncertain` even before the engine reports it.
      for (const { key, row } of interruptedKeys) {
        const error = JobState.interrupted(key, row)
        yield* updateJob(
          batch,
          key,
          { state: "uncertain", error, billing: row.billing === "charged" ? "charged" : "unknown" },
          now
        )
        yield* insertEvent(batch, key, "Interrupted", now, { idempotencyKey: row.idempotencyKey })
      }
      return plans
    }).pipe(
      sql.withTransaction,
      Effect.catchAll(die("open the batch")),
      Effect.withSpan("JobStore.open", { attributes: { batch, items: items.length } })
    )

  const record: JobStore.Service["record"] = (batch, key, event) => {
    const item = id(batch, key)
    if (conflicted.has(item) || event._tag === "Downloading") return Effect.void
    if (event._tag === "Progress") {
      const last = lastProgress.get(item)
      if (last !== undefined && event.percent < last + JobState.progressStep) return Effect.void
    }
    return Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const records = yield* selectJob(batch, key)
      const row = records[0] === undefined ? undefined : toRow(records[0])
      const change = row === undefined ? { patch: undefined, log: true } : JobState.transition(row, event, now)
      if (change.patch !== undefined) yield* updateJob(batch, key, change.patch, now)
      if (change.log) yield* insertEvent(batch, key, event._tag, now, encodeEvent(event))
      if (event._tag === "Charged" && event.billing !== "not-charged") yield* insertCharge(batch, key, row, event, now)
      if (event._tag === "Submitting") lastProgress.delete(item)
      if (event._tag === "Progress" && change.patch?.progress !== undefined)
        lastProgress.set(item, change.patch.progress)
    }).pipe(
      sql.withTransaction,
      Effect.catchAll(die("record an event")),
      Effect.withSpan("JobStore.record", { attributes: { batch, key, event: event._tag } })
    )
  }

  const release: NonNullable<JobStore.Service["release"]> = (batch, key) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const records = yield* selectJob(batch, key)
      const record = records[0]
      if (record === undefined) return
      const row = toRow(record)
      if (JobState.resumption(row, now)._tag !== "Uncertain") return
      yield* sql`UPDATE reelay_jobs SET ${sql.update({
        state: "planned",
        error: null,
        error_tag: null,
        failed_from: null,
        released_at: now,
        releases: (num(record.releases) ?? 0) + 1,
        updated_at: now
      })} WHERE batch = ${batch} AND item_key = ${key}`
      yield* insertEvent(batch, key, "Released", now, { idempotencyKey: row.idempotencyKey })
    }).pipe(
      sql.withTransaction,
      Effect.catchAll(die("release an uncertain item")),
      Effect.withSpan("JobStore.release", { attributes: { batch, key } })
    )

  const jobStore: JobStore.Service = { open, record, release }

  // ---- reading

  const chargeWhere = (filter: Journal.ChargeFilter, options: { readonly billing: boolean }) => {
    const clauses: Array<Statement.Fragment> = []
    if (filter.batch !== undefined) clauses.push(sql`batch = ${filter.batch}`)
    if (filter.provider !== undefined) clauses.push(sql`provider = ${filter.provider}`)
    if (filter.model !== undefined) clauses.push(sql`model = ${filter.model}`)
    if (options.billing && filter.billing !== undefined) clauses.push(sql`billing = ${filter.billing}`)
    return clauses
  }
  const inWindow = (millis: number | undefined, filter: Journal.ChargeFilter) =>
    millis !== undefined &&
    (filter.since === undefined || millis >= filter.since.getTime()) &&
    (filter.until === undefined || millis < filter.until.getTime())

  const where = (clauses: ReadonlyArray<Statement.Fragment>) =>
    clauses.length === 0 ? sql.literal("") : sql`WHERE ${sql.and(clauses)}`

  const toCharge = (record: ChargeRecord): Journal.Charge => ({
    batch: record.batch,
    key: record.item_key,
    provider: record.provider,
    model: record.model,
    taskId: text(record.task_id),
    amount: money(record.amount) ?? Money.zero,
    chargePolicy: record.charge_policy as ChargePolicy,
    billing: record.billing === "charged" ? "charged" : "unknown",
    at: date(record.at) ?? new Date(0)
  })

  const charges: Journal.Service["charges"] = (filter = {}) =>
    sql<ChargeRecord>`SELECT * FROM reelay_charges ${where(chargeWhere(filter, { billing: true }))} ORDER BY at, id`.pipe(
      Effect.map((records) => records.map(toCharge).filter((charge) => inWindow(charge.at.getTime(), filter))),
      Effect.mapError(fail("read charges"))
    )

  const costSummary: Journal.Service["costSummary"] = (filter = {}) =>
    Effect.gen(function* () {
      const all = yield* charges({ ...filter, billing: undefined })
      const jobClauses = chargeWhere({ ...filter, billing: undefined }, { billing: false })
      const estimates = yield* sql<{
        readonly provider: string
        readonly model: string
        readonly estimated_cost: string
        readonly validated_at: number | string
      }>`SELECT provider, model, estimated_cost, validated_at FROM reelay_jobs ${where([
        ...jobClauses,
        sql`estimated_cost IS NOT NULL`,
        sql`provider IS NOT NULL`,
        sql`model IS NOT NULL`
      ])}`.pipe(Effect.mapError(fail("read estimates")))
      type Acc = { -readonly [K in keyof Journal.CostSummary]: Journal.CostSummary[K] }
      const groups = new Map<string, Acc>()
      const group = (provider: string, model: string, day: string): Acc => {
        const name = `${provider}\u0000${model}\u0000${day}`
        let acc = groups.get(name)
        if (acc === undefined) {
          acc = {
            provider,
            model,
            day,
            estimated: Money.zero,
            estimatedItems: 0,
            charged: Money.zero,
            chargedCount: 0,
            unknown: Money.zero,
            unknownCount: 0
          }
          groups.set(name, acc)
        }
        return acc
      }
      for (const estimate of estimates) {
        const at = num(estimate.validated_at)
        const amount = money(estimate.estimated_cost)
        if (at === undefined || amount === undefined || !inWindow(at, filter)) continue
        const acc = group(estimate.provider, estimate.model, dayOf(at))
        acc.estimated = Money.sum([acc.estimated, amount])
        acc.estimatedItems++
      }
      for (const charge of all) {
        const acc = group(charge.provider, charge.model, dayOf(charge.at.getTime()))
        if (charge.billing === "charged") {
          acc.charged = Money.sum([acc.charged, charge.amount])
          acc.chargedCount++
        } else {
          acc.unknown = Money.sum([acc.unknown, charge.amount])
          acc.unknownCount++
        }
      }
      return [...groups.values()].sort(
        (a, b) => a.day.localeCompare(b.day) || a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model)
      )
    })

  const items: Journal.Service["items"] = (batch) =>
    sql<JobRecord>`SELECT * FROM reelay_jobs WHERE batch = ${batch} ORDER BY position`.pipe(
      Effect.map((records) => records.map(toItem)),
      Effect.mapError(fail("read items"))
    )

  const batchCosts: Journal.Service["batchCosts"] = (batch) =>
    Effect.gen(function* () {
      const rows = yield* sql<{
        readonly state: string
        readonly estimated_cost: string | null
      }>`SELECT state, estimated_cost FROM reelay_jobs WHERE batch = ${batch}`.pipe(Effect.mapError(fail("read items")))
      const all = yield* charges({ batch })
      const estimated = Money.sum(
        rows.flatMap((record) => (record.state === "duplicate" ? [] : (money(record.estimated_cost) ?? [])))
      )
      const sum = (billing: "charged" | "unknown") =>
        Money.sum(all.filter((charge) => charge.billing === billing).map((charge) => charge.amount))
      const charged = sum("charged")
      const unknown = sum("unknown")
      // The engine reconciles a resumed task against `Poll.billed`, so every charge counts here.
      return { estimated, charged, unknown, budget: { spent: charged, uncertain: unknown } }
    })

  /** Recorded batch settings: string values only, anything unreadable ignored. */
  const settingsOf = (text: string | null): Readonly<Record<string, string>> => {
    if (text === null) return {}
    try {
      const parsed: unknown = JSON.parse(text)
      if (parsed === null || typeof parsed !== "object") return {}
      return Object.fromEntries(
        Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === "string")
      )
    } catch {
      return {}
    }
  }

  const journal: Journal.Service = {
    batches: Effect.gen(function* () {
      const batches = yield* sql<{
        readonly batch: string
        readonly created_at: number | string
        readonly updated_at: number | string
        readonly settings: string | null
      }>`SELECT batch, created_at, updated_at, settings FROM reelay_batches ORDER BY updated_at DESC, batch`
      const counts = yield* sql<{
        readonly batch: string
        readonly state: string
        readonly n: number | string
      }>`SELECT batch, state, COUNT(*) AS n FROM reelay_jobs GROUP BY batch, state`
      return batches.map((record): Journal.BatchSummary => {
        const states: Partial<Record<JobState.JobState, number>> = {}
        let total = 0
        for (const count of counts) {
          const name = state(count.state)
          if (count.batch !== record.batch || name === undefined) continue
          states[name] = Number(count.n)
          total += Number(count.n)
        }
        return {
          batch: record.batch,
          createdAt: date(record.created_at) ?? new Date(0),
          updatedAt: date(record.updated_at) ?? new Date(0),
          items: total,
          states,
          settings: settingsOf(record.settings)
        }
      })
    }).pipe(Effect.mapError(fail("list batches"))),
    describe: (batch, settings) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const text = JSON.stringify(settings)
        yield* sql`INSERT INTO reelay_batches ${sql.insert({ batch, created_at: now, updated_at: now, settings: text })}
          ON CONFLICT (batch) DO UPDATE SET settings = excluded.settings`
      }).pipe(Effect.mapError(fail("describe a batch"))),
    items,
    item: (batch, key) =>
      sql<JobRecord>`SELECT * FROM reelay_jobs WHERE batch = ${batch} AND item_key = ${key}`.pipe(
        Effect.map((records) => Option.map(Option.fromNullable(records[0]), toItem)),
        Effect.mapError(fail("read an item"))
      ),
    byTaskId: (taskId) =>
      sql<JobRecord>`SELECT * FROM reelay_jobs WHERE task_id = ${taskId} ORDER BY batch, position`.pipe(
        Effect.map((records) => records.map(toItem)),
        Effect.mapError(fail("find a task"))
      ),
    charges,
    costSummary,
    batchCosts,
    events: (batch, key) =>
      (key === undefined
        ? sql<EventRecord>`SELECT * FROM reelay_events WHERE batch = ${batch} ORDER BY seq`
        : sql<EventRecord>`SELECT * FROM reelay_events WHERE batch = ${batch} AND item_key = ${key} ORDER BY seq`
      ).pipe(
        Effect.map((records) =>
          records.map(
            (record): Journal.Entry => ({
              seq: Number(record.seq),
              batch: record.batch,
              key: record.item_key,
              at: date(record.at) ?? new Date(0),
              tag: record.tag,
              event: (() => {
                try {
                  return Option.getOrUndefined(decodeEvent(JSON.parse(record.data)))
                } catch {
                  return undefined
                }
              })()
            })
          )
        ),
        Effect.mapError(fail("read events"))
      )
  }

  return { jobStore, journal }
})
