#!/usr/bin/env node
// `pnpm reelay ...` from the repository: rebuilds the bundle when a source changed, then runs it
// in the directory pnpm was called from (pnpm runs scripts from the package root).
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { build, bundlePath, isStale } from "./build.mjs"

if (isStale()) {
  try {
    process.stderr.write("reelay: building the CLI (its sources changed)…\n")
    await build()
  } catch (error) {
    process.stderr.write(`reelay: cannot build the CLI: ${error instanceof Error ? error.message : error}\n`)
    process.exit(1)
  }
}
const cwd = process.env.INIT_CWD
if (cwd !== undefined && cwd !== "" && path.resolve(cwd) !== process.cwd()) process.chdir(cwd)
process.argv[1] = bundlePath
await import(pathToFileURL(bundlePath).href)
