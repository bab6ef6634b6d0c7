/**
 * The engine: every provider wrapped in the same policy. It validates before spending, reserves
 * budget, submits with billing-aware retries, polls adaptively (or follows a provider's stream),
 * fetches the video with a verified streaming download, and reports each step as a typed event.
 *
 * Entry points:
 * - `generate(request)`: a stream of `GenerationEvent`s for one video;
 * - `generateTo(request, path)`: the same, run to a verified file on disk;
 * - `generateMany(items, options)`: a batch, with separate concurrency for submits, status polls
 *   and downloads, resumable when a durable `JobStore` (the journal) is provided;
 * - `resume(handle)`: collects a task that outlived an earlier wait (`PollTimeout`).
 *
 * @since 0.1.0
 */
import { createHash, randomUUID } from "node:crypto"
import * as path from "node:path"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import { IllegalArgumentException } from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Mailbox from "effect/Mailbox"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { AssetSource } from "./AssetSource.js"
import * as Billing from "./Billing.js"
import * as Budget from "./Budget.js"
import * as Delivery from "./Delivery.js"
import * as Download from "./Download.js"
import * as Gate from "./Gate.js"
import type { GenerateRequest } from "./GenerateRequest.js"
import {
  Charged,
  Downloading,
  Failed,
  type GenerationEvent,
  Progress,
  Queued,
  Retrying,
  Saved,
  Submitted,
  Submitting,
  Succeeded,
  Validated,
  Warning
} from "./GenerationEvent.js"
import * as JobStore from "./JobStore.js"
import type { ModelSpec } from "./ModelSpec.js"
import * as NetworkPolicy from "./NetworkPolicy.js"
import * as OutputPath from "./OutputPath.js"
import * as Polling from "./Polling.js"
import * as Probe from "./Probe.js"
import { ProviderRegistry } from "./ProviderRegistry.js"
import * as ResponseBody from "./ResponseBody.js"
import * as RetryPolicy from "./RetryPolicy.js"
import { SavedVideo, type VideoProbe } from "./SavedVideo.js"
import { TaskHandle } from "./TaskHandle.js"
import * as Validation from "./Validation.js"
import {
  annotate,
  DownloadFailed,
  InvalidRequest,
  MalformedResponse,
  PollTimeout,
  ProviderUnavailable,
  TaskExpired,
  UncertainSubmission,
  type VideoError,
  withBilling
} from "./VideoError.js"
import * as VideoProvider from "./VideoProvider.js"

export interface EngineOptions {
  readonly polling?: Partial<Polling.PollingOptions> | undefined
  readonly retry?: Partial<RetryPolicy.RetryOptions> | undefined
  readonly regeneration?: Partial<RetryPolicy.RegenerationOptions> | undefined
  /** Concurrent status calls per provider, across everything the engine runs (default 10). */
  readonly statusConcurrency?: number | undefined
  /**
   * Limit on one status or content call, headers and body (default 60 s); a read that hangs is
   * retried. The polling deadline cuts a status call still running when it passes.
   */
  readonly requestTimeout?: Duration.DurationInput | undefined
  /** Limit on one create call (default 120 s); a create that hangs is an uncertain submission. */
  readonly submitTimeout?: Duration.DurationInput | undefined
  /**
   * The pace an API answer's body must keep (create, status, content, image fetches): under
   * `minBytesPerSecond` (default 1024) over a `window` (default 10 s) the read fails like a broken
   * connection (see `ResponseBody`).
   */
  readonly answers?: Partial<ResponseBody.Pace> | undefined
  readonly download?:
    | (Partial<
        Pick<Download.DownloadOptions, "maxBytes" | "maxRedirects" | "idleTimeout" | "minBytesPerSecond" | "retry">
      > & {
        /**
         * Local addresses a video link may reach besides those of the provider's own base URL class
         * (`NetworkPolicy`): `true` for all (cloud metadata included), or addresses and ranges.
         */
        readonly allowPrivateNetworks?: boolean | ReadonlyArray<string> | undefined
      })
    | undefined
}

export interface GenerateOptions {
  /** The key events carry (default: a fresh id). */
  readonly key?: string | undefined
  /** Save the video here; without it the stream ends at `Succeeded`, which carries the asset. */
  readonly output?: string | undefined
  /**
   * Replace a file already at `output` (default `false`: refused before anything is sent, and a
   * file that appears there meanwhile is kept, the video saved beside it; see `OutputPath.place`).
   */
  readonly overwrite?: boolean | undefined
  readonly polling?: Partial<Polling.PollingOptions> | undefined
}

export interface BatchItem {
  /** Unique within the batch (default: `item-<n>`, its 1-based position). */
  readonly key?: string | undefined
  readonly request: GenerateRequest
  /** Default: `<outputDir>/<key>.mp4`. */
  readonly output?: string | undefined
  /** Replace a file already at the output (default: the batch's `overwrite`, else `false`). */
  readonly overwrite?: boolean | undefined
}

export interface BatchConcurrency {
  /** Items validating, reserving and submitting at once (default 10). */
  readonly submit?: number | undefined
  /** Status calls in flight for this batch (default 10). */
  readonly status?: number | undefined
  /** Downloads at once (default 5). */
  readonly download?: number | undefined
}

export interface BatchOptions {
  /** The batch id a journal files the items under (default: a fresh id). */
  readonly batch?: string | undefined
  /** Where videos go when an item names no output (default: the working directory). */
  readonly outputDir?: string | undefined
  readonly concurrency?: BatchConcurrency | undefined
  /** Re-create items whose earlier create is uncertain, accepting a possible second charge (default false). */
  readonly recreateUncertain?: boolean | undefined
  /** Replace files already at the items' outputs, for items that do not say (default `false`). */
  readonly overwrite?: boolean | undefined
  readonly polling?: Partial<Polling.PollingOptions> | undefined
}

/** How each item of a batch ended. */
export interface BatchReport {
  readonly batch: string
  readonly saved: ReadonlyMap<string, SavedVideo>
  readonly failed: ReadonlyMap<string, VideoError>
  /** Items that repeated another item's key or request, and the item they repeated. */
  readonly duplicates: ReadonlyMap<string, string>
}

export interface Service {
  readonly generate: (request: GenerateRequest, options?: GenerateOptions) => Stream.Stream<GenerationEvent, VideoError>
  readonly generateTo: (
    request: GenerateRequest,
    output: string,
    options?: Omit<GenerateOptions, "output">
  ) => Effect.Effect<SavedVideo, VideoError>
  /**
   * Runs a batch. Item failures are `Failed` events, not stream failures: one bad item stops nothing.
   * The stream fails only when the `JobStore` cannot record (a full disk under the journal): then
   * nothing billable may go on, and the whole batch stops.
   */
  readonly generateMany: (
    items: Iterable<BatchItem>,
    options?: BatchOptions
  ) => Stream.Stream<GenerationEvent, JobStore.JobStoreError>
  /** `generateMany`, run to its report. */
  readonly runMany: (
    items: Iterable<BatchItem>,
    options?: BatchOptions
  ) => Effect.Effect<BatchReport, JobStore.JobStoreError>
  /**
   * Polls and collects a task created earlier (after a `PollTimeout`, say). Never submits. `billed`
   * is how its charge was counted before (the `PollTimeout`'s `billing`); by default the charge
   * policy decides, which is right for a `PollTimeout` from this engine.
   */
  readonly resume: (
    handle: TaskHandle,
    options?: GenerateOptions & { readonly billed?: Billing.BillingOutcome | undefined }
  ) => Stream.Stream<GenerationEvent, VideoError>
}

export class Engine extends Context.Tag("@reelay/core/Engine")<Engine, Service>() {}

type Emit = (event: GenerationEvent) => Effect.Effect<void>

interface Gates {
  readonly submit?: Gate.Gate | undefined
  readonly status?: Gate.Gate | undefined
  readonly download?: Gate.Gate | undefined
}

/** One item's run: who it reports to, where its video goes, which gates it passes. */
interface Job {
  readonly key: string
  readonly output: string | undefined
  /** Whether a file already at `output` may be replaced. */
  readonly overwrite: boolean
  readonly emit: Emit
  /** Tells the store only, never the stream: a settlement that cost nothing (`Charged` not-charged). */
  readonly note: Emit
  /** Runs a store call for this item, failing the way a failed `emit` does. */
  readonly journal: (effect: Effect.Effect<void, JobStore.JobStoreError | JobStore.ClaimLost>) => Effect.Effect<void>
  readonly gates: Gates
  readonly polling: Polling.PollingOptions
}

/** Settles one attempt's money exactly once: budget and `Charged` event. */
type Settle = (billing: Billing.BillingOutcome, taskId?: string) => Effect.Effect<void>

const gate = Gate.through

/**
 * A concurrency limit given in code: absent is the default; anything but a whole number of at least 1
 * is a programming error, reported as such before anything is sent.
 */
const limitOf = (value: number | undefined, name: string, fallback: number): Effect.Effect<number> =>
  value === undefined
    ? Effect.succeed(fallback)
    : Number.isInteger(value) && value >= 1
      ? Effect.succeed(value)
      : Effect.die(new IllegalArgumentException(`${name} must be a whole number of at least 1, got ${value}`))

/** Builds the engine from the registry and platform services in the context. */
export const make = (
  options: EngineOptions = {}
): Effect.Effect<Service, never, ProviderRegistry | HttpClient.HttpClient | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const registry = yield* ProviderRegistry
    const budget = yield* Effect.serviceOption(Budget.Budget).pipe(
      Effect.flatMap(Option.match({ onNone: () => Budget.make(), onSome: Effect.succeed }))
    )
    const store = Option.getOrElse(yield* Effect.serviceOption(JobStore.JobStore), () => JobStore.memory)
    const platform = yield* Effect.context<HttpClient.HttpClient | FileSystem.FileSystem>()
    const fs = yield* FileSystem.FileSystem
    const badRanges = NetworkPolicy.invalidRanges(options.download?.allowPrivateNetworks)
    if (badRanges.length > 0) {
      return yield* Effect.die(
        new IllegalArgumentException(
          `download.allowPrivateNetworks: ${badRanges.map((entry) => JSON.stringify(entry)).join(", ")} is not an IP address or range (such as "10.1.2.0/24" or "fd00::/8")`
        )
      )
    }
    const regeneration = { ...RetryPolicy.defaultRegeneration, ...options.regeneration }
    const requestTimeout = options.requestTimeout ?? "60 seconds"
    const submitTimeout = options.submitTimeout ?? "120 seconds"
    const answerPace: ResponseBody.Pace = { ...ResponseBody.defaultPace, ...options.answers }
    const statusGates = new Map<string, Gate.Gate>()
    for (const provider of registry.providers) {
      statusGates.set(provider.id, yield* Gate.make(yield* limitOf(options.statusConcurrency, "statusConcurrency", 10)))
    }
    const pollingFor = (override?: Partial<Polling.PollingOptions>): Polling.PollingOptions => ({
      ...Polling.defaultPollingOptions,
      ...options.polling,
      ...override
    })

    /** The retry schedule for `operation`: stops on failures `retryable` refuses, reports each real retry. */
    const retrySchedule = (job: Job, operation: RetryPolicy.Operation, retryable: (error: VideoError) => boolean) =>
      RetryPolicy.schedule(options.retry, {
        while: retryable,
        onRetry: (step) =>
          job.emit(
            new Retrying({
              key: job.key,
              operation,
              attempt: step.attempt,
              delayMillis: step.delayMillis,
              error: step.error
            })
          )
      })

    /** Repeats `effect` while its failure allows it for `operation`, reporting each retry. */
    const retrying = <A>(job: Job, operation: RetryPolicy.Operation, effect: Effect.Effect<A, VideoError>) =>
      Effect.retry(
        effect,
        retrySchedule(job, operation, (error) => RetryPolicy.isRetryable(error, operation))
      )

    /** A read that hangs is a broken exchange: retryable, costs nothing. */
    const readTimeout = <A>(effect: Effect.Effect<A, VideoError>, provider: string, what: string) =>
      Effect.timeoutFail(effect, {
        duration: requestTimeout,
        onTimeout: () =>
          new ProviderUnavailable({
            provider,
            stage: "exchange",
            message: `${what}: no answer from ${provider} within ${Duration.format(Duration.decode(requestTimeout))}`
          })
      })

    /**
     * How an attempt's money is accounted: against a reservation made for it, or, for a task
     * created earlier and resumed now, against how its charge was counted then (`was`).
     */
    type Account =
      | { readonly _tag: "Reserved"; readonly reservation: Budget.Reservation }
      | { readonly _tag: "Resumed"; readonly was: Billing.BillingOutcome | undefined }

    const settler = (job: Job, provider: string, model: ModelSpec, account: Account) => {
      let settled = false
      const settle: Settle = (billing, taskId) =>
        Effect.suspend(() => {
          if (settled) return Effect.void
          settled = true
          // A charge already reported (a per-request create before a timeout) is not reported again.
          if (account._tag === "Resumed" && (account.was === "charged" || account.was === billing)) return Effect.void
          const accounted =
            account._tag === "Reserved"
              ? budget.settle(account.reservation, billing)
              : budget.record(model.price, billing, account.was)
          const charged = new Charged({
            key: job.key,
            provider,
            model: model.id,
            amount: model.price,
            chargePolicy: model.chargePolicy,
            billing,
            ...(taskId === undefined ? {} : { taskId })
          })
          // The stream reports money spent or possibly spent; the store hears every settlement, so
          // the exposure it counted from the intent on is released when nothing was charged.
          return Effect.zipRight(accounted, billing === "not-charged" ? job.note(charged) : job.emit(charged))
        })
      return settle
    }

    /** Turns progress readings into `Queued` / `Progress` events, percentages never going down. */
    const progressReporter = (job: Job, taskId: string) => {
      let queued = false
      let percent = -1
      return (reading: { readonly queued: boolean; readonly percent?: number | undefined }, finishAt?: number) =>
        Effect.gen(function* () {
          if (reading.queued && !queued && percent < 0) {
            queued = true
            yield* job.emit(new Queued({ key: job.key, taskId }))
          }
          if (reading.percent !== undefined && !reading.queued && reading.percent > percent) {
            percent = reading.percent
            const now = yield* Clock.currentTimeMillis
            const etaSeconds = finishAt === undefined ? undefined : Math.max(0, Math.round((finishAt - now) / 100) / 10)
            yield* job.emit(
              new Progress({
                key: job.key,
                taskId,
                percent,
                ...(etaSeconds === undefined ? {} : { etaSeconds })
              })
            )
          }
        })
    }

    /** Polls an async task to its end and returns where its video is. */
    const followTask = (
      job: Job,
      provider: VideoProvider.AsyncVideoProvider,
      model: ModelSpec,
      handle: TaskHandle,
      settle: Settle,
      immediately: boolean
    ): Effect.Effect<AssetSource, VideoError> =>
      Effect.gen(function* () {
        const policy = model.chargePolicy
        const context = { provider: provider.id, taskId: handle.taskId }
        const stillRunning = Billing.outcome(policy, "accepted", { stillRunning: true })
        const now = new Date(yield* Clock.currentTimeMillis)
        if (handle.isExpired(now)) {
          const error = new TaskExpired({
            ...context,
            billing: stillRunning,
            ...(handle.expiresAt === undefined ? {} : { expiredAt: handle.expiresAt }),
            message: `task ${handle.taskId} expired at ${handle.expiresAt?.toISOString()}; ${provider.id} keeps tasks and videos for a limited time`
          })
          yield* settle(error.billing, handle.taskId)
          return yield* error
        }
        const report = progressReporter(job, handle.taskId)
        const statusGate = statusGates.get(provider.id)
        const status = gate(
          job.gates.status,
          gate(statusGate, readTimeout(provider.status(handle), provider.id, `status of ${handle.taskId}`))
        )
        const terminal = yield* Polling.poll({
          handle,
          time: model.generationTime,
          status: retrying(job, "status", status),
          onReading: (reading, finishAt) =>
            reading._tag === "Queued" || reading._tag === "Running"
              ? report({ queued: reading._tag === "Queued", percent: Polling.progressOf(reading) }, finishAt)
              : Effect.void,
          immediately,
          options: job.polling
        }).pipe(
          Effect.catchAll((failure) =>
            Effect.gen(function* () {
              let error: VideoError = annotate(failure, context)
              const at = new Date(yield* Clock.currentTimeMillis)
              if (error._tag === "TaskNotFound" && handle.isExpired(at)) {
                error = new TaskExpired({ ...context, message: `task ${handle.taskId} has expired at ${provider.id}` })
              }
              error = withBilling(
                error,
                RetryPolicy.endsTask(error) ? Billing.outcome(policy, "accepted") : stillRunning
              )
              yield* settle(error.billing, handle.taskId)
              return yield* Effect.fail(error)
            })
          )
        )
        if (terminal._tag === "Failed") {
          const error = withBilling(annotate(terminal.error, context), Billing.outcome(policy, "accepted"))
          yield* settle(error.billing, handle.taskId)
          return yield* Effect.fail(error)
        }
        yield* settle("charged", handle.taskId)
        const asset =
          terminal._tag === "Succeeded" && terminal.asset !== undefined
            ? terminal.asset
            : yield* retrying(
                job,
                "content",
                readTimeout(provider.content(handle), provider.id, `content of ${handle.taskId}`)
              ).pipe(Effect.mapError((error) => withBilling(annotate(error, context), "charged")))
        yield* job.emit(new Succeeded({ key: job.key, taskId: handle.taskId, asset }))
        return asset
      })

    interface Produced {
      readonly handle: TaskHandle
      readonly asset: AssetSource
    }

    /**
     * Opens a billable attempt: reserves its worst case and records its intent (the journal counts
     * it possibly charged from here). From then on its money is settled exactly once; if the attempt
     * ends without settling (interrupted, a defect), the budget keeps the amount as uncertain.
     */
    const beginAttempt = (job: Job, provider: VideoProvider.Service, model: ModelSpec, idempotencyKey: string) =>
      Effect.gen(function* () {
        const reservation = yield* budget.reserve(model.price, { provider: provider.id })
        const settle = settler(job, provider.id, model, { _tag: "Reserved", reservation })
        yield* Effect.addFinalizer(() => budget.settle(reservation, "unknown"))
        yield* job.emit(
          new Submitting({
            key: job.key,
            provider: provider.id,
            model: model.id,
            idempotencyKey,
            ...(provider.baseUrl === undefined ? {} : { baseUrl: provider.baseUrl })
          })
        )
        return settle
      })

    /** One billable attempt at an async provider: reserve, submit once (retried safely), follow. */
    const attemptAsync = (
      job: Job,
      provider: VideoProvider.AsyncVideoProvider,
      model: ModelSpec,
      request: VideoProvider.ResolvedRequest,
      idempotencyKey: string
    ): Effect.Effect<Produced, VideoError, Scope.Scope> =>
      Effect.gen(function* () {
        const policy = model.chargePolicy
        const handle = yield* gate(
          job.gates.submit,
          Effect.gen(function* () {
            const settle = yield* beginAttempt(job, provider, model, idempotencyKey)
            const submit = Effect.timeoutFail(provider.submit({ request, model, idempotencyKey }), {
              duration: submitTimeout,
              onTimeout: () =>
                new ProviderUnavailable({
                  provider: provider.id,
                  stage: "exchange",
                  message: `create: no answer from ${provider.id} within ${Duration.format(Duration.decode(submitTimeout))}`
                })
            })
            const idempotent = provider.idempotentCreates === true
            const created = yield* Effect.retry(
              submit,
              retrySchedule(job, "submit", (error) => RetryPolicy.isRetryableCreate(error, idempotent))
            ).pipe(
              Effect.catchAll((failure) => {
                const final = RetryPolicy.submitFailure(annotate(failure, { provider: provider.id }), idempotencyKey)
                const stage = RetryPolicy.provesNothingCreated(final) ? "refused" : "ambiguous"
                const error = withBilling(final, Billing.outcome(policy, stage))
                return Effect.zipRight(settle(error.billing), Effect.fail(error))
              })
            )
            return { created, settle }
          })
        )
        // Handles are filed under the registry id, which may differ from the provider's own name.
        const task = new TaskHandle({ ...handle.created, provider: provider.id, model: model.id })
        yield* job.emit(new Submitted({ key: job.key, handle: task }))
        if (Billing.chargedAt(policy) === "accepted") yield* handle.settle("charged", task.taskId)
        const asset = yield* followTask(job, provider, model, task, handle.settle, false)
        return { handle: task, asset }
      })

    /** One billable attempt at a streaming provider: the response itself carries the progress. */
    const attemptStreaming = (
      job: Job,
      provider: VideoProvider.StreamingVideoProvider,
      model: ModelSpec,
      request: VideoProvider.ResolvedRequest,
      idempotencyKey: string
    ): Effect.Effect<Produced, VideoError, Scope.Scope> =>
      Effect.gen(function* () {
        const policy = model.chargePolicy
        // The provider's answer (its HTTP 200) is where a charge-on-answer policy bills.
        const billedOnAnswer = Billing.chargedAt(policy) === "accepted"
        let handle: TaskHandle | undefined
        let asset: AssetSource | undefined
        let report: ReturnType<typeof progressReporter> | undefined
        const onEvent = (settle: Settle) => (event: VideoProvider.ProviderEvent) =>
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
                report = progressReporter(job, event.taskId)
                yield* job.emit(new Submitted({ key: job.key, handle }))
                if (billedOnAnswer) yield* settle("charged", event.taskId)
                return
              }
              case "Queued":
                return yield* report?.({ queued: true }) ?? Effect.void
              case "Progress":
                return yield* report?.({ queued: false, percent: event.percent }) ?? Effect.void
              case "Completed":
                if (handle === undefined || asset !== undefined) return
                asset = event.asset
                // Journaled the moment it is seen: a crash before the download still finds the link.
                yield* settle("charged", handle.taskId)
                return yield* job.emit(new Succeeded({ key: job.key, taskId: handle.taskId, asset: event.asset }))
            }
          })
        const deadline = job.polling.deadline
        // The create's own limit: a provider that has not answered by then may or may not have the
        // request (the stream is abandoned, and the submission is uncertain). Once it answered, only
        // the deadline applies.
        const unanswered = Effect.sleep(submitTimeout).pipe(
          Effect.zipRight(
            Effect.suspend(() =>
              handle === undefined
                ? Effect.fail(
                    new ProviderUnavailable({
                      provider: provider.id,
                      stage: "exchange",
                      message: `create: no answer from ${provider.id} within ${Duration.format(Duration.decode(submitTimeout))}`
                    })
                  )
                : Effect.never
            )
          )
        )
        const consume = (settle: Settle) =>
          provider.submit({ request, model, idempotencyKey }).pipe(
            // The link is all that is needed: what the stream says after it does not matter.
            Stream.takeUntil((event) => event._tag === "Completed"),
            Stream.runForEach(onEvent(settle)),
            Effect.raceFirst(unanswered),
            Effect.timeoutFail({
              duration: deadline,
              onTimeout: (): VideoError =>
                handle === undefined
                  ? new ProviderUnavailable({
                      provider: provider.id,
                      stage: "exchange",
                      message: `create: no answer from ${provider.id} within ${Duration.format(Duration.decode(deadline))}`
                    })
                  : new PollTimeout({
                      provider: provider.id,
                      taskId: handle.taskId,
                      handle,
                      waitedMillis: Duration.toMillis(deadline),
                      message: `the streamed generation ${handle.taskId} did not finish within ${Duration.format(Duration.decode(deadline))}; a synchronous stream cannot be resumed`
                    })
            }),
            // A cut after the link loses nothing.
            Effect.catchAll((error) => (asset === undefined ? Effect.fail(error) : Effect.void))
          )
        // One submit slot from the reservation to the end of the stream: an item holding a
        // reservation never waits for a slot, which items waiting in `budget.reserve` may hold.
        const settle = yield* gate(
          job.gates.submit,
          Effect.gen(function* () {
            const settle = yield* beginAttempt(job, provider, model, idempotencyKey)
            yield* Effect.retry(
              consume(settle),
              // Once the provider answered, the call is billed: it is never repeated.
              retrySchedule(
                job,
                "submit",
                (error) =>
                  handle === undefined && RetryPolicy.isRetryableCreate(error, provider.idempotentCreates === true)
              )
            ).pipe(
              Effect.catchAll((failure) => {
                let error: VideoError
                if (handle === undefined) {
                  const final = RetryPolicy.submitFailure(annotate(failure, { provider: provider.id }), idempotencyKey)
                  error = withBilling(
                    final,
                    Billing.outcome(policy, RetryPolicy.provesNothingCreated(final) ? "refused" : "ambiguous")
                  )
                } else {
                  // The provider answered and then reported a failure: the answer is what it bills. A
                  // connection cut mid-stream bills what the answer did under a charge-on-answer
                  // policy; under any other, nobody can say what it will bill.
                  const answered =
                    billedOnAnswer || failure._tag === "GenerationFailed" || failure._tag === "ContentRejected"
                  error = withBilling(
                    annotate(failure, { provider: provider.id, taskId: handle.taskId }),
                    Billing.outcome(policy, answered ? "accepted" : "ambiguous")
                  )
                }
                return Effect.zipRight(settle(error.billing, handle?.taskId), Effect.fail(error))
              })
            )
            return settle
          })
        )
        const taskHandle = handle as TaskHandle | undefined
        const delivered = asset as AssetSource | undefined
        if (taskHandle === undefined || delivered === undefined) {
          const error = new MalformedResponse({
            provider: provider.id,
            ...(taskHandle === undefined ? {} : { taskId: taskHandle.taskId }),
            billing: Billing.outcome(policy, taskHandle === undefined ? "ambiguous" : "accepted"),
            message: `${provider.id} ended its stream without ${taskHandle === undefined ? "answering" : "a video"}`
          })
          yield* settle(error.billing, taskHandle?.taskId)
          return yield* error
        }
        return { handle: taskHandle, asset: delivered }
      })

    /**
     * Attempts until a video exists, regenerating after a failed generation where that is allowed.
     * Each attempt is a new logical submission with a new idempotency key, except that the first
     * one reuses `firstKey` when given (an uncertain create sent again).
     */
    const produce = (
      job: Job,
      validated: Validation.Validated,
      firstKey: string | undefined
    ): Effect.Effect<Produced, VideoError> =>
      Effect.gen(function* () {
        const { provider, model, request } = validated
        for (let attempt = 0; ; attempt++) {
          const idempotencyKey = (attempt === 0 ? firstKey : undefined) ?? randomUUID()
          const result = yield* Effect.either(
            Effect.scoped(
              provider.mode === "async"
                ? attemptAsync(job, provider, model, request, idempotencyKey)
                : attemptStreaming(job, provider, model, request, idempotencyKey)
            )
          )
          if (Either.isRight(result)) return result.right
          const error = result.left
          if (!RetryPolicy.shouldRegenerate(error, model.chargePolicy, attempt, regeneration)) {
            return yield* Effect.fail(error)
          }
          yield* job.emit(
            new Retrying({ key: job.key, operation: "generate", attempt: attempt + 1, delayMillis: 0, error })
          )
        }
      })

    const sha256Of = (file: string) =>
      Effect.gen(function* () {
        const hash = createHash("sha256")
        yield* Stream.runForEach(fs.stream(file), (chunk) => Effect.sync(() => hash.update(chunk)))
        return hash.digest("hex")
      })

    /** Downloads, probes and checks the video, then reports it saved. */
    const save = (
      job: Job,
      provider: VideoProvider.Service,
      model: ModelSpec,
      taskId: string,
      asset: AssetSource,
      expected: Validation.Expected | undefined
    ): Effect.Effect<SavedVideo | undefined, VideoError> =>
      Effect.gen(function* () {
        const output = job.output
        if (output === undefined) return undefined
        const context = { provider: provider.id, taskId }
        const { allowPrivateNetworks, ...limits } = options.download ?? {}
        // Filled by `verify`, which probes the file while it is still `<output>.part`.
        const verified: { probe?: VideoProbe } = {}
        const downloaded = yield* gate(
          job.gates.download,
          Download.download({
            ...limits,
            asset,
            path: output,
            overwrite: job.overwrite,
            credentials: provider.credentials,
            provider: provider.id,
            taskId,
            // Links may reach local addresses only of the class the provider's own base URL has.
            network: { baseUrl: provider.baseUrl ?? provider.credentials?.origin, allowPrivateNetworks },
            // Bytes that are not a video never take the output's name (kept as `<output>.rejected`).
            verify: (file) =>
              Effect.map(Probe.probe(file, output), (probe) => {
                verified.probe = probe
              }),
            onProgress: (receivedBytes, totalBytes) =>
              job.emit(
                new Downloading({
                  key: job.key,
                  receivedBytes,
                  ...(totalBytes === undefined ? {} : { totalBytes })
                })
              ),
            onRetry: (attempt, delayMillis, error) =>
              job.emit(new Retrying({ key: job.key, operation: "download", attempt, delayMillis, error }))
          })
        ).pipe(
          Effect.provide(platform),
          Effect.mapError((error) => withBilling(annotate(error, context), "charged"))
        )
        if (downloaded.path !== output) {
          yield* job.emit(
            new Warning({
              key: job.key,
              code: "output-taken",
              message: `a file appeared at ${output} while the video was being made; it was kept, and the video saved as ${downloaded.path}`
            })
          )
        }
        const probe = verified.probe
        if (probe === undefined) return yield* Effect.dieMessage("a download returned without being verified")
        if (expected !== undefined) {
          for (const warning of Delivery.check(probe, expected)) {
            yield* job.emit(new Warning({ key: job.key, code: warning.code, message: warning.message }))
          }
        }
        const video = new SavedVideo({
          path: downloaded.path,
          bytes: downloaded.bytes,
          sha256: downloaded.sha256,
          probe,
          provider: provider.id,
          model: model.id,
          taskId,
          cost: model.price
        })
        yield* job.emit(new Saved({ key: job.key, video }))
        return video
      })

    /** The video of a task that expired before it was downloaded: made, paid for, and gone. */
    const expiredVideo = (provider: VideoProvider.Service, handle: TaskHandle) =>
      new TaskExpired({
        provider: provider.id,
        taskId: handle.taskId,
        billing: "charged",
        ...(handle.expiresAt === undefined ? {} : { expiredAt: handle.expiresAt }),
        message: `the video of task ${handle.taskId} was made (and paid for) but expired at ${provider.id} before it was downloaded`
      })

    /** Asks the provider where the video of `handle` is now (a fresh link). */
    const freshAsset = (job: Job, provider: VideoProvider.Service, handle: TaskHandle) =>
      Effect.gen(function* () {
        const context = { provider: provider.id, taskId: handle.taskId }
        const polled = yield* asyncProvider(provider, handle)
        const now = new Date(yield* Clock.currentTimeMillis)
        return yield* retrying(
          job,
          "content",
          readTimeout(polled.content(handle), provider.id, `content of ${handle.taskId}`)
        ).pipe(
          Effect.mapError(
            (error): VideoError =>
              error._tag === "TaskNotFound" && handle.isExpired(now)
                ? expiredVideo(provider, handle)
                : withBilling(annotate(error, context), "charged")
          )
        )
      })

    /** Saves the video from a fresh link. */
    const saveFresh = (
      job: Job,
      provider: VideoProvider.Service,
      model: ModelSpec,
      handle: TaskHandle,
      expected: Validation.Expected | undefined
    ) =>
      Effect.flatMap(freshAsset(job, provider, handle), (asset) =>
        save(job, provider, model, handle.taskId, asset, expected)
      )

    /**
     * Saves the video from `asset`. A link its server refuses (expired early, revoked, rotated, its
     * host gone) is not the end while the task is known: the provider is asked for a fresh link
     * once, and the video saved from that.
     */
    const deliver = (
      job: Job,
      provider: VideoProvider.Service,
      model: ModelSpec,
      handle: TaskHandle,
      asset: AssetSource,
      expected: Validation.Expected | undefined
    ) =>
      save(job, provider, model, handle.taskId, asset, expected).pipe(
        Effect.catchIf(
          // The link's server answered with an error, or could not be reached at all, or the link led
          // where reelay does not fetch from; a failure to write the file here is no reason to ask
          // for another link.
          (error) =>
            error._tag === "DownloadFailed" &&
            (error.httpStatus !== undefined || error.transient || error.refusedTarget === true) &&
            provider.mode === "async" &&
            handle.mode === "async",
          (error) =>
            Effect.gen(function* () {
              if (handle.isExpired(new Date(yield* Clock.currentTimeMillis))) return yield* Effect.fail(error)
              yield* job.emit(
                new Warning({
                  key: job.key,
                  code: "fresh-link",
                  message: `the video link was refused (${error.message}); asking ${provider.id} for a fresh one`
                })
              )
              return yield* saveFresh(job, provider, model, handle, expected)
            })
        )
      )

    const providerAndModel = (handle: TaskHandle) =>
      Effect.gen(function* () {
        const provider = yield* registry.get(handle.provider)
        const model = VideoProvider.findModel(provider, handle.model)
        if (model === undefined) {
          return yield* new InvalidRequest({
            provider: provider.id,
            taskId: handle.taskId,
            billing: "not-charged",
            message: `task ${handle.taskId} was made with model ${JSON.stringify(handle.model)}, which provider ${JSON.stringify(provider.id)} no longer lists`
          })
        }
        return { provider, model }
      })

    /**
     * The provider of a task that can be asked about again. A synchronous stream cannot: once it is
     * gone without its link, so is the video. Its answer was recorded (the task exists), so under a
     * charge-on-answer policy its charge is certain.
     */
    const asyncProvider = (provider: VideoProvider.Service, handle: TaskHandle) => {
      if (provider.mode === "async" && handle.mode === "async") return Effect.succeed(provider)
      const model = VideoProvider.findModel(provider, handle.model)
      const charged = model !== undefined && Billing.chargedAt(model.chargePolicy) === "accepted"
      return Effect.fail(
        new TaskExpired({
          provider: provider.id,
          taskId: handle.taskId,
          billing: charged ? "charged" : "unknown",
          message: `task ${handle.taskId} was a synchronous stream that stopped before its video link arrived; it cannot be asked for again, so the video is lost${charged ? ` (${provider.id} charged it when it answered)` : ""}`
        })
      )
    }

    /** Continues an item from wherever it stands. */
    const run = (
      job: Job,
      request: GenerateRequest | undefined,
      resumption: JobStore.Resumption,
      batch?: { readonly name: string; readonly recreateUncertain: boolean }
    ): Effect.Effect<SavedVideo | undefined, VideoError> =>
      Effect.gen(function* () {
        switch (resumption._tag) {
          case "Fresh": {
            if (request === undefined) return yield* Effect.dieMessage("a fresh item needs its request")
            const provider = yield* registry.get(request.provider)
            const validated = yield* Validation.validate(request, provider).pipe(Effect.provide(platform))
            // Before anything is reserved or sent: an output that cannot be written is refused while
            // refusing costs nothing.
            if (job.output !== undefined) {
              yield* OutputPath.check(job.output, { overwrite: job.overwrite }).pipe(
                Effect.mapError((error) => annotate(error, { provider: provider.id }))
              )
            }
            yield* job.emit(
              new Validated({
                key: job.key,
                provider: provider.id,
                model: validated.model.id,
                estimatedCost: validated.model.price,
                chargePolicy: validated.model.chargePolicy,
                warnings: validated.warnings
              })
            )
            for (const warning of validated.warnings) {
              yield* job.emit(new Warning({ key: job.key, code: "provider", message: warning }))
            }
            const produced = yield* produce(job, validated, resumption.idempotencyKey)
            return yield* deliver(job, provider, validated.model, produced.handle, produced.asset, validated.expected)
          }
          case "Poll": {
            const { provider, model } = yield* providerAndModel(resumption.handle)
            const polled = yield* asyncProvider(provider, resumption.handle)
            // Unless the store knows better, a resumed task was counted the way its policy dictates:
            // charged at the create (per-request, on-response), or possibly charged (on-success).
            const was =
              resumption.billed ?? (Billing.chargedAt(model.chargePolicy) === "accepted" ? "charged" : "unknown")
            const settle = settler(job, provider.id, model, { _tag: "Resumed", was })
            const asset = yield* followTask(job, polled, model, resumption.handle, settle, true)
            const expected = request === undefined ? undefined : Validation.expectedOutput(model, request)
            return yield* deliver(job, provider, model, resumption.handle, asset, expected)
          }
          case "Fetch": {
            const { handle } = resumption
            const { provider, model } = yield* providerAndModel(handle)
            const now = new Date(yield* Clock.currentTimeMillis)
            const expected = request === undefined ? undefined : Validation.expectedOutput(model, request)
            const recorded = resumption.asset
            const usable =
              recorded !== undefined &&
              recorded._tag === "Url" &&
              (recorded.expiresAt === undefined || recorded.expiresAt.getTime() > now.getTime())
            if (!usable) {
              if (handle.isExpired(now)) return yield* expiredVideo(provider, handle)
              return yield* saveFresh(job, provider, model, handle, expected)
            }
            return yield* deliver(job, provider, model, handle, recorded, expected)
          }
          case "Verify": {
            const { video } = resumption
            const intact = yield* sha256Of(video.path).pipe(
              Effect.map((sha256) => sha256 === video.sha256),
              Effect.orElseSucceed(() => false)
            )
            if (intact) {
              yield* job.emit(new Saved({ key: job.key, video }))
              return video
            }
            if (resumption.handle === undefined) {
              return yield* new DownloadFailed({
                provider: video.provider,
                taskId: video.taskId,
                transient: false,
                billing: "charged",
                message: `${video.path} is missing or damaged (sha256 differs from the one recorded), and the task cannot be fetched again`
              })
            }
            yield* job.emit(
              new Warning({
                key: job.key,
                code: "file-damaged",
                message: `${video.path} is missing or does not match its recorded sha256; fetching it again`
              })
            )
            // The file it replaces is the one this item saved and recorded: repaired where it was.
            return yield* run(
              { ...job, output: video.path, overwrite: true },
              request,
              { _tag: "Fetch", handle: resumption.handle, asset: resumption.asset },
              batch
            )
          }
          case "Uncertain": {
            // Sent again with the same key: a provider that drops repeated creates answers with the
            // task that may exist, so it is safe without asking; otherwise only with the caller's consent.
            const idempotent =
              request !== undefined &&
              (yield* Effect.either(registry.get(request.provider))).pipe(
                Either.match({ onLeft: () => false, onRight: (provider) => provider.idempotentCreates === true })
              )
            if (batch?.recreateUncertain === true || idempotent) {
              if (store.release !== undefined && batch !== undefined)
                yield* job.journal(store.release(batch.name, job.key))
              return yield* run(job, request, { _tag: "Fresh", idempotencyKey: resumption.idempotencyKey }, batch)
            }
            return yield* new UncertainSubmission({
              idempotencyKey: resumption.idempotencyKey,
              billing: "unknown",
              message: `item ${job.key} was being created when the previous run stopped; a task may exist and may be billed. It is not created again unless you allow it (recreateUncertain), accepting a possible second charge`
            })
          }
          case "Ended":
            return yield* Effect.fail(resumption.error)
          case "Duplicate":
            yield* job.emit(
              new Warning({
                key: job.key,
                code: "duplicate",
                relatedKey: resumption.of,
                message: `item ${job.key} repeats item ${resumption.of} (same key or same request); it is generated once`
              })
            )
            return undefined
        }
      })

    /** Runs an item and reports its failure as a `Failed` event before failing. */
    const runReported = (
      job: Job,
      request: GenerateRequest | undefined,
      resumption: JobStore.Resumption,
      batch?: { readonly name: string; readonly recreateUncertain: boolean }
    ) =>
      run(job, request, resumption, batch).pipe(
        Effect.tapError((error) => job.emit(new Failed({ key: job.key, error }))),
        // Every answer the providers read for this item keeps the engine's pace.
        Effect.locally(ResponseBody.currentPace, answerPace)
      )

    /** Runs `body` with an emitter feeding a stream; the stream ends when `body` does. */
    const streamed = <E>(body: (emit: Emit) => Effect.Effect<unknown, E>): Stream.Stream<GenerationEvent, E> =>
      Stream.unwrapScoped(
        Effect.gen(function* () {
          const mailbox = yield* Mailbox.make<GenerationEvent, E>()
          const emit: Emit = (event) => Effect.asVoid(mailbox.offer(event))
          yield* body(emit).pipe(Mailbox.into(mailbox), Effect.forkScoped)
          return Mailbox.toStream(mailbox)
        })
      )

    const singleJob = (emit: Emit, options: GenerateOptions | undefined): Job => ({
      key: options?.key ?? `video-${randomUUID().slice(0, 8)}`,
      output: options?.output,
      overwrite: options?.overwrite === true,
      emit,
      note: () => Effect.void,
      journal: Effect.orDie,
      gates: {},
      polling: pollingFor(options?.polling)
    })

    const generate: Service["generate"] = (request, generateOptions) =>
      streamed((emit) => runReported(singleJob(emit, generateOptions), request, { _tag: "Fresh" }))

    const resume: Service["resume"] = (handle, generateOptions) =>
      streamed((emit) =>
        runReported(singleJob(emit, generateOptions), undefined, {
          _tag: "Poll",
          handle,
          billed: generateOptions?.billed
        })
      )

    const generateTo: Service["generateTo"] = (request, output, generateOptions) =>
      Effect.gen(function* () {
        let video: SavedVideo | undefined
        yield* Stream.runForEach(generate(request, { ...generateOptions, output }), (event) =>
          Effect.sync(() => {
            if (event._tag === "Saved") video = event.video
          })
        )
        if (video === undefined) return yield* Effect.dieMessage("the generation ended without saving a video")
        return video
      })

    const generateMany: Service["generateMany"] = (items, batchOptions = {}) =>
      streamed<JobStore.JobStoreError>((emit) =>
        Effect.gen(function* () {
          const name = batchOptions.batch ?? `batch-${randomUUID().slice(0, 8)}`
          const outputDir = batchOptions.outputDir ?? "."
          const given = Array.from(items)
          const jobs: Array<JobStore.JobItem> = given.map((item, index) => {
            const key = item.key ?? `item-${index + 1}`
            return {
              key,
              fingerprint: JobStore.fingerprint(item.request),
              request: item.request,
              output: item.output ?? path.join(outputDir, OutputPath.fileNameFor(key))
            }
          })
          const concurrency = batchOptions.concurrency ?? {}
          const submitLimit = yield* limitOf(concurrency.submit, "concurrency.submit", 10)
          const gates: Gates = {
            submit: yield* Gate.make(submitLimit),
            status: yield* Gate.make(yield* limitOf(concurrency.status, "concurrency.status", 10)),
            download: yield* Gate.make(yield* limitOf(concurrency.download, "concurrency.download", 5))
          }
          const plans = yield* store.open(name, jobs)
          const polling = pollingFor(batchOptions.polling)
          const batch = { name, recreateUncertain: batchOptions.recreateUncertain === true }
          const running = yield* FiberSet.make<void, never>()
          const claims = store.claims
          // A store that cannot record stops the whole batch: nothing billable may go on unrecorded.
          const broken = yield* Deferred.make<never, JobStore.JobStoreError>()
          /** Stops an item's fiber (whose steps cannot fail with it) and, through `broken`, the batch. */
          const stop = (error: JobStore.JobStoreError) =>
            Effect.zipRight(Deferred.fail(broken, error), Effect.interrupt)
          /** Runs a store call for one item: a lost claim stops the item quietly (its new owner reports it). */
          const guarded = (key: string, effect: Effect.Effect<void, JobStore.JobStoreError | JobStore.ClaimLost>) =>
            effect.pipe(
              Effect.catchTags({
                ClaimLost: (lost) =>
                  Effect.zipRight(
                    emit(new Warning({ key, code: "taken-over", message: lost.message })),
                    Effect.interrupt
                  ),
                JobStoreError: stop
              })
            )
          /** Items another live process works: asked for again every `recheck`, until each is ours or done. */
          const held: Array<number> = []
          const announced = new Set<number>()

          const admit = (index: number) =>
            Effect.gen(function* () {
              const plan = plans[index]!
              const item = jobs[index]!
              let resumption = plan.resumption
              if (claims !== undefined && plan.claimable !== false) {
                const claim = yield* claims
                  .claim(name, plan.key)
                  .pipe(Effect.tapError((error) => Deferred.fail(broken, error)))
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
              const admitted = yield* Deferred.make<void>()
              const job: Job = {
                key: plan.key,
                output: item.output,
                overwrite: given[index]!.overwrite ?? batchOptions.overwrite === true,
                // The store records first: the journal must know before anyone else, and before the
                // engine moves on to the next (possibly billable) step.
                emit: (event) =>
                  Effect.zipRight(guarded(plan.key, store.record(name, plan.key, event)), emit(event)).pipe(
                    Effect.zipRight(event._tag === "Submitted" ? Deferred.succeed(admitted, undefined) : Effect.void)
                  ),
                note: (event) => guarded(plan.key, store.record(name, plan.key, event)),
                journal: (effect) => guarded(plan.key, effect),
                gates,
                polling
              }
              const release = claims === undefined ? Effect.void : Effect.ignore(claims.unclaim(name, plan.key))
              yield* FiberSet.run(
                running,
                Effect.ignore(runReported(job, item.request, resumption, batch)).pipe(
                  Effect.ensuring(Effect.zipRight(release, Deferred.succeed(admitted, undefined)))
                )
              )
              // Only a create holds the slot; an item resumed past its create moves on at once.
              if (resumption._tag !== "Fresh" && resumption._tag !== "Uncertain") return
              yield* Deferred.await(admitted)
            })

          // Items are admitted as submit slots free up, in order: an item holds its slot until its
          // create is answered (or it ends), then goes on polling and downloading on its own fiber.
          // So a batch of 10,000 keeps ten items in validation and submission, not 10,000 items
          // validated and parked in front of the submit gate. Claims are taken at admission, so
          // processes sharing a batch share its items instead of one of them taking all.
          const work = Effect.gen(function* () {
            yield* Effect.forEach(plans, (_, index) => admit(index), { concurrency: submitLimit, discard: true })
            while (held.length > 0 && claims !== undefined) {
              yield* Effect.sleep(claims.recheck)
              const again = held.splice(0)
              yield* Effect.forEach(again, admit, { concurrency: submitLimit, discard: true })
            }
            yield* FiberSet.awaitEmpty(running)
          })
          yield* Effect.raceFirst(
            work,
            Effect.raceFirst(Deferred.await(broken), claims === undefined ? Effect.never : claims.lost)
          )
          // The items a failure stopped may all have ended before the failure was seen: the batch
          // still fails with it, never ends as if it had run.
          const failure = yield* Deferred.poll(broken)
          if (Option.isSome(failure)) yield* failure.value
        }).pipe(Effect.scoped)
      )

    const runMany: Service["runMany"] = (items, batchOptions = {}) =>
      Effect.gen(function* () {
        const batch = batchOptions.batch ?? `batch-${randomUUID().slice(0, 8)}`
        const saved = new Map<string, SavedVideo>()
        const failed = new Map<string, VideoError>()
        const duplicates = new Map<string, string>()
        yield* Stream.runForEach(generateMany(items, { ...batchOptions, batch }), (event) =>
          Effect.sync(() => {
            if (event._tag === "Saved") saved.set(event.key, event.video)
            if (event._tag === "Failed") failed.set(event.key, event.error)
            if (event._tag === "Warning" && event.code === "duplicate" && event.relatedKey !== undefined) {
              duplicates.set(event.key, event.relatedKey)
            }
          })
        )
        return { batch, saved, failed, duplicates }
      })

    return { generate, generateTo, generateMany, runMany, resume }
  })

/** The engine as a layer. Provide a `ProviderRegistry`, an `HttpClient` and a `FileSystem`; optionally a `Budget` and a `JobStore`. */
export const layer = (
  options: EngineOptions = {}
): Layer.Layer<Engine, never, ProviderRegistry | HttpClient.HttpClient | FileSystem.FileSystem> =>
  Layer.effect(Engine, make(options))

/** Generates one video as a stream of events (see `Service.generate`). */
export const generate = (request: GenerateRequest, options?: GenerateOptions) =>
  Stream.unwrap(Effect.map(Engine, (engine) => engine.generate(request, options)))

/** Generates one video into `output` (see `Service.generateTo`). */
export const generateTo = (request: GenerateRequest, output: string, options?: Omit<GenerateOptions, "output">) =>
  Effect.flatMap(Engine, (engine) => engine.generateTo(request, output, options))

/** Runs a batch as a stream of events (see `Service.generateMany`). */
export const generateMany = (items: Iterable<BatchItem>, options?: BatchOptions) =>
  Stream.unwrap(Effect.map(Engine, (engine) => engine.generateMany(items, options)))

/** Runs a batch to its report (see `Service.runMany`). */
export const runMany = (items: Iterable<BatchItem>, options?: BatchOptions) =>
  Effect.flatMap(Engine, (engine) => engine.runMany(items, options))

/** Collects a task created earlier (see `Service.resume`). */
export const resume = (
  handle: TaskHandle,
  options?: GenerateOptions & { readonly billed?: Billing.BillingOutcome | undefined }
) => Stream.unwrap(Effect.map(Engine, (engine) => engine.resume(handle, options)))
