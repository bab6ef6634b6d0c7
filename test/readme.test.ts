import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const read = (file: string) => fs.readFileSync(path.join(root, file), "utf8")

/** The shell commands of the README's first fenced blocks. */
const readmeCommands = () => [...read("README.md").matchAll(/```sh\n([^`]+?)\n```/g)].map((match) => match[1]!.trim())

describe("README", () => {
  it("opens with the main job and the test command, and CI runs exactly the test command", () => {
    const [mainJob, testCommand] = readmeCommands()
    assert.include(mainJob, "reelay generate")
    assert.match(testCommand!, /install && .* test$/)
    const ci = read(".ci/run")
      .split("\n")
      .filter((line) => line.trim() !== "" && !line.trim().startsWith("#"))
    assert.strictEqual(ci.at(-1), testCommand, ".ci/run must end with the README's test command, verbatim")
  })

  it("pins the pnpm it tells newcomers to use", () => {
    const pinned = JSON.parse(read("package.json")).packageManager as string
    for (const command of readmeCommands().slice(0, 2)) assert.include(command, pinned)
  })
})
