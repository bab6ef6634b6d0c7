/**
 * `reelay cost`: what the journal says was spent, per provider, model and day (UTC): the estimate
 * (each validated item's price) against what was charged, and what may have been.
 *
 * @since 0.1.0
 */
import * as Money from "@reelay/core/Money"
import { Journal } from "@reelay/journal"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { CostArgs } from "../Cli.js"
import { UsageError } from "../CliError.js"
import * as Output from "../Output.js"
import * as Render from "../Render.js"
import * as Report from "../Report.js"
import * as Run from "../Run.js"
import * as Setup from "../Setup.js"
import { journalExists } from "./Status.js"

const { opt } = Setup

/** Parses `YYYY-MM-DD` as midnight UTC. */
export const day = (text: string | undefined, flag: string): Effect.Effect<Date | undefined, UsageError> => {
  if (text === undefined) return Effect.succeed(undefined)
  const date = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T00:00:00Z`) : undefined
  return date === undefined || Number.isNaN(date.getTime())
    ? Effect.fail(new UsageError({ message: `${flag} must be a day such as 2025-01-31, got "${text}"` }))
    : Effect.succeed(date)
}

const dollars = (amount: Money.Usd) => Money.format(amount).slice(1)

/** The cost table: one row per provider, model and day, then the totals. */
export const costTable = (rows: ReadonlyArray<Journal.CostSummary>, style: Render.Style): ReadonlyArray<string> => {
  const total = {
    estimated: Money.sum(rows.map((row) => row.estimated)),
    charged: Money.sum(rows.map((row) => row.charged)),
    unknown: Money.sum(rows.map((row) => row.unknown))
  }
  return Render.table(
    ["DAY (UTC)", "PROVIDER", "MODEL", "ITEMS", "ESTIMATED", "CHARGED", "UNCERTAIN"],
    [
      ...rows.map((row) => [
        row.day,
        row.provider,
        row.model,
        String(row.estimatedItems),
        Money.format(row.estimated),
        `${Money.format(row.charged)}${row.chargedCount > 0 ? ` (${row.chargedCount})` : ""}`,
        `${Money.format(row.unknown)}${row.unknownCount > 0 ? ` (${row.unknownCount})` : ""}`
      ]),
      [
        "total",
        "",
        "",
        String(rows.reduce((sum, row) => sum + row.estimatedItems, 0)),
        Money.format(total.estimated),
        Money.format(total.charged),
        Money.format(total.unknown)
      ]
    ],
    { right: [3, 4, 5, 6], style }
  )
}

/** Runs the command. */
export const run = (args: CostArgs) =>
  Effect.gen(function* () {
    const style = Output.styleFor(args.json ? "json" : Output.detectMode(false))
    const settings = yield* Setup.settings({
      profile: opt(args.profile),
      config: opt(args.config),
      journal: opt(args.journal)
    })
    const filter = {
      batch: opt(args.batch),
      provider: opt(args.provider),
      model: opt(args.model),
      since: yield* day(opt(args.since), "--since"),
      until: yield* day(opt(args.until), "--until")
    }
    if (!journalExists(settings)) {
      if (args.json)
        yield* Output.stdout(
          JSON.stringify({ rows: [], total: { estimated: "0.00", charged: "0.00", uncertain: "0.00" } })
        )
      else
        yield* Output.stderr(
          `reelay: no journal at ${Redacted.value(settings.journal.value)}: nothing was spent here yet`
        )
      return
    }
    const rows = yield* Effect.flatMap(Journal.Journal, (journal) => journal.costSummary(filter)).pipe(
      Effect.provide(Run.journalReader(settings))
    )
    if (args.json) {
      yield* Output.stdout(
        JSON.stringify({
          rows: rows.map((row) => ({
            day: row.day,
            provider: row.provider,
            model: row.model,
            estimated: dollars(row.estimated),
            estimatedItems: row.estimatedItems,
            charged: dollars(row.charged),
            chargedCount: row.chargedCount,
            uncertain: dollars(row.unknown),
            uncertainCount: row.unknownCount
          })),
          total: {
            estimated: dollars(Money.sum(rows.map((row) => row.estimated))),
            charged: dollars(Money.sum(rows.map((row) => row.charged))),
            uncertain: dollars(Money.sum(rows.map((row) => row.unknown)))
          }
        })
      )
    } else if (rows.length === 0) {
      yield* Output.stderr("reelay: no charges or estimates in the journal for this selection")
    } else {
      yield* Output.stdout(costTable(rows, style).join("\n"))
    }
  }).pipe(
    Effect.withSpan("reelay.cost"),
    Effect.catchAll((error) => Report.failure(error, args.json))
  )
