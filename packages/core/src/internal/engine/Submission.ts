/**
 * Submission: one billable attempt at a provider. An async create is sent once (repeated only when
 * its failure proves nothing was created, or the provider drops repeated creates) and answers with
 * a task; a streaming create is followed to its video link on the same response. Whether a failed
 * create cost nothing or may have created a task is decided in one place (`failedCreate`).
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { AssetSource } from "../../AssetSource.js"
import * as Billing from "../../Billing.js"
import * as Gate from "../../Gate.js"
import { Submitted, Succeeded } from "../../GenerationEvent.js"
import type { ModelSpec } from "../../ModelSpec.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import { TaskHandle } from "../../TaskHandle.js"
import { annotate, MalformedResponse, PollTimeout, type VideoError, withBilling } from "../../VideoError.js"
import type * as VideoProvider from "../../VideoProvider.js"
import * as Calls from "./Calls.js"
import type { Item } from "./Item.js"
import * as Progress from "./Progress.js"
import * as Settlement from "./Settlement.js"
import type { Shared } from "./Shared.js"

/** A created task, and the settlement its follower owns from here. */
export interface Created {
  readonly handle: TaskHandle
  readonly settlement: Settlement.Settlement
}

/** A video produced by an attempt: its task and where to fetch it. */
export interface Produced {
  readonly handle: TaskHandle
  readonly asset: AssetSource
}

/**
 * The error a create that never got its answer ends with, billed as what it proves: a refusal costs
 * nothing; anything else may have created a task (an `UncertainSubmission` keeping the key sent).
 * `earlierAmbiguous`: an earlier attempt of the same create may have reached the provider (a provider
 * that drops repeated creates is asked again after a lost answer); the last refusal then proves
 * nothing about it, and the create stays uncertain.
 */
export const failedCreate = (
  failure: VideoError,
  provider: string,
  model: ModelSpec,
  idempotencyKey: string,
  earlierAmbiguous = false
): VideoError => {
  const annotated = annotate(failure, { provider })
  const final =
    earlierAmbiguous && RetryPolicy.provesNothingCreated(annotated)
      ? RetryPolicy.uncertainAfter(annotated, idempotencyKey)
      : RetryPolicy.submitFailure(annotated, idempotencyKey)
  return withBilling(
    final,
    Billing.outcome(model.chargePolicy, RetryPolicy.provesNothingCreated(final) ? "refused" : "ambiguous")
  )
}

/** Calls `mark` when a failed attempt of a create may have reached the provider (see `failedCreate`). */
const noteAmbiguity =
  (mark: () => void) =>
  (error: VideoError): Effect.Effect<void> =>
    Effect.sync(() => {
      if (!RetryPolicy.provesNothingCreated(error)) mark()
    })

/** Creates a task at an async provider; its money is settled by whoever follows it. */
export const createAsync = Effect.fn("Engine.submission.async")(function* (
  shared: Shared,
  item: Item,
  provider: VideoProvider.AsyncVideoProvider,
  model: ModelSpec,
  request: VideoProvider.ResolvedRequest,
  idempotencyKey: string
) {
  const created = yield* Gate.through(
    item.gates.submit,
    Settlement.attempt(shared, item, provider, model, idempotencyKey, (settlement) => {
      let ambiguous = false
      const once = Calls.within(
        provider.submit({ request, model, idempotencyKey }),
        provider.id,
        "create",
        shared.submitTimeout
      ).pipe(
        Effect.tapError(
          noteAmbiguity(() => {
            ambiguous = true
          })
        )
      )
      return Effect.retry(
        once,
        Calls.schedule(shared, item, "submit", (error) =>
          RetryPolicy.isRetryableCreate(error, provider.idempotentCreates === true)
        )
      ).pipe(
        Effect.map((answer) => ({ answer, settlement })),
        Effect.catchAll((failure) => {
          const error = failedCreate(failure, provider.id, model, idempotencyKey, ambiguous)
          return Effect.zipRight(settlement.settle(error.billing), Effect.fail(error))
        })
      )
    })
  )
  // Handles are filed under the registry id, which may differ from the provider's own name.
  const handle = new TaskHandle({ ...created.answer, provider: provider.id, model: model.id })
  yield* item.emit(new Submitted({ key: item.key, handle }))
  if (Billing.chargedAt(model.chargePolicy) === "accepted") yield* created.settlement.settle("charged", handle.taskId)
  return { handle, settlement: created.settlement } satisfies Created
})

/**
 * One billable attempt at a streaming provider, followed on its own response to the video link. It
 * holds one submit slot from its reservation to the end of its stream: an item holding a reservation
 * never waits for a slot, which items waiting in `budget.reserve` may hold.
 */
export const stream = Effect.fn("Engine.submission.streaming")(function* (
  shared: Shared,
  item: Item,
  provider: VideoProvider.StreamingVideoProvider,
  model: ModelSpec,
  request: VideoProvider.ResolvedRequest,
  idempotencyKey: string
) {
  const policy = model.chargePolicy
  // The provider's answer (its HTTP 200) is where a charge-on-answer policy bills.
  const billedOnAnswer = Billing.chargedAt(policy) === "accepted"
  const deadline = Duration.decode(item.polling.deadline)
  let handle: TaskHandle | undefined
  let asset: AssetSource | undefined
  let report: Progress.Reporter | undefined

  /** A progress reading on the stream; before the provider answered there is no task to report it for. */
  const reading = (queued: boolean, percent: number | undefined) =>
    report === undefined || handle === undefined
      ? Effect.void
      : report.report(item, handle.taskId, queued, percent, undefined)

  const onEvent = (settlement: Settlement.Settlement) => (event: VideoProvider.ProviderEvent) =>
    Effect.gen(function* () {
      switch (event._tag) {
        case "Accepted": {
          if (handle !== undefined) return
          const createdAt = new Date(yield* Clock.currentTimeMillis)
          handle = new TaskHandle({
            provider: provider.id,
            model: model.id,
            taskId: event.taskId,
            mode: "streaming",
            createdAt
          })
          report = new Progress.Reporter()
          yield* item.emit(new Submitted({ key: item.key, handle }))
          if (billedOnAnswer) yield* settlement.settle("charged", event.taskId)
          return
        }
        case "Queued":
          return yield* reading(true, undefined)
        case "Progress":
          return yield* reading(false, event.percent)
        case "Completed":
          if (handle === undefined || asset !== undefined) return
          asset = event.asset
          // Journaled the moment it is seen: a crash before the download still finds the link.
          yield* settlement.settle("charged", handle.taskId)
          return yield* item.emit(new Succeeded({ key: item.key, taskId: handle.taskId, asset: event.asset }))
      }
    })

  // The create's own limit: a provider that has not answered by then may or may not have the request
  // (the stream is abandoned, and the submission is uncertain). Once it answered, only the deadline applies.
  const unanswered = Effect.sleep(shared.submitTimeout).pipe(
    Effect.zipRight(
      Effect.suspend(() =>
        handle === undefined ? Effect.fail(Calls.noAnswer(provider.id, "create", shared.submitTimeout)) : Effect.never
      )
    )
  )
  // Whether an attempt before the last may have reached the provider (see `failedCreate`).
  let ambiguous = false
  const consume = (settlement: Settlement.Settlement) =>
    provider.submit({ request, model, idempotencyKey }).pipe(
      // The link is all that is needed: what the stream says after it does not matter.
      Stream.takeUntil((event) => event._tag === "Completed"),
      Stream.runForEach(onEvent(settlement)),
      Effect.raceFirst(unanswered),
      Effect.timeoutFail({
        duration: deadline,
        onTimeout: (): VideoError =>
          handle === undefined
            ? Calls.noAnswer(provider.id, "create", deadline)
            : new PollTimeout({
                provider: provider.id,
                taskId: handle.taskId,
                handle,
                waitedMillis: Duration.toMillis(deadline),
                message: `the streamed generation ${handle.taskId} did not finish within ${Duration.format(deadline)}; a synchronous stream cannot be resumed`
              })
      }),
      // A cut after the link loses nothing.
      Effect.catchAll((error) => (asset === undefined ? Effect.fail(error) : Effect.void)),
      Effect.tapError(
        noteAmbiguity(() => {
          ambiguous = true
        })
      )
    )

  /** The stream ended: it must have answered and named its video. */
  const outcome = (settlement: Settlement.Settlement): Effect.Effect<Produced, VideoError> => {
    const taskHandle = handle as TaskHandle | undefined
    const delivered = asset as AssetSource | undefined
    if (taskHandle !== undefined && delivered !== undefined)
      return Effect.succeed({ handle: taskHandle, asset: delivered })
    const error = new MalformedResponse({
      provider: provider.id,
      ...(taskHandle === undefined ? {} : { taskId: taskHandle.taskId }),
      billing: Billing.outcome(policy, taskHandle === undefined ? "ambiguous" : "accepted"),
      message: `${provider.id} ended its stream without ${taskHandle === undefined ? "answering" : "a video"}`
    })
    return Effect.zipRight(settlement.settle(error.billing, taskHandle?.taskId), Effect.fail(error))
  }

  const produced: Produced = yield* Gate.through(
    item.gates.submit,
    Settlement.attempt(shared, item, provider, model, idempotencyKey, (settlement) =>
      Effect.retry(
        consume(settlement),
        // Once the provider answered, the call is billed: it is never repeated.
        Calls.schedule(
          shared,
          item,
          "submit",
          (error) => handle === undefined && RetryPolicy.isRetryableCreate(error, provider.idempotentCreates === true)
        )
      ).pipe(
        Effect.catchAll((failure) => {
          let error: VideoError
          if (handle === undefined) {
            error = failedCreate(failure, provider.id, model, idempotencyKey, ambiguous)
          } else {
            // The provider answered and then reported a failure: the answer is what it bills. A
            // connection cut mid-stream bills what the answer did under a charge-on-answer policy;
            // under any other, nobody can say what it will bill.
            const answered = billedOnAnswer || failure._tag === "GenerationFailed" || failure._tag === "ContentRejected"
            error = withBilling(
              annotate(failure, { provider: provider.id, taskId: handle.taskId }),
              Billing.outcome(policy, answered ? "accepted" : "ambiguous")
            )
          }
          return Effect.zipRight(settlement.settle(error.billing, handle?.taskId), Effect.fail(error))
        }),
        Effect.zipRight(Effect.suspend(() => outcome(settlement)))
      )
    )
  )
  return produced
})
