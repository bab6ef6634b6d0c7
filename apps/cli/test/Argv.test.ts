import { assert, describe, it } from "@effect/vitest"
import { hoistLogLevel } from "../src/Argv.js"

describe("Argv.hoistLogLevel", () => {
  it("moves --log-level ahead of the command, wherever it was", () => {
    assert.deepStrictEqual(hoistLogLevel(["node", "reelay", "status", "--json", "--log-level", "debug"]), [
      "node",
      "reelay",
      "--log-level",
      "debug",
      "status",
      "--json"
    ])
    assert.deepStrictEqual(hoistLogLevel(["node", "reelay", "cost", "--log-level=info", "--json"]), [
      "node",
      "reelay",
      "--log-level=info",
      "cost",
      "--json"
    ])
  })

  it("leaves a prompt after -- alone, and a dangling --log-level to the parser", () => {
    assert.deepStrictEqual(hoistLogLevel(["node", "reelay", "generate", "--", "--log-level", "x"]), [
      "node",
      "reelay",
      "generate",
      "--",
      "--log-level",
      "x"
    ])
    assert.deepStrictEqual(hoistLogLevel(["node", "reelay", "status", "--log-level"]), [
      "node",
      "reelay",
      "status",
      "--log-level"
    ])
  })
})
