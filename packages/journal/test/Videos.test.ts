/**
 * The gateway's video index, on each dialect: one video per tenant and `Idempotency-Key` (whoever
 * admits it), reads by tenant only, pages in both orders, deletion that hides a video and keeps it,
 * and the videos a gateway starting again must go on with.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as JobStore from "@reelay/core/JobStore"
import * as Money from "@reelay/core/Money"
import * as BigDecimal from "effect/BigDecimal"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Outbox from "../src/Outbox.js"
import * as Videos from "../src/Videos.js"
import * as Dialects from "./helpers/dialects.js"

const dialects = Dialects.forTests()

const video = (tenant: string, id: string, idempotencyKey?: string) => {
  const request = new GenerateRequest({ prompt: `video ${id}`, provider: "laozhang", model: "veo-3.1-fast" })
  return {
    tenant,
    id,
    batch: `gw-${tenant}-${id}`,
    key: id,
    request,
    fingerprint: JobStore.fingerprint(request),
    output: `/videos/${tenant}/${id}.mp4`,
    idempotencyKey,
    notify: false,
    price: Money.usd("0.15")
  }
}

for (const dialect of dialects) {
  describe(`the gateway's videos on ${dialect.name}`, () => {
    it.scopedLive("admits, finds by tenant only, pages both ways, hides the deleted, and lists the unfinished", () =>
      Effect.gen(function* () {
        const db = yield* dialect.fresh
        const videos = Context.get(yield* Layer.build(db.writer), Videos.Videos)
        assert.strictEqual((yield* videos.admit(video("team-a", "v1")))._tag, "Admitted")
        assert.strictEqual((yield* videos.admit(video("team-a", "v2", "key-1")))._tag, "Admitted")
        assert.strictEqual((yield* videos.admit(video("team-a", "v3")))._tag, "Admitted")
        // The same key again is the video it named, whatever id the second admission brought.
        const again = yield* videos.admit(video("team-a", "v9", "key-1"))
        assert.strictEqual(again._tag, "Existing")
        assert.strictEqual(again.video.id, "v2")
        // Another tenant's key space and ids are its own.
        assert.strictEqual((yield* videos.admit(video("team-b", "w1", "key-1")))._tag, "Admitted")
        assert.isTrue(Option.isNone(yield* videos.get("team-b", "v1")))
        const found = Option.getOrThrow(yield* videos.get("team-a", "v1"))
        assert.strictEqual(found.request.prompt, "video v1")
        assert.strictEqual(found.batch, "gw-team-a-v1")
        assert.strictEqual(Option.getOrThrow(yield* videos.byIdempotencyKey("team-a", "key-1")).id, "v2")

        const ids = (page: Videos.Page) => page.videos.map((entry) => entry.id)
        const first = yield* videos.list("team-a", { limit: 2, order: "asc" })
        assert.deepStrictEqual(ids(first), ["v1", "v2"])
        assert.isTrue(first.hasMore)
        const second = yield* videos.list("team-a", { limit: 2, order: "asc", after: "v2" })
        assert.deepStrictEqual(ids(second), ["v3"])
        assert.isFalse(second.hasMore)
        assert.deepStrictEqual(ids(yield* videos.list("team-a", { limit: 2, order: "desc" })), ["v3", "v2"])
        assert.deepStrictEqual(ids(yield* videos.list("team-a", { limit: 5, order: "desc", after: "v2" })), ["v1"])
        // A cursor the tenant does not have starts from the beginning.
        assert.deepStrictEqual(ids(yield* videos.list("team-a", { limit: 5, order: "asc", after: "w1" })), [
          "v1",
          "v2",
          "v3"
        ])

        yield* videos.remove("team-a", "v2")
        assert.deepStrictEqual(ids(yield* videos.list("team-a", { limit: 5, order: "asc" })), ["v1", "v3"])
        assert.isDefined(Option.getOrThrow(yield* videos.get("team-a", "v2")).deletedAt)
        // Deleting never frees the key: a retry of the old request still finds its (deleted) video.
        assert.strictEqual((yield* videos.admit(video("team-a", "v10", "key-1")))._tag, "Existing")

        yield* videos.end("team-b", "w1")
        yield* videos.end("team-b", "w1")
        assert.isDefined(Option.getOrThrow(yield* videos.get("team-b", "w1")).endedAt)
        const unfinished = yield* videos.unfinished
        assert.deepStrictEqual(
          unfinished.map((entry) => entry.video.id).sort(),
          ["v1", "v3"],
          "jobs never opened are unfinished; the deleted and the ended are not"
        )
        assert.isTrue(unfinished.every((entry) => entry.holder === undefined))
        const costs = yield* videos.costs("team-a")
        assert.isTrue(BigDecimal.isZero(costs.spent) && BigDecimal.isZero(costs.uncertain))
        // v1 and v3 are admitted and not created yet: their prices wait against the budget.
        assert.strictEqual(BigDecimal.format(costs.waiting), "0.3")
        // A create in flight (`pending`, its exposure) is possibly spent, as is an `unknown` one.
        const sql = Context.get(yield* Layer.build(db.client), SqlClient.SqlClient)
        const charge = (batch: string, ref: string, amount: string, billing: string) =>
          sql`INSERT INTO reelay_charges ${sql.insert({
            batch,
            item_key: batch.slice("gw-team-a-".length),
            ref,
            provider: "laozhang",
            model: "veo-3.1-fast",
            amount,
            charge_policy: "on-success",
            billing,
            at: 0,
            day: "2026-12-03"
          })}`
        yield* charge("gw-team-a-v1", "attempt:1", "0.15", "charged")
        yield* charge("gw-team-a-v3", "attempt:1", "0.25", "pending")
        yield* charge("gw-team-b-w1", "attempt:1", "0.40", "unknown")
        const counted = yield* videos.costs("team-a")
        assert.strictEqual(BigDecimal.format(counted.spent), "0.15")
        assert.strictEqual(BigDecimal.format(counted.uncertain), "0.25")
        assert.isTrue(BigDecimal.isZero(counted.waiting), "once its create is recorded, a video counts by its charge")
      })
    )

    it.scopedLive(
      "keeps a webhook delivery until it is delivered: once per video, taken by one process at a time",
      () =>
        Effect.gen(function* () {
          const db = yield* dialect.fresh
          const outbox = Context.get(yield* Layer.build(db.writer), Outbox.Outbox)
          const message = {
            tenant: "team-a",
            videoId: "v1",
            messageId: "msg_v1",
            event: "video.completed",
            payload: "{}"
          }
          yield* outbox.enqueue(message)
          yield* outbox.enqueue({ ...message, payload: '{"again":true}' })
          const [due] = yield* outbox.due(10)
          assert.strictEqual(due?.payload, "{}", "the first record stands")
          assert.isTrue(yield* outbox.take(due!, 60_000))
          assert.isFalse(yield* outbox.take(due!, 60_000), "taken already")
          assert.deepStrictEqual(yield* outbox.due(10), [], "leased")
          yield* outbox.failed(due!, { error: "answered 500", retryAt: Date.now() - 1 })
          const [again] = yield* outbox.due(10)
          assert.strictEqual(again?.attempts, 1)
          assert.strictEqual(again?.lastError, "answered 500")
          assert.isTrue(yield* outbox.take(again!, 60_000))
          yield* outbox.delivered(again!)
          assert.deepStrictEqual(yield* outbox.due(10), [])
          const stored = Option.getOrThrow(yield* outbox.get("team-a", "v1"))
          assert.strictEqual(stored.attempts, 2)
          assert.isDefined(stored.deliveredAt)
          // Given up: never due again.
          yield* outbox.enqueue({ ...message, videoId: "v2", messageId: "msg_v2" })
          const [other] = yield* outbox.due(10)
          assert.isTrue(yield* outbox.take(other!, 60_000))
          yield* outbox.failed(other!, { error: "no answer", retryAt: undefined })
          assert.deepStrictEqual(yield* outbox.due(10), [])
        })
    )
  })
}
