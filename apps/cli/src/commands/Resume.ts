/**
 * `reelay resume [batch]`: continues a batch (or a `generate`) from where the journal says each
 * item stands. Tasks already created are polled, finished videos fetched, saved files verified;
 * nothing is created twice unless `--recreate-uncertain` says so for items whose create may or may
 * not have reached the provider.
 *
 * @since 0.1.0
 */

import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Session from "@reelay/client/Run"
import * as Layers from "@reelay/config/Layers"
import * as Providers from "@reelay/config/Providers"
import * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import { Journal } from "@reelay/journal"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { UsageError } from "../CliError.js"
import * as CommandSettings from "../CommandSettings.js"
import * as Output from "../Output.js"
import * as Run from "../Run.js"
import type { Args as ResumeArgs } from "../specs/Resume.js"

const { opt } = Setup

/** Runs the command. */
export const run = (args: ResumeArgs) =>
  Effect.gen(function* () {
    const mode = Output.detectMode(args.json)
    const { flags, settings: initial } = yield* CommandSettings.CommandSettings
    if (!Session.journalExists(initial)) {
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
        const plan = yield* Session.planResume(initial, flags, Context.get(journal, Journal.Journal), {
          batch: opt(args.batch),
          out: opt(args.out),
          outDir: opt(args.outDir),
          overwrite: args.overwrite,
          hints: {
            flag: "--overwrite",
            elsewhere: "--out-dir DIR (or --out PATH for one video)",
            out: "--out",
            outDir: "--out-dir",
            profile: "--profile to choose another"
          },
          note: mode === "json" ? undefined : Output.stderr
        })
        if (plan._tag === "Nothing") {
          yield* Output.stderr(`reelay: ${plan.message}`)
          return 0
        }
        const simulator = yield* Layers.startSimulator(plan.settings, plan.used.filter(Settings.isSimulator))
        const registry = yield* Providers.registry(plan.settings, simulator)
        if (mode !== "json") {
          yield* Output.stderr(
            `reelay: resuming ${plan.batch}: ${plan.open.size} of ${plan.stored.length} item(s) not yet saved`
          )
        }
        return yield* Run.execute(
          {
            batch: plan.batch,
            items: plan.items,
            settings: plan.settings,
            mode,
            single: plan.single,
            recreateUncertain: args.recreateUncertain,
            retryFailed: args.retryFailed,
            overwrite: args.overwrite
          },
          registry,
          journal
        )
      })
    )
    return code
  }).pipe(Effect.provide(NodeHttpClient.layerUndici))
