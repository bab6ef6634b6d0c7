/**
 * What the consumer test builds, packs and runs: the workspace's publishable packages in dependency
 * order, the pnpm that packs them, and the programs an outside project runs against them.
 */
import * as fs from "node:fs"
import * as path from "node:path"

export interface Package {
  readonly name: string
  readonly dir: string
}

/**
 * Every package under `packages/` and `examples/` that is published (not private, with a `build`
 * script), each after the reelay packages it depends on.
 */
export const published = (root: string): ReadonlyArray<Package> => {
  const found = new Map<string, { readonly dir: string; readonly needs: ReadonlyArray<string> }>()
  const dirs = ["packages", "examples"].flatMap((folder) =>
    fs.readdirSync(path.join(root, folder)).map((entry) => path.join(root, folder, entry))
  )
  for (const dir of dirs) {
    const file = path.join(dir, "package.json")
    if (!fs.existsSync(file)) continue
    const manifest = JSON.parse(fs.readFileSync(file, "utf8"))
    if (manifest.private === true || manifest.scripts?.build === undefined) continue
    const needs = Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }).filter((name) =>
      name.startsWith("@reelay/")
    )
    found.set(manifest.name, { dir, needs })
  }
  const ordered: Array<Package> = []
  const visit = (name: string, path: ReadonlyArray<string>): void => {
    if (ordered.some((pkg) => pkg.name === name)) return
    if (path.includes(name)) throw new Error(`a dependency cycle: ${[...path, name].join(" → ")}`)
    const pkg = found.get(name)
    if (pkg === undefined) return
    for (const need of pkg.needs) visit(need, [...path, name])
    ordered.push({ name, dir: pkg.dir })
  }
  for (const name of [...found.keys()].sort()) visit(name, [])
  return ordered
}

/**
 * How to run pnpm: the one running this test when `pnpm test` started it (`npm_execpath`, a script
 * run with node), else the one on `PATH`.
 */
export const pnpm = (): { readonly command: string; readonly args: ReadonlyArray<string> } => {
  const exec = process.env.npm_execpath
  if (exec === undefined || !/pnpm/.test(exec)) return { command: "pnpm", args: [] }
  return /\.[cm]?js$/.test(exec) ? { command: process.execPath, args: [exec] } : { command: exec, args: [] }
}

/** The range the workspace's catalog gives `name` (`pnpm-workspace.yaml`). */
export const catalogRange = (root: string, name: string): string => {
  const text = fs.readFileSync(path.join(root, "pnpm-workspace.yaml"), "utf8")
  const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
  const match = new RegExp(`^\\s+"?${escaped}"?:\\s*(\\S+)\\s*$`, "m").exec(text)
  if (match === null) throw new Error(`${name} is not in the catalog of pnpm-workspace.yaml`)
  return match[1]!
}

/**
 * An outside project's first program, in plain JavaScript, exactly as `@reelay/client`'s README opens:
 * nothing configured, so the built-in simulator; one video generated, downloaded, verified and saved.
 */
export const clientProgram = `import { createClient } from "@reelay/client"
const reelay = createClient() // nothing configured: the built-in simulator, as the CLI does
const video = await reelay.generate({ prompt: "A red fox in the snow", output: "fox.mp4" })
console.log(video.path, video.sha256, video.cost)
`

/** A TypeScript program against the packages' declarations: the core's API and a provider's. */
export const typedProgram = `
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Engine, GenerateRequest, ProviderRegistry, type SavedVideo, type VideoError } from "@reelay/core"
import * as Money from "@reelay/core/Money"
import { Laozhang } from "@reelay/provider-laozhang"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

const providers = ProviderRegistry.layer(
  [Laozhang.make({ apiKey: Redacted.make("sk-typed"), baseUrl: "http://127.0.0.1:1/v1" })],
  { defaultProvider: "laozhang" }
)
const live = Engine.layer().pipe(
  Layer.provide(providers),
  Layer.provide(Layer.mergeAll(NodeHttpClient.layerUndici, NodeFileSystem.layer))
)
const request = GenerateRequest.GenerateRequest.make({ prompt: "A red fox", model: "veo-3.1-fast" })
const program: Effect.Effect<SavedVideo.SavedVideo, VideoError.VideoError> = Engine.generateTo(request, "fox.mp4").pipe(
  Effect.provide(live)
)
const price: string = Money.format(Laozhang.models[0]!.price)
export { price, program }
`

/**
 * A plugin by package name, from an outside project's library code: `reelay.config.json` names
 * `@reelay/example-fal-queue`, and the client generates through it (key and base URL from the
 * environment, as its descriptor says).
 */
export const pluginProgram = `import { createClient } from "@reelay/client"
const reelay = createClient({ model: "fal-veo-fast" })
const video = await reelay.generate({ prompt: "A heron at dawn", output: "heron.mp4" })
console.log(video.path, video.sha256, video.cost)
`

/** A plugin by path: the example's descriptor under another id, as a team might wrap a package. */
export const renamedPlugin = `import fal from "@reelay/example-fal-queue"
export default { ...fal, id: "fal-renamed" }
`
