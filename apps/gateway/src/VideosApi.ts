/**
 * `/v1/videos` as OpenAI serves it, on the engine and the journal: create (JSON or multipart, with
 * `Idempotency-Key`), retrieve (with `openai-poll-after-ms`), list (cursor pages), delete, and the
 * saved MP4 (with `Range`). A tenant sees only its own videos: another tenant's id is a 404.
 *
 * A create is checked whole before anything is recorded or sent: the fields, the model against the
 * tenant's models, the request against the model (`Run.preflight`), the price against what is left
 * of the tenant's budget. Then the video is recorded in the journal and its job starts; the answer
 * comes after the record, so a video the client was told about survives a crash.
 *
 * @since 0.3.0
 */
import * as NodeFs from "node:fs"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Run from "@reelay/client/Run"
import type { UsageError } from "@reelay/config/ConfigError"
import { GenerateRequest, Route } from "@reelay/core/GenerateRequest"
import * as JobStore from "@reelay/core/JobStore"
import * as Money from "@reelay/core/Money"
import type { VideoError } from "@reelay/core/VideoError"
import * as VideoProvider from "@reelay/core/VideoProvider"
import type { Journal, Videos } from "@reelay/journal"
import type { JournalError } from "@reelay/journal/JournalError"
import * as BigDecimal from "effect/BigDecimal"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Api from "./Api.js"
import * as ByteRange from "./ByteRange.js"
import * as CreateBody from "./CreateBody.js"
import { GatewayState, type State } from "./State.js"
import * as Tenancy from "./Tenancy.js"
import * as VideoObject from "./VideoObject.js"

/** The journal failed: the tenant hears that much, the log hears why. */
const journalFailed = (error: JournalError) =>
  Effect.zipRight(
    Effect.logError(`reelay gateway: ${error.message}`),
    Effect.fail(
      Api.error(Api.ServerError, "The gateway could not read or write its journal; try again.", {
        type: "server_error",
        code: "journal_unavailable"
      })
    )
  )

const notFound = (id: string) =>
  Api.error(Api.NotFound, `No video found with id '${id}'.`, { param: "video_id", code: "video_not_found" })

/** The tenant's runtime and the shared state. */
const current = Effect.gen(function* () {
  const tenant = yield* Api.CurrentTenant
  const state = yield* GatewayState
  return { state, runtime: state.runtimes.get(tenant.id)! }
})

/** `video` as the API shows it, with its job as the journal has it and its charges. */
export const describe = (journal: Journal.Service, video: Videos.Video) =>
  Effect.gen(function* () {
    const item = Option.getOrUndefined(yield* journal.item(video.batch, video.key))
    // Its charges alone (one read on every retrieve): `batchCosts` also sums the estimates.
    const charges = yield* journal.charges({ batch: video.batch })
    const sum = (billing: Journal.Charge["billing"]) =>
      Money.sum(charges.filter((charge) => charge.billing === billing).map((charge) => charge.amount))
    return { video, item, object: VideoObject.make(video, item, { charged: sum("charged"), unknown: sum("unknown") }) }
  })

/** The tenant's video `id`, not deleted, described. */
const lookup = (state: State, tenant: string, id: string) =>
  Effect.gen(function* () {
    const video = Option.getOrUndefined(yield* state.videos.get(tenant, id))
    if (video === undefined || video.deletedAt !== undefined) return yield* notFound(id)
    return yield* describe(state.journal, video)
  })

/** What the tenant asked for, routed by its profile: a model it serves, on the routes that serve it. */
const routeOf = (runtime: Tenancy.Tenant, served: ReadonlyArray<string>, fields: CreateBody.Fields) =>
  Effect.gen(function* () {
    if (fields.model !== undefined && !served.includes(fields.model)) {
      return yield* Api.error(
        Api.BadRequest,
        `The model '${fields.model}' does not exist or you do not have access to it. Your models: ${served.join(", ")}.`,
        { param: "model", code: "model_not_found" }
      )
    }
    const asked = {
      prompt: fields.prompt,
      seconds: fields.seconds,
      size: fields.size,
      images: fields.images
    }
    const routes = runtime.settings.routes?.value
    if (routes === undefined) {
      return new GenerateRequest({
        ...asked,
        provider: runtime.settings.provider.value,
        model: fields.model ?? runtime.settings.model?.value
      })
    }
    const chosen = routes.filter((route) => fields.model === undefined || route.model === fields.model)
    const [first, ...rest] = chosen.map((route) => new Route(route))
    return new GenerateRequest({ ...asked, routes: [first!, ...rest] })
  })

/** A refusal of the request before anything was sent, in OpenAI's words. */
const refused = (error: VideoError | UsageError) => {
  if (error._tag === "InvalidRequest") {
    const param = error.field === "images" ? "input_reference" : (error.field ?? null)
    return Api.error(Api.BadRequest, error.message, { param: param ?? undefined, code: "invalid_value" })
  }
  if (error._tag === "UsageError") {
    // The gateway's own configuration (a provider without a key): the operator's to fix.
    return Api.error(Api.ServerError, `The gateway cannot serve this request: ${error.message}.`, {
      type: "server_error",
      code: "gateway_misconfigured"
    })
  }
  return Api.error(Api.BadRequest, error.message, { code: VideoObject.codeOf(error._tag) })
}

/**
 * Refused when even a release of every call in flight would leave no room for `price`: what this
 * gateway's budget holds as spent or possibly spent, or what the journal does (`journal`), whichever
 * is more. The journal's is every gateway's: charges, creates in flight, and videos admitted and
 * not created yet (queued behind a gateway's submit slots) at their price.
 */
const withinBudget = <E>(
  runtime: Tenancy.Tenant,
  price: Money.Usd,
  journal: Effect.Effect<{ readonly spent: Money.Usd; readonly uncertain: Money.Usd; readonly waiting: Money.Usd }, E>
) =>
  Effect.gen(function* () {
    const budget = yield* runtime.stopping.budget.snapshot
    if (budget.limit === undefined) return
    const costs = yield* journal
    const here = Money.sum([budget.spent, budget.uncertain])
    const everywhere = Money.sum([costs.spent, costs.uncertain, costs.waiting])
    const floor = Money.greaterThan(everywhere, here) ? everywhere : here
    if (!Money.greaterThan(BigDecimal.sum(floor, price), budget.limit)) return
    return yield* Api.error(
      Api.QuotaExceeded,
      `This video costs up to ${Money.format(price)} and ${Money.format(floor)} of your ${Money.format(budget.limit)} budget is spent, possibly spent or promised to videos not created yet; nothing was sent.`,
      { type: "insufficient_quota", code: "insufficient_quota" }
    )
  })

/** The same `Idempotency-Key` with another request, or for a video since deleted: refused, naming the video. */
const keyReused = (video: Videos.Video) =>
  Api.error(
    Api.Conflict,
    video.deletedAt === undefined
      ? `This Idempotency-Key was used for video '${video.id}' with a different request; use a new key for a new video.`
      : `This Idempotency-Key made video '${video.id}', since deleted; use a new key for a new video.`,
    { param: "Idempotency-Key", code: "idempotency_key_reused" }
  )

/** The answer to a create whose `Idempotency-Key` already names `video`: that video, if it is this request's. */
const repeated = (video: Videos.Video, fingerprint: string) =>
  video.fingerprint !== fingerprint || video.deletedAt !== undefined
    ? Effect.fail(keyReused(video))
    : Effect.succeed(video)

const json = (body: unknown) => HttpServerResponse.unsafeJson(body)

export const handlers = HttpApiBuilder.group(Api.GatewayApi, "videos", (handlers) =>
  handlers
    .handleRaw("create", ({ request }) =>
      Effect.gen(function* () {
        const { state, runtime } = yield* current
        const tenant = runtime.info.id
        const fields = yield* CreateBody.read(request)
        // What the tenant asked, before routing: a key's repeat is recognised whatever the routes
        // became since (a profile edited between a request and its retry).
        const fingerprint = JobStore.fingerprint(
          new GenerateRequest({
            prompt: fields.prompt,
            model: fields.model,
            seconds: fields.seconds,
            size: fields.size,
            images: fields.images
          })
        )
        const idempotencyKey = request.headers["idempotency-key"]?.trim() || undefined
        const answer = (video: Videos.Video) =>
          Effect.map(lookup(state, tenant, video.id), ({ object }) => json(object))
        if (idempotencyKey !== undefined) {
          const earlier = yield* state.videos.byIdempotencyKey(tenant, idempotencyKey)
          if (Option.isSome(earlier)) return yield* answer(yield* repeated(earlier.value, fingerprint))
        }
        const routed = yield* routeOf(
          runtime,
          state.catalogs.get(tenant)!.data.map((model) => model.id),
          fields
        )
        const id = state.newId()
        const output = Tenancy.outputOf(state.outDir, tenant, id)
        const [model] = yield* Run.preflight(runtime.settings, runtime.registry, [
          { key: id, request: routed, output }
        ]).pipe(Effect.mapError(refused))
        yield* withinBudget(runtime, model!.price, state.videos.costs(tenant))
        const admission = yield* state.videos.admit({
          tenant,
          id,
          batch: `gw-${tenant}-${id}`,
          key: id,
          request: routed,
          fingerprint,
          output,
          idempotencyKey,
          notify: state.notified.has(tenant),
          price: model!.price
        })
        if (admission._tag === "Existing") {
          // Another request with this key was admitted meanwhile (here, or by another gateway).
          return yield* answer(yield* repeated(admission.video, fingerprint))
        }
        yield* state.jobs.start(runtime, admission.video)
        // Answered from what was recorded, with no further read: once the video is admitted, no
        // answer may invite the SDK's retry of a 5xx, which would be a second video.
        return json(VideoObject.make(admission.video, undefined, { charged: Money.zero, unknown: Money.zero }))
      }).pipe(Effect.catchTag("JournalError", journalFailed))
    )
    .handle("retrieve", ({ path }) =>
      Effect.gen(function* () {
        const { state, runtime } = yield* current
        const { video, item, object } = yield* lookup(state, runtime.info.id, path.video_id)
        if (object.status === "queued" || object.status === "in_progress") {
          const provider = item?.provider ?? video.request.provider ?? video.request.routes?.[0]?.provider
          const modelId = item?.model ?? video.request.model ?? video.request.routes?.[0]?.model
          const spec = Option.getOrUndefined(
            yield* Effect.option(runtime.registry.get(provider)).pipe(
              Effect.map(
                Option.flatMapNullable((found) => VideoProvider.findModel(found, modelId ?? found.defaultModel))
              )
            )
          )
          const after = VideoObject.pollAfterMillis(
            video,
            item,
            spec?.generationTime.typicalSeconds,
            runtime.polling,
            yield* Clock.currentTimeMillis
          )
          yield* HttpApp.appendPreResponseHandler((_request, response) =>
            Effect.succeed(HttpServerResponse.setHeader(response, "openai-poll-after-ms", String(after)))
          )
        }
        return object
      }).pipe(Effect.catchTag("JournalError", journalFailed))
    )
    .handle("list", ({ urlParams }) =>
      Effect.gen(function* () {
        const { state, runtime } = yield* current
        const limit = urlParams.limit === undefined ? 20 : Number(urlParams.limit)
        if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
          return yield* Api.error(
            Api.BadRequest,
            `limit must be a whole number from 1 to 100; got '${urlParams.limit}'.`,
            {
              param: "limit",
              code: "invalid_value"
            }
          )
        }
        const order = urlParams.order ?? "desc"
        if (order !== "asc" && order !== "desc") {
          return yield* Api.error(Api.BadRequest, `order must be 'asc' or 'desc'; got '${order}'.`, {
            param: "order",
            code: "invalid_value"
          })
        }
        const page = yield* state.videos.list(runtime.info.id, { after: urlParams.after, limit, order })
        const data = yield* Effect.forEach(page.videos, (video) =>
          Effect.map(describe(state.journal, video), ({ object }) => object)
        )
        return {
          object: "list" as const,
          data,
          first_id: data[0]?.id ?? null,
          last_id: data.at(-1)?.id ?? null,
          has_more: page.hasMore
        }
      }).pipe(Effect.catchTag("JournalError", journalFailed))
    )
    .handle("delete", ({ path }) =>
      Effect.gen(function* () {
        const { state, runtime } = yield* current
        const { video, object } = yield* lookup(state, runtime.info.id, path.video_id)
        if (object.status !== "completed" && object.status !== "failed") {
          return yield* Api.error(
            Api.Conflict,
            `Video '${video.id}' is ${object.status}; it can be deleted once it has completed or failed (its generation may already be paid for).`,
            { param: "video_id", code: "video_not_finished" }
          )
        }
        yield* state.videos.remove(runtime.info.id, video.id)
        // The record first: a file left behind by a crash here is only a file, never a video shown without one.
        yield* Effect.sync(() => NodeFs.rmSync(video.output, { force: true }))
        return { id: video.id, object: "video.deleted" as const, deleted: true }
      }).pipe(Effect.catchTag("JournalError", journalFailed))
    )
    .handleRaw("content", ({ path, request, urlParams }) =>
      Effect.gen(function* () {
        const { state, runtime } = yield* current
        const variant = urlParams.variant ?? "video"
        if (variant !== "video") {
          return yield* Api.error(
            Api.BadRequest,
            `variant '${variant}' is not available from this gateway; it serves the video itself (variant=video).`,
            { param: "variant", code: "invalid_value" }
          )
        }
        const { video, item, object } = yield* lookup(state, runtime.info.id, path.video_id)
        if (object.status !== "completed" || item?.path === undefined) {
          return yield* Api.error(
            Api.Conflict,
            `Video '${video.id}' is ${object.status}; its content is available once it has completed.`,
            { param: "video_id", code: "video_not_ready" }
          )
        }
        const fs = yield* FileSystem.FileSystem
        const info = yield* fs.stat(item.path).pipe(
          Effect.catchAll(() =>
            Effect.zipRight(
              Effect.logError(`reelay gateway: video ${video.id}'s file ${item.path} is missing`),
              Effect.fail(
                Api.error(Api.ServerError, "The video's saved file is missing on the gateway; ask its operator.", {
                  type: "server_error",
                  code: "file_missing"
                })
              )
            )
          )
        )
        const size = Number(info.size)
        const range = ByteRange.parse(request.headers.range, size)
        const headers = {
          "accept-ranges": "bytes",
          ...(item.sha256 === undefined ? {} : { etag: `"${item.sha256}"` })
        }
        if (range._tag === "Unsatisfiable") {
          // Answered here rather than failed: a 416 says the size in `Content-Range` (RFC 9110).
          return HttpServerResponse.unsafeJson(
            Api.errorBody(`The range '${request.headers.range}' is outside the video's ${size} bytes.`, {
              param: "Range",
              code: "range_not_satisfiable"
            }),
            { status: 416, headers: { "content-range": `bytes */${size}` } }
          )
        }
        const part = range._tag === "Part" ? range : undefined
        return yield* HttpServerResponse.file(item.path, {
          contentType: "video/mp4",
          status: part === undefined ? 200 : 206,
          headers:
            part === undefined ? headers : { ...headers, "content-range": `bytes ${part.start}-${part.end}/${size}` },
          ...(part === undefined ? {} : { offset: part.start, bytesToRead: part.end - part.start + 1 })
        }).pipe(
          Effect.catchAll(() =>
            Effect.fail(
              Api.error(Api.ServerError, "The video's saved file could not be read on the gateway; try again.", {
                type: "server_error",
                code: "file_unreadable"
              })
            )
          )
        )
      }).pipe(Effect.catchTag("JournalError", journalFailed))
    )
)
