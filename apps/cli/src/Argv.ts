/**
 * Adjustments to the command line before @effect/cli parses it.
 *
 * @since 0.1.0
 */

/**
 * `--log-level` is a built-in option of @effect/cli, which reads it only ahead of a command's own
 * boolean flags (`status --json --log-level debug` fails). Users put it anywhere: move it first.
 */
export const hoistLogLevel = (args: ReadonlyArray<string>): ReadonlyArray<string> => {
  const [node = "node", script = "reelay", ...rest] = args
  const hoisted: Array<string> = []
  const others: Array<string> = []
  for (let index = 0; index < rest.length; index++) {
    const arg = rest[index]!
    if (arg === "--") {
      others.push(...rest.slice(index))
      break
    }
    if (arg.startsWith("--log-level=")) hoisted.push(arg)
    else if (arg === "--log-level" && index + 1 < rest.length) hoisted.push(arg, rest[++index]!)
    else others.push(arg)
  }
  return [node, script, ...hoisted, ...others]
}
