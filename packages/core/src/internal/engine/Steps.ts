/**
 * Steps: `Stepper.advance`, one stage of one journaled item (see `Stepper`). A stage is a run of one
 * item on a `handing` follower: the item is opened and claimed like a batch item at admission, its
 * step carried from where the store says it stands, and the run ends where the follower hands the
 * wait back (or the item ends). The claim is given back when the stage ends, however it ends.
 *
 * @internal
 */
import * as NodePath from "node:path"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Gate from "../../Gate.js"
import type { GenerationEvent } from "../../GenerationEvent.js"
import * as JobStore from "../../JobStore.js"
import * as OutputPath from "../../OutputPath.js"
import type * as Polling from "../../Polling.js"
import type * as Stepper from "../../Stepper.js"
import type { VideoError } from "../../VideoError.js"
import * as Follow from "./Follow.js"
import { type Gates, limitOf, type Outcome } from "./Item.js"
import * as Resumption from "./Resumption.js"
import * as Run from "./Run.js"
import type { Shared } from "./Shared.js"

/**
 * Stages that may write the item's output (a poll that finds a video only a stream reaches saves it
 * at once): this process must be able to, or the item is left to another.
 */
const writes = (resumption: JobStore.Resumption): boolean =>
  resumption._tag === "Fresh" ||
  resumption._tag === "Poll" ||
  resumption._tag === "Fetch" ||
  resumption._tag === "Verify" ||
  resumption._tag === "Uncertain"

/** Stages that may reserve money: they reserve from the batch's budget (`budgetOf`). */
const reserves = (resumption: JobStore.Resumption): boolean =>
  resumption._tag === "Fresh" || resumption._tag === "Uncertain" || resumption._tag === "Ended"

export const make = (
  shared: Shared,
  options: Stepper.StepperOptions,
  polling: Polling.PollingOptions
): Effect.Effect<Stepper.Stepper> =>
  Effect.gen(function* () {
    const concurrency = options.concurrency ?? {}
    const gates: Gates = {
      submit: yield* Gate.make(yield* limitOf(concurrency.submit, "concurrency.submit", 10)),
      status: yield* Gate.make(yield* limitOf(concurrency.status, "concurrency.status", 10)),
      download: yield* Gate.make(yield* limitOf(concurrency.download, "concurrency.download", 5))
    }
    const onEvent = options.onEvent ?? (() => Effect.void)
    const { store } = shared

    const stage = (
      batch: string,
      entry: Stepper.StepItem,
      resumption: JobStore.Resumption,
      restored: Polling.TrackerState | undefined
    ) =>
      Effect.gen(function* () {
        const budget =
          options.budgetOf === undefined || !reserves(resumption) ? shared.budget : yield* options.budgetOf(batch)
        const local: Shared = { ...shared, budget }
        let handOff: Follow.HandOff | undefined
        let ending: Exit.Exit<Outcome, VideoError> | undefined
        let problem: JobStore.JobStoreError | JobStore.ClaimLost | undefined
        const guarded = (effect: Effect.Effect<void, JobStore.JobStoreError | JobStore.ClaimLost>) =>
          Effect.catchAll(effect, (error) =>
            Effect.zipRight(
              Effect.sync(() => {
                problem ??= error
              }),
              Effect.interrupt
            )
          )
        const record = (event: GenerationEvent) =>
          Effect.zipRight(guarded(store.record(batch, event.key, event)), onEvent(batch, event))
        const run = yield* Run.make(
          local,
          {
            emit: record,
            note: (event) => guarded(store.record(batch, event.key, event)),
            journal: (_, effect) => guarded(effect),
            gates,
            polling,
            end: (_, exit) =>
              Effect.sync(() => {
                ending = exit
              })
          },
          () =>
            Follow.handing(
              local,
              (given) => {
                handOff = given
              },
              restored
            )
        )
        const item = run.item(entry.key, entry.output, entry.overwrite === true)
        const context = {
          name: batch,
          recreateUncertain: options.recreateUncertain === true,
          retryFailed: options.retryFailed === true
        }
        item.resume(Resumption.run(local, run.follower, item, entry.request, resumption, context))
        yield* run.idle
        if (problem?._tag === "JobStoreError") return yield* problem
        if (problem?._tag === "ClaimLost") {
          return { _tag: "Held", holder: "another process", recheckMillis: recheckMillis() } as const
        }
        if (handOff !== undefined) return handOff
        return yield* outcomeOf(ending)
      }).pipe(Effect.scoped)

    const recheckMillis = () => (store.claims === undefined ? 0 : Duration.toMillis(store.claims.recheck))

    const advance: Stepper.Stepper["advance"] = (batch, entry, restored) =>
      Effect.gen(function* () {
        const claims = store.claims
        if (claims === undefined) {
          // Nothing shared: the store says where the item stands when it is opened.
          const job: JobStore.JobItem = {
            key: entry.key,
            fingerprint: JobStore.fingerprint(entry.request),
            request: entry.request,
            output: entry.output
          }
          const [plan] = yield* store.open(batch, [job])
          if (plan === undefined) return yield* Effect.dieMessage(`the store did not answer for item ${entry.key}`)
          return yield* stage(batch, entry, plan.resumption, restored)
        }
        // Shared: the item was opened when its batch was handed over, and claiming it says where it
        // stands (opening it again would read the whole batch at every stage).
        const claim = yield* claims.claim(batch, entry.key)
        if (claim._tag === "Held") {
          return { _tag: "Held", holder: claim.holder, recheckMillis: recheckMillis() } as const
        }
        return yield* Effect.gen(function* () {
          // An item this process cannot save is given back as it stands, for a process that can.
          if (writes(claim.resumption)) {
            const writable = yield* Effect.either(OutputPath.checkDirectory(NodePath.dirname(entry.output)))
            if (writable._tag === "Left") return { _tag: "Unwritable", message: writable.left.message } as const
          }
          return yield* stage(batch, entry, claim.resumption, restored)
        }).pipe(Effect.ensuring(Effect.ignore(claims.unclaim(batch, entry.key))))
      }).pipe(Effect.withSpan("Engine.advance", { attributes: { "reelay.batch": batch, "reelay.key": entry.key } }))

    return { advance }
  })

/** The step an ended stage reports: its video, its failure, or a duplicate's end. */
const outcomeOf = (ending: Exit.Exit<Outcome, VideoError> | undefined): Effect.Effect<Stepper.Step> => {
  if (ending === undefined) return Effect.dieMessage("a stage ended without its item ending or handing off")
  if (Exit.isSuccess(ending)) {
    const video = ending.value
    return Effect.succeed(video === undefined ? { _tag: "Duplicate" } : { _tag: "Saved", video })
  }
  return Option.match(Cause.failureOption(ending.cause), {
    onNone: () => Effect.failCause(ending.cause as Cause.Cause<never>),
    onSome: (error): Effect.Effect<Stepper.Step> => Effect.succeed({ _tag: "Failed", error })
  })
}
