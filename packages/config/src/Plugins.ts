/**
 * Provider packages named in `reelay.config.json`'s `"plugins"`: each name or path resolves as Node
 * resolves it from the configuration file's folder, is imported, and must export a provider
 * descriptor (`@reelay/core/ProviderDescriptor`) as its default export. What cannot be found, does not
 * load, exports no descriptor or declares another contract version is a `ConfigFileError` naming the
 * plugin: the command stops before anything is sent.
 *
 * @since 0.1.0
 */
import * as NodeFs from "node:fs"
import { createRequire } from "node:module"
import * as NodePath from "node:path"
import { pathToFileURL } from "node:url"
import * as ProviderDescriptor from "@reelay/core/ProviderDescriptor"
import * as Effect from "effect/Effect"
import { ConfigFileError } from "./ConfigError.js"

/** A provider id as the command line and the journal write it: no spaces, no `:` (which `simulator:` takes). */
const idPattern = /^[a-z0-9][a-z0-9._-]*$/

/** Whether `spec` is a path (relative to the configuration file, or absolute) rather than a package name. */
const isPath = (spec: string): boolean => /^\.{1,2}([/\\]|$)/.test(spec) || NodePath.isAbsolute(spec)

/** The conditions this process resolves with: Node's own plus any `--conditions` / `-C` it was started with. */
const activeConditions = (): ReadonlyArray<string> => {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)]
  const extra: Array<string> = []
  for (const [index, flag] of flags.entries()) {
    const inline = /^(?:--conditions|-C)=(.+)$/.exec(flag)
    if (inline !== null) extra.push(inline[1]!)
    else if ((flag === "--conditions" || flag === "-C") && flags[index + 1] !== undefined) extra.push(flags[index + 1]!)
  }
  return [...extra, "node", "import", "default"]
}

/** The target of an `exports` entry under `conditions`, following nested condition objects. */
const pickExport = (entry: unknown, conditions: ReadonlyArray<string>): string | undefined => {
  if (typeof entry === "string") return entry
  if (Array.isArray(entry)) {
    for (const candidate of entry) {
      const found = pickExport(candidate, conditions)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (entry === null || typeof entry !== "object") return undefined
  for (const [condition, target] of Object.entries(entry)) {
    if (!conditions.includes(condition)) continue
    const found = pickExport(target, conditions)
    if (found !== undefined) return found
  }
  return undefined
}

/** `target` with every `*` of its strings replaced by `match` (a pattern's target). */
const substitute = (target: unknown, match: string): unknown =>
  typeof target === "string"
    ? target.replaceAll("*", () => match)
    : Array.isArray(target)
      ? target.map((each) => substitute(each, match))
      : target !== null && typeof target === "object"
        ? Object.fromEntries(Object.entries(target).map(([key, each]) => [key, substitute(each, match)]))
        : target

/**
 * The target of `subpath` in an `exports` field: an exact entry, else the pattern (`./prefix*suffix`)
 * Node picks, the one with the longest prefix, then the longest key.
 */
const exportEntry = (exportsField: unknown, subpath: string): unknown => {
  if (typeof exportsField !== "object" || exportsField === null || Array.isArray(exportsField)) {
    return subpath === "." ? exportsField : undefined
  }
  const entries = exportsField as Record<string, unknown>
  if (!Object.keys(entries).some((key) => key.startsWith("."))) return subpath === "." ? exportsField : undefined
  if (Object.hasOwn(entries, subpath) && !subpath.includes("*")) return entries[subpath]
  const candidates = Object.keys(entries)
    .filter((key) => key.split("*").length === 2)
    .map((key) => ({ key, before: key.slice(0, key.indexOf("*")), after: key.slice(key.indexOf("*") + 1) }))
    .filter(
      ({ key, before, after }) => subpath.length >= key.length && subpath.startsWith(before) && subpath.endsWith(after)
    )
    .sort((a, b) => b.before.length - a.before.length || b.key.length - a.key.length)
  const best = candidates[0]
  if (best === undefined) return undefined
  return substitute(entries[best.key], subpath.slice(best.before.length, subpath.length - best.after.length))
}

/**
 * A package name resolved as Node resolves an `import` of it: its folder found in `node_modules` of
 * `folder` or a parent, its `exports` read with the import conditions (and any `--conditions` this
 * process runs with). `undefined` when no such package is found, or it has no `exports` (then
 * `require.resolve` reads its `main`).
 */
const resolveImport = (spec: string, folder: string): string | undefined => {
  const [scopeOrName, ...rest] = spec.split("/")
  const name = scopeOrName!.startsWith("@") ? `${scopeOrName}/${rest.shift()}` : scopeOrName!
  const subpath = rest.length === 0 ? "." : `./${rest.join("/")}`
  for (let dir = folder; ; dir = NodePath.dirname(dir)) {
    const manifestPath = NodePath.join(dir, "node_modules", name, "package.json")
    if (NodeFs.existsSync(manifestPath)) {
      const manifest = JSON.parse(NodeFs.readFileSync(manifestPath, "utf8")) as { exports?: unknown }
      if (manifest.exports === undefined) return undefined
      const target = pickExport(exportEntry(manifest.exports, subpath), activeConditions())
      return target === undefined ? undefined : NodePath.resolve(NodePath.dirname(manifestPath), target)
    }
    if (NodePath.dirname(dir) === dir) return undefined
  }
}

/** The file `spec` names, resolved from `folder`, or why it cannot be found. */
export const resolvePlugin = (spec: string, folder: string): { file: string } | { problem: string } => {
  if (isPath(spec)) {
    const file = NodePath.resolve(folder, spec)
    return NodeFs.existsSync(file) && NodeFs.statSync(file).isFile()
      ? { file }
      : { problem: `cannot be found: there is no file ${file}` }
  }
  const imported = resolveImport(spec, folder)
  if (imported !== undefined) {
    return NodeFs.existsSync(imported)
      ? { file: imported }
      : { problem: `cannot be found: its package exports ${imported}, which does not exist (is it built?)` }
  }
  const require = createRequire(NodePath.join(folder, "reelay.config.json"))
  try {
    return { file: require.resolve(spec) }
  } catch (error) {
    const code = (error as { code?: string }).code
    return {
      problem:
        code === "MODULE_NOT_FOUND"
          ? `cannot be found from ${folder}: install the package there (or in a parent folder), or name a file with a path starting with ./`
          : `cannot be resolved from ${folder} (${code ?? "error"}: ${firstLine(error)})`
    }
  }
}

const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 300)

const describe = (value: unknown): string =>
  value === undefined
    ? "nothing"
    : value === null
      ? "null"
      : Array.isArray(value)
        ? "an array"
        : typeof value === "object"
          ? `an object with ${Object.keys(value).slice(0, 6).join(", ") || "no fields"}`
          : `a ${typeof value}`

/**
 * What is wrong with a plugin's default export as a descriptor of this contract, or `undefined`.
 * Checked in full here, because a wrong field would otherwise fail in the middle of a command.
 */
export const problemOf = (value: unknown): string | undefined => {
  if (value === null || typeof value !== "object" || !("contract" in value)) {
    return `exports no provider descriptor as its default export (found ${describe(value)}); export one made with ProviderDescriptor.make from @reelay/core`
  }
  const candidate = value as Partial<Record<keyof ProviderDescriptor.ProviderDescriptor, unknown>>
  if (candidate.contract !== ProviderDescriptor.contractVersion) {
    return `declares provider descriptor contract ${JSON.stringify(candidate.contract)}, but this reelay reads contract ${ProviderDescriptor.contractVersion}; use a version of the plugin built for it`
  }
  const names = (list: unknown) => Array.isArray(list) && list.every((name) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
  const env = candidate.env as { apiKey?: unknown; baseUrl?: unknown } | undefined
  if (typeof candidate.id !== "string" || !idPattern.test(candidate.id)) {
    return `has id ${JSON.stringify(candidate.id)}; an id is lowercase letters, digits, ".", "_" and "-"`
  }
  if (candidate.mode !== "async" && candidate.mode !== "streaming") {
    return `has mode ${JSON.stringify(candidate.mode)}; expected "async" or "streaming"`
  }
  if (typeof env !== "object" || env === null || !names(env.apiKey) || !names(env.baseUrl)) {
    return "has no env { apiKey: [...], baseUrl: [...] } of environment variable names"
  }
  if (typeof candidate.defaultBaseUrl !== "string" || !URL.canParse(candidate.defaultBaseUrl)) {
    return `has defaultBaseUrl ${JSON.stringify(candidate.defaultBaseUrl)}; expected an absolute URL`
  }
  if (!Array.isArray(candidate.models) || candidate.models.length === 0) return "lists no models"
  if (typeof candidate.build !== "function") return "has no build function"
  return undefined
}

/** Loads one plugin: resolves, imports and checks it. `index` places it in the file's list. */
const loadOne = (
  spec: string,
  index: number,
  configFile: string
): Effect.Effect<ProviderDescriptor.ProviderDescriptor, ConfigFileError> =>
  Effect.gen(function* () {
    const fail = (problem: string) =>
      new ConfigFileError({
        path: configFile,
        message: `${configFile}: plugins[${index}] ${JSON.stringify(spec)} ${problem}; nothing was sent`
      })
    const resolved = resolvePlugin(spec, NodePath.dirname(configFile))
    if ("problem" in resolved) return yield* fail(resolved.problem)
    const module = yield* Effect.tryPromise({
      try: () => import(pathToFileURL(resolved.file).href) as Promise<Record<string, unknown>>,
      catch: (error) => fail(`does not load (${resolved.file}): ${firstLine(error)}`)
    })
    // A module compiled to CommonJS with `export default` arrives as `{ default: { default: ... } }`.
    const exported = module.default
    const inner = (exported as { default?: unknown } | undefined)?.default
    const descriptor = problemOf(exported) !== undefined && problemOf(inner) === undefined ? inner : exported
    const problem = problemOf(descriptor)
    if (problem !== undefined) return yield* fail(problem)
    return descriptor as ProviderDescriptor.ProviderDescriptor
  })

/**
 * The descriptors of the plugins `file` names, in its order. An id taken by another provider (a
 * built-in, `simulator`, a reseller of the file or another plugin) is refused: one id, one provider.
 */
export const load = (
  file: { readonly path: string; readonly plugins: ReadonlyArray<string> },
  taken: ReadonlyArray<{ readonly id: string; readonly what: string }>
): Effect.Effect<ReadonlyArray<ProviderDescriptor.ProviderDescriptor>, ConfigFileError> =>
  Effect.gen(function* () {
    const loaded: Array<ProviderDescriptor.ProviderDescriptor> = []
    for (const [index, spec] of file.plugins.entries()) {
      const descriptor = yield* loadOne(spec, index, file.path)
      const clash =
        taken.find((other) => other.id === descriptor.id)?.what ??
        (descriptor.id === "simulator" ? "the built-in simulator" : undefined) ??
        (loaded.some((other) => other.id === descriptor.id) ? "another plugin" : undefined)
      if (clash !== undefined) {
        return yield* new ConfigFileError({
          path: file.path,
          message: `${file.path}: plugins[${index}] ${JSON.stringify(spec)} provides "${descriptor.id}", an id ${clash} already has; nothing was sent`
        })
      }
      loaded.push(descriptor)
    }
    return loaded
  })
