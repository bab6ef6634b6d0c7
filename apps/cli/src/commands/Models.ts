/**
 * `reelay models [--provider]`: every provider's catalog, read from the provider packages (and the
 * resellers of the configuration file) without a network call: capabilities, price, charge rule
 * and typical generation time.
 *
 * @since 0.1.0
 */

import * as Providers from "@reelay/config/Providers"
import * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import { ModelSpec } from "@reelay/core/ModelSpec"
import * as Money from "@reelay/core/Money"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { UsageError } from "../CliError.js"
import * as CommandSettings from "../CommandSettings.js"
import * as Output from "../Output.js"
import * as Render from "../Render.js"
import type { Args as ModelsArgs } from "../specs/Models.js"

const { opt } = Setup

const encodeModel = Schema.encodeSync(ModelSpec)

const images: Record<string, string> = {
  none: "none",
  "first-frame": "first",
  "first-last-frame": "first+last"
}

/** One provider's models as a table. */
export const modelsTable = (models: ReadonlyArray<ModelSpec>, style: Render.Style): ReadonlyArray<string> =>
  Render.table(
    ["MODEL", "PRICE", "CHARGED", "SIZES", "SECONDS", "IMAGES", "AUDIO", "TYPICAL"],
    models.map((model) => {
      const caps = model.capabilities
      return [
        model.id,
        Money.format(model.price),
        Render.chargeRule(model.chargePolicy).replace("charged ", ""),
        caps.sizes.join(" "),
        caps.durations.join(" "),
        `${images[caps.imageInput] ?? caps.imageInput}${caps.imageInput === "none" ? "" : ` (${caps.imageTransports.join(", ")})`}`,
        caps.audio ? "yes" : "no",
        `${model.generationTime.typicalSeconds} s`
      ]
    }),
    { right: [1], style }
  )

/** Runs the command. */
export const run = (args: ModelsArgs) =>
  Effect.gen(function* () {
    const style = Output.styleFor(args.json ? "json" : Output.detectMode(false))
    const { settings } = yield* CommandSettings.CommandSettings
    const wanted = opt(args.provider)
    const listed = Providers.listing(settings)
    const shown = wanted === undefined ? listed : [Providers.listed(settings, wanted) ?? []].flat()
    if (shown.length === 0) {
      return yield* new UsageError({
        message: `unknown provider "${wanted}"; available: ${[...listed.map((p) => p.id), ...Settings.simulatorIds].join(", ")}`
      })
    }
    if (args.json) {
      yield* Output.stdout(
        JSON.stringify({
          providers: shown.map((provider) => ({
            id: provider.id,
            mode: provider.mode,
            baseUrl: provider.baseUrl,
            models: provider.models.map((model) => encodeModel(model))
          }))
        })
      )
      return
    }
    const blocks = shown.map((provider) => {
      const key = settings.providers.find((p) => p.id === provider.id)
      const keyText =
        key?.apiKey !== undefined
          ? `key from ${key.apiKey.source}`
          : key?.apiKeyEnv === undefined
            ? "no key"
            : `key: set ${key.apiKeyEnv}`
      return [
        `${Render.bold(style, provider.id)}  ${Render.dim(style, `${provider.mode}, ${provider.baseUrl}, ${keyText}`)}`,
        ...modelsTable(provider.models, style).map((line) => `  ${line}`)
      ].join("\n")
    })
    yield* Output.stdout(
      [
        ...blocks,
        Render.dim(
          style,
          `simulator:<provider> (simulator = simulator:${Settings.builtins[0]?.id}) serves the same models on the built-in simulator, free.`
        )
      ].join("\n\n")
    )
  })
