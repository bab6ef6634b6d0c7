/**
 * Billing: a create the target may have acted on is never sent again and never reported free —
 * the connection reset after sending, the answer lost after the target created, a gateway's 502 or
 * 504, an answer cut part way, an answer after the client's timeout. Each is `UncertainSubmission`, billing `unknown`.
 *
 * @internal
 */
import { assert } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as FaultProxy from "../FaultProxy.js"
import { failure, scenario } from "./Scenario.js"
import type { World } from "./World.js"

/** The create meets `fault`; the run ends uncertain after exactly one attempt. */
const uncertain = (world: World, fault: FaultProxy.Fault, reached: number) =>
  Effect.gen(function* () {
    world.proxy.inject({ operation: "create", fault })
    const error = failure(yield* world.generate())
    assert.strictEqual(error._tag, "UncertainSubmission")
    assert.strictEqual(error.billing, "unknown", "never reported free")
    const attempts = world.proxy.log().filter((entry) => entry.operation === "create")
    assert.strictEqual(attempts.length, 1, "the create was not sent again")
    assert.strictEqual(yield* world.creates, reached)
  })

/** A create answered late: longer than the scenario's create timeout. */
const lateSubmitTimeout = "300 millis"

export const scenarios = [
  scenario({
    name: "reset-before-create",
    description: "the connection breaks after sending: UncertainSubmission, not sent again",
    run: (world) => uncertain(world, { _tag: "ResetBefore" }, 0)
  }),
  scenario({
    name: "reset-after-create",
    description: "the target created, its answer was lost: UncertainSubmission, not sent again",
    run: (world) => uncertain(world, { _tag: "ResetAfter" }, 1)
  }),
  scenario({
    name: "create-502",
    description: "a gateway's 502 on the create: UncertainSubmission, not sent again",
    run: (world) => uncertain(world, { _tag: "Status", status: 502 }, 0)
  }),
  scenario({
    name: "create-504",
    description: "a gateway's 504 on the create: UncertainSubmission, not sent again",
    run: (world) => uncertain(world, { _tag: "Status", status: 504 }, 0)
  }),
  scenario({
    name: "create-answer-cut",
    description: "the create's answer is cut after 10 bytes: UncertainSubmission, not sent again",
    run: (world) => uncertain(world, { _tag: "Cut", bytes: 10 }, 1)
  }),
  scenario({
    name: "late-create-answer",
    description: "the create is answered after the client's timeout: UncertainSubmission, not sent again",
    engine: { submitTimeout: lateSubmitTimeout },
    run: (world) => uncertain(world, { _tag: "Late", millis: 2_000 }, 1)
  })
] as const
