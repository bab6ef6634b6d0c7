/**
 * The `reelay` executable: runs the command tree, routes Ctrl-C / SIGTERM (see `Signals`), and
 * turns how the command ended into the process's exit code (see `ExitCode`).
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as ExitCode from "@reelay/client/ExitCode"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Argv from "./Argv.js"
import * as Cli from "./Cli.js"
import * as Help from "./Help.js"
import * as Signals from "./Signals.js"
import * as Usage from "./Usage.js"

// The command line is checked against the commands' specs first: the help, and every usage error
// (an unknown command or flag names the nearest one), come from there, never from the parser.
const args = process.argv.slice(2)
const verdict = Usage.check(args, Cli.specs, {
  root: () => Help.root(Cli.specs, Cli.version),
  command: Help.command
})
if (verdict._tag === "Help") {
  process.stdout.write(`${verdict.text}\n`, () => process.exit(ExitCode.ok))
} else if (verdict._tag === "Refused") {
  const message = `${verdict.message}; nothing was sent`
  if (args.includes("--json")) {
    process.stdout.write(`${JSON.stringify({ error: { _tag: "UsageError", message, exitCode: ExitCode.usage } })}\n`)
  }
  process.stderr.write(`reelay: UsageError: ${message}\n`, () => process.exit(ExitCode.usage))
} else {
  run()
}

function run(): void {
  // `reelay status | head -1`: a reader that went away is not an error.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(ExitCode.ok)
    throw error
  })

  // @effect/cli colours its help and errors unconditionally: plain text for pipes, files and NO_COLOR.
  const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g")
  const plainText = (args: ReadonlyArray<unknown>) =>
    args.map((arg) => (typeof arg === "string" ? arg.replace(ansi, "") : arg))
  const withPlainConsole = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    process.stdout.isTTY === true && (process.env.NO_COLOR ?? "") === ""
      ? effect
      : Console.consoleWith((base) =>
          Console.withConsole(effect, {
            ...base,
            log: (...args) => base.log(...plainText(args)),
            error: (...args) => base.error(...plainText(args))
          })
        )

  const fiber = Effect.runFork(
    Cli.run(Argv.hoistLogLevel(process.argv)).pipe(withPlainConsole, Effect.provide(NodeContext.layer))
  )

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (!Signals.dispatch(signal)) Effect.runFork(Fiber.interrupt(fiber))
    })
  }

  const codeOf = (exit: Exit.Exit<unknown, unknown>): number => {
    if (Exit.isSuccess(exit)) return typeof process.exitCode === "number" ? process.exitCode : ExitCode.ok
    if (Cause.isInterruptedOnly(exit.cause)) {
      return Signals.receivedSignal() === "SIGTERM" ? ExitCode.terminated : ExitCode.interrupted
    }
    const failure = Cause.failureOption(exit.cause)
    // @effect/cli has already printed what was wrong with the command line, and the help.
    if (
      Option.isSome(failure) &&
      typeof failure.value === "object" &&
      failure.value !== null &&
      "_tag" in failure.value
    ) {
      const tag = String(failure.value._tag)
      if (
        [
          "CommandMismatch",
          "CorrectedFlag",
          "InvalidArgument",
          "InvalidValue",
          "MissingValue",
          "MissingFlag",
          "MissingSubcommand",
          "MultipleValuesDetected",
          "NoBuiltInMatch",
          "UnclusteredFlag",
          "HelpRequested"
        ].includes(tag)
      ) {
        return ExitCode.usage
      }
    }
    process.stderr.write(`reelay: internal error (please report it):\n${Cause.pretty(exit.cause)}\n`)
    return ExitCode.internal
  }

  fiber.addObserver((exit) => {
    const code = codeOf(exit)
    // Let stdout drain (a pipe may be slower than we are) before leaving.
    process.stdout.write("", () => process.exit(code))
  })
}
