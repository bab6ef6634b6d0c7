/**
 * The CLI cold-start benchmark is `bench/cli.ts` (kept by the CLI's owners); `pnpm bench` runs it
 * as it is and keeps its printed table.
 */
import { spawn } from "node:child_process"
import * as NodePath from "node:path"
import { benchDir } from "./bundle.js"
import * as Proc from "./proc.js"

export interface CliResult {
  readonly command: string
  readonly output: string
  readonly ok: boolean
  /** Medians in ms, by the row labels of `cli.ts` (`reelay --help (bundle)`, ...). */
  readonly medians: Readonly<Record<string, number>>
}

export const runCli = (runs: number): Promise<CliResult> =>
  new Promise((resolve) => {
    const tsx = NodePath.join(benchDir, "node_modules", ".bin", "tsx")
    const child = spawn(tsx, [NodePath.join(benchDir, "cli.ts"), String(runs)], {
      cwd: benchDir,
      stdio: ["ignore", "pipe", "pipe"]
    })
    const captured = Proc.captured(child)
    child.once("exit", (code) => {
      const output = `${captured.stdout}${captured.stderr}`
      const medians: Record<string, number> = {}
      for (const line of output.split("\n")) {
        const match = /^(.+?)\s{2,}\s*(\d+) ms\s+(\d+) ms\s+(\d+) ms\s+(\d+) ms\s*$/.exec(line)
        if (match !== null) medians[match[1]!.trim()] = Number(match[3])
      }
      resolve({ command: `npx tsx bench/cli.ts ${runs}`, output: output.trimEnd(), ok: code === 0, medians })
    })
  })
