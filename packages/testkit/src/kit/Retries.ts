/**
 * Retries: refusals that prove nothing was created are retried with the same idempotency key, a
 * server's `Retry-After` is waited out, and a status call that fails is polled again; each ends with
 * one create at the target and the video saved.
 *
 * @internal
 */
import { assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { retries, saved, scenario } from "./Scenario.js"
import type { World } from "./World.js"

/** A create answered `status` by the proxy first, then forwarded: retried, one create, saved. */
const refusedThenSaved = (world: World, status: number, retryAfterSeconds?: number) =>
  Effect.gen(function* () {
    world.proxy.inject({ operation: "create", fault: { _tag: "Status", status, retryAfterSeconds } })
    const run = yield* world.generate()
    saved(run)
    assert.isAbove(retries(run, "submit"), 0, "the create was retried")
    assert.strictEqual(yield* world.creates, 1, "one create reached the target")
    const creates = world.proxy.log().filter((entry) => entry.operation === "create")
    assert.strictEqual(new Set(creates.map((entry) => entry.idempotencyKey)).size, 1, "one idempotency key")
    return creates
  })

export const scenarios = [
  scenario({
    name: "create-429-retry-after",
    description: "a 429 on the create: retried after the server's Retry-After, one create, saved",
    run: (world) =>
      Effect.gen(function* () {
        const [refused, accepted] = yield* refusedThenSaved(world, 429, 1)
        assert.isAtLeast(accepted!.at - refused!.at, 950, "the retry waited for Retry-After: 1")
      })
  }),
  scenario({
    name: "create-500",
    description: "a 500 on the create: retried, one create, saved",
    run: (world) => Effect.asVoid(refusedThenSaved(world, 500))
  }),
  scenario({
    name: "create-503",
    description: "a 503 on the create: retried, one create, saved",
    run: (world) => Effect.asVoid(refusedThenSaved(world, 503))
  }),
  scenario({
    name: "status-503",
    description: "503s on status calls: polled again, one create, saved",
    run: (world) =>
      Effect.gen(function* () {
        world.proxy.inject({ operation: "status", fault: { _tag: "Status", status: 503 }, times: 2 })
        const run = yield* world.generate()
        saved(run)
        assert.strictEqual(yield* world.creates, 1)
      })
  }),
  scenario({
    name: "status-slow",
    description: "a slow status answer is waited for; saved",
    run: (world) =>
      Effect.gen(function* () {
        world.proxy.inject({ operation: "status", fault: { _tag: "Slow", millis: 500 } })
        saved(yield* world.generate())
        assert.strictEqual(yield* world.creates, 1)
      })
  })
] as const
