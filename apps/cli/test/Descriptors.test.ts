import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Settings from "@reelay/config/Settings"
import { describe, expect, it } from "vitest"

const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src")
const sources = (dir: string): ReadonlyArray<string> =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? sources(path.join(dir, entry.name))
        : entry.name.endsWith(".ts")
          ? [path.join(dir, entry.name)]
          : []
    )

describe("the command line and its providers", () => {
  it("names no provider: ids, variables and base URLs all come from the providers' descriptors", () => {
    const names = Settings.builtins.flatMap((builtin) => [
      builtin.id,
      builtin.defaultBaseUrl,
      ...builtin.env.apiKey,
      ...builtin.env.baseUrl
    ])
    expect(names.length).toBeGreaterThan(4)
    for (const file of sources(src)) {
      const text = fs.readFileSync(file, "utf8")
      for (const name of names) {
        const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
        expect(
          new RegExp(`(?<![\\w-])${escaped}(?![\\w-])`).test(text),
          `${path.relative(src, file)} names ${name}`
        ).toBe(false)
      }
    }
  })
})
