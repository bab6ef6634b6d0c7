/**
 * `reelay resume [batch]`: continues a batch (or a `generate`) from where the journal says each
 * item stands. Tasks already created are polled, finished videos fetched, saved files verified;
 * nothing is created twice unless `--recreate-uncertain` says so for items whose create may or may
 * not have reached the provider.
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Journal } from "@reelay/journal"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { ResumeArgs } from "../Cli.js"
import { UsageError } from "../CliError.js"
import * as Output from "../Output.js"
import * as Providers from "../Providers.js"
import * as Report from "../Report.js"
import * as Run from "../Run.js"
import * as Settings from "../Settings.js"
import * as Setup from "../Setup.js"
import { concurrencyOf } from "./Batch.js"
import { journalExists } from "./Status.js"

const { opt } = Setup

const finished: ReadonlySet<string> = new Set(["downloaded", "duplicate"])

/** The most recently updated batch with an item not yet saved. */
export const latestUnfinished = (batches: ReadonlyArray<Journal.BatchSummary>): string | undefined =>
  batches.find((batch) =>
    Object.entries(batch.states).some(([state, count]) => !finished.has(state) && (count ?? 0) > 0)
  )?.batch

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
        const journal = yield* Layer.build(Run.journalLayer(initial))
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
        const items = stored.map((item) => ({ key: item.key, request: item.request, output: item.output }))
        const used = [...new Set(stored.map((item) => item.provider ?? item.request.provider))]
        const simulator = yield* Run.startSimulator(
          settings,
          used.filter((id) => id !== undefined && Settings.isSimulator(id))
        )
        if (
          simulator !== undefined &&
          stored.some((item) => item.taskId !== undefined && item.state !== "downloaded")
        ) {
          yield* Output.stderr(
            "reelay: tasks created on the built-in simulator of an earlier run are gone with it; they will be reported as not found"
          )
        }
        const registry = yield* Providers.registry(settings, simulator)
        for (const id of used) {
          if (id !== undefined) yield* Providers.requireKey(settings, id)
        }
        if (mode !== "json") {
          const open = stored.filter((item) => item.state !== "downloaded" && item.state !== "duplicate").length
          yield* Output.stderr(`reelay: resuming ${batch}: ${open} of ${stored.length} item(s) not yet saved`)
        }
        return yield* Run.execute(
          {
            batch,
            items,
            settings,
            mode,
            single: stored.length === 1 && batch.startsWith("gen-"),
            recreateUncertain: args.recreateUncertain
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
