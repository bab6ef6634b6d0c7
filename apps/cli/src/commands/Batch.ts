/**
 * `reelay batch <file.jsonl>`: every line a request, all checked before anything is sent, then run
 * as one journaled batch with separate concurrency for submits, status calls and downloads.
 *
 * @since 0.1.0
 */

import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Session from "@reelay/client/Run"
import * as Json from "@reelay/config/Json"
import * as Layers from "@reelay/config/Layers"
import * as Providers from "@reelay/config/Providers"
import * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as BatchFile from "../BatchFile.js"
import type { BatchArgs } from "../Cli.js"
import { BatchFileError, UsageError } from "../CliError.js"
import * as Output from "../Output.js"
import * as Report from "../Report.js"
import * as Run from "../Run.js"

const { opt } = Setup

/** Checks `--concurrency-*` values. */
export const positive = (value: number | undefined, flag: string): Effect.Effect<number | undefined, UsageError> =>
  value === undefined || value >= 1
    ? Effect.succeed(value)
    : Effect.fail(new UsageError({ message: `${flag} must be at least 1, got ${value}` }))

/** The `--concurrency-submit`, `-status` and `-download` flags of `batch` and `resume`, checked. */
export const concurrencyOf = (
  args: Pick<BatchArgs, "concurrencySubmit" | "concurrencyStatus" | "concurrencyDownload">
) =>
  Effect.all({
    submit: positive(opt(args.concurrencySubmit), "--concurrency-submit"),
    status: positive(opt(args.concurrencyStatus), "--concurrency-status"),
    download: positive(opt(args.concurrencyDownload), "--concurrency-download")
  })

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
    if (/^--?[A-Za-z]/.test(args.file)) {
      return yield* new UsageError({ message: `unknown flag ${args.file} (see reelay batch --help)` })
    }
    const settings = yield* Setup.settings({
      provider: opt(args.provider),
      model: opt(args.model),
      baseUrl: opt(args.baseUrl),
      profile: opt(args.profile),
      config: opt(args.config),
      journal: opt(args.journal),
      maxCost: opt(args.maxCost),
      timeout: opt(args.timeout),
      concurrency: yield* concurrencyOf(args)
    })
    const text = yield* readFile(args.file)
    const parsed = yield* Either.match(
      BatchFile.parse(args.file, text, {
        ...Settings.requestDefaults(settings),
        provider: settings.provider.value,
        model: settings.model?.value
      }),
      { onLeft: Effect.fail, onRight: Effect.succeed }
    )
    const batch = opt(args.batch) ?? parsed.batchId
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(batch)) {
      return yield* new UsageError({ message: `--batch must be letters, digits, '.', '_' or '-', got "${batch}"` })
    }
    const outputDir = NodePath.resolve(opt(args.outDir) ?? NodePath.join(settings.outDir?.value ?? "out", batch))
    const items = parsed.items.map((item) => ({ ...item, label: `${args.file}:${item.line}` }))
    const code = yield* Effect.scoped(
      Effect.gen(function* () {
        const simulator = yield* Layers.startSimulator(settings, Session.providersOf(items.map((item) => item.request)))
        const registry = yield* Providers.registry(settings, simulator)
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
    yield* Report.exit(code)
  }).pipe(
    Effect.withSpan("reelay.batch"),
    Effect.catchAll((error) => Report.failure(error, args.json)),
    Effect.provide(NodeHttpClient.layerUndici)
  )
