/**
 * The `reelay` command tree. Each command's spec (its arguments and flags, `specs/`) is all that is
 * loaded up front; its work (`commands/`) is loaded when it runs, so `reelay --help` starts without
 * the engine, the providers, the journal or the simulator. Every command is run the same way here:
 * its settings resolved once and provided (`CommandSettings`), and how it ended turned into the exit
 * code in one place (`Report`).
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import type * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as CommandSettings from "./CommandSettings.js"
import * as Spec from "./Spec.js"
import * as Batch from "./specs/Batch.js"
import * as Config from "./specs/Config.js"
import * as Cost from "./specs/Cost.js"
import * as Generate from "./specs/Generate.js"
import * as Models from "./specs/Models.js"
import * as Resume from "./specs/Resume.js"
import * as Serve from "./specs/Serve.js"
import * as Simulate from "./specs/Simulate.js"
import * as Status from "./specs/Status.js"
import * as Worker from "./specs/Worker.js"

/** The version printed by `--version`. */
export const version = "0.1.0"

/** Every command, in the order the help lists them. */
export const specs: ReadonlyArray<Spec.AnySpec> = [
  Generate.spec,
  Batch.spec,
  Resume.spec,
  Status.spec,
  Cost.spec,
  Models.spec,
  Config.spec,
  Simulate.spec,
  Serve.spec,
  Worker.spec
]

/** What a command's module exports: its work, ending with an exit code (nothing: success). */
interface Work<A> {
  readonly run: (
    args: A
  ) => Effect.Effect<
    unknown,
    { readonly _tag: string; readonly message: string },
    CommandSettings.CommandSettings | NodeContext.NodeContext
  >
}

/**
 * The command of `spec`, its work loaded from `load` when it runs. A failure is reported (one line,
 * the JSON line with `--json`) and its exit code set; so is a success's code.
 */
const command = <S extends Spec.AnySpec>(
  spec: S,
  load: () => Promise<Work<Spec.Parsed<S>>>,
  options: { readonly settings: boolean } = { settings: true }
) =>
  Command.make(spec.name, Spec.config(spec), (parsed) =>
    Effect.gen(function* () {
      const args = parsed as unknown as Spec.Parsed<S>
      const [work, Report] = yield* Effect.promise(() => Promise.all([load(), import("./Report.js")]))
      const json = (args as { readonly json?: boolean }).json === true
      const running = options.settings
        ? Effect.provide(work.run(args), CommandSettings.layer(spec, args as Record<string, unknown>))
        : (work.run(args) as Effect.Effect<
            unknown,
            { readonly _tag: string; readonly message: string },
            NodeContext.NodeContext
          >)
      yield* running.pipe(
        Effect.matchEffect({
          onFailure: (error) => Report.failure(error, json),
          onSuccess: (code) => Report.exit(typeof code === "number" ? code : 0)
        })
      )
    }).pipe(Effect.withSpan(`reelay.${spec.name}`))
  ).pipe(Command.withDescription(spec.description))

/** The root command. */
export const reelay = Command.make("reelay").pipe(
  Command.withDescription("Generate AI videos through resold Veo 3.1 / Sora 2 APIs behind one interface."),
  Command.withSubcommands([
    command(Generate.spec, () => import("./commands/Generate.js")),
    command(Batch.spec, () => import("./commands/Batch.js")),
    command(Resume.spec, () => import("./commands/Resume.js")),
    command(Status.spec, () => import("./commands/Status.js")),
    command(Cost.spec, () => import("./commands/Cost.js")),
    command(Models.spec, () => import("./commands/Models.js")),
    command(Config.spec, () => import("./commands/Config.js")),
    command(Simulate.spec, () => import("./commands/Simulate.js"), { settings: false }),
    command(Serve.spec, () => import("./commands/Serve.js"), { settings: false }),
    command(Worker.spec, () => import("./commands/Worker.js"))
  ])
)

/** Parses `argv` (as `process.argv`) and runs the command. */
export const run = Command.run(reelay, { name: "reelay", version })
