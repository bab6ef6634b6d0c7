/**
 * The command line checked against the commands' specs before it is parsed: an unknown command or
 * flag, a flag without its value, a whole number that is not one, or an argument too many is a usage
 * error (exit 2) that names the nearest command or flag; `--help` anywhere shows that command's help.
 *
 * @since 0.1.0
 */
import type * as Spec from "./Spec.js"

export type Verdict =
  /** Print this and exit 0. */
  | { readonly _tag: "Help"; readonly text: string }
  /** Let the parser run the command. */
  | { readonly _tag: "Parse" }
  /** A usage error: nothing runs. */
  | { readonly _tag: "Refused"; readonly message: string }

/** How many single-character edits turn `a` into `b`. */
export const distance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

/** The candidate nearest to `word`, when it is near enough to be what was meant. */
export const nearest = (word: string, candidates: ReadonlyArray<string>): string | undefined => {
  const ranked = candidates
    .map((candidate) => ({ candidate, cost: distance(word, candidate) }))
    .sort((a, b) => a.cost - b.cost)
  const best = ranked[0]
  const prefix = candidates.find((candidate) => candidate.startsWith(word) || word.startsWith(candidate))
  if (best !== undefined && best.cost <= Math.max(2, Math.floor(word.length / 3))) return best.candidate
  return prefix
}

const globalValued = new Set(["log-level", "completions"])
/** Built-ins the parser handles on any command line, whatever else it holds. */
const builtins = new Set(["version", "wizard", "completions"])
/** What the parser reads as the value of a boolean flag written right after it. */
const booleanWords = /^(true|false|yes|no|y|n|1|0|on|off)$/

const isHelp = (arg: string) => arg === "--help" || arg === "-h"
const flagName = (arg: string) => arg.replace(/^--?/, "").split("=")[0]!

/** Checks `args` (the command line after `node reelay`). */
export const check = (
  args: ReadonlyArray<string>,
  specs: ReadonlyArray<Spec.AnySpec>,
  help: { readonly root: () => string; readonly command: (spec: Spec.AnySpec) => string }
): Verdict => {
  const refused = (message: string): Verdict => ({ _tag: "Refused", message })
  // The command: the first word that is neither a global flag nor its value.
  let index = 0
  while (index < args.length && args[index]!.startsWith("-")) {
    if (isHelp(args[index]!)) return { _tag: "Help", text: help.root() }
    const name = flagName(args[index]!)
    if (builtins.has(name)) return { _tag: "Parse" }
    index += globalValued.has(name) && !args[index]!.includes("=") ? 2 : 1
  }
  const word = args[index]
  if (word === undefined) return args.length === 0 ? { _tag: "Help", text: help.root() } : { _tag: "Parse" }
  const spec = specs.find((candidate) => candidate.name === word)
  if (spec === undefined) {
    const guess = nearest(
      word,
      specs.map((candidate) => candidate.name)
    )
    return refused(
      `unknown command "${word}"${guess === undefined ? "" : `; did you mean "${guess}"?`} (commands: ${specs.map((candidate) => candidate.name).join(", ")})`
    )
  }
  const flags = Object.values(spec.flags)
  const positional = Object.values(spec.args)
  const see = `see reelay ${spec.name} --help`
  let given = 0
  for (let at = index + 1; at < args.length; at++) {
    const arg = args[at]!
    if (arg === "--") {
      given += args.length - at - 1
      break
    }
    if (!arg.startsWith("-") || /^-\d/.test(arg)) {
      given++
      continue
    }
    if (isHelp(arg)) return { _tag: "Help", text: help.command(spec) }
    const name = flagName(arg)
    const inline = arg.startsWith("--") && arg.includes("=")
    if (builtins.has(name)) return { _tag: "Parse" }
    if (globalValued.has(name)) {
      if (!inline) at++
      continue
    }
    const flag = flags.find((candidate) => candidate.name === name)
    if (flag === undefined || !arg.startsWith("--")) {
      const guess = nearest(name, [...flags.map((candidate) => candidate.name), ...globalValued])
      return refused(
        `unknown flag ${arg.split("=")[0]} for reelay ${spec.name}${guess === undefined ? "" : `; did you mean --${guess}?`} (${see})`
      )
    }
    if (flag.kind === "boolean") {
      if (!inline && booleanWords.test(args[at + 1] ?? "")) at++
      continue
    }
    const value = inline ? arg.slice(arg.indexOf("=") + 1) : args[++at]
    if (value === undefined) return refused(`--${flag.name} needs a value (${see})`)
    if (flag.kind === "integer" && !/^-?\d+$/.test(value)) {
      return refused(`--${flag.name} must be a whole number, got "${value}"`)
    }
  }
  const required = positional.filter((arg) => !arg.optional).length
  if (given < required) {
    return refused(`reelay ${spec.name} needs ${positional.map((arg) => `<${arg.name}>`).join(" ")} (${see})`)
  }
  if (given > positional.length) {
    return refused(
      positional.length === 0
        ? `reelay ${spec.name} takes no argument, only flags (${see})`
        : `reelay ${spec.name} takes ${positional.map((arg) => `<${arg.name}>`).join(" ")} only; quote a value that has spaces (${see})`
    )
  }
  return { _tag: "Parse" }
}
