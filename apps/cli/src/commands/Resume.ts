/**
 * `reelay resume [batch]`: continues a batch (or a `generate`) from where the journal says each
 * item stands. Tasks already created are polled, finished videos fetched, saved files verified;
 * nothing is created twice unless `--recreate-uncertain` says so for items whose create may or may
 * not have reached the provider.
 *
 * @since 0.1.0
 */

import * as NodePath from "node:path"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Layers from "@reelay/config/Layers"
import * as Providers from "@reelay/config/Providers"
import * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import { Journal } from "@reelay/journal"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { ResumeArgs } from "../Cli.js"
import { UsageError } from "../CliError.js"
import * as Output from "../Output.js"
import * as Report from "../Report.js"
import * as Run from "../Run.js"
import { concurrencyOf } from "./Batch.js"
import { outputPath } from "./Generate.js"
import { journalExists } from "./Status.js"

const { opt } = Setup

const finished: ReadonlySet<string> = new Set(["downloaded", "duplicate"])

/** The most recently updated batch with an item not yet saved. */
export const latestUnfinished = (batches: ReadonlyArray<Journal.BatchSummary>): string | undefined =>
  batches.find((batch) =>
    Object.entries(batch.states).some(([state, count]) => !finished.has(state) && (count ?? 0) > 0)
  )?.batch

/**
 * The items to run, with their outputs: as recorded, or, for the videos not saved yet, in
 * `--out-dir` under their file names, or at `--out` for a batch of one. A video that could not be
 * written where it was asked for is paid for already: this is how it is saved elsewhere.
 */
export const outputsOf = (
  stored: ReadonlyArray<Journal.Item>,
  options: { readonly out: string | undefined; readonly outDir: string | undefined }
): Effect.Effect<ReadonlyArray<Run.Item>, UsageError> =>
  Effect.gen(function* () {
    const unsaved = stored.filter((item) => !finished.has(item.state))
    if (options.out !== undefined && options.outDir !== undefined) {
      return yield* new UsageError({ message: "--out and --out-dir cannot be used together; give one" })
    }
    if (options.out !== undefined && unsaved.length !== 1) {
      return yield* new UsageError({
        message: `--out names one file, and this batch has ${unsaved.length} video(s) not yet saved; use --out-dir`
      })
    }
    return stored.map((item) => {
      const moved = !finished.has(item.state)
      const output = !moved
        ? item.output
        : options.out !== undefined
          ? outputPath(options.out, NodePath.dirname(item.output), NodePath.basename(item.output))
          : options.outDir !== undefined
            ? NodePath.resolve(options.outDir, NodePath.basename(item.output))
            : item.output
      return { key: item.key, request: item.request, output, label: `item ${item.key}` }
    })
  })

/**
 * The settings with each provider's base URL as the journal recorded it for this batch's
 * creates, and a note for each that differs from the current setting. Refused when one provider's
 * items went to several hosts: one run can reach one host per provider.
 */
export const recordedEndpoints = (
  settings: Settings.Settings,
  batch: string,
  stored: ReadonlyArray<Journal.Item>
): Either.Either<{ readonly settings: Settings.Settings; readonly notes: ReadonlyArray<string> }, UsageError> => {
  const hosts = new Map<string, Set<string>>()
  for (const item of stored) {
    if (item.baseUrl === undefined || item.provider === undefined || finished.has(item.state)) continue
    // The built-in simulator is started anew each run, on the state it kept: its address is today's.
    if (Settings.isSimulator(item.provider)) continue
    const urls = hosts.get(item.provider) ?? new Set<string>()
    urls.add(item.baseUrl)
    hosts.set(item.provider, urls)
  }
  const notes: Array<string> = []
  const providers: Array<Settings.ProviderSettings> = []
  for (const provider of settings.providers) {
    const urls = [...(hosts.get(provider.id) ?? [])]
    if (urls.length > 1) {
      return Either.left(
        new UsageError({
          message: `batch ${batch} sent creates for ${provider.id} to ${urls.length} hosts (${urls.join(", ")}); a task is known only to the host that made it, and one run reaches one host per provider`
        })
      )
    }
    const recorded = urls[0]
    if (recorded === undefined || recorded === provider.baseUrl.value) {
      providers.push(provider)
      continue
    }
    notes.push(
      `reelay: ${provider.id}: resuming at ${recorded}, where this batch's creates went (the current setting, ${provider.baseUrl.source}, says ${provider.baseUrl.value})`
    )
    providers.push({ ...provider, baseUrl: { value: recorded, source: `the journal (batch ${batch})` } })
  }
  return Either.right({ settings: { ...settings, providers }, notes })
}

/** Runs the command. */
export const run = (args: ResumeArgs) =>
  Effect.gen(function* () {
    const mode = Output.detectMode(args.json)
    const flags = {
      profile: opt(args.profile),
      config: opt(args.config),
      journal: opt(args.journal),
      maxCost: opt(args.maxCost),
      timeout: opt(args.timeout),
      concurrency: yield* concurrencyOf(args)
    }
    const initial = yield* Setup.settings(flags)
    if (!journalExists(initial)) {
      const batch = opt(args.batch)
      if (batch !== undefined) {
        return yield* new UsageError({
          message: `no batch "${batch}": there is no journal at ${Redacted.value(initial.journal.value)}`
        })
      }
      yield* Output.stderr(`reelay: nothing to resume: there is no journal at ${Redacted.value(initial.journal.value)}`)
      return
    }
    const code = yield* Effect.scoped(
      Effect.gen(function* () {
        const journal = yield* Layer.build(Layers.journalLayer(initial))
        const reader = Context.get(journal, Journal.Journal)
        const batches = yield* reader.batches
        const batch = opt(args.batch) ?? latestUnfinished(batches)
        if (batch === undefined) {
          yield* Output.stderr("reelay: nothing to resume: every batch in the journal is complete")
          return 0
        }
        const stored = yield* reader.items(batch)
        if (stored.length === 0) {
          return yield* new UsageError({ message: `no batch "${batch}" in the journal (${initial.journal.source})` })
        }
        const open = new Set(stored.filter((item) => !finished.has(item.state)).map((item) => item.key))
        // Run the batch the way it was run: a profile may have given its provider another key and
        // base URL, and a task is visible only to the key that created it. --profile overrides.
        const recorded = batches.find((summary) => summary.batch === batch)?.settings ?? {}
        const settings =
          flags.profile === undefined && recorded.profile !== undefined && recorded.profile !== initial.profile?.value
            ? yield* Setup.settings({ ...flags, profile: recorded.profile, config: flags.config ?? recorded.config })
            : initial
        if (settings !== initial && mode !== "json") {
          yield* Output.stderr(
            `reelay: resuming ${batch} with profile "${recorded.profile}", as it was run (--profile to choose another)`
          )
        }
        const items = yield* outputsOf(stored, { out: opt(args.out), outDir: opt(args.outDir) })
        // Each item goes on where its create went: a task is known only to the host that made it.
        const endpoints = yield* Either.match(recordedEndpoints(settings, batch, stored), {
          onLeft: Effect.fail,
          onRight: Effect.succeed
        })
        if (mode !== "json") for (const note of endpoints.notes) yield* Output.stderr(note)
        const used = [...new Set(stored.map((item) => item.provider ?? item.request.provider))]
        for (const id of used) {
          if (id !== undefined) yield* Providers.requireKey(endpoints.settings, id)
        }
        yield* Run.refuseSharedOutputs(items, undefined)
        // Only items not started yet can meet a file that is not this batch's own.
        yield* Run.refuseExisting(
          items.filter((item) => open.has(item.key)),
          {
            overwrite: args.overwrite,
            // Read again after the outputs are looked at: another process may be running this batch.
            started: Effect.map(reader.items(batch), Run.startedKeys),
            hint: { flag: "--overwrite" }
          }
        )
        yield* Run.checkOutputs(
          items.filter((item) => open.has(item.key)),
          { directoriesOnly: true }
        ).pipe(
          Effect.mapError(
            (error) =>
              new UsageError({
                message: `${error.message}; to save it elsewhere: --out-dir DIR (or --out PATH for one video)`
              })
          )
        )
        const simulator = yield* Layers.startSimulator(
          endpoints.settings,
          used.filter((id) => id !== undefined && Settings.isSimulator(id))
        )
        const registry = yield* Providers.registry(endpoints.settings, simulator)
        if (mode !== "json") {
          yield* Output.stderr(`reelay: resuming ${batch}: ${open.size} of ${stored.length} item(s) not yet saved`)
        }
        return yield* Run.execute(
          {
            batch,
            items,
            settings: endpoints.settings,
            mode,
            single: stored.length === 1 && batch.startsWith("gen-"),
            recreateUncertain: args.recreateUncertain,
            overwrite: args.overwrite
          },
          registry,
          journal
        )
      })
    )
    yield* Report.exit(code)
  }).pipe(
    Effect.withSpan("reelay.resume"),
    Effect.catchAll((error) => Report.failure(error, args.json)),
    Effect.provide(NodeHttpClient.layerUndici)
  )
