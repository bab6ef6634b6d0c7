/**
 * `reelay generate <prompt>`: one video, journaled as a batch of one (`gen-<id>`), so `resume`,
 * `status` and `cost` see it and Ctrl-C or a `PollTimeout` can print how to resume it.
 *
 * @since 0.1.0
 */

import { randomBytes } from "node:crypto"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Requests from "@reelay/client/Requests"
import * as Session from "@reelay/client/Run"
import * as Layers from "@reelay/config/Layers"
import * as Providers from "@reelay/config/Providers"
import * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as CommandSettings from "../CommandSettings.js"
import * as Output from "../Output.js"
import * as Run from "../Run.js"
import type { Args as GenerateArgs } from "../specs/Generate.js"

const { opt } = Setup

/** Runs the command. */
export const run = (args: GenerateArgs) =>
  Effect.gen(function* () {
    const mode = Output.detectMode(args.json)
    const { settings } = yield* CommandSettings.CommandSettings
    const request = yield* Either.match(
      Requests.toRequest(
        {
          prompt: args.prompt,
          ...Settings.requestDefaults(settings),
          images: args.image,
          seconds: opt(args.seconds),
          resolution: opt(args.resolution),
          aspectRatio: opt(args.aspectRatio),
          size: opt(args.size),
          negativePrompt: opt(args.negativePrompt),
          seed: opt(args.seed)
        },
        process.cwd()
      ),
      { onLeft: Effect.fail, onRight: Effect.succeed }
    )
    const id = randomBytes(4).toString("hex")
    const batch = `gen-${id}`
    const key = Session.slug(args.prompt)
    const output = Session.outputPath(opt(args.out), settings.outDir?.value ?? "out", `${key}-${id}.mp4`)
    const code = yield* Effect.scoped(
      Effect.gen(function* () {
        const simulator = yield* Layers.startSimulator(settings, Session.providersOf([request]))
        const registry = yield* Providers.registry(settings, simulator)
        const items = [{ key, request, output, overwrite: args.overwrite }]
        const [model] = yield* Session.preflight(settings, registry, items)
        yield* Session.withinBudget(settings, model!)
        // A new batch of one: nothing in it is started, so a file at the output is never reelay's own.
        yield* Session.refuseExisting(items, {
          overwrite: args.overwrite,
          started: Effect.succeed(new Set<string>()),
          hint: { flag: "--overwrite" }
        })
        yield* Session.checkOutputs(items)
        const journal = yield* Layer.build(Layers.journalLayer(settings))
        if (settings.notice !== undefined) yield* Output.stderr(settings.notice)
        return yield* Run.execute({ batch, items, settings, mode, single: true }, registry, journal)
      })
    )
    return code
  }).pipe(Effect.provide(NodeHttpClient.layerUndici))
