/**
 * reelay as someone outside this repository gets it: every library package built (`dist/`), packed
 * with `pnpm pack` (which turns `workspace:` and `catalog:` ranges into real ones), and the tarballs
 * installed with npm into a temporary folder outside the repository. Then plain `node` — no
 * TypeScript loader, no workspace condition — imports them and generates a video against the
 * simulator, and `tsc` with `moduleResolution: "nodenext"` type-checks a program against their
 * declarations. A package whose `exports` still lead to `.ts` sources, or whose built code imports
 * something it does not depend on, fails here. The example plugin is installed the same way, and
 * loaded by name and by path, from the library and from the `reelay` command.
 */
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import * as FakeQueue from "../../examples/fal-queue/fake/FakeServer.js"
import * as Harness from "../cli/harness.js"
import * as Consumer from "./packages.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const work = fs.mkdtempSync(path.join(os.tmpdir(), "reelay-consumer-"))
const app = path.join(work, "app")

/**
 * Runs a command to completion and gives its standard output; a failure rejects with all its output.
 * Asynchronous: a test worker that blocks for minutes loses its connection to vitest.
 */
const run = (command: string, args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv = process.env) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on("error", reject)
    child.on("close", (code, signal) =>
      code === 0
        ? resolve(stdout)
        : reject(new Error(`${command} ${args.join(" ")} (in ${cwd}) exited ${code ?? signal}:\n${stdout}\n${stderr}`))
    )
  })

/** The environment of a process outside the workspace: no condition, loader or setting of ours inherited. */
const outside = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  // Nothing configured either: no setting or key of reelay's, so the client picks the simulator.
  for (const name of Object.keys(env)) if (/^(npm_|PNPM_|REELAY_|LAOZHANG_|APIYI_)/.test(name)) delete env[name]
  return env
}

let tarballs: ReadonlyArray<string> = []

beforeAll(async () => {
  const packages = Consumer.published(root)
  for (const pkg of packages) await run(process.execPath, [path.join(root, "scripts/build-package.mjs")], pkg.dir)
  const packed = path.join(work, "tarballs")
  fs.mkdirSync(packed)
  const pnpm = Consumer.pnpm()
  for (const pkg of packages) await run(pnpm.command, [...pnpm.args, "pack", "--pack-destination", packed], pkg.dir)
  tarballs = fs.readdirSync(packed).map((file) => path.join(packed, file))

  fs.mkdirSync(app)
  fs.writeFileSync(
    path.join(app, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2)
  )
  await run(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      "--loglevel=error",
      ...tarballs,
      `@effect/platform-node@${Consumer.catalogRange(root, "@effect/platform-node")}`
    ],
    app,
    outside()
  )
}, 600_000)

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true })
})

describe("reelay from outside the workspace (packed, installed with npm)", () => {
  it("packs every library package with built JavaScript and declarations, and no workspace or catalog range", async () => {
    assert.isAbove(tarballs.length, 0)
    for (const pkg of Consumer.published(root)) {
      const installed = path.join(app, "node_modules", ...pkg.name.split("/"))
      const manifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"))
      const text = JSON.stringify(manifest)
      assert.notInclude(text, "workspace:", pkg.name)
      assert.notInclude(text, "catalog:", pkg.name)
      const main = manifest.exports["."]
      assert.isTrue(fs.existsSync(path.join(installed, main.default)), `${pkg.name}: ${main.default}`)
      assert.isTrue(fs.existsSync(path.join(installed, main.types)), `${pkg.name}: ${main.types}`)
    }
    const effects = (await run("npm", ["ls", "effect", "--all", "--parseable"], app, outside()))
      .split("\n")
      .filter((line) => line.trim() !== "")
    assert.lengthOf([...new Set(effects.map((line) => fs.realpathSync(line)))], 1, "exactly one copy of effect")
  })

  it("plain node runs @reelay/client's four-line example: a verified video from the built-in simulator", async () => {
    fs.writeFileSync(path.join(app, "generate.mjs"), Consumer.clientProgram)
    assert.isAtMost(Consumer.clientProgram.trim().split("\n").length, 4)
    // The program ends by itself: nothing the client opened outlives the call.
    const output = await run(process.execPath, ["generate.mjs"], app, outside())
    const [file, sha256, cost] = output.trim().split("\n").at(-1)!.split(" ")
    assert.strictEqual(file, path.join(app, "fox.mp4"))
    assert.strictEqual(sha256, createHash("sha256").update(fs.readFileSync(file!)).digest("hex"))
    assert.strictEqual(cost, "0.25")
    assert.isTrue(fs.existsSync(path.join(app, ".reelay", "journal.db")), "journaled, as the CLI does")
  })

  it('type-checks a program against the declarations with moduleResolution "nodenext"', async () => {
    fs.writeFileSync(path.join(app, "program.ts"), Consumer.typedProgram)
    fs.writeFileSync(
      path.join(app, "tsconfig.json"),
      JSON.stringify(
        {
          compilerOptions: {
            target: "ES2022",
            module: "nodenext",
            moduleResolution: "nodenext",
            strict: true,
            noEmit: true,
            skipLibCheck: false,
            types: ["node"]
          },
          files: ["program.ts"]
        },
        null,
        2
      )
    )
    // Node's own types, as a TypeScript project of the consumer's would have them.
    const nodeTypes = path.join(app, "node_modules", "@types", "node")
    if (!fs.existsSync(nodeTypes)) {
      fs.mkdirSync(path.dirname(nodeTypes), { recursive: true })
      fs.symlinkSync(path.join(root, "node_modules", "@types", "node"), nodeTypes, "dir")
    }
    const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc")
    await run(process.execPath, [tsc, "-p", "tsconfig.json"], app, outside())
  })
})

describe("plugins from outside the workspace", () => {
  let fake: FakeQueue.FakeServer
  const pluginEnv = () => ({
    ...outside(),
    FAL_QUEUE_API_KEY: "fal-consumer:secret",
    FAL_QUEUE_BASE_URL: fake.baseUrl,
    // The fake finishes in a fraction of a second: poll at that pace.
    REELAY_TIME_SCALE: "1/600"
  })
  const ledger = async () =>
    (await (await fetch(`${fake.baseUrl}/__fake/ledger`)).json()) as {
      creates: Array<{ prompt: string }>
      charges: Array<{ usd: string }>
    }

  beforeAll(async () => {
    fake = await FakeQueue.start({ queueMillis: 50, runMillis: 100 })
    await Harness.ensureBundle()
    fs.mkdirSync(path.join(app, "plugins"), { recursive: true })
    fs.writeFileSync(path.join(app, "plugins", "renamed.mjs"), Consumer.renamedPlugin)
    fs.writeFileSync(
      path.join(app, "reelay.config.json"),
      JSON.stringify({ plugins: ["@reelay/example-fal-queue", "./plugins/renamed.mjs"] })
    )
  }, 180_000)
  afterAll(async () => {
    fs.rmSync(path.join(app, "reelay.config.json"), { force: true })
    await fake?.close()
  })

  it("the library generates through a plugin named by its package", async () => {
    fs.writeFileSync(path.join(app, "plugin.mjs"), Consumer.pluginProgram)
    const output = await run(process.execPath, ["plugin.mjs"], app, pluginEnv())
    const [file, sha256, cost] = output.trim().split("\n").at(-1)!.split(" ")
    assert.strictEqual(file, path.join(app, "heron.mp4"))
    assert.strictEqual(sha256, createHash("sha256").update(fs.readFileSync(file!)).digest("hex"))
    assert.strictEqual(cost, "1.20")
    const { creates, charges } = await ledger()
    assert.deepStrictEqual(
      creates.map((create) => create.prompt),
      ["A heron at dawn"]
    )
    assert.deepStrictEqual(
      charges.map((charge) => charge.usd),
      ["$1.20"]
    )
  })

  it("the reelay command lists both plugins, generates through each (by name and by path), and runs, shows, resumes and costs a batch through one", async () => {
    const models = await run(process.execPath, [Harness.bundle, "models", "--json"], app, pluginEnv())
    assert.include(models, '"fal-queue"')
    assert.include(models, '"fal-renamed"')
    assert.include(models, '"fal-veo-fast"')
    for (const [provider, file] of [
      ["fal-queue", "by-name.mp4"],
      ["fal-renamed", "by-path.mp4"]
    ] as const) {
      await run(
        process.execPath,
        [
          Harness.bundle,
          "generate",
          `A crane (${provider})`,
          "--provider",
          provider,
          "--model",
          "fal-veo-fast",
          "--out",
          file
        ],
        app,
        pluginEnv()
      )
      assert.isTrue(Harness.isMp4(path.join(app, file)), file)
    }
    // A batch through a plugin, then status and resume read it back through the same plugin.
    fs.writeFileSync(
      path.join(app, "jobs.jsonl"),
      `${JSON.stringify({ key: "crane", prompt: "A crane in a batch", provider: "fal-queue", model: "fal-veo-fast" })}\n`
    )
    await run(process.execPath, [Harness.bundle, "batch", "jobs.jsonl", "--batch", "plugged"], app, pluginEnv())
    const status = await run(process.execPath, [Harness.bundle, "status", "plugged", "--json"], app, pluginEnv())
    assert.include(status, '"fal-queue"')
    await run(process.execPath, [Harness.bundle, "resume", "plugged"], app, pluginEnv())
    const cost = await run(process.execPath, [Harness.bundle, "cost", "--json"], app, pluginEnv())
    assert.include(cost, "fal-renamed")
    const { creates } = await ledger()
    assert.includeMembers(
      creates.map((create) => create.prompt),
      ["A crane (fal-queue)", "A crane (fal-renamed)", "A crane in a batch"]
    )
  })

  it("a plugin that cannot be found stops the command with exit 2, naming it, before anything is sent", async () => {
    const dir = path.join(work, "missing-plugin")
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, "reelay.config.json"), JSON.stringify({ plugins: ["@acme/reelay-absent"] }))
    const before = (await ledger()).creates.length
    const failed = await run(
      process.execPath,
      [Harness.bundle, "generate", "A fox", "--model", "fal-veo-fast"],
      dir,
      pluginEnv()
    ).then(
      () => undefined,
      (error: Error) => error.message
    )
    assert.match(failed ?? "", /exited 2/)
    assert.include(failed ?? "", '"@acme/reelay-absent" cannot be found')
    assert.strictEqual((await ledger()).creates.length, before)
  })
})
