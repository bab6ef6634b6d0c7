/**
 * Resume: a run that stopped waiting (`PollTimeout`, as a deadline or a crash leaves it) is carried
 * on from its task's handle, and the video is saved with no second create.
 *
 * @internal
 */
import * as NodePath from "node:path"
import { assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { failure, saved, scenario } from "./Scenario.js"

export const scenarios = [
  scenario({
    name: "poll-timeout-resume",
    description: "a PollTimeout resumed from its task's handle: saved, no second create",
    run: (world) =>
      Effect.gen(function* () {
        const stopped = yield* world.generate({ engine: { polling: { deadline: "1 millis" } } })
        assert.strictEqual(failure(stopped)._tag, "PollTimeout")
        const submitted = stopped.events.find((event) => event._tag === "Submitted")
        assert.isDefined(submitted, "the task was created before the deadline")
        const handle = (submitted as Extract<typeof submitted, { _tag: "Submitted" }>).handle
        saved(yield* world.resume(handle, NodePath.join(world.dir, "resumed.mp4")))
        assert.strictEqual(yield* world.creates, 1, "no second create")
      })
  })
] as const
