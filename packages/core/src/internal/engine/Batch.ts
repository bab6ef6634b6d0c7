/**
 * Batch admission: items are admitted as submit slots free up, in order. An item holds its slot
 * until its create is answered (or it ends), then waits in the follower's table and downloads on
 * its own; so a batch of 10,000 keeps ten items in validation and submission, not 10,000 items
 * validated and parked in front of the submit gate. Claims are taken at admission, so processes
 * sharing a batch share its items instead of one of them taking all. A store that cannot record
 * stops the whole batch: nothing billable may go on unrecorded.
 *
 * @internal
 */
import * as path from "node:path"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { BatchConcurrency, BatchItem } from "../../Engine.js"
import * as Gate from "../../Gate.js"
import { type GenerationEvent, Warning } from "../../GenerationEvent.js"
import * as JobStore from "../../JobStore.js"
import * as OutputPath from "../../OutputPath.js"
import type * as Polling from "../../Polling.js"
import type { Emit, Gates } from "./Item.js"
import { limitOf } from "./Item.js"
import * as Resumption from "./Resumption.js"
import * as Run from "./Run.js"
import type { Shared } from "./Shared.js"

export interface Options {
  readonly batch: string
  readonly outputDir: string
  readonly concurrency: BatchConcurrency
  readonly recreateUncertain: boolean
  readonly retryFailed: boolean
  readonly overwrite: boolean
  readonly polling: Polling.PollingOptions
}

/** Runs a batch to its end, reporting every item's events through `emit`. */
export const run = Effect.fn("Engine.batch")(function* (
  shared: Shared,
  emit: Emit,
  given: ReadonlyArray<BatchItem>,
  options: Options
) {
  const { store } = shared
  const name = options.batch
  const jobs: Array<JobStore.JobItem> = given.map((entry, index) => {
    const key = entry.key ?? `item-${index + 1}`
    return {
      key,
      fingerprint: JobStore.fingerprint(entry.request),
      request: entry.request,
      output: entry.output ?? path.join(options.outputDir, OutputPath.fileNameFor(key))
    }
  })
  const submitLimit = yield* limitOf(options.concurrency.submit, "concurrency.submit", 10)
  const gates: Gates = {
    submit: yield* Gate.make(submitLimit),
    status: yield* Gate.make(yield* limitOf(options.concurrency.status, "concurrency.status", 10)),
    download: yield* Gate.make(yield* limitOf(options.concurrency.download, "concurrency.download", 5))
  }
  const plans = yield* store.open(name, jobs)
  const batch = { name, recreateUncertain: options.recreateUncertain, retryFailed: options.retryFailed }
  const claims = store.claims
  const broken = yield* Deferred.make<never, JobStore.JobStoreError>()
  /** Stops an item's step (whose steps cannot fail with it) and, through `broken`, the batch. */
  const stop = (error: JobStore.JobStoreError) => Effect.zipRight(Deferred.fail(broken, error), Effect.interrupt)
  /** Runs a store call for one item: a lost claim stops the item quietly (its new owner reports it). */
  const guarded = (key: string, effect: Effect.Effect<void, JobStore.JobStoreError | JobStore.ClaimLost>) =>
    effect.pipe(
      Effect.catchTags({
        ClaimLost: (lost) =>
          Effect.zipRight(emit(new Warning({ key, code: "taken-over", message: lost.message })), Effect.interrupt),
        JobStoreError: stop
      })
    )
  /** Items in admission, answered once their create is (or they end): only a create holds a submit slot. */
  const admitting = new Map<string, Deferred.Deferred<void>>()
  const admitted = (key: string) =>
    Effect.suspend(() => {
      const waiting = admitting.get(key)
      if (waiting === undefined) return Effect.void
      admitting.delete(key)
      return Deferred.succeed(waiting, undefined)
    })
  const record = (event: GenerationEvent) => guarded(event.key, store.record(name, event.key, event))
  const runner = yield* Run.make(shared, {
    // The store records first: the journal must know before anyone else, and before the engine moves
    // on to the next (possibly billable) step.
    emit: (event) =>
      Effect.zipRight(record(event), emit(event)).pipe(
        Effect.zipRight(event._tag === "Submitted" ? admitted(event.key) : Effect.void)
      ),
    note: record,
    journal: guarded,
    gates,
    polling: options.polling,
    end: (item) =>
      Effect.zipRight(
        claims === undefined ? Effect.void : Effect.ignore(claims.unclaim(name, item.key)),
        admitted(item.key)
      )
  })
  /** Items another live process works: asked for again every `recheck`, until each is ours or done. */
  const held: Array<number> = []
  const announced = new Set<number>()

  const admit = (index: number) =>
    Effect.gen(function* () {
      const plan = plans[index]!
      const job = jobs[index]!
      let resumption = plan.resumption
      if (claims !== undefined && plan.claimable !== false) {
        const claim = yield* claims.claim(name, plan.key).pipe(Effect.tapError((error) => Deferred.fail(broken, error)))
        if (claim._tag === "Held") {
          held.push(index)
          if (!announced.has(index)) {
            announced.add(index)
            yield* emit(
              new Warning({
                key: plan.key,
                code: "claimed-elsewhere",
                message: `item ${plan.key} is being worked by another process (${claim.holder}); waiting for it to finish or stop`
              })
            )
          }
          return
        }
        resumption = claim.resumption
      }
      // Only a create holds the slot; an item resumed past its create moves on at once.
      const holdsSlot = resumption._tag === "Fresh" || resumption._tag === "Uncertain"
      const slot = holdsSlot ? yield* Deferred.make<void>() : undefined
      if (slot !== undefined) admitting.set(plan.key, slot)
      const item = runner.item(plan.key, job.output, given[index]!.overwrite ?? options.overwrite)
      item.resume(Resumption.run(shared, runner.follower, item, job.request, resumption, batch))
      if (slot !== undefined) yield* Deferred.await(slot)
    })

  const work = Effect.gen(function* () {
    yield* Effect.forEach(plans, (_, index) => admit(index), { concurrency: submitLimit, discard: true })
    while (held.length > 0 && claims !== undefined) {
      yield* Effect.sleep(claims.recheck)
      const again = held.splice(0)
      yield* Effect.forEach(again, admit, { concurrency: submitLimit, discard: true })
    }
    yield* runner.idle
  })
  yield* Effect.raceFirst(
    work,
    Effect.raceFirst(Deferred.await(broken), claims === undefined ? Effect.never : claims.lost)
  )
  // The items a failure stopped may all have ended before the failure was seen: the batch still
  // fails with it, never ends as if it had run.
  const failure = yield* Deferred.poll(broken)
  if (Option.isSome(failure)) yield* failure.value
})
