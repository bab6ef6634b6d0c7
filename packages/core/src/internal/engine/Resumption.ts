/**
 * Resumption: an item carried on from wherever it stands (`JobStore.Resumption`), each state matched
 * once: a fresh item is validated, submitted (regenerated where allowed) and delivered; a created task
 * is followed; a made video fetched; a saved one verified; an uncertain create sent again only with
 * consent; an ended or repeated item reported.
 *
 * @internal
 */
import { randomUUID } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Billing from "../../Billing.js"
import { type GenerateRequest, onRoute } from "../../GenerateRequest.js"
import { Retrying, Saved, Validated, Warning } from "../../GenerationEvent.js"
import type * as JobStore from "../../JobStore.js"
import * as OutputPath from "../../OutputPath.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import * as Validation from "../../Validation.js"
import { annotate, DownloadFailed, InvalidRequest, UncertainSubmission, type VideoError } from "../../VideoError.js"
import * as VideoProvider from "../../VideoProvider.js"
import * as Delivery from "./Delivery.js"
import type { Follower } from "./Follow.js"
import type { Item, Step } from "./Item.js"
import * as Settlement from "./Settlement.js"
import type { Shared } from "./Shared.js"
import * as Submission from "./Submission.js"

/** The batch an item belongs to, when it belongs to one. */
export interface BatchContext {
  readonly name: string
  readonly recreateUncertain: boolean
  /** Generate again items that ended at no cost (see `BatchOptions.retryFailed`). */
  readonly retryFailed: boolean
}

const providerAndModel = (
  shared: Shared,
  handle: { readonly provider: string; readonly model: string; readonly taskId: string }
) =>
  Effect.gen(function* () {
    const provider = yield* shared.registry.get(handle.provider)
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
 * Attempts until a video exists, regenerating after a failed generation where that is allowed, then
 * delivers it. Each attempt is a new logical submission with a new idempotency key, except that the
 * first reuses `firstKey` when given (an uncertain create sent again). `nextRoute`, when the request
 * has one more route, takes over after a create that proves nothing was charged
 * (`RetryPolicy.movesToNextRoute`).
 */
const produce = (
  shared: Shared,
  follower: Follower,
  item: Item,
  validated: Validation.Validated,
  firstKey: string | undefined,
  attempt: number,
  nextRoute?: ((error: VideoError) => Step) | undefined
): Step => {
  const { provider, model, request, expected } = validated
  const idempotencyKey = (attempt === 0 ? firstKey : undefined) ?? randomUUID()
  const regenerateOrFail = (error: VideoError): Step =>
    RetryPolicy.shouldRegenerate(error, model.chargePolicy, attempt, shared.regeneration)
      ? Effect.zipRight(
          item.emit(
            new Retrying({ key: item.key, operation: "generate", attempt: attempt + 1, delayMillis: 0, error })
          ),
          produce(shared, follower, item, validated, undefined, attempt + 1)
        )
      : Effect.fail(error)
  const createFailed = (error: VideoError): Step =>
    nextRoute !== undefined && RetryPolicy.movesToNextRoute(error) ? nextRoute(error) : regenerateOrFail(error)
  if (provider.mode === "streaming") {
    return Effect.matchEffect(Submission.stream(shared, item, provider, model, request, idempotencyKey), {
      onFailure: createFailed,
      onSuccess: (produced) =>
        Delivery.deliver(shared, item, provider, model, produced.handle, produced.asset, expected)
    })
  }
  return Effect.matchEffect(Submission.createAsync(shared, item, provider, model, request, idempotencyKey), {
    onFailure: createFailed,
    onSuccess: ({ handle, settlement }) =>
      follower.follow({
        item,
        provider,
        model,
        handle,
        settlement,
        immediately: false,
        onVideo: (asset) => Delivery.deliver(shared, item, provider, model, handle, asset, expected),
        onFailure: regenerateOrFail
      })
  })
}

/** One way to serve a request: the request as sent on that route, and its place in the list (1 for the first). */
interface Candidate {
  readonly request: GenerateRequest
  readonly route: number | undefined
}

/**
 * The ways to serve `request`: itself when it has no routes; else each route in order, or only
 * `pinned`, the route an uncertain create went to (sent again with the same key, a create may go
 * nowhere else: the first one may exist there).
 */
const candidatesOf = (
  request: GenerateRequest,
  pinned: { readonly provider: string; readonly model: string } | undefined
): Effect.Effect<ReadonlyArray<Candidate>, InvalidRequest> => {
  const routes = request.routes
  if (routes === undefined) return Effect.succeed([{ request, route: undefined }])
  if (request.provider !== undefined || request.model !== undefined) {
    return Effect.fail(
      new InvalidRequest({
        field: "routes",
        billing: "not-charged",
        message: "a request names either routes or a provider and a model, not both"
      })
    )
  }
  const all = routes.map((route, index) => ({
    request: onRoute(request, route),
    route: index + 1
  }))
  if (pinned === undefined) return Effect.succeed(all)
  const found = all.filter((c) => c.request.provider === pinned.provider && c.request.model === pinned.model)
  return Effect.succeed(found.slice(0, 1))
}

const routeName = (candidate: Candidate) =>
  `route ${candidate.route} (${candidate.request.provider} ${candidate.request.model})`

/**
 * A fresh item: validated, reserved, submitted and delivered on its first route that can serve it.
 * A route whose provider is unknown or whose model cannot serve the request is skipped with a
 * warning; a create on it that proves nothing was charged moves the item to the next route, with a
 * warning saying why. The output is checked once, before anything is sent.
 */
const fresh = (
  shared: Shared,
  follower: Follower,
  item: Item,
  request: GenerateRequest,
  firstKey: string | undefined,
  pinned: { readonly provider: string; readonly model: string } | undefined
): Step =>
  Effect.gen(function* () {
    if (request.routes !== undefined && firstKey !== undefined && pinned === undefined) {
      // An uncertain create sent again must go where the first went, and nothing says where.
      return yield* new UncertainSubmission({
        idempotencyKey: firstKey,
        billing: "unknown",
        message: `item ${item.key} was being created, and the journal does not say on which of its routes; it is not created again anywhere`
      })
    }
    const candidates = yield* candidatesOf(request, pinned)
    if (candidates.length === 0) {
      return yield* new InvalidRequest({
        provider: pinned?.provider,
        field: "routes",
        billing: "not-charged",
        message: `item ${item.key} was being created on ${pinned?.provider} ${pinned?.model}, which is no longer among its routes; it is not sent anywhere else`
      })
    }
    let outputChecked = false
    const attempt = (index: number, key: string | undefined): Step =>
      Effect.gen(function* () {
        const candidate = candidates[index]!
        const next = index + 1 < candidates.length ? candidates[index + 1] : undefined
        const prepared = Effect.gen(function* () {
          const provider = yield* shared.registry.get(candidate.request.provider)
          return yield* Validation.validate(candidate.request, provider).pipe(Effect.provide(shared.platform))
        })
        const validated = yield* Effect.catchIf(
          prepared,
          (error) => next !== undefined && error._tag === "InvalidRequest",
          (error) =>
            Effect.zipRight(
              item.emit(
                new Warning({
                  key: item.key,
                  code: "route-skipped",
                  message: `${routeName(candidate)} cannot serve this request (${error.message}); trying ${routeName(next!)}`
                })
              ),
              Effect.succeed(undefined)
            )
        )
        if (validated === undefined) return yield* attempt(index + 1, undefined)
        // Before anything is reserved or sent: an output that cannot be written is refused while
        // refusing costs nothing.
        if (item.output !== undefined && !outputChecked) {
          yield* OutputPath.check(item.output, { overwrite: item.overwrite, proven: shared.provenDirectories }).pipe(
            Effect.mapError((error) => annotate(error, { provider: validated.provider.id }))
          )
          outputChecked = true
        }
        yield* item.emit(
          new Validated({
            key: item.key,
            provider: validated.provider.id,
            model: validated.model.id,
            ...(candidate.route === undefined ? {} : { route: candidate.route }),
            estimatedCost: validated.model.price,
            chargePolicy: validated.model.chargePolicy,
            warnings: validated.warnings
          })
        )
        for (const warning of validated.warnings) {
          yield* item.emit(new Warning({ key: item.key, code: "provider", message: warning }))
        }
        const moveOn =
          next === undefined
            ? undefined
            : (error: VideoError): Step =>
                Effect.zipRight(
                  item.emit(
                    new Warning({
                      key: item.key,
                      code: "route-failed",
                      message: `${routeName(candidate)} failed at no cost (${error._tag}: ${error.message}); trying ${routeName(next)}`
                    })
                  ),
                  attempt(index + 1, undefined)
                )
        return yield* produce(shared, follower, item, validated, key, 0, moveOn)
      })
    return yield* attempt(0, firstKey)
  })

/** Carries an item on from `resumption`; the step parks it in the follower's table while its task runs. */
export const run = (
  shared: Shared,
  follower: Follower,
  item: Item,
  request: GenerateRequest | undefined,
  resumption: JobStore.Resumption,
  batch?: BatchContext
): Step =>
  Effect.gen(function* () {
    switch (resumption._tag) {
      case "Fresh": {
        if (request === undefined) return yield* Effect.dieMessage("a fresh item needs its request")
        return yield* fresh(shared, follower, item, request, resumption.idempotencyKey, resumption.route)
      }
      case "Poll": {
        const { handle } = resumption
        const { provider, model } = yield* providerAndModel(shared, handle)
        const polled = yield* Delivery.asyncProvider(provider, handle)
        // Unless the store knows better, a resumed task was counted the way its policy dictates:
        // charged at the create (per-request, on-response), or possibly charged (on-success).
        const was = resumption.billed ?? (Billing.chargedAt(model.chargePolicy) === "accepted" ? "charged" : "unknown")
        const expected = request === undefined ? undefined : Validation.expectedOutput(model, request)
        return yield* follower.follow({
          item,
          provider: polled,
          model,
          handle,
          settlement: new Settlement.Settlement(shared, item, provider.id, model, { _tag: "Resumed", was }),
          immediately: true,
          onVideo: (asset) => Delivery.deliver(shared, item, provider, model, handle, asset, expected),
          onFailure: Effect.fail
        })
      }
      case "Fetch": {
        const { handle } = resumption
        const { provider, model } = yield* providerAndModel(shared, handle)
        const now = new Date(yield* Clock.currentTimeMillis)
        const expected = request === undefined ? undefined : Validation.expectedOutput(model, request)
        const recorded = resumption.asset
        const usable =
          recorded !== undefined &&
          recorded._tag === "Url" &&
          (recorded.expiresAt === undefined || recorded.expiresAt.getTime() > now.getTime())
        if (!usable) {
          if (handle.isExpired(now)) return yield* Delivery.expiredVideo(provider, handle)
          return yield* Delivery.saveFresh(shared, item, provider, model, handle, expected)
        }
        return yield* Delivery.deliver(shared, item, provider, model, handle, recorded, expected)
      }
      case "Verify": {
        const { video } = resumption
        const intact = yield* Delivery.sha256Of(shared, video.path).pipe(
          Effect.map((sha256) => sha256 === video.sha256),
          Effect.orElseSucceed(() => false)
        )
        if (intact) {
          yield* item.emit(new Saved({ key: item.key, video }))
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
        yield* item.emit(
          new Warning({
            key: item.key,
            code: "file-damaged",
            message: `${video.path} is missing or does not match its recorded sha256; fetching it again`
          })
        )
        // The file it replaces is the one this item saved and recorded: repaired where it was.
        return yield* run(
          shared,
          follower,
          item.repairing(video.path),
          request,
          { _tag: "Fetch", handle: resumption.handle, asset: resumption.asset },
          batch
        )
      }
      case "Uncertain": {
        // Sent again with the same key: a provider that drops repeated creates answers with the task
        // that may exist, so it is safe without asking; otherwise only with the caller's consent.
        const route = resumption.route
        const idempotent =
          request !== undefined &&
          (yield* Effect.either(shared.registry.get(route?.provider ?? request.provider))).pipe(
            Either.match({ onLeft: () => false, onRight: (provider) => provider.idempotentCreates === true })
          )
        if (batch?.recreateUncertain === true || idempotent) {
          if (shared.store.release !== undefined && batch !== undefined) {
            yield* item.journal(shared.store.release(batch.name, item.key))
          }
          return yield* run(
            shared,
            follower,
            item,
            request,
            { _tag: "Fresh", idempotencyKey: resumption.idempotencyKey, route },
            batch
          )
        }
        return yield* new UncertainSubmission({
          idempotencyKey: resumption.idempotencyKey,
          billing: "unknown",
          message: `item ${item.key} was being created when the previous run stopped; a task may exist and may be billed. It is not created again unless you allow it (recreateUncertain), accepting a possible second charge`
        })
      }
      case "Ended":
        // A generation that failed at no cost may be tried again when asked: a new submission,
        // reserved and billed like any other. Anything else stands (see `retriableOnRequest`).
        if (batch?.retryFailed === true && RetryPolicy.retriableOnRequest(resumption.error) && request !== undefined) {
          return yield* run(shared, follower, item, request, { _tag: "Fresh" }, batch)
        }
        return yield* Effect.fail(resumption.error)
      case "Duplicate":
        yield* item.emit(
          new Warning({
            key: item.key,
            code: "duplicate",
            relatedKey: resumption.of,
            message: `item ${item.key} repeats item ${resumption.of} (same key or same request); it is generated once`
          })
        )
        return undefined
    }
  }).pipe(Effect.withSpan("Engine.resumption", { attributes: { state: resumption._tag } }))
