/**
 * The examples in the documentation stay true: every TypeScript and JavaScript code block of the
 * READMEs and `docs/` is extracted into a project of its own (one module per block) and
 * type-checked against the packages (JavaScript with `checkJs`), and the short ones that only need
 * `@reelay/client` run, against the built-in simulator, and must end by themselves.
 *
 * Each block must stand alone: its imports, its declarations. A block that cannot (a fragment shown
 * inside a sentence) is written in another language tag (`text`), so it is not mistaken for code
 * that compiles.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, describe, it } from "vitest"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

/** Every markdown file whose code blocks are checked. */
const documents = (): ReadonlyArray<string> => [
  "README.md",
  ...fs
    .readdirSync(path.join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
  ...["packages", "apps", "examples"].flatMap((group) =>
    fs
      .readdirSync(path.join(root, group))
      .map((name) => `${group}/${name}/README.md`)
      .filter((file) => fs.existsSync(path.join(root, file)))
  )
]

interface Block {
  readonly document: string
  /** 1-based line of the block's first line of code. */
  readonly line: number
  readonly language: "ts" | "js"
  readonly code: string
}

const languages: Readonly<Record<string, Block["language"]>> = {
  ts: "ts",
  typescript: "ts",
  js: "js",
  javascript: "js",
  mjs: "js"
}

/** The code blocks of `document` in a language that compiles. */
export const blocksOf = (document: string, text: string): ReadonlyArray<Block> => {
  const blocks: Array<Block> = []
  const lines = text.split("\n")
  for (let index = 0; index < lines.length; index++) {
    const open = /^```(\w+)\s*$/.exec(lines[index]!)
    if (open === null) continue
    const end = lines.findIndex((line, at) => at > index && /^```\s*$/.test(line))
    if (end === -1) break
    const language = languages[open[1]!.toLowerCase()]
    if (language !== undefined) {
      blocks.push({ document, line: index + 2, language, code: lines.slice(index + 1, end).join("\n") })
    }
    index = end
  }
  return blocks
}

// Inside the workspace, so the packages resolve as the repository's own tools resolve them.
const work = fs.mkdtempSync(path.join(root, "test", ".docs-"))
afterAll(() => fs.rmSync(work, { recursive: true, force: true }))

const fileName = (block: Block, index: number) =>
  `${block.document.replace(/[^A-Za-z0-9]+/g, "_")}_${index}_line${block.line}.${block.language === "ts" ? "ts" : "mjs"}`

const run = (command: string, args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv) =>
  new Promise<{ readonly code: number | null; readonly output: string }>((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on("close", (code) => resolve({ code, output }))
  })

const all = documents().flatMap((document) => blocksOf(document, fs.readFileSync(path.join(root, document), "utf8")))

/** Short, and needs nothing but `@reelay/client` (so nothing but the built-in simulator). */
const runnable = (block: Block) =>
  block.code.split("\n").length <= 12 &&
  /from "@reelay\/client"/.test(block.code) &&
  [...block.code.matchAll(/from "([^"]+)"/g)].every((match) => match[1] === "@reelay/client")

describe("code blocks in the documentation", () => {
  it("finds the blocks of every README and guide", () => {
    assert.isAbove(all.length, 20)
    assert.isTrue(all.some((block) => block.document === "packages/client/README.md" && runnable(block)))
  })

  it("type-check against the packages, each on its own", async () => {
    const files = all.map((block, index) => {
      const name = fileName(block, index)
      // `export {}`: each block is a module of its own, whatever it declares.
      fs.writeFileSync(path.join(work, name), `${block.code}\nexport {}\n`)
      return name
    })
    fs.writeFileSync(
      path.join(work, "tsconfig.json"),
      JSON.stringify({
        extends: "../../tsconfig.base.json",
        compilerOptions: { allowJs: true, checkJs: true, noUnusedLocals: false, noUnusedParameters: false },
        files
      })
    )
    const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc")
    const { code, output } = await run(
      process.execPath,
      [tsc, "-p", "tsconfig.json", "--pretty", "false"],
      work,
      process.env
    )
    // Name each failure by its document and line, not by the extracted file.
    const located = output.replace(
      /^(\S+?)_(\d+)_line(\d+)\.(?:ts|mjs)\((\d+),(\d+)\)/gm,
      (_, _file, index, line, row) => {
        const block = all[Number(index)]!
        return `${block.document}:${Number(line) + Number(row) - 1}`
      }
    )
    assert.strictEqual(code, 0, located)
  }, 240_000)

  it("run when short, and end by themselves, on the built-in simulator", async () => {
    const env = { ...process.env }
    for (const name of Object.keys(env)) if (/^(REELAY_|LAOZHANG_|APIYI_)/.test(name)) delete env[name]
    for (const [index, block] of all.entries()) {
      if (!runnable(block)) continue
      const dir = fs.mkdtempSync(path.join(work, "run-"))
      const file = path.join(dir, `block.${block.language === "ts" ? "ts" : "mjs"}`)
      fs.writeFileSync(file, block.code)
      const { code, output } = await run(
        process.execPath,
        ["--conditions=@reelay/source", "--import", "tsx", file],
        dir,
        env
      )
      assert.strictEqual(code, 0, `${block.document}:${block.line} (block ${index}) failed:\n${output}`)
    }
  }, 240_000)
})
