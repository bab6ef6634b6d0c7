/**
 * `reelay batch <file.jsonl>`: every line a request, all checked before anything is sent, then run
 * as one journaled batch with separate concurrency for submits, status calls and downloads.
 *
 * @since 0.1.0
 */

import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Session from "@reelay/client/Run"
import * as Enqueue from "@reelay/cluster/Enqueue"
import * as Json from "@reelay/config/Json"
import * as Layers from "@reelay/config/Layers"
import * as Providers from "@reelay/config/Providers"
import * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import * as JobStore from "@reelay/core/JobStore"
import * as Money from "@reelay/core/Money"
import type * as ProviderRegistry from "@reelay/core/ProviderRegistry"
import { Database, Journal } from "@reelay/journal"
import { JournalError } from "@reelay/journal/JournalError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as BatchFile from "../BatchFile.js"
import { BatchFileError, UsageError } from "../CliError.js"
import * as CommandSettings from "../CommandSettings.js"
import * as Output from "../Output.js"
import * as Run from "../Run.js"
import type { Args as BatchArgs } from "../specs/Batch.js"

const { opt } = Setup

/** Reads a batch file as UTF-8 (dropping a byte-order mark; a UTF-16 file is named), or fails naming it. */
export const readFile = (path: string): Effect.Effect<string, BatchFileError> =>
  Effect.try({
    try: () => NodeFs.readFileSync(path),
    catch: (error) =>
      new BatchFileError({
        path,
        message: `cannot read the batch file ${path} (${(error as { code?: string }).code ?? String(error)})`
      })
  }).pipe(
    Effect.flatMap((bytes) =>
      Either.match(Json.decodeText(bytes), {
        onLeft: (problem) => Effect.fail(new BatchFileError({ path, message: `${path}: ${problem.message}` })),
        onRight: Effect.succeed
      })
    )
  )

/** Runs the command. */
export const run = (args: BatchArgs) =>
  Effect.gen(function* () {
    const mode = Output.detectMode(args.json)
    const { settings } = yield* CommandSettings.CommandSettings
    const text = yield* readFile(args.file)
    const parsed = yield* Either.match(
      BatchFile.parse(args.file, text, {
        provider: settings.provider.value,
        model: settings.model?.value,
        routes: settings.routes?.value
      }),
      { onLeft: Effect.fail, onRight: Effect.succeed }
    )
    const batch = opt(args.batch) ?? parsed.batchId
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(batch)) {
      return yield* new UsageError({ message: `--batch must be letters, digits, '.', '_' or '-', got "${batch}"` })
    }
    const outputDir = NodePath.resolve(opt(args.outDir) ?? NodePath.join(settings.outDir?.value ?? "out", batch))
    const items = parsed.items.map((item) => ({ ...item, label: `${args.file}:${item.line}` }))
    if (args.enqueue) return yield* enqueue(args, { batch, items, outputDir, mode })
    const code = yield* Effect.scoped(
      Effect.gen(function* () {
        const simulator = yield* Layers.startSimulator(settings, Session.providersOf(items.map((item) => item.request)))
        const registry = yield* Providers.registry(settings, simulator)
        yield* checkBatch(args, registry, { batch, items, outputDir })
        const journal = yield* Layer.build(Layers.journalLayer(settings))
        if (settings.notice !== undefined && items.some((item) => item.request.provider === settings.provider.value)) {
          yield* Output.stderr(settings.notice)
        }
        if (mode !== "json") {
          yield* Output.stderr(
            `reelay: batch ${batch}: ${items.length} item(s) from ${args.file} into ${NodePath.relative(process.cwd(), outputDir) || "."}`
          )
        }
        return yield* Run.execute(
          { batch, items, settings, mode, single: false, outputDir, overwrite: args.overwrite },
          registry,
          journal
        )
      })
    )
    return code
  }).pipe(Effect.provide(NodeHttpClient.layerUndici))

/**
 * Everything checked before a batch is journaled, for a run and for `--enqueue` alike: providers,
 * keys and requests, the budget, the outputs.
 */
const checkBatch = (
  args: BatchArgs,
  registry: ProviderRegistry.Service,
  run: { readonly batch: string; readonly items: ReadonlyArray<Session.Item>; readonly outputDir: string }
) =>
  Effect.gen(function* () {
    const { settings } = yield* CommandSettings.CommandSettings
    const { batch, items, outputDir } = run
    const models = yield* Session.preflight(settings, registry, items)
    // A budget that cannot pay for even the cheapest item would only journal a batch of refusals.
    yield* Session.withinBudgetForAny(settings, models)
    yield* Session.refuseSharedOutputs(items, outputDir)
    // Files this batch saved itself (items the journal shows started: a rerun, a second process,
    // a crash just after saving) are its own; any other file at an output is refused.
    yield* Session.refuseExisting(items, {
      outputDir,
      overwrite: args.overwrite,
      started: Session.startedItems(settings, batch),
      hint: { flag: "--overwrite", perItem: 'or "overwrite": true on its line' }
    })
    // A batch may be run by several processes at once: only directories are probed here, never
    // an item's own `.part`, which another process may be writing.
    yield* Session.checkOutputs(items, {
      outputDir: {
        path: outputDir,
        flag: opt(args.outDir) === undefined ? `the output directory ${outputDir}` : "--out-dir"
      },
      directoriesOnly: true
    })
  })

/**
 * `--enqueue`: the same checks as a run, then the batch journaled in PostgreSQL and its items
 * handed to the cluster's workers (`@reelay/cluster`). Nothing is sent to a provider from here.
 */
const enqueue = (
  args: BatchArgs,
  run: {
    readonly batch: string
    readonly items: ReadonlyArray<Session.Item>
    readonly outputDir: string
    readonly mode: Output.Mode
  }
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { settings } = yield* CommandSettings.CommandSettings
      const { batch, items, outputDir } = run
      if (!Layers.isPostgres(settings.journal.value)) {
        return yield* new UsageError({
          message:
            "--enqueue hands the batch to the workers of a PostgreSQL journal: give --journal postgres://... (the one the workers were started with)"
        })
      }
      const simulated = Session.providersOf(items.map((item) => item.request)).find((id) =>
        Settings.isSimulator(id ?? settings.provider.value)
      )
      if (simulated !== undefined) {
        return yield* new UsageError({
          message: `--enqueue: the built-in simulator (${simulated ?? settings.provider.value}) lives inside one process, and workers on other hosts cannot reach it; run a simulator server (reelay simulate) and point the provider at it (its base URL), as for a vendor`
        })
      }
      // The workers write where the checks look from here: one path on every worker (a shared file
      // system). Each worker checks again before it writes, and leaves an item it cannot write to
      // another worker.
      yield* checkBatch(args, yield* Providers.registry(settings, undefined), run)
      const journal = yield* Layer.build(Layers.journalLayer(settings))
      // The batch's budget goes with it: the workers hold it to what the journal says they all spent.
      yield* Context.get(journal, Journal.Journal).describe(batch, {
        ...Session.recordedSettings(settings),
        ...(settings.budget === undefined ? {} : { budget: Money.format(settings.budget.value) })
      })
      yield* Context.get(journal, JobStore.JobStore).open(
        batch,
        items.map((item) => ({
          key: item.key,
          fingerprint: JobStore.fingerprint(item.request),
          request: item.request,
          output: Session.outputOf(item, outputDir)
        }))
      )
      const enqueued = yield* Enqueue.enqueue(
        batch,
        items.map((item) => ({ key: item.key, overwrite: item.overwrite ?? args.overwrite }))
      ).pipe(
        Effect.provide(Enqueue.clientLayer),
        Effect.provide(PgClient.layer({ url: settings.journal.value })),
        Effect.provide(journal),
        Effect.catchTag("SqlError", (error) =>
          Effect.fail(
            new JournalError({
              operation: "hand the batch to the workers",
              message: `the batch is journaled, but its items could not be handed to the workers (${Database.explain(error)}); run the same command again`
            })
          )
        )
      )
      if (run.mode === "json") {
        yield* Output.stdout(JSON.stringify({ type: "enqueued", batch, items: enqueued, outputDir }))
      } else {
        yield* Output.stdout(batch)
        yield* Output.stderr(
          `reelay: batch ${batch}: ${enqueued} item(s) handed to the workers; follow it with reelay status ${batch}, from any host with the same --journal`
        )
      }
      return 0
    })
  )
