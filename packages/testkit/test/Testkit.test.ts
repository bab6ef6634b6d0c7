import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Charged } from "@reelay/core/GenerationEvent"
import * as Money from "@reelay/core/Money"
import { RateLimited } from "@reelay/core/VideoError"
import * as BigDecimal from "effect/BigDecimal"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Testkit from "../src/Testkit.js"
import * as MiniAsync from "./helpers/MiniAsync.js"

describe("Testkit", () => {
  it.scopedLive("starts the simulator on free ports at 1/300 of the vendors' timings", () =>
    Effect.gen(function* () {
      const sim = yield* Testkit.simulator()
      assert.match(sim.urls.laozhang, /^http:\/\/127\.0\.0\.1:\d+\/laozhang\/v1$/)
      assert.strictEqual(sim.state.config.timeScale, Testkit.defaultTimeScale)
      assert.approximately(yield* sim.now, Date.now(), 1000, "on the system clock")
    })
  )

  it.scopedLive("builds an engine around a provider effect, with a budget and an HTTP client", () =>
    Effect.gen(function* () {
      const sim = yield* Testkit.simulator()
      const layer = Testkit.engineLayer([MiniAsync.make({ baseUrl: sim.urls.laozhang, apiKey: Redacted.make("sk-t") })])
      const response = yield* Effect.flatMap(HttpClient.HttpClient, (client) =>
        client.get(`${sim.urls.control}/health`)
      ).pipe(Effect.provide(layer))
      assert.strictEqual(response.status, 200)
    })
  )

  it.scopedLive("a closed port refuses connections", () =>
    Effect.gen(function* () {
      const port = yield* Testkit.closedPort
      const refused = yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${port}/`).then(
          () => false,
          () => true
        )
      )
      assert.isTrue(refused)
    })
  )

  it.scopedLive("a stub server records requests with their bodies", () =>
    Effect.gen(function* () {
      const stub = yield* Testkit.stubServer((_request, response) => response.end("ok"))
      const text = yield* Effect.promise(() =>
        fetch(stub.url("/x"), { method: "POST", body: "hello" }).then((response) => response.text())
      )
      assert.strictEqual(text, "ok")
      assert.strictEqual(stub.requests[0]?.path, "/x")
      assert.strictEqual(stub.requests[0]?.body.toString(), "hello")
    })
  )

  it.scopedLive("tempDir is removed with the scope; partFiles finds leftovers", () =>
    Effect.gen(function* () {
      const dir = yield* Effect.scoped(
        Effect.gen(function* () {
          const dir = yield* Testkit.tempDir()
          NodeFs.writeFileSync(NodePath.join(dir, "a.mp4.part"), "x")
          assert.deepStrictEqual(Testkit.partFiles(dir), ["a.mp4.part"])
          return dir
        })
      )
      assert.isFalse(NodeFs.existsSync(dir))
    })
  )

  it.effect("failureOf gives a collected generation's typed error, or undefined", () =>
    Effect.gen(function* () {
      const error = new RateLimited({ message: "slow down" })
      const failed = yield* Testkit.collect(Stream.fail(error))
      assert.strictEqual(Testkit.failureOf(failed), error)
      const fine = yield* Testkit.collect(Stream.empty)
      assert.isUndefined(Testkit.failureOf(fine))
    })
  )

  it("chargesOf sums certain and possible charges, a task's last word counting", () => {
    const charge = (billing: "charged" | "unknown", amount: string, taskId?: string) =>
      new Charged({
        key: "k",
        provider: "p",
        model: "m",
        amount: Money.usd(amount),
        chargePolicy: "on-success",
        billing,
        ...(taskId === undefined ? {} : { taskId })
      })
    const reported = Testkit.chargesOf([
      charge("unknown", "0.15", "t1"),
      charge("charged", "0.15", "t1"),
      charge("unknown", "0.25", "t2"),
      charge("unknown", "1.20"),
      charge("charged", "0.30")
    ])
    assert.isTrue(BigDecimal.equals(reported.certain, Money.usd("0.45")), Money.format(reported.certain))
    assert.isTrue(BigDecimal.equals(reported.possible, Money.usd("1.45")), Money.format(reported.possible))
    assert.strictEqual(reported.charges.length, 4)
    assert.deepStrictEqual(Testkit.chargesOf([]).charges, [])
  })
})
