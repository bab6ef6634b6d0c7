/**
 * The `reelay` command tree (`@effect/cli`). Only the commands' shapes live here; each command's
 * work is in `commands/`, loaded when the command runs, so `reelay --help` starts without loading
 * the engine, the providers, the journal or the simulator.
 *
 * @since 0.1.0
 */

import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import type * as NodeContext from "@effect/platform-node/NodeContext"
import * as Settings from "@reelay/config/Settings"
import * as Effect from "effect/Effect"

/** The version printed by `--version`. */
export const version = "0.1.0"

const optionalText = (name: string, description: string) =>
  Options.text(name).pipe(Options.withDescription(description), Options.optional)

const optionalInteger = (name: string, description: string) =>
  Options.integer(name).pipe(Options.withDescription(description), Options.optional)

const common = {
  profile: optionalText("profile", "A profile of reelay.config.json (else REELAY_PROFILE, else its defaultProfile)."),
  config: optionalText("config", "The configuration file (else REELAY_CONFIG, else ./reelay.config.json if present)."),
  journal: optionalText(
    "journal",
    "The journal: a SQLite path or a postgres:// URL (else REELAY_JOURNAL, else .reelay/journal.db)."
  )
}

const json = Options.boolean("json").pipe(
  Options.withDescription("Print NDJSON on stdout: every event, then the result or the error.")
)

const provider = optionalText(
  "provider",
  `${Settings.builtins.map((builtin) => builtin.id).join(", ")}, simulator[:<provider>], or a reseller of the config file (else REELAY_PROVIDER).`
)
const model = optionalText(
  "model",
  "A model of the provider (else REELAY_MODEL, else the profile's, else the provider's default)."
)
const baseUrl = optionalText(
  "base-url",
  `The provider's API base URL, with /v1 (else its variable: ${[...new Set(Settings.builtins.flatMap((builtin) => builtin.env.baseUrl))].join(" / ")}).`
)
const maxCost = optionalText("max-cost", "The most this run may commit, in dollars, e.g. 2.50 (else REELAY_MAX_COST).")
const timeout = optionalText(
  "timeout",
  "How long to wait for a video before stopping with a resumable PollTimeout: 90s, 10m, 1h (default 10m)."
)
const concurrency = {
  concurrencySubmit: optionalInteger("concurrency-submit", "Items submitting at once (default 10)."),
  concurrencyStatus: optionalInteger("concurrency-status", "Status calls in flight (default 10)."),
  concurrencyDownload: optionalInteger("concurrency-download", "Downloads at once (default 5).")
}

/** `reelay generate <prompt>`. */
export const generateConfig = {
  prompt: Args.text({ name: "prompt" }).pipe(Args.withDescription("What the video shows.")),
  provider,
  model,
  image: Options.text("image").pipe(
    Options.withDescription(
      "An image file or http(s) URL: the first is the first frame, a second the last frame (models that take them)."
    ),
    Options.repeated
  ),
  seconds: optionalInteger("seconds", "The duration, among those the model supports."),
  resolution: optionalText("resolution", "720p, 1080p, 4k, among those the model supports."),
  aspectRatio: optionalText("aspect-ratio", "16:9, 9:16, among those the model supports."),
  size: optionalText("size", "A frame size such as 1280x720, among those the model supports."),
  negativePrompt: optionalText("negative-prompt", "What the video should not show (models that take one)."),
  seed: optionalInteger("seed", "A seed (models that take one)."),
  baseUrl,
  out: optionalText("out", "Where to save the video (default out/<prompt words>-<id>.mp4)."),
  overwrite: Options.boolean("overwrite").pipe(
    Options.withDescription("Replace a file already at --out (else such a file is refused before anything is sent).")
  ),
  timeout,
  maxCost,
  json,
  ...common
}
export type GenerateArgs = Command.Command.ParseConfig<typeof generateConfig>

/** `reelay batch <file.jsonl>`. */
export const batchConfig = {
  file: Args.text({ name: "file.jsonl" }).pipe(
    Args.withDescription('JSON Lines: one request per line, e.g. {"key": "fox", "prompt": "A red fox..."}.')
  ),
  outDir: optionalText("out-dir", "Where the videos go, as <key>.mp4 (default out/<batch>/)."),
  overwrite: Options.boolean("overwrite").pipe(
    Options.withDescription(
      'Let items replace files already at their outputs (a line\'s "overwrite" decides for it). Else such a file is refused before anything is sent; files this batch saved itself never count.'
    )
  ),
  batch: optionalText(
    "batch",
    "The batch id (default: the file's name and a hash of its content, so running the same file again resumes it)."
  ),
  provider,
  model,
  baseUrl,
  timeout,
  maxCost,
  ...concurrency,
  json,
  ...common
}
export type BatchArgs = Command.Command.ParseConfig<typeof batchConfig>

/** `reelay resume [batch]`. */
export const resumeConfig = {
  batch: Args.text({ name: "batch" }).pipe(
    Args.withDescription("The batch to resume (default: the most recent one with unfinished items)."),
    Args.optional
  ),
  recreateUncertain: Options.boolean("recreate-uncertain").pipe(
    Options.withDescription(
      "Create again the items whose earlier create may or may not have reached the provider (they may be billed twice)."
    )
  ),
  retryFailed: Options.boolean("retry-failed").pipe(
    Options.withDescription(
      "Generate again the items that failed at no cost (a free generation failure, a refusal before anything was created), within the budget. Items whose failure was or may have been charged stay failed."
    )
  ),
  outDir: optionalText(
    "out-dir",
    "Save the videos not saved yet into this directory instead, each under its file name (say, when the first output could not be written)."
  ),
  out: optionalText("out", "Save the video of a one-item batch (a generate) to this path instead."),
  overwrite: Options.boolean("overwrite").pipe(
    Options.withDescription(
      "Let items not started yet (and videos saved elsewhere with --out / --out-dir) replace files already at their outputs."
    )
  ),
  timeout,
  maxCost,
  ...concurrency,
  json,
  ...common
}
export type ResumeArgs = Command.Command.ParseConfig<typeof resumeConfig>

/** `reelay status [batch | task]`. */
export const statusConfig = {
  target: Args.text({ name: "batch | task" }).pipe(
    Args.withDescription("A batch id, or a task id (default: every batch)."),
    Args.optional
  ),
  json: Options.boolean("json").pipe(Options.withDescription("Print JSON.")),
  ...common
}
export type StatusArgs = Command.Command.ParseConfig<typeof statusConfig>

/** `reelay cost`. */
export const costConfig = {
  batch: optionalText("batch", "Only this batch."),
  provider: optionalText("provider", "Only this provider."),
  model: optionalText("model", "Only this model."),
  since: optionalText("since", "From this day on (YYYY-MM-DD, UTC)."),
  until: optionalText("until", "Before this day (YYYY-MM-DD, UTC)."),
  json: Options.boolean("json").pipe(Options.withDescription("Print JSON.")),
  ...common
}
export type CostArgs = Command.Command.ParseConfig<typeof costConfig>

/** `reelay models`. */
export const modelsConfig = {
  provider: optionalText("provider", "Only this provider's models."),
  json: Options.boolean("json").pipe(Options.withDescription("Print JSON.")),
  config: common.config,
  profile: common.profile
}
export type ModelsArgs = Command.Command.ParseConfig<typeof modelsConfig>

/** `reelay config`. */
export const configConfig = {
  provider,
  model,
  baseUrl,
  maxCost,
  timeout,
  json: Options.boolean("json").pipe(Options.withDescription("Print JSON.")),
  ...common
}
export type ConfigArgs = Command.Command.ParseConfig<typeof configConfig>

/** `reelay simulate`. */
export const simulateConfig = {
  port: optionalInteger("port", "API port, both hosts and /_sim (default: a free port)."),
  cdnPort: optionalInteger("cdn-port", "CDN port (default: a free port)."),
  host: optionalText("host", "Interface to listen on (default 127.0.0.1)."),
  timeScale: optionalText("time-scale", "Multiplies the vendors' generation times (default 1/30; 1 = real time)."),
  seed: optionalText("seed", "Seed of durations, ids and fault draws (default: random, printed)."),
  json: Options.boolean("json").pipe(Options.withDescription("Print the URLs as one JSON line."))
}
export type SimulateArgs = Command.Command.ParseConfig<typeof simulateConfig>

// Each command's work is loaded on demand (see the module comment).
const lazy =
  <A>(load: () => Promise<{ readonly run: (args: A) => Effect.Effect<void, never, NodeContext.NodeContext> }>) =>
  (args: A) =>
    Effect.flatMap(
      Effect.promise(() => load()),
      (module) => module.run(args)
    )

const generate = Command.make(
  "generate",
  generateConfig,
  lazy(() => import("./commands/Generate.js"))
).pipe(Command.withDescription("Generate one video and save it (journaled, so it can be resumed)."))

const batch = Command.make(
  "batch",
  batchConfig,
  lazy(() => import("./commands/Batch.js"))
).pipe(Command.withDescription("Generate every request of a JSON Lines file, journaled and resumable."))

const resume = Command.make(
  "resume",
  resumeConfig,
  lazy(() => import("./commands/Resume.js"))
).pipe(Command.withDescription("Continue an interrupted batch or generation: poll, fetch, never re-create."))

const status = Command.make(
  "status",
  statusConfig,
  lazy(() => import("./commands/Status.js"))
).pipe(Command.withDescription("Show batches, a batch's items, or a task, from the journal."))

const cost = Command.make(
  "cost",
  costConfig,
  lazy(() => import("./commands/Cost.js"))
).pipe(Command.withDescription("Charges from the journal per provider, model and day: estimated against charged."))

const models = Command.make(
  "models",
  modelsConfig,
  lazy(() => import("./commands/Models.js"))
).pipe(Command.withDescription("The models of each provider: capabilities, prices and charge rules."))

const config = Command.make(
  "config",
  configConfig,
  lazy(() => import("./commands/Config.js"))
).pipe(Command.withDescription("The effective configuration and where each value comes from (keys redacted)."))

const simulate = Command.make(
  "simulate",
  simulateConfig,
  lazy(() => import("./commands/Simulate.js"))
).pipe(Command.withDescription("Run the built-in simulator of the provider APIs and print its base URLs."))

/** The root command. */
export const reelay = Command.make("reelay").pipe(
  Command.withDescription("Generate AI videos through resold Veo 3.1 / Sora 2 APIs behind one interface."),
  Command.withSubcommands([generate, batch, resume, status, cost, models, config, simulate])
)

/** Parses `argv` (as `process.argv`) and runs the command. */
export const run = Command.run(reelay, { name: "reelay", version })
