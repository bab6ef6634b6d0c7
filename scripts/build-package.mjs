#!/usr/bin/env node
// Builds the package in the current folder (`pnpm run build` runs there): removes its `dist/`, then
// compiles `src/` with its `tsconfig.build.json` to ESM JavaScript, declarations and source maps.
// `pnpm -r run build` (the root `build` script) visits packages in dependency order.
import { spawnSync } from "node:child_process"
import * as NodeFs from "node:fs"
import { createRequire } from "node:module"

NodeFs.rmSync("dist", { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { stdio: "inherit" })
process.exit(result.status ?? 1)
