/**
 * The journal's rows as the SQL drivers return them, and their decoding: a `reelay_jobs` row into
 * the state machine's `Row` and the read API's `Item`, a patch into the columns it writes, a charge
 * row into a `Charge`. Shared by the writer and the reader.
 *
 * @since 0.2.0
 */
import type { ChargePolicy } from "@reelay/core/Billing"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as Money from "@reelay/core/Money"
import * as BigDecimal from "effect/BigDecimal"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as JobState from "./JobState.js"
import type * as Journal from "./Journal.js"

/** A `reelay_jobs` row as the driver returns it (PostgreSQL returns `BIGINT` as a string). */
export interface JobRecord {
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
  /** The owner working the item now (`Claims`), if any. */
  readonly claimed_by?: string | null
  /** Where the item's create was sent. */
  readonly base_url?: string | null
}

export interface ChargeRecord {
  readonly batch: string
  readonly item_key: string
  /** `attempt:<n>` for the n-th create of the item (earlier journals: a task id, or `idempotency:<key>`). */
  readonly ref: string
  readonly provider: string
  readonly model: string
  readonly task_id: string | null
  readonly amount: string
  readonly charge_policy: string
  readonly billing: string
  readonly at: number | string
  readonly day: string
}

export interface EventRecord {
  readonly seq: number | string
  readonly batch: string
  readonly item_key: string
  readonly tag: string
  readonly at: number | string
  readonly data: string
}

export const num = (value: number | string | null | undefined): number | undefined =>
  value === null || value === undefined ? undefined : Number(value)
export const text = (value: string | null | undefined): string | undefined => (value === null ? undefined : value)
export const date = (value: number | string | null | undefined): Date | undefined => {
  const millis = num(value)
  return millis === undefined ? undefined : new Date(millis)
}
const isState = Schema.is(JobState.JobState)
export const state = (value: string | null | undefined): JobState.JobState | undefined =>
  value !== null && value !== undefined && isState(value) ? value : undefined
export const money = (value: string | null | undefined): Money.Usd | undefined => {
  if (value === null || value === undefined) return undefined
  return Option.getOrUndefined(BigDecimal.fromString(value))
}
export const encodeRequest = Schema.encodeSync(GenerateRequest)
const decodeRequest = Schema.decodeUnknownSync(GenerateRequest)
export const encodeMoney = Schema.encodeSync(Money.Usd)
/** `YYYY-MM-DD`, UTC: the day a charge or an estimate counts on. */
export const dayOf = (millis: number) => new Date(millis).toISOString().slice(0, 10)

export const toRow = (record: JobRecord): JobState.Row => ({
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
  duplicateOf: text(record.duplicate_of),
  submittedAt: num(record.submitted_at),
  releasedAt: num(record.released_at)
})

export const toItem = (record: JobRecord): Journal.Item => {
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
    claimedBy: text(record.claimed_by ?? null),
    baseUrl: text(record.base_url ?? null),
    createdAt: date(record.created_at) ?? new Date(0),
    updatedAt: date(record.updated_at) ?? new Date(0)
  }
}

/** The columns a patch writes. Derived columns (path, sha256, expiry, error tag) follow their source. */
export const columns = (patch: JobState.Patch): Record<string, unknown> => {
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

/** A charge row as the read API gives it: a create not yet settled (`pending`) is possibly charged. */
export const toCharge = (record: ChargeRecord): Journal.Charge => ({
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

/** The charge row of an item's `n`-th create. */
export const attemptRef = (attempt: number) => `attempt:${attempt}`
