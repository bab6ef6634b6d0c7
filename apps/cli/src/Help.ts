/**
 * The help, short and from the commands' specs: for each flag what it is, its default and the
 * environment variable that sets it.
 *
 * @since 0.1.0
 */
import type * as Spec from "./Spec.js"

/** Flags every command takes. */
export const globalFlags = [
  {
    usage: "--log-level LEVEL",
    description: "Log at this level on stderr: debug, info, warning, error (keys never shown)."
  },
  { usage: "--help, -h", description: "This help." },
  { usage: "--version", description: "The version." }
] as const

const placeholder: Record<Spec.Kind, string> = { text: " TEXT", integer: " N", boolean: "", list: " TEXT..." }

const columns = (rows: ReadonlyArray<readonly [string, string]>): Array<string> => {
  const width = Math.min(28, Math.max(...rows.map(([left]) => left.length)) + 2)
  return rows.map(([left, right]) =>
    left.length + 2 > width ? `  ${left}\n  ${" ".repeat(width)}${right}` : `  ${left.padEnd(width)}${right}`
  )
}

const argUsage = (arg: Spec.Arg<unknown>) => (arg.optional ? `[<${arg.name}>]` : `<${arg.name}>`)

/** `reelay <command> --help`. */
export const command = (spec: Spec.AnySpec): string => {
  const args = Object.values(spec.args)
  const flags = Object.values(spec.flags)
  const flagRows = flags.map((flag): readonly [string, string] => {
    const notes = [
      flag.env === undefined ? undefined : `env ${flag.env}`,
      flag.default === undefined ? undefined : `default: ${flag.default}`
    ].filter((note) => note !== undefined)
    return [
      `--${flag.name}${placeholder[flag.kind]}`,
      `${flag.description}${notes.length === 0 ? "" : ` (${notes.join("; ")})`}`
    ]
  })
  return [
    `reelay ${spec.name}${args.map((arg) => ` ${argUsage(arg)}`).join("")} [flags]`,
    "",
    spec.description,
    ...(args.length === 0 ? [] : ["", ...columns(args.map((arg) => [argUsage(arg), arg.description]))]),
    "",
    "FLAGS",
    ...columns([...flagRows, ...globalFlags.map((flag): readonly [string, string] => [flag.usage, flag.description])])
  ].join("\n")
}

/** `reelay --help`. */
export const root = (specs: ReadonlyArray<Spec.AnySpec>, version: string): string =>
  [
    `reelay ${version}: generate AI videos through resold Veo 3.1 / Sora 2 APIs behind one interface.`,
    "",
    "USAGE",
    "  reelay <command> [flags]        reelay <command> --help shows its flags",
    "",
    "COMMANDS",
    ...columns(specs.map((spec) => [`- ${spec.name}`, spec.description])),
    "",
    "Nothing configured: the built-in simulator. Exit codes and the configuration file: apps/cli/README.md."
  ].join("\n")
