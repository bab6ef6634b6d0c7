/**
 * Bundles each contestant with esbuild into `bench/.build/<name>.mjs`, the way the reelay CLI ships
 * (apps/cli/scripts/build.mjs), and runs it with plain `node`: no TypeScript loader in the measured
 * process, and every contestant treated alike. Under tsx, a process starts ~35 MB heavier.
 */
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"

export const benchDir = NodePath.resolve(NodePath.dirname(fileURLToPath(import.meta.url)), "..")
export const buildDir = NodePath.join(benchDir, ".build")

export const contestants = [
  "reelay-polling",
  "central-polling",
  "fixed-polling",
  "openai-polling",
  "reelay-download",
  "lean-download",
  "openai-download",
  "gateway-server"
] as const
export type Contestant = (typeof contestants)[number]

export const bundled = (name: Contestant): string => NodePath.join(buildDir, `${name}.mjs`)

export const bundle = async (): Promise<void> => {
  const esbuild = await import("esbuild")
  await esbuild.build({
    entryPoints: Object.fromEntries(
      contestants.map((name) => [name, NodePath.join(benchDir, "contestants", `${name}.ts`)])
    ),
    outdir: buildDir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // The workspace's packages from their sources (see tsconfig.base.json's customConditions).
    conditions: ["@reelay/source"],
    // Native: loaded from bench's own node_modules (it finds its binary relative to itself).
    external: ["better-sqlite3"],
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunk-[hash]",
    minifySyntax: true,
    legalComments: "none",
    logLevel: "warning",
    banner: {
      js: 'import { createRequire as __benchCreateRequire } from "node:module"; const require = __benchCreateRequire(import.meta.url);'
    }
  })
}
