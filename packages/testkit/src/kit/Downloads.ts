/**
 * Downloads: a transfer cut part way is resumed (or started again) and the saved file is the whole
 * video; a download answered 503 is tried again. Videos reach the engine through the proxy when the
 * target's links lead to an origin it stands in front of.
 *
 * @internal
 */
import { assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { saved, scenario } from "./Scenario.js"
import type { World } from "./World.js"

/** The scenario cannot aim at downloads when none passed through the proxy: say so plainly. */
const throughProxy = (world: World) =>
  assert.isTrue(
    world.proxy.log().some((entry) => entry.operation === "download" || entry.operation === "content"),
    "the video's transfer went through the proxy (the target's links lead to an origin it lists)"
  )

export const scenarios = [
  scenario({
    name: "download-truncated",
    description: "the video's transfer is cut after 1,000 bytes: fetched again, the whole video saved",
    run: (world) =>
      Effect.gen(function* () {
        world.proxy.inject({ operation: "download", fault: { _tag: "Cut", bytes: 1_000 } })
        const video = saved(yield* world.generate())
        throughProxy(world)
        assert.isAbove(video.bytes, 1_000)
        assert.strictEqual(yield* world.creates, 1)
      })
  }),
  scenario({
    name: "download-503",
    description: "a 503 on the video's transfer is tried again; saved",
    run: (world) =>
      Effect.gen(function* () {
        world.proxy.inject({ operation: "download", fault: { _tag: "Status", status: 503 } })
        saved(yield* world.generate())
        throughProxy(world)
        assert.strictEqual(yield* world.creates, 1)
      })
  })
] as const
