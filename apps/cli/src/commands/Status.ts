/**
 * `reelay status [batch | task]`: from the journal, read-only (it never takes the writer's lock,
 * so it works while a batch runs): every batch, one batch's items, or the item that made a task.
 *
 * @since 0.1.0
 */
import * as NodeFs from "node:fs"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as Money from "@reelay/core/Money"
import { SavedVideo } from "@reelay/core/SavedVideo"
import { TaskHandle } from "@reelay/core/TaskHandle"
import * as VideoError from "@reelay/core/VideoError"
import { JobState, Journal } from "@reelay/journal"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { StatusArgs } from "../Cli.js"
import { UsageError } from "../CliError.js"
import * as Output from "../Output.js"
import * as Render from "../Render.js"
import * as Report from "../Report.js"
import * as Run from "../Run.js"
import type * as Settings from "../Settings.js"
import * as Setup from "../Setup.js"

const { opt } = Setup

const encodeRequest = Schema.encodeSync(GenerateRequest)
const encodeVideo = Schema.encodeSync(SavedVideo)
const encodeError = Schema.encodeSync(VideoError.VideoError)
const encodeHandle = Schema.encodeSync(TaskHandle)

/** An item as JSON: every field, the domain values in their encoded form. */
export const itemJson = (item: Journal.Item) => ({
  batch: item.batch,
  key: item.key,
  position: item.position,
  state: item.state,
  provider: item.provider ?? null,
  model: item.model ?? null,
  taskId: item.taskId ?? null,
  progress: item.progress ?? null,
  output: item.output,
  path: item.path ?? null,
  sha256: item.sha256 ?? null,
  bytes: item.bytes ?? null,
  estimatedCost: item.estimatedCost === undefined ? null : Money.format(item.estimatedCost).slice(1),
  chargePolicy: item.chargePolicy ?? null,
  billing: item.billing ?? null,
  attempts: item.attempts,
  error: item.error === undefined ? null : encodeError(item.error),
  handle: item.handle === undefined ? null : encodeHandle(item.handle),
  video: item.video === undefined ? null : encodeVideo(item.video),
  request: encodeRequest(item.request),
  duplicateOf: item.duplicateOf ?? null,
  createdAt: item.createdAt.toISOString(),
  updatedAt: item.updatedAt.toISOString()
})

const when = (date: Date) => date.toISOString().replace("T", " ").slice(0, 19)

/** The table of batches. */
export const batchesTable = (
  batches: ReadonlyArray<Journal.BatchSummary & { readonly charged: Money.Usd }>,
  style: Render.Style
): ReadonlyArray<string> =>
  Render.table(
    ["BATCH", "UPDATED (UTC)", "ITEMS", "CHARGED", "STATES"],
    batches.map((batch) => [
      batch.batch,
      when(batch.updatedAt),
      String(batch.items),
      Money.format(batch.charged),
      Render.counts(batch.states, JobState.states)
    ]),
    { right: [2, 3], style }
  )

/** The table of one batch's items. */
export const itemsTable = (items: ReadonlyArray<Journal.Item>, style: Render.Style): ReadonlyArray<string> =>
  Render.table(
    ["KEY", "STATE", "PROGRESS", "TASK", "MODEL", "OUTPUT / ERROR"],
    items.map((item) => [
      item.key,
      item.state,
      item.progress === undefined ? "" : `${Math.round(item.progress)}%`,
      item.taskId ?? "",
      item.model === undefined ? "" : `${item.provider}/${item.model}`,
      item.error !== undefined && item.state !== "downloaded"
        ? `${Render.errorText(item.error)} (${Render.billingText(item.error.billing)})`
        : Render.displayPath(item.path ?? item.output)
    ]),
    { right: [2], style }
  )

/** One item in detail. */
export const itemDetail = (item: Journal.Item): ReadonlyArray<string> => {
  const rows: Array<[string, string | undefined]> = [
    ["batch", item.batch],
    ["key", item.key],
    ["state", item.state],
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
    ["estimated", item.estimatedCost === undefined ? undefined : Money.format(item.estimatedCost)],
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

/** Whether there is a journal to read (a SQLite file that does not exist has nothing to say). */
export const journalExists = (settings: Settings.Settings): boolean =>
  Run.isPostgres(settings.journal.value) || NodeFs.existsSync(Redacted.value(settings.journal.value))

/** Runs the command. */
export const run = (args: StatusArgs) =>
  Effect.gen(function* () {
    const mode = args.json ? "json" : Output.detectMode(false)
    const style = Output.styleFor(mode)
    const settings = yield* Setup.settings({
      profile: opt(args.profile),
      config: opt(args.config),
      journal: opt(args.journal)
    })
    const target = opt(args.target)
    if (!journalExists(settings)) {
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
        const withCosts = yield* Effect.forEach(batches, (batch) =>
          Effect.map(journal.batchCosts(batch.batch), (costs) => ({
            ...batch,
            charged: costs.charged,
            uncertain: costs.unknown
          }))
        )
        if (args.json) {
          yield* Output.stdout(
            JSON.stringify({
              batches: withCosts.map((batch) => ({
                batch: batch.batch,
                createdAt: batch.createdAt.toISOString(),
                updatedAt: batch.updatedAt.toISOString(),
                items: batch.items,
                states: batch.states,
                charged: Money.format(batch.charged).slice(1),
                uncertain: Money.format(batch.uncertain).slice(1)
              }))
            })
          )
        } else if (withCosts.length === 0) {
          yield* Output.stderr("reelay: the journal has no batches yet")
        } else {
          yield* Output.stdout(batchesTable(withCosts, style).join("\n"))
        }
        return
      }
      const items = yield* journal.items(target)
      if (items.length > 0) {
        if (args.json) {
          const costs = yield* journal.batchCosts(target)
          yield* Output.stdout(
            JSON.stringify({
              batch: target,
              charged: Money.format(costs.charged).slice(1),
              uncertain: Money.format(costs.unknown).slice(1),
              estimated: Money.format(costs.estimated).slice(1),
              items: items.map(itemJson)
            })
          )
        } else {
          const costs = yield* journal.batchCosts(target)
          const states: Record<string, number> = {}
          for (const item of items) states[item.state] = (states[item.state] ?? 0) + 1
          yield* Output.stdout(
            [
              `${Render.bold(style, `batch ${target}`)}: ${items.length} item(s); ${Render.counts(states, JobState.states)}; ${Money.format(costs.charged)} charged${Money.greaterThan(costs.unknown, Money.zero) ? `, ${Money.format(costs.unknown)} uncertain` : ""} (estimated ${Money.format(costs.estimated)})`,
              ...itemsTable(items, style)
            ].join("\n")
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
      if (args.json) yield* Output.stdout(JSON.stringify({ task: target, items: byTask.map(itemJson) }))
      else yield* Output.stdout(byTask.map((item) => itemDetail(item).join("\n")).join("\n\n"))
    }).pipe(Effect.provide(Run.journalReader(settings)))
  }).pipe(
    Effect.withSpan("reelay.status"),
    Effect.catchAll((error) => Report.failure(error, args.json))
  )
