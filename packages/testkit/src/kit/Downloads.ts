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

/**
 * The fault met the video's transfer and the engine fetched it again: a download the proxy faulted,
 * then another. A target whose links lead past the proxy fails here, saying so.
 */
const faultedThenFetched = (world: World, fault: string) => {
  const downloads = world.proxy.log().filter((entry) => entry.operation === "download")
  assert.isTrue(
    downloads.some((entry) => entry.fault === fault),
    `the video's transfer went through the proxy and met ${fault} (the target's links must lead to an origin it lists, and classify must call the transfer "download")`
  )
  assert.isAtLeast(downloads.length, 2, "the video was fetched again after the fault")
}

export const scenarios = [
  scenario({
    name: "download-truncated",
    description: "the video's transfer is cut after 1,000 bytes: fetched again, the whole video saved",
    run: (world) =>
      Effect.gen(function* () {
        world.proxy.inject({ operation: "download", fault: { _tag: "Cut", bytes: 1_000 } })
        const video = saved(yield* world.generate())
        faultedThenFetched(world, "Cut")
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
        faultedThenFetched(world, "Status")
        assert.strictEqual(yield* world.creates, 1)
      })
  })
] as const
