/**
 * A conformance scenario of the kit, and the checks scenarios share: how a run ended, what it saved,
 * what the proxy saw.
 *
 * @internal
 */
import * as NodeFs from "node:fs"
import { assert } from "@effect/vitest"
import type * as Engine from "@reelay/core/Engine"
import type { SavedVideo } from "@reelay/core/SavedVideo"
import type { VideoError } from "@reelay/core/VideoError"
import * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type { Run, World } from "./World.js"

export interface Scenario<Name extends string = string> {
  readonly name: Name
  readonly description: string
  readonly run: (world: World) => Effect.Effect<void>
  /** Engine settings the scenario needs (a short create timeout, say). */
  readonly engine?: Engine.EngineOptions | undefined
}

/** A scenario, its name kept as a literal so the list of names derives from the modules. */
export const scenario = <const Name extends string>(definition: Scenario<Name>): Scenario<Name> => definition

/** The video a run saved, checked on disk; fails the scenario when the run did not save one. */
export const saved = (run: Run): SavedVideo => {
  assert.isTrue(
    Exit.isSuccess(run.exit),
    `expected a saved video, got ${Exit.isFailure(run.exit) ? Cause.pretty(run.exit.cause) : ""}`
  )
  const event = run.events.find((each) => each._tag === "Saved")
  assert.isDefined(event, "a Saved event")
  const video = (event as Extract<typeof event, { _tag: "Saved" }>).video
  assert.strictEqual(NodeFs.statSync(run.output).size, video.bytes, "the file on disk is the video reported")
  assert.isFalse(NodeFs.existsSync(`${run.output}.part`), "no .part left behind")
  return video
}

/** The typed error a run failed with; fails the scenario when it did not fail with one. */
export const failure = (run: Run): VideoError => {
  const error = Exit.isFailure(run.exit) ? Option.getOrUndefined(Cause.failureOption(run.exit.cause)) : undefined
  assert.isDefined(error, `expected a typed failure, got ${run.events.map((event) => event._tag).join(", ")}`)
  return error!
}

/** How many times the engine said it would retry `operation`. */
export const retries = (run: Run, operation: string): number =>
  run.events.filter((event) => event._tag === "Retrying" && event.operation === operation).length
