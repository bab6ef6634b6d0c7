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
const globalBoolean = new Set(["help", "version", "wizard"])

/** Checks `args` (the command line after `node reelay`). */
export const check = (
  args: ReadonlyArray<string>,
  specs: ReadonlyArray<Spec.AnySpec>,
  help: { readonly root: () => string; readonly command: (spec: Spec.AnySpec) => string }
): Verdict => {
  const refused = (message: string): Verdict => ({ _tag: "Refused", message })
  const wantsHelp = args.some((arg) => arg === "--help" || arg === "-h")
  // The command: the first word that is neither a global flag nor its value.
  let index = 0
  while (index < args.length && args[index]!.startsWith("-")) {
    const name = args[index]!.replace(/^--?/, "").split("=")[0]!
    index += globalValued.has(name) && !args[index]!.includes("=") ? 2 : 1
  }
  const word = args[index]
  if (word === undefined)
    return wantsHelp || args.length === 0 ? { _tag: "Help", text: help.root() } : { _tag: "Parse" }
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
  if (wantsHelp) return { _tag: "Help", text: help.command(spec) }
  const flags = Object.values(spec.flags)
  const positional = Object.values(spec.args)
  const see = `see reelay ${spec.name} --help`
  let given = 0
  for (let at = 0; at < args.length; at++) {
    const arg = args[at]!
    if (at === index) continue
    if (arg === "--") {
      given += args.length - at - 1
      break
    }
    if (arg.startsWith("-") && !/^-\d/.test(arg)) {
      const [raw, inline] = arg.startsWith("--")
        ? [arg.slice(2).split("=")[0]!, arg.includes("=")]
        : [arg.slice(1), false]
      if (globalValued.has(raw)) {
        if (!inline) at++
        continue
      }
      if (globalBoolean.has(raw)) continue
      const flag = flags.find((candidate) => candidate.name === raw)
      if (flag === undefined) {
        const guess = nearest(raw, [...flags.map((candidate) => candidate.name), ...globalValued])
        return refused(
          `unknown flag ${arg.split("=")[0]} for reelay ${spec.name}${guess === undefined ? "" : `; did you mean --${guess}?`} (${see})`
        )
      }
      if (flag.kind === "boolean") continue
      const value = inline ? arg.slice(arg.indexOf("=") + 1) : args[++at]
      if (value === undefined || (!inline && value.startsWith("--"))) {
        return refused(`--${flag.name} needs a value (${see})`)
      }
      if (flag.kind === "integer" && !/^-?\d+$/.test(value)) {
        return refused(`--${flag.name} must be a whole number, got "${value}"`)
      }
      continue
    }
    given++
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
