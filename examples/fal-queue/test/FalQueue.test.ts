/**
 * The example provider through the engine, over real sockets, against its own fake queue: a video
 * made and saved, charged once as the fake's ledger says; failures mapped; no key, nothing sent.
 */
import * as NodeFs from "node:fs"
import * as Http from "node:http"
import * as NodePath from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Engine from "@reelay/core/Engine"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as Money from "@reelay/core/Money"
import * as Testkit from "@reelay/testkit/Testkit"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as FakeServer from "../fake/FakeServer.js"
import * as FalQueue from "../src/FalQueue.js"
import descriptor from "../src/index.js"

const timeScale = 1 / 600

const fake = Effect.acquireRelease(
  Effect.promise(() => FakeServer.start({ queueMillis: 30, runMillis: 60 })),
  (server) => Effect.promise(() => server.close())
)

interface Ledger {
  readonly creates: ReadonlyArray<{ readonly id: string; readonly prompt: string }>
  readonly charges: ReadonlyArray<{ readonly id: string; readonly usd: string }>
}
const ledgerOf = (baseUrl: string) =>
  Effect.promise(() => fetch(`${baseUrl}/__fake/ledger`).then((res) => res.json() as Promise<Ledger>))

const generate = (baseUrl: string, prompt: string, apiKey: string | null = "fal-id:fal-secret") =>
  Effect.gen(function* () {
    const dir = yield* Testkit.tempDir("reelay-fal-queue-")
    const output = NodePath.join(dir, "video.mp4")
    const provider = FalQueue.make({ baseUrl, apiKey: apiKey === null ? undefined : Redacted.make(apiKey) })
    const request = GenerateRequest.make({ prompt, model: "fal-veo-fast" })
    const exit = yield* Engine.generateTo(request, output).pipe(
      Effect.provide(Testkit.engineLayer([provider], { timeScale })),
      Effect.exit
    )
    return { exit, output }
  })

describe("fal-queue", () => {
  it("declares a descriptor of contract 1 with fal-veo-fast in its catalog", () => {
    assert.strictEqual(descriptor.contract, 1)
    assert.strictEqual(descriptor.id, "fal-queue")
    assert.deepStrictEqual(descriptor.env.apiKey, ["FAL_QUEUE_API_KEY"])
    assert.isTrue(descriptor.models.some((model) => model.id === "fal-veo-fast"))
  })

  it("reads the queue's error bodies, plain and as a validation list", () => {
    assert.deepStrictEqual(FalQueue.errorDetail('{"detail":"Request not found"}').message, "Request not found")
    const listed = FalQueue.errorDetail(
      '{"detail":[{"loc":["body","prompt"],"msg":"Field required","type":"missing"}]}'
    )
    assert.strictEqual(listed.code, "missing")
    assert.strictEqual(listed.message, "Field required")
    assert.isUndefined(FalQueue.errorDetail("<html>").message)
  })

  it.scopedLive("makes a video, saves it, and is charged once as the fake's ledger says", () =>
    Effect.gen(function* () {
      const server = yield* fake
      const { exit, output } = yield* generate(server.baseUrl, "A red fox in the snow")
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      if (Exit.isSuccess(exit))
        assert.strictEqual(exit.value.cost === undefined ? undefined : Money.format(exit.value.cost), "$1.20")
      assert.isTrue(NodeFs.statSync(output).size > 1000)
      const ledger = yield* ledgerOf(server.baseUrl)
      assert.strictEqual(ledger.creates.length, 1)
      assert.deepStrictEqual(
        ledger.charges.map((charge) => charge.usd),
        ["$1.20"]
      )
    })
  )

  it.scopedLive("a content-policy failure is ContentRejected and not charged", () =>
    Effect.gen(function* () {
      const server = yield* fake
      const { exit } = yield* generate(server.baseUrl, "A red fox [unsafe]")
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(String(exit.cause), "ContentRejected")
      const ledger = yield* ledgerOf(server.baseUrl)
      assert.strictEqual(ledger.creates.length, 1)
      assert.strictEqual(ledger.charges.length, 0)
    })
  )

  it.scopedLive("without a key it sends nothing and names the variable", () =>
    Effect.gen(function* () {
      const server = yield* fake
      const { exit } = yield* generate(server.baseUrl, "A red fox", null)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(String(exit.cause), "FAL_QUEUE_API_KEY")
      assert.strictEqual((yield* ledgerOf(server.baseUrl)).creates.length, 0)
    })
  )

  it.scopedLive("follows status and response URLs only on its own origin: elsewhere, the create is uncertain", () =>
    Effect.gen(function* () {
      // A queue that answers with URLs on another host, where the key must never go.
      const stray = yield* Effect.acquireRelease(
        Effect.promise(
          () =>
            new Promise<Http.Server>((resolve) => {
              const server = Http.createServer((_req, res) => {
                res.writeHead(200, { "content-type": "application/json" })
                res.end(
                  JSON.stringify({
                    request_id: "r-1",
                    status_url: "http://collector.invalid/requests/r-1/status",
                    response_url: "http://collector.invalid/requests/r-1"
                  })
                )
              })
              server.listen(0, "127.0.0.1", () => resolve(server))
            })
        ),
        (server) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
      )
      const { port } = stray.address() as { port: number }
      const { exit } = yield* generate(`http://127.0.0.1:${port}`, "A red fox")
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        assert.include(String(exit.cause), "UncertainSubmission")
        assert.include(String(exit.cause), "outside")
      }
    })
  )
})
