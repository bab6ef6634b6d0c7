#!/usr/bin/env node
// Bundles the CLI into dist/reelay.mjs (plus lazily loaded chunks) with esbuild, so `reelay --help`
// starts in a fraction of the time running the TypeScript sources through tsx takes. The simulator's
// MP4 files are copied next to the bundle. better-sqlite3 is native and stays external.
//
//   node scripts/build.mjs             build
//   node scripts/build.mjs --if-stale  build only when a source is newer than the bundle
//   node scripts/build.mjs --prepare   as --if-stale, but never fail (pnpm install runs it)
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const appDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const repoDir = path.resolve(appDir, "../..")
const distDir = path.join(appDir, "dist")
export const bundlePath = path.join(distDir, "reelay.mjs")

const newest = (dir, limit = Number.POSITIVE_INFINITY) => {
  let latest = 0
  let entries
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true })
  } catch {
    return 0
  }
  for (const entry of entries) {
    if (entry.name === "node_modules" || entry.name === "dist" || entry.name.startsWith(".")) continue
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) latest = Math.max(latest, newest(full, limit))
    else latest = Math.max(latest, fs.statSync(full).mtimeMs)
  }
  return latest
}

/** The newest modification time of anything the bundle is made from. */
const sourcesTime = () => {
  let latest = Math.max(
    newest(path.join(appDir, "src")),
    fs.statSync(path.join(appDir, "scripts", "build.mjs")).mtimeMs
  )
  for (const workspace of ["packages", "apps"]) {
    const root = path.join(repoDir, workspace)
    for (const name of fs.existsSync(root) ? fs.readdirSync(root) : []) {
      latest = Math.max(latest, newest(path.join(root, name, "src")))
      const manifest = path.join(root, name, "package.json")
      if (fs.existsSync(manifest)) latest = Math.max(latest, fs.statSync(manifest).mtimeMs)
    }
  }
  const lock = path.join(repoDir, "pnpm-lock.yaml")
  if (fs.existsSync(lock)) latest = Math.max(latest, fs.statSync(lock).mtimeMs)
  return latest
}

/** Whether the bundle is missing or older than its sources. */
export const isStale = () => !fs.existsSync(bundlePath) || fs.statSync(bundlePath).mtimeMs < sourcesTime()

/** Builds the bundle into a fresh directory, then swaps it in, so a running `reelay` never sees half a bundle. */
export const build = async () => {
  const esbuild = await import("esbuild")
  const next = `${distDir}.next-${process.pid}`
  const old = `${distDir}.old-${process.pid}`
  fs.rmSync(next, { recursive: true, force: true })
  await esbuild.build({
    entryPoints: { reelay: path.join(appDir, "src", "bin.ts") },
    outdir: next,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // The workspace's packages from their sources (see tsconfig.base.json's customConditions).
    conditions: ["@reelay/source"],
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunk-[hash]",
    // Native: loaded from node_modules at run time.
    external: ["better-sqlite3"],
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: "linked",
    legalComments: "none",
    logLevel: "warning",
    banner: {
      // CommonJS dependencies bundled into ESM still call require() for Node's built-ins.
      js: 'import { createRequire as __reelayCreateRequire } from "node:module"; const require = __reelayCreateRequire(import.meta.url);'
    }
  })
  const entry = path.join(next, "reelay.mjs")
  fs.writeFileSync(entry, `#!/usr/bin/env node\n${fs.readFileSync(entry, "utf8")}`)
  fs.chmodSync(entry, 0o755)
  fs.cpSync(path.join(repoDir, "packages", "simulator", "videos"), path.join(next, "videos"), { recursive: true })
  if (fs.existsSync(distDir)) fs.renameSync(distDir, old)
  fs.renameSync(next, distDir)
  fs.rmSync(old, { recursive: true, force: true })
}

const main = async () => {
  const args = process.argv.slice(2)
  const prepare = args.includes("--prepare")
  if ((prepare || args.includes("--if-stale")) && !isStale()) return
  try {
    const started = Date.now()
    await build()
    if (!prepare)
      process.stderr.write(`reelay: built ${path.relative(process.cwd(), bundlePath)} in ${Date.now() - started} ms\n`)
  } catch (error) {
    if (!prepare) throw error
    // `pnpm install` must not fail because a workspace package is mid-edit; `pnpm reelay` rebuilds.
    process.stderr.write(
      `reelay: the CLI bundle was not built (${error instanceof Error ? error.message.split("\n")[0] : error}); \`pnpm reelay\` will try again\n`
    )
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()
