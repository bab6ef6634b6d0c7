/**
 * Cold start of the `reelay` command line: `reelay --help` (target: under 0.5 s) and
 * `reelay models`, each a fresh Node process running the built bundle, against running the
 * TypeScript sources through tsx (what the bundle exists to avoid). Prints the figures.
 *
 *   pnpm --filter @reelay/bench cli            (or: npx tsx bench/cli.ts [runs])
 */
import { spawnSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"

const repo = NodePath.resolve(NodePath.dirname(fileURLToPath(import.meta.url)), "..")
const bundle = NodePath.join(repo, "apps/cli/dist/reelay.mjs")
const sources = NodePath.join(repo, "apps/cli/src/bin.ts")
const tsx = NodePath.join(repo, "node_modules/.bin/tsx")
const runs = Number(process.argv[2] ?? 10)

const build = spawnSync(process.execPath, [NodePath.join(repo, "apps/cli/scripts/build.mjs"), "--if-stale"], {
  stdio: "inherit"
})
if (build.status !== 0 || !NodeFs.existsSync(bundle)) throw new Error("the CLI bundle could not be built")

/** Wall-clock milliseconds of one run, from spawn to exit. */
const once = (command: string, args: ReadonlyArray<string>): number => {
  const started = process.hrtime.bigint()
  const result = spawnSync(command, args, {
    cwd: repo,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1" },
    stdio: ["ignore", "ignore", "pipe"]
  })
  const elapsed = Number(process.hrtime.bigint() - started) / 1e6
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.status}: ${result.stderr}`)
  return elapsed
}

const stats = (samples: ReadonlyArray<number>) => {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return { min: sorted[0]!, median: at(0.5), p90: at(0.9), max: sorted.at(-1)! }
}

const measure = (label: string, command: string, args: ReadonlyArray<string>, count: number) => {
  once(command, args) // warm the file system cache: "cold" here means a new process, not a cold disk
  const samples = Array.from({ length: count }, () => once(command, args))
  const s = stats(samples)
  const row = [label.padEnd(34), ...[s.min, s.median, s.p90, s.max].map((ms) => `${ms.toFixed(0).padStart(6)} ms`)]
  process.stdout.write(`${row.join("  ")}\n`)
  return s
}

process.stdout.write(`${"".padEnd(34)}  ${["min", "median", "p90", "max"].map((h) => h.padStart(9)).join("  ")}\n`)
const baseline = measure("node -e 0 (Node itself)", process.execPath, ["-e", "0"], runs)
const help = measure("reelay --help (bundle)", process.execPath, [bundle, "--help"], runs)
measure("reelay models (bundle)", process.execPath, [bundle, "models"], runs)
measure("reelay config (bundle)", process.execPath, [bundle, "config"], runs)
measure("reelay --help (tsx, sources)", tsx, [sources, "--help"], Math.min(runs, 3))
measure("reelay models (tsx, sources)", tsx, [sources, "models"], Math.min(runs, 3))

const bytes = NodeFs.readdirSync(NodePath.dirname(bundle))
  .filter((name) => name.endsWith(".mjs"))
  .reduce((sum, name) => sum + NodeFs.statSync(NodePath.join(NodePath.dirname(bundle), name)).size, 0)
process.stdout.write(
  `\nbundle: ${(bytes / 1e6).toFixed(1)} MB of JavaScript in ${NodePath.relative(repo, NodePath.dirname(bundle))}; ` +
    `--help median ${help.median.toFixed(0)} ms (${(help.median - baseline.median).toFixed(0)} ms over Node's own start); ` +
    `target < 500 ms: ${help.median < 500 ? "met" : "NOT met"}\n`
)
