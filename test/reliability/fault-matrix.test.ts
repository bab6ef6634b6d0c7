/**
 * The fault matrix: every fault the simulator offers × every provider, through the real engine over
 * real sockets, one simulator and one fresh API key per cell. The expected outcome of each cell is
 * written down in `matrix.ts` from the vendors' charge rules; this file only runs the cells and
 * compares them with what the simulated vendor saw (request log, CDN log) and charged (ledger).
 *
 * Per cell: the final outcome (saved, or the error's `_tag` and `billing`); how many creates the
 * vendor received and whether they share one `Idempotency-Key` (a retried create) or not (a new
 * task); that the fault really happened (the simulator logged it, or the engine retried the call it
 * hit); the ledger's charges, at the model's price and the protocol's rule; that reelay's money
 * (`Charged` events and the `Budget`) agrees with the ledger — exactly, or bracketing it where the
 * billing is `unknown`; no `.part` or other half-written file in the output directory, and a saved
 * file that is byte for byte the vendor's video; no credential on the CDN; the key in no event and
 * no error.
 *
 * Cells that cannot happen on a protocol run too: the directive must be ignored and the video saved.
 */
import { createHash } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Budget from "@reelay/core/Budget"
import * as Engine from "@reelay/core/Engine"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as GenerationEvent from "@reelay/core/GenerationEvent"
import * as Money from "@reelay/core/Money"
import * as ProviderRegistry from "@reelay/core/ProviderRegistry"
import type { VideoError } from "@reelay/core/VideoError"
import * as VideoProvider from "@reelay/core/VideoProvider"
import * as Directive from "@reelay/simulator/Directive"
import { Testkit, VendorRules } from "@reelay/testkit"
import * as BigDecimal from "effect/BigDecimal"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { type Cell, type Fails, type Row, rows, type Saved } from "./matrix.js"
import { type ProviderUnderTest, providers } from "./providers.js"

/** The engine under test: the testkit's settings with small timeouts, so `slow` faults cross them. */
const engine: Engine.EngineOptions = {
  submitTimeout: "2 seconds",
  requestTimeout: "2 seconds",
  download: { idleTimeout: "1500 millis" }
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

const describeRun = (run: Testkit.Collected<VideoError>) => {
  const error = Testkit.failureOf(run)
  if (error !== undefined) return `${error._tag} (billing ${error.billing}): ${error.message}`
  return Exit.isSuccess(run.exit) ? "saved" : String(run.exit)
}

/** The directive names of a row's prompt, without the `timing` helper. */
const faultNames = (row: Row) =>
  [...row.directives.matchAll(/@sim:([a-z0-9-]+)/g)].map((match) => match[1]!).filter((name) => name !== "timing")

const runCell = (provider: ProviderUnderTest, row: Row, asked: Cell, index: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      // A fault that cannot happen on this protocol must not disturb it either: the directive is
      // sent, nothing applies it, and the video is saved with one create as if it were not there.
      const applies = asked._tag !== "NotApplicable"
      const cell: Saved | Fails = asked._tag === "NotApplicable" ? { _tag: "Saved", creates: 1, ledger: 1 } : asked
      const rule = VendorRules.ruleOf[provider.protocol]
      const sim = yield* Testkit.simulator()
      const dir = yield* Testkit.tempDir("reelay-matrix-")
      const apiKey = Redacted.make(`sk-matrix-${provider.id}-${index}`)
      const context = yield* Layer.build(
        Testkit.engineLayer([provider.make({ baseUrl: sim.urls[provider.host], apiKey })], { engine })
      )
      const built = Context.get(context, ProviderRegistry.ProviderRegistry).providers[0]!
      const model = VideoProvider.findModel(built, provider.textModel)!
      const output = NodePath.join(dir, "video.mp4")
      const request = GenerateRequest.make({
        prompt: `A red fox running through fresh snow at dawn ${row.directives}`,
        provider: built.id,
        model: provider.textModel
      })
      const run = yield* Testkit.collect(
        Engine.generate(request, {
          output,
          ...(row.deadlineMillis === undefined ? {} : { polling: { deadline: Duration.millis(row.deadlineMillis) } })
        })
      ).pipe(Effect.provide(context))
      const error = Testkit.failureOf(run)
      const retried = new Set(run.events.flatMap((event) => (event._tag === "Retrying" ? [event.operation] : [])))

      // The outcome.
      if (cell._tag === "Saved") {
        assert.isTrue(Exit.isSuccess(run.exit), `expected a saved video, got ${describeRun(run)}`)
        const saved = run.events.find((event) => event._tag === "Saved")
        assert.isDefined(saved, "a Saved event")
        const video = saved!._tag === "Saved" ? saved!.video : undefined
        const bytes = NodeFs.readFileSync(output)
        assert.strictEqual(video?.path, output)
        assert.strictEqual(sha256(bytes), video?.sha256, "the file is what the engine hashed")
        const task = sim.state.tasks.find(video!.taskId!)
        assert.isDefined(task, "the vendor knows the task")
        if (cell.bytes === undefined) {
          assert.strictEqual(sha256(bytes), sha256(task!.asset.fixture.bytes), "byte for byte the vendor's video")
        } else {
          assert.strictEqual(bytes.length, cell.bytes, "the padded size")
          assert.strictEqual(
            sha256(bytes.subarray(0, task!.asset.fixture.bytes.length)),
            sha256(task!.asset.fixture.bytes),
            "the vendor's video, then its padding"
          )
        }
        assert.deepStrictEqual(NodeFs.readdirSync(dir), ["video.mp4"], "the video and nothing else")
        if (cell.retried !== undefined) {
          assert.isTrue(retried.has(cell.retried), `the ${cell.retried} call was retried (retries: ${[...retried]})`)
        }
      } else {
        assert.isDefined(error, `expected ${cell.error.join(" or ")}, got ${describeRun(run)}`)
        assert.include(cell.error, error!._tag, describeRun(run))
        assert.strictEqual(error!.billing, cell.billing, `billing of ${describeRun(run)}`)
        assert.strictEqual(run.events.at(-1)?._tag, "Failed", "a failed generation ends with a Failed event")
        assert.isFalse(NodeFs.existsSync(output), "nothing at the output path")
        const left = NodeFs.readdirSync(dir)
        if (error!._tag === "DownloadFailed") {
          // The one thing a failed download may leave, by design (Download.ts): its `.part`, under a
          // name that cannot pass for a video, so that a resume continues with Range. It must be a
          // prefix of the vendor's video, never anything else.
          assert.isTrue(left.length === 0 || (left.length === 1 && left[0] === "video.mp4.part"), `left: ${left}`)
          if (left.length === 1) {
            const part = NodeFs.readFileSync(`${output}.part`)
            const task = sim.state.tasks.find(error!.taskId!)
            const vendor = task!.asset.fixture.bytes
            assert.isBelow(part.length, vendor.length, "a .part is shorter than the video")
            assert.isTrue(Buffer.from(vendor.subarray(0, part.length)).equals(part), "the .part is the video's prefix")
          }
        } else {
          assert.deepStrictEqual(left, [], "no file, half-written or otherwise, is left behind")
        }
      }
      if (error?._tag !== "DownloadFailed") assert.deepStrictEqual(Testkit.partFiles(dir), [], "no .part file")

      // What the vendor received: the creates, their keys, and the fault itself.
      const creates = yield* Testkit.creates(sim, apiKey)
      assert.strictEqual(
        creates.length,
        cell.creates,
        `creates received: ${creates.map((create) => create.status ?? create.outcome).join(", ")}`
      )
      for (const create of creates) assert.isString(create.idempotencyKey, "every create carries an Idempotency-Key")
      const keys = new Set(creates.map((create) => create.idempotencyKey))
      const keysExpected = cell._tag === "Saved" ? "same" : (cell.keys ?? "same")
      assert.strictEqual(
        keys.size,
        keysExpected === "same" ? Math.min(1, creates.length) : creates.length,
        keysExpected === "same" ? "a retried create reuses its Idempotency-Key" : "each new task has its own key"
      )
      const requests = yield* sim.requests
      const cdn = yield* sim.cdnRequests
      for (const name of faultNames(row)) {
        const logged = requests.some((record) => record.faults.some((fault) => fault.startsWith(`@sim:${name}`)))
        const onCdn = cdn.some((record) => record.truncated || (record.status !== null && record.status >= 400))
        const onDownload = row.stage === "download" && (onCdn || retried.has("download"))
        if (applies) assert.isTrue(logged || onDownload, `the simulator applied @sim:${name}`)
        else {
          const applied = requests.filter((record) => record.faults.some((fault) => fault.startsWith(`@sim:${name}`)))
          assert.deepStrictEqual(
            applied.map((record) => `${record.method} ${record.path}`),
            [],
            `@sim:${name} was applied on ${provider.id}`
          )
          assert.deepStrictEqual([...retried], [], `nothing retried on ${provider.id}`)
        }
      }

      // What the vendor charged, once every task has ended on its side.
      if (rule === "on-success") yield* Testkit.settled(sim)
      const ledger = yield* Testkit.ledgerOf(sim, apiKey)
      assert.strictEqual(ledger.length, cell.ledger, `the vendor's ledger (${rule})`)
      for (const entry of ledger) {
        assert.isTrue(BigDecimal.equals(Money.usd(entry.amount), model.price), "charged the catalog's price")
        assert.strictEqual(entry.rule, rule)
      }
      const vendor = Money.sum(ledger.map((entry) => Money.usd(entry.amount)))

      // reelay's money against the vendor's.
      const { certain, possible } = Testkit.chargesOf(run.events)
      const snapshot = yield* Context.get(context, Budget.Budget).snapshot
      assert.isTrue(BigDecimal.equals(snapshot.reserved, Money.zero), "nothing stays reserved")
      assert.isTrue(BigDecimal.equals(snapshot.spent, certain), "the budget spent what the Charged events say")
      assert.isTrue(BigDecimal.equals(snapshot.uncertain, possible), "the budget holds what is unknown as uncertain")
      if (cell._tag === "Fails" && cell.billing === "unknown") {
        const [least, most] = cell.possible ?? [0, cell.creates]
        assert.isTrue(least <= ledger.length && ledger.length <= most, `the ledger lies in [${least}, ${most}]`)
        assert.isTrue(
          BigDecimal.lessThanOrEqualTo(certain, vendor) &&
            BigDecimal.lessThanOrEqualTo(vendor, BigDecimal.sum(certain, possible)),
          `the vendor charged ${Money.format(vendor)}; reelay says ${Money.format(certain)} certain, ${Money.format(possible)} possible`
        )
      } else {
        assert.isTrue(BigDecimal.equals(possible, Money.zero), "nothing is reported unknown")
        assert.isTrue(
          BigDecimal.equals(vendor, certain),
          `the vendor charged ${Money.format(vendor)}; reelay says ${Money.format(certain)}`
        )
      }

      // Credentials.
      const leaks = yield* Testkit.cdnCredentialLeaks(sim)
      assert.deepStrictEqual(
        leaks.map((record) => record.path),
        [],
        "no credential reached the CDN"
      )
      const secret = Redacted.value(apiKey)
      for (const event of run.events) {
        assert.notInclude(JSON.stringify(GenerationEvent.encode(event)), secret, `the key in a ${event._tag} event`)
      }
      if (error !== undefined) assert.notInclude(`${error}${JSON.stringify(error)}`, secret, "the key in the error")
    })
  )

const title = (row: Row, cell: Cell) => {
  switch (cell._tag) {
    case "Saved":
      return `${row.name} → saved, ${cell.creates} create(s)${cell.retried === undefined ? "" : `, ${cell.retried} retried`}`
    case "Fails":
      return `${row.name} → ${cell.error.join("|")} (${cell.billing}), ${cell.creates} create(s), ledger ${cell.ledger}`
    case "NotApplicable":
      return `${row.name} → does not apply (${cell.why}): ignored, saved, 1 create(s)`
  }
}

describe("fault matrix: every simulator fault × every provider", () => {
  it("has a row for every directive the simulator offers", () => {
    const used = new Set(rows.flatMap((row) => [...row.directives.matchAll(/@sim:([a-z0-9-]+)/g)].map((m) => m[1]!)))
    assert.deepStrictEqual(
      Directive.kinds.filter((kind) => !used.has(kind)),
      [],
      "directives without a row in matrix.ts"
    )
  })

  for (const provider of providers) {
    describe.concurrent(`${provider.id} (${provider.protocol}, ${VendorRules.ruleOf[provider.protocol]})`, () => {
      rows.forEach((row, index) => {
        const cell = row.cells[provider.protocol]
        it.live(title(row, cell), () => runCell(provider, row, cell, index), 30_000)
      })
    })
  }
})
