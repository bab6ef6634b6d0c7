/**
 * `reelay cost`: what the journal says was spent, per provider, model and day (UTC): the estimate
 * (each validated item's price) against what was charged, and what may have been (uncertain: every
 * create not known to have failed, at its worst-case price). The built-in simulator's pretend prices
 * are shown but totalled apart: they are not money.
 *
 * @since 0.1.0
 */
import * as Session from "@reelay/client/Run"
import * as Layers from "@reelay/config/Layers"
import * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import * as Money from "@reelay/core/Money"
import { Journal } from "@reelay/journal"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { UsageError } from "../CliError.js"
import * as CommandSettings from "../CommandSettings.js"
import * as Output from "../Output.js"
import * as Render from "../Render.js"
import type { Args as CostArgs } from "../specs/Cost.js"

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

/** The sums of some cost rows: dollars, and how many items or charges make them. */
export interface Totals {
  readonly estimated: Money.Usd
  readonly estimatedItems: number
  readonly charged: Money.Usd
  readonly chargedCount: number
  readonly unknown: Money.Usd
  readonly unknownCount: number
}

/** Adds cost rows up. */
export const totals = (rows: ReadonlyArray<Journal.CostSummary>): Totals => ({
  estimated: Money.sum(rows.map((row) => row.estimated)),
  estimatedItems: rows.reduce((sum, row) => sum + row.estimatedItems, 0),
  charged: Money.sum(rows.map((row) => row.charged)),
  chargedCount: rows.reduce((sum, row) => sum + row.chargedCount, 0),
  unknown: Money.sum(rows.map((row) => row.unknown)),
  unknownCount: rows.reduce((sum, row) => sum + row.unknownCount, 0)
})

/** Whether a row is the built-in simulator's: its prices are pretend, so they never join real money. */
export const isSimulated = (row: Journal.CostSummary): boolean => Settings.isSimulator(row.provider)

/** The totals of real providers and of the built-in simulator, apart. */
export const split = (
  rows: ReadonlyArray<Journal.CostSummary>
): { readonly real: Totals; readonly simulator: Totals } => ({
  real: totals(rows.filter((row) => !isSimulated(row))),
  simulator: totals(rows.filter(isSimulated))
})

const totalRow = (label: string, sums: Totals): ReadonlyArray<string> => [
  label,
  "",
  "",
  String(sums.estimatedItems),
  Money.format(sums.estimated),
  Money.format(sums.charged),
  Money.format(sums.unknown)
]

/**
 * The cost table: one row per provider, model and day, then the total of real money, the built-in
 * simulator's own total when it appears, and lines saying what the figures mean.
 */
export const costTable = (rows: ReadonlyArray<Journal.CostSummary>, style: Render.Style): ReadonlyArray<string> => {
  const { real, simulator } = split(rows)
  const simulated = rows.some(isSimulated)
  const table = Render.table(
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
      totalRow("total", real),
      ...(simulated ? [totalRow(Render.simulatorLabel, simulator)] : [])
    ],
    { right: [3, 4, 5, 6], style }
  )
  const notes: Array<string> = []
  if (simulated) {
    notes.push(
      rows.every(isSimulated)
        ? "only the built-in simulator in this selection: its prices are pretend; the total is $0.00 of real money"
        : "the total counts real providers only; the built-in simulator's prices are pretend, totalled apart"
    )
  }
  if (rows.some((row) => Money.greaterThan(row.unknown, Money.zero))) notes.push(Render.uncertainLegend)
  return [...table, ...notes.map((note) => Render.dim(style, note))]
}

const totalsJson = (sums: Totals) => ({
  estimated: dollars(sums.estimated),
  estimatedItems: sums.estimatedItems,
  charged: dollars(sums.charged),
  chargedCount: sums.chargedCount,
  uncertain: dollars(sums.unknown),
  uncertainCount: sums.unknownCount
})

/**
 * `reelay cost --json`: the rows, `total` of real money only, and the built-in simulator's own
 * totals under `simulator` (zero when it does not appear), never added to `total`.
 */
export const costJson = (rows: ReadonlyArray<Journal.CostSummary>) => {
  const { real, simulator } = split(rows)
  return {
    rows: rows.map((row) => ({
      day: row.day,
      provider: row.provider,
      model: row.model,
      simulator: isSimulated(row),
      estimated: dollars(row.estimated),
      estimatedItems: row.estimatedItems,
      charged: dollars(row.charged),
      chargedCount: row.chargedCount,
      uncertain: dollars(row.unknown),
      uncertainCount: row.unknownCount
    })),
    total: totalsJson(real),
    simulator: totalsJson(simulator)
  }
}

/** Runs the command. */
export const run = (args: CostArgs) =>
  Effect.gen(function* () {
    const style = Output.styleFor(args.json ? "json" : Output.detectMode(false))
    const { settings } = yield* CommandSettings.CommandSettings
    const filter = {
      batch: opt(args.batch),
      provider: opt(args.provider),
      model: opt(args.model),
      since: yield* day(opt(args.since), "--since"),
      until: yield* day(opt(args.until), "--until")
    }
    if (!Session.journalExists(settings)) {
      if (args.json) yield* Output.stdout(JSON.stringify(costJson([])))
      else
        yield* Output.stderr(
          `reelay: no journal at ${Redacted.value(settings.journal.value)}: nothing was spent here yet`
        )
      return
    }
    const rows = yield* Effect.flatMap(Journal.Journal, (journal) => journal.costSummary(filter)).pipe(
      Effect.provide(Layers.journalReader(settings))
    )
    if (args.json) {
      yield* Output.stdout(JSON.stringify(costJson(rows)))
    } else if (rows.length === 0) {
      yield* Output.stderr("reelay: no charges or estimates in the journal for this selection")
    } else {
      yield* Output.stdout(costTable(rows, style).join("\n"))
    }
  })
