/**
 * The journal's read API (`Journal.Service`) over an `@effect/sql` client, the same SQL for SQLite
 * and PostgreSQL: batches, items, charges and their sums, event logs.
 *
 * Money reads as the engine and the vendors see it: `charged` is certain; `unknown` is possible,
 * and includes every create whose intent was recorded and whose outcome is not (its exposure), so
 * money a crash stranded is never shown as $0.
 *
 * @since 0.2.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import * as GenerationEvent from "@reelay/core/GenerationEvent"
import * as Money from "@reelay/core/Money"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Database from "./Database.js"
import type * as JobState from "./JobState.js"
import type * as Journal from "./Journal.js"
import { JournalError } from "./JournalError.js"
import * as Records from "./Records.js"

const decodeEvent = Schema.decodeUnknownOption(GenerationEvent.GenerationEvent)

/**
 * Builds the read API over the client in the context. The tables must exist (see `Migrations`).
 * `label` names the journal in errors (`SQLite journal /srv/j.db`): a damaged file is found by the
 * first read that reaches a damaged page, and the message must say which file.
 */
export const make = (label = "journal"): Effect.Effect<Journal.Service, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const fail = (operation: string) => (cause: SqlError) =>
      new JournalError({ operation, message: `the ${label} could not ${operation}: ${Database.explain(cause)}`, cause })

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

    const charges: Journal.Service["charges"] = (filter = {}) =>
      sql<Records.ChargeRecord>`SELECT * FROM reelay_charges ${where(chargeWhere(filter, { billing: true }))} ORDER BY at, id`.pipe(
        Effect.map((records) =>
          records.map(Records.toCharge).filter((charge) => inWindow(charge.at.getTime(), filter))
        ),
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
          const at = Records.num(estimate.validated_at)
          const amount = Records.money(estimate.estimated_cost)
          if (at === undefined || amount === undefined || !inWindow(at, filter)) continue
          const acc = group(estimate.provider, estimate.model, Records.dayOf(at))
          acc.estimated = Money.sum([acc.estimated, amount])
          acc.estimatedItems++
        }
        for (const charge of all) {
          const acc = group(charge.provider, charge.model, Records.dayOf(charge.at.getTime()))
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
      sql<Records.JobRecord>`SELECT * FROM reelay_jobs WHERE batch = ${batch} ORDER BY position`.pipe(
        Effect.map((records) => records.map(Records.toItem)),
        Effect.mapError(fail("read items"))
      )

    const batchCosts: Journal.Service["batchCosts"] = (batch) =>
      Effect.gen(function* () {
        const rows = yield* sql<{
          readonly state: string
          readonly estimated_cost: string | null
        }>`SELECT state, estimated_cost FROM reelay_jobs WHERE batch = ${batch}`.pipe(
          Effect.mapError(fail("read items"))
        )
        const all = yield* charges({ batch })
        const estimated = Money.sum(
          rows.flatMap((record) => (record.state === "duplicate" ? [] : (Records.money(record.estimated_cost) ?? [])))
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
            const name = Records.state(count.state)
            if (count.batch !== record.batch || name === undefined) continue
            states[name] = Number(count.n)
            total += Number(count.n)
          }
          return {
            batch: record.batch,
            createdAt: Records.date(record.created_at) ?? new Date(0),
            updatedAt: Records.date(record.updated_at) ?? new Date(0),
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
      settingsOf: (batch) =>
        sql<{ readonly settings: string | null }>`SELECT settings FROM reelay_batches WHERE batch = ${batch}`.pipe(
          Effect.map((records) => settingsOf(records[0]?.settings ?? null)),
          Effect.mapError(fail("read a batch's settings"))
        ),
      items,
      item: (batch, key) =>
        sql<Records.JobRecord>`SELECT * FROM reelay_jobs WHERE batch = ${batch} AND item_key = ${key}`.pipe(
          Effect.map((records) => Option.map(Option.fromNullable(records[0]), Records.toItem)),
          Effect.mapError(fail("read an item"))
        ),
      byTaskId: (taskId) =>
        sql<Records.JobRecord>`SELECT * FROM reelay_jobs WHERE task_id = ${taskId} ORDER BY batch, position`.pipe(
          Effect.map((records) => records.map(Records.toItem)),
          Effect.mapError(fail("find a task"))
        ),
      charges,
      costSummary,
      batchCosts,
      events: (batch, key) =>
        (key === undefined
          ? sql<Records.EventRecord>`SELECT * FROM reelay_events WHERE batch = ${batch} ORDER BY seq`
          : sql<Records.EventRecord>`SELECT * FROM reelay_events WHERE batch = ${batch} AND item_key = ${key} ORDER BY seq`
        ).pipe(
          Effect.map((records) =>
            records.map(
              (record): Journal.Entry => ({
                seq: Number(record.seq),
                batch: record.batch,
                key: record.item_key,
                at: Records.date(record.at) ?? new Date(0),
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

    return journal
  })
