/**
 * `reelay status [batch | task]`: from the journal, read-only (it never takes the writer's lock,
 * so it works while a batch runs): every batch, one batch's items, or the item that made a task.
 * Money is real providers' money; the built-in simulator's pretend prices are shown apart.
 *
 * @since 0.1.0
 */

import * as Session from "@reelay/client/Run"
import * as Layers from "@reelay/config/Layers"
import * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as Money from "@reelay/core/Money"
import { SavedVideo } from "@reelay/core/SavedVideo"
import { TaskHandle } from "@reelay/core/TaskHandle"
import * as VideoError from "@reelay/core/VideoError"
import { JobState, Journal } from "@reelay/journal"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { UsageError } from "../CliError.js"
import * as CommandSettings from "../CommandSettings.js"
import * as Output from "../Output.js"
import * as Render from "../Render.js"
import type { Args as StatusArgs } from "../specs/Status.js"

const { opt } = Setup

const encodeRequest = Schema.encodeSync(GenerateRequest)
const encodeVideo = Schema.encodeSync(SavedVideo)
const encodeError = Schema.encodeSync(VideoError.VideoError)
const encodeHandle = Schema.encodeSync(TaskHandle)

/** Certain and possible dollars. */
export interface Spend {
  readonly charged: Money.Usd
  readonly uncertain: Money.Usd
}

/** A batch's money: real providers' and the built-in simulator's (pretend, never added to it), apart. */
export interface BatchMoney {
  readonly real: Spend & { readonly estimated: Money.Usd }
  readonly simulator: Spend & { readonly estimated: Money.Usd }
  /** Whether the simulator appears at all (an item or a charge), so its line shows even at $0. */
  readonly simulated: boolean
}

const simulated = (provider: string | undefined) => provider !== undefined && Settings.isSimulator(provider)

const spend = (charges: ReadonlyArray<Journal.Charge>): Spend => ({
  charged: Money.sum(charges.filter((charge) => charge.billing === "charged").map((charge) => charge.amount)),
  uncertain: Money.sum(charges.filter((charge) => charge.billing === "unknown").map((charge) => charge.amount))
})

// As `Journal.batchCosts` counts: a duplicate is generated once, by the item it repeats.
const estimate = (items: ReadonlyArray<Journal.Item>) =>
  Money.sum(items.flatMap((item) => (item.state === "duplicate" ? [] : (item.estimatedCost ?? []))))

/** A batch's money from its charges (and its items, for the estimate). */
export const batchMoney = (
  charges: ReadonlyArray<Journal.Charge>,
  items: ReadonlyArray<Journal.Item> = []
): BatchMoney => ({
  real: {
    ...spend(charges.filter((charge) => !simulated(charge.provider))),
    estimated: estimate(items.filter((item) => !simulated(item.provider)))
  },
  simulator: {
    ...spend(charges.filter((charge) => simulated(charge.provider))),
    estimated: estimate(items.filter((item) => simulated(item.provider)))
  },
  simulated: charges.some((charge) => simulated(charge.provider)) || items.some((item) => simulated(item.provider))
})

/** One item's money, from its batch's charges. */
export const itemSpend = (item: Journal.Item, charges: ReadonlyArray<Journal.Charge>): Spend =>
  spend(charges.filter((charge) => charge.batch === item.batch && charge.key === item.key))

const dollars = (amount: Money.Usd) => Money.format(amount).slice(1)

// A base URL is configuration, and configuration may carry a password (`https://user:secret@host`).
const withoutPassword = (url: string): string => {
  try {
    const parsed = new URL(url)
    if (parsed.password === "") return url
    parsed.password = "redacted"
    return parsed.toString()
  } catch {
    return url
  }
}

/**
 * An item as JSON: every field, the domain values in their encoded form, and its money (`uncertain`
 * is possibly charged; `simulator` says the money is the built-in simulator's, not real).
 */
export const itemJson = (item: Journal.Item, money: Spend = { charged: Money.zero, uncertain: Money.zero }) => ({
  batch: item.batch,
  key: item.key,
  position: item.position,
  state: item.state,
  provider: item.provider ?? null,
  model: item.model ?? null,
  simulator: simulated(item.provider),
  taskId: item.taskId ?? null,
  progress: item.progress ?? null,
  output: item.output,
  path: item.path ?? null,
  sha256: item.sha256 ?? null,
  bytes: item.bytes ?? null,
  estimatedCost: item.estimatedCost === undefined ? null : dollars(item.estimatedCost),
  charged: dollars(money.charged),
  uncertain: dollars(money.uncertain),
  chargePolicy: item.chargePolicy ?? null,
  billing: item.billing ?? null,
  attempts: item.attempts,
  error: item.error === undefined ? null : encodeError(item.error),
  handle: item.handle === undefined ? null : encodeHandle(item.handle),
  video: item.video === undefined ? null : encodeVideo(item.video),
  request: encodeRequest(item.request),
  duplicateOf: item.duplicateOf ?? null,
  claimedBy: item.claimedBy ?? null,
  baseUrl: item.baseUrl === undefined ? null : withoutPassword(item.baseUrl),
  createdAt: item.createdAt.toISOString(),
  updatedAt: item.updatedAt.toISOString()
})

const spendText = (money: Spend) =>
  `${Money.format(money.charged)}${Money.greaterThan(money.uncertain, Money.zero) ? ` + ${Money.format(money.uncertain)} uncertain` : ""}`

const when = (date: Date) => date.toISOString().replace("T", " ").slice(0, 19)

/**
 * The table of batches: real money in CHARGED and UNCERTAIN, and the built-in simulator's pretend
 * money in a column of its own when any batch used it.
 */
export const batchesTable = (
  batches: ReadonlyArray<Journal.BatchSummary & { readonly money: BatchMoney }>,
  style: Render.Style
): ReadonlyArray<string> => {
  const simulator = batches.some((batch) => batch.money.simulated)
  const uncertain = batches.some(
    (batch) =>
      Money.greaterThan(batch.money.real.uncertain, Money.zero) ||
      Money.greaterThan(batch.money.simulator.uncertain, Money.zero)
  )
  const table = Render.table(
    [
      "BATCH",
      "UPDATED (UTC)",
      "ITEMS",
      "CHARGED",
      "UNCERTAIN",
      ...(simulator ? [Render.simulatorLabel.toUpperCase()] : []),
      "STATES"
    ],
    batches.map((batch) => [
      batch.batch,
      when(batch.updatedAt),
      String(batch.items),
      Money.format(batch.money.real.charged),
      Money.format(batch.money.real.uncertain),
      ...(simulator ? [batch.money.simulated ? spendText(batch.money.simulator) : ""] : []),
      Render.counts(batch.states, JobState.states)
    ]),
    { right: [2, 3, 4], style }
  )
  return uncertain ? [...table, Render.dim(style, Render.uncertainLegend)] : table
}

/**
 * One batch's money in a line, then the built-in simulator's on a line of its own when it appears
 * (its prices are pretend: they never join the batch's money).
 */
export const batchHeader = (
  batch: string,
  items: ReadonlyArray<Journal.Item>,
  money: BatchMoney,
  style: Render.Style
): ReadonlyArray<string> => {
  const states: Record<string, number> = {}
  for (const item of items) states[item.state] = (states[item.state] ?? 0) + 1
  const line = (sums: BatchMoney["real"]) =>
    `${Money.format(sums.charged)} charged${
      Money.greaterThan(sums.uncertain, Money.zero)
        ? `, ${Money.format(sums.uncertain)} uncertain (possibly charged)`
        : ""
    }; estimated ${Money.format(sums.estimated)}`
  const onlySimulator =
    money.simulated && items.every((item) => item.provider === undefined || simulated(item.provider))
  const real = onlySimulator ? "$0.00 of real money (only the built-in simulator)" : line(money.real)
  return [
    `${Render.bold(style, `batch ${batch}`)}: ${items.length} item(s); ${Render.counts(states, JobState.states)}; ${real}`,
    ...(money.simulated ? [`${Render.simulatorLabel}: ${line(money.simulator)}`] : [])
  ]
}

/**
 * The table of one batch's items. UNCERTAIN (an item's possible charge: a create in flight or
 * whose outcome is unknown) shows when any item has one, WORKING when a process holds any item.
 */
export const itemsTable = (
  items: ReadonlyArray<Journal.Item>,
  charges: ReadonlyArray<Journal.Charge>,
  style: Render.Style
): ReadonlyArray<string> => {
  const uncertain = new Map(items.map((item) => [item, itemSpend(item, charges).uncertain]))
  const anyUncertain = [...uncertain.values()].some((amount) => Money.greaterThan(amount, Money.zero))
  const anyWorking = items.some((item) => item.claimedBy !== undefined)
  const possible = (item: Journal.Item) => {
    const amount = uncertain.get(item) ?? Money.zero
    if (!Money.greaterThan(amount, Money.zero)) return ""
    return `${Money.format(amount)}${simulated(item.provider) ? " (not money)" : ""}`
  }
  const table = Render.table(
    [
      "KEY",
      "STATE",
      "PROGRESS",
      ...(anyUncertain ? ["UNCERTAIN"] : []),
      "TASK",
      "MODEL",
      ...(anyWorking ? ["WORKING"] : []),
      "OUTPUT / ERROR"
    ],
    items.map((item) => [
      item.key,
      item.state,
      item.progress === undefined ? "" : `${Math.round(item.progress)}%`,
      ...(anyUncertain ? [possible(item)] : []),
      item.taskId ?? "",
      item.model === undefined ? "" : `${item.provider}/${item.model}`,
      ...(anyWorking ? [item.claimedBy === undefined ? "" : Render.workerText(item.claimedBy)] : []),
      item.error !== undefined && item.state !== "downloaded"
        ? `${Render.errorText(item.error)} (${Render.billingText(item.error.billing)})`
        : Render.displayPath(item.path ?? item.output)
    ]),
    { right: anyUncertain ? [2, 3] : [2], style }
  )
  return anyUncertain ? [...table, Render.dim(style, Render.uncertainLegend)] : table
}

/** One item in detail, with its money (the simulator's said to be pretend). */
export const itemDetail = (
  item: Journal.Item,
  money: Spend = { charged: Money.zero, uncertain: Money.zero }
): ReadonlyArray<string> => {
  const notMoney = simulated(item.provider) ? " (built-in simulator: not money)" : ""
  const rows: Array<[string, string | undefined]> = [
    ["batch", item.batch],
    ["key", item.key],
    ["state", item.state],
    ["working", item.claimedBy === undefined ? undefined : Render.workerText(item.claimedBy)],
    ["provider", item.provider],
    ["model", item.model],
    ["task", item.taskId],
    ["progress", item.progress === undefined ? undefined : `${Math.round(item.progress)}%`],
    ["output", item.path ?? item.output],
    ["bytes", item.bytes === undefined ? undefined : `${item.bytes} (${Render.bytes(item.bytes)})`],
    ["sha256", item.sha256],
    [
      "video",
      item.video === undefined
        ? undefined
        : `${item.video.probe.width}x${item.video.probe.height}, ${Render.seconds(item.video.probe.durationSeconds)}`
    ],
    ["estimated", item.estimatedCost === undefined ? undefined : `${Money.format(item.estimatedCost)}${notMoney}`],
    ["charged", Money.greaterThan(money.charged, Money.zero) ? `${Money.format(money.charged)}${notMoney}` : undefined],
    [
      "uncertain",
      Money.greaterThan(money.uncertain, Money.zero)
        ? `${Money.format(money.uncertain)}${notMoney} (${Render.uncertainMeaning})`
        : undefined
    ],
    ["charge rule", item.chargePolicy === undefined ? undefined : Render.chargeRule(item.chargePolicy)],
    ["billing", item.billing === undefined ? undefined : Render.billingText(item.billing)],
    ["attempts", String(item.attempts)],
    ["error", item.error === undefined ? undefined : Render.errorText(item.error)],
    ["prompt", item.request.prompt],
    ["created", `${when(item.createdAt)} UTC`],
    ["updated", `${when(item.updatedAt)} UTC`]
  ]
  return rows
    .filter((row): row is [string, string] => row[1] !== undefined)
    .map(([name, value]) => `${name.padEnd(12)}${value}`)
}

/** Runs the command. */
export const run = (args: StatusArgs) =>
  Effect.gen(function* () {
    const mode = args.json ? "json" : Output.detectMode(false)
    const style = Output.styleFor(mode)
    const { settings } = yield* CommandSettings.CommandSettings
    const target = opt(args.target)
    if (!Session.journalExists(settings)) {
      if (target !== undefined) {
        return yield* new UsageError({
          message: `no journal at ${Redacted.value(settings.journal.value)}: nothing was generated here yet`
        })
      }
      if (args.json) yield* Output.stdout(JSON.stringify({ batches: [] }))
      else
        yield* Output.stderr(
          `reelay: no journal at ${Redacted.value(settings.journal.value)}: nothing was generated here yet`
        )
      return
    }
    yield* Effect.gen(function* () {
      const journal = yield* Journal.Journal
      if (target === undefined) {
        const batches = yield* journal.batches
        const withMoney = yield* Effect.forEach(batches, (batch) =>
          Effect.map(journal.charges({ batch: batch.batch }), (charges) => ({ ...batch, money: batchMoney(charges) }))
        )
        if (args.json) {
          yield* Output.stdout(
            JSON.stringify({
              batches: withMoney.map((batch) => ({
                batch: batch.batch,
                createdAt: batch.createdAt.toISOString(),
                updatedAt: batch.updatedAt.toISOString(),
                items: batch.items,
                states: batch.states,
                charged: dollars(batch.money.real.charged),
                uncertain: dollars(batch.money.real.uncertain),
                simulator: {
                  charged: dollars(batch.money.simulator.charged),
                  uncertain: dollars(batch.money.simulator.uncertain)
                }
              }))
            })
          )
        } else if (withMoney.length === 0) {
          yield* Output.stderr("reelay: the journal has no batches yet")
        } else {
          yield* Output.stdout(batchesTable(withMoney, style).join("\n"))
        }
        return
      }
      const items = yield* journal.items(target)
      if (items.length > 0) {
        const charges = yield* journal.charges({ batch: target })
        const money = batchMoney(charges, items)
        if (args.json) {
          yield* Output.stdout(
            JSON.stringify({
              batch: target,
              charged: dollars(money.real.charged),
              uncertain: dollars(money.real.uncertain),
              estimated: dollars(money.real.estimated),
              simulator: {
                charged: dollars(money.simulator.charged),
                uncertain: dollars(money.simulator.uncertain),
                estimated: dollars(money.simulator.estimated)
              },
              items: items.map((item) => itemJson(item, itemSpend(item, charges)))
            })
          )
        } else {
          yield* Output.stdout(
            [...batchHeader(target, items, money, style), ...itemsTable(items, charges, style)].join("\n")
          )
        }
        return
      }
      const byTask = yield* journal.byTaskId(target)
      if (byTask.length === 0) {
        return yield* new UsageError({
          message: `no batch or task "${target}" in the journal (${settings.journal.source})`
        })
      }
      const charges = yield* Effect.forEach(new Set(byTask.map((item) => item.batch)), (batch) =>
        journal.charges({ batch })
      ).pipe(Effect.map((all) => all.flat()))
      if (args.json)
        yield* Output.stdout(
          JSON.stringify({ task: target, items: byTask.map((item) => itemJson(item, itemSpend(item, charges))) })
        )
      else
        yield* Output.stdout(byTask.map((item) => itemDetail(item, itemSpend(item, charges)).join("\n")).join("\n\n"))
    }).pipe(Effect.provide(Layers.journalReader(settings)))
  })
