import { assert, describe, it } from "@effect/vitest"
import * as Directive from "../src/Directive.js"
import * as Faults from "../src/Faults.js"

describe("directives", () => {
  it("parses names, parameters, stages and counts", () => {
    const { directives, errors } = Directive.parsePrompt(
      "a cat @sim:429(retry-after=2) and @sim:503(times=3,on=status) @sim:pad(bytes=1g) @sim:fail @sim:slow(ms=10,times=always)"
    )
    assert.deepStrictEqual(errors, [])
    assert.deepStrictEqual(
      directives.map((d) => [d.kind, d.on, d.times]),
      [
        ["429", "create", 1],
        ["503", "status", 3],
        ["pad", "download", 1],
        ["fail", "status", 1],
        ["slow", "create", Number.POSITIVE_INFINITY]
      ]
    )
    assert.strictEqual(directives[0]!.retryAfter, 2)
    assert.strictEqual(directives[2]!.bytes, 1024 ** 3)
    assert.strictEqual(directives[3]!.at, 0.5)
    assert.deepStrictEqual(directives.map(Faults.actsAt), ["create", "status", "task", "task", "create"])
  })

  it("reports unknown names, parameters, stages and values", () => {
    const { errors } = Directive.parsePrompt(
      "@sim:boom @sim:429(colour=red) @sim:truncate(on=create) @sim:slow(ms=-1) @sim:503(times=0) @sim:pad"
    )
    assert.strictEqual(errors.length, 6)
    assert.match(errors[0]!, /unknown simulator directive @sim:boom/)
  })

  it("parseOne takes a directive with or without the prefix", () => {
    assert.strictEqual((Directive.parseOne("503(times=2)") as Directive.Directive).times, 2)
    assert.strictEqual((Directive.parseOne("@sim:fail") as Directive.Directive).kind, "fail")
    assert.isString(Directive.parseOne("not a directive!"))
  })

  it("parseBytes understands binary units", () => {
    assert.strictEqual(Directive.parseBytes("512k"), 512 * 1024)
    assert.strictEqual(Directive.parseBytes("10m"), 10 * 1024 * 1024)
    assert.strictEqual(Directive.parseBytes("1GiB"), 1024 ** 3)
    assert.strictEqual(Directive.parseBytes("1234"), 1234)
    assert.isUndefined(Directive.parseBytes("lots"))
  })
})
