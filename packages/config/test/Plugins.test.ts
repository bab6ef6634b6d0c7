/**
 * Plugins named in `reelay.config.json`: resolved from the file's folder (paths, package names, an
 * ES-module-only package), imported, checked as descriptors; each way one can be wrong is a
 * `ConfigFileError` naming it. Loaded, a plugin is a provider like the built-ins: settings, the
 * registry and the models listing hold it.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Plugins from "../src/Plugins.js"
import * as Providers from "../src/Providers.js"
import * as Setup from "../src/Setup.js"

const repo = NodePath.resolve(NodePath.dirname(fileURLToPath(import.meta.url)), "../../..")
// Inside the repository, so the workspace's packages (`@reelay/example-fal-queue`) resolve from it.
const work = NodeFs.mkdtempSync(NodePath.join(repo, "test", ".plugins-"))
afterAll(() => NodeFs.rmSync(work, { recursive: true, force: true }))

let folders = 0
/** A folder holding `files`, and its configuration file naming `plugins`. */
const project = (plugins: ReadonlyArray<string>, files: Record<string, string> = {}) => {
  const dir = NodePath.join(work, `p${folders++}`)
  for (const [name, text] of Object.entries(files)) {
    NodeFs.mkdirSync(NodePath.dirname(NodePath.join(dir, name)), { recursive: true })
    NodeFs.writeFileSync(NodePath.join(dir, name), text)
  }
  NodeFs.mkdirSync(dir, { recursive: true })
  const path = NodePath.join(dir, "reelay.config.json")
  NodeFs.writeFileSync(path, JSON.stringify({ plugins }))
  return { path, plugins }
}

/** A descriptor module that needs no import: what the loader checks is its shape. */
const descriptorModule = (fields: Record<string, unknown> = {}, exportStatement = "export default descriptor") => `
const descriptor = {
  contract: 1, id: "acme", mode: "async",
  env: { apiKey: ["ACME_API_KEY"], baseUrl: ["ACME_BASE_URL"] },
  defaultBaseUrl: "https://api.acme.example/v1",
  models: [{ id: "acme-1" }],
  build: () => undefined,
  ...${JSON.stringify(fields)}
}
${exportStatement}
`

const load = (file: { path: string; plugins: ReadonlyArray<string> }) =>
  Effect.runPromise(Effect.either(Plugins.load(file, [{ id: "laozhang", what: "a built-in provider" }])))

const failure = async (file: { path: string; plugins: ReadonlyArray<string> }) => {
  const result = await load(file)
  if (Either.isRight(result)) throw new Error("expected the plugin to be refused")
  expect(result.left._tag).toBe("ConfigFileError")
  expect(result.left.message).toContain("nothing was sent")
  return result.left.message
}

describe("Plugins.load", () => {
  it("loads a plugin from a path relative to the configuration file", async () => {
    const file = project(["./providers/acme.mjs"], { "providers/acme.mjs": descriptorModule() })
    const result = await load(file)
    expect(Either.getOrThrow(result).map((d) => d.id)).toEqual(["acme"])
  })

  it("loads a package by name as Node resolves it from the file's folder, an ES-module-only one too", async () => {
    const file = project(["@acme/reelay-plugin", "acme-esm"], {
      "node_modules/@acme/reelay-plugin/package.json": JSON.stringify({
        name: "@acme/reelay-plugin",
        main: "main.cjs"
      }),
      // Compiled to CommonJS from `export default`: the descriptor sits one `default` deeper.
      "node_modules/@acme/reelay-plugin/main.cjs": descriptorModule(
        {},
        "Object.defineProperty(exports, '__esModule', { value: true }); exports.default = descriptor"
      ),
      "node_modules/acme-esm/package.json": JSON.stringify({
        name: "acme-esm",
        type: "module",
        exports: { ".": { import: "./index.js" } }
      }),
      "node_modules/acme-esm/index.js": descriptorModule({ id: "acme-esm" })
    })
    const result = await load(file)
    expect(Either.getOrThrow(result).map((d) => d.id)).toEqual(["acme", "acme-esm"])
  })

  it("resolves a package as an import does: a dual package's ES module build, a subpath pattern", async () => {
    const file = project(["dual", "@acme/plugins/video"], {
      "node_modules/dual/package.json": JSON.stringify({
        name: "dual",
        exports: { ".": { require: "./main.cjs", import: "./main.mjs" } }
      }),
      "node_modules/dual/main.cjs": descriptorModule({ id: "dual-cjs" }, "module.exports = { default: descriptor }"),
      "node_modules/dual/main.mjs": descriptorModule({ id: "dual-esm" }),
      "node_modules/@acme/plugins/package.json": JSON.stringify({
        name: "@acme/plugins",
        type: "module",
        // Node picks the pattern with the longest prefix: "./internal/*" is closed, "./*" is open.
        exports: { "./*": "./dist/*.js", "./internal/*": null }
      }),
      "node_modules/@acme/plugins/dist/video.js": descriptorModule({ id: "acme-video" })
    })
    expect(Either.getOrThrow(await load(file)).map((d) => d.id)).toEqual(["dual-esm", "acme-video"])
  })

  it("says a plugin cannot be found, by path and by name", async () => {
    expect(await failure(project(["./missing.js"]))).toMatch(
      /plugins\[0\] "\.\/missing\.js" cannot be found: there is no file/
    )
    expect(await failure(project(["@acme/absent"]))).toMatch(
      /plugins\[0\] "@acme\/absent" cannot be found from .*install the package/
    )
  })

  it("says a plugin does not load, with its error", async () => {
    const message = await failure(project(["./broken.mjs"], { "broken.mjs": "throw new Error('needs ACME_REGION')" }))
    expect(message).toMatch(/"\.\/broken\.mjs" does not load .*needs ACME_REGION/)
  })

  it("says a module exports no descriptor", async () => {
    const named = await failure(project(["./named.mjs"], { "named.mjs": "export const descriptor = 1" }))
    expect(named).toContain("exports no provider descriptor as its default export (found nothing)")
    const wrong = await failure(project(["./object.mjs"], { "object.mjs": "export default { id: 'x' }" }))
    expect(wrong).toContain("found an object with id")
  })

  it("says a descriptor declares another contract version", async () => {
    const message = await failure(project(["./v2.mjs"], { "v2.mjs": descriptorModule({ contract: 2 }) }))
    expect(message).toContain("declares provider descriptor contract 2, but this reelay reads contract 1")
  })

  it("refuses a descriptor with a field that would fail later", async () => {
    const cases: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
      [{ id: "Acme Video" }, 'has id "Acme Video"'],
      [{ mode: "sync" }, 'has mode "sync"'],
      [{ env: { apiKey: ["ACME KEY"], baseUrl: [] } }, "has no env"],
      [{ defaultBaseUrl: "api.acme" }, 'has defaultBaseUrl "api.acme"'],
      [{ models: [] }, "lists no models"],
      [{ build: "make" }, "has no build function"]
    ]
    for (const [fields, expected] of cases) {
      const message = await failure(project(["./bad.mjs"], { "bad.mjs": descriptorModule(fields) }))
      expect(message).toContain(expected)
    }
  })

  it("refuses an id another provider has", async () => {
    expect(await failure(project(["./lz.mjs"], { "lz.mjs": descriptorModule({ id: "laozhang" }) }))).toContain(
      'provides "laozhang", an id a built-in provider already has'
    )
    const twice = project(["./a.mjs", "./b.mjs"], { "a.mjs": descriptorModule(), "b.mjs": descriptorModule() })
    expect(await failure(twice)).toContain('plugins[1] "./b.mjs" provides "acme", an id another plugin already has')
  })
})

describe("a loaded plugin is a provider like the built-ins", () => {
  const withEnv = (env: Record<string, string>) =>
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

  it.effect("from a package name of the workspace: in the settings, the models listing and the registry", () =>
    Effect.gen(function* () {
      const file = project(["@reelay/example-fal-queue"])
      const settings = yield* Setup.settings({ config: file.path }).pipe(
        withEnv({ FAL_QUEUE_API_KEY: "fal-test", FAL_QUEUE_BASE_URL: "http://127.0.0.1:9/" })
      )
      // Its key in the environment selects it, as a built-in's does.
      expect(settings.provider.value).toBe("fal-queue")
      const entry = settings.providers.find((provider) => provider.id === "fal-queue")!
      expect(entry.kind).toBe("plugin")
      expect(entry.apiKey?.source).toBe("FAL_QUEUE_API_KEY")
      expect(entry.baseUrl).toEqual({ value: "http://127.0.0.1:9/", source: "FAL_QUEUE_BASE_URL" })
      const listed = Providers.listing(settings).find((provider) => provider.id === "fal-queue")!
      expect(listed.models.map((model) => model.id)).toContain("fal-veo-fast")
      const registry = yield* Providers.registry(settings, undefined).pipe(Effect.provide(NodeHttpClient.layerUndici))
      const provider = yield* registry.get("fal-queue")
      expect(provider.models.map((model) => model.id)).toContain("fal-veo-fast")
      expect(registry.defaultProvider).toBe("fal-queue")
    })
  )

  it.effect("a model of the plugin named alone selects it", () =>
    Effect.gen(function* () {
      const file = project(["@reelay/example-fal-queue"])
      const settings = yield* Setup.settings({ config: file.path, model: "fal-veo-fast" }).pipe(withEnv({}))
      expect(settings.provider.value).toBe("fal-queue")
    })
  )

  it.effect("a plugin that cannot load stops the settings with a ConfigFileError", () =>
    Effect.gen(function* () {
      const file = project(["./nowhere.mjs"])
      const error = yield* Effect.flip(Setup.settings({ config: file.path }).pipe(withEnv({})))
      expect(error._tag).toBe("ConfigFileError")
      expect(error.message).toContain('plugins[0] "./nowhere.mjs" cannot be found')
    })
  )
})
