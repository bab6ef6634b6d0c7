/**
 * The gateway server: the tenants of `reelay.config.json`, each with its own runtime (`Tenancy`),
 * behind the OpenAI-shaped API (`Api`), with its OpenAPI document at `/openapi.json`. Videos live in
 * the journal (`Videos`, and the engine's jobs), so a gateway started again goes on with them.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import { createServer } from "node:http"
import * as NodePath from "node:path"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpServer from "@effect/platform/HttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type { ConfigFileError } from "@reelay/config/ConfigError"
import { UsageError } from "@reelay/config/ConfigError"
import * as Layers from "@reelay/config/Layers"
import * as Providers from "@reelay/config/Providers"
import type * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import * as OutputPath from "@reelay/core/OutputPath"
import type { InvalidRequest } from "@reelay/core/VideoError"
import { Journal, Outbox, Videos } from "@reelay/journal"
import type { JournalError } from "@reelay/journal/JournalError"
import type { StateFileError } from "@reelay/simulator/StateFile"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import type * as Schema from "effect/Schema"
import * as Api from "./Api.js"
import { GatewayState } from "./State.js"
import * as Sweep from "./Sweep.js"
import * as Telemetry from "./Telemetry.js"
import * as Tenancy from "./Tenancy.js"
import * as Tenants from "./Tenants.js"
import * as VideosApi from "./VideosApi.js"
import * as Webhooks from "./Webhooks.js"

export interface Options {
  /** The configuration file (else `REELAY_CONFIG`, else `./reelay.config.json`). */
  readonly config?: string | undefined
  /** 0 picks a free port. */
  readonly port: number
  readonly host: string
  /** The journal (a SQLite path or a `postgres://` URL); else `REELAY_JOURNAL`, else the default. */
  readonly journal?: string | undefined
  /** Where videos are saved, `<outDir>/<tenant>/<id>.mp4` (default `.reelay/videos`). */
  readonly outDir?: string | undefined
  /** How webhooks are retried (default: `Webhooks.defaults`). */
  readonly webhooks?: Partial<Webhooks.Options> | undefined
  /** How often the journal is looked at for videos no live process works (default 15 s). */
  readonly sweep?: Duration.DurationInput | undefined
  /** Where traces and metrics go (default: `OTEL_EXPORTER_OTLP_ENDPOINT`, else nowhere). */
  readonly telemetry?: Telemetry.Options | undefined
}

/** The models a tenant's profile serves: its routes' models, else its provider's catalog. */
export const modelsOf = (settings: Settings.Settings): Schema.Schema.Type<typeof Api.ModelList> => {
  const routes = settings.routes?.value
  const data =
    routes !== undefined
      ? routes.map((route) => ({ id: route.model, owned_by: route.provider }))
      : (Providers.listed(settings, settings.provider.value)?.models.map((model) => ({
          id: model.id,
          owned_by: settings.provider.value
        })) ?? [])
  const unique = data.filter((model, index) => data.findIndex((other) => other.id === model.id) === index)
  return { object: "list", data: unique.map((model) => ({ ...model, object: "model", created: 0 })) }
}

const state = (options: Options) =>
  Layer.scoped(
    GatewayState,
    Effect.gen(function* () {
      const file = yield* Setup.file({ config: options.config })
      if (file === undefined) {
        return yield* new UsageError({
          message: "reelay serve needs a reelay.config.json with a gateway section (--config, or REELAY_CONFIG)"
        })
      }
      const tenants = yield* Tenants.load(file)
      const settings = new Map<string, Settings.Settings>()
      for (const tenant of tenants.all) {
        settings.set(tenant.id, yield* Tenancy.settingsOf(file, tenant, options.journal))
      }
      const first = settings.get(tenants.all[0]!.id)!
      const outDir = NodePath.resolve(options.outDir ?? first.outDir?.value ?? NodePath.join(".reelay", "videos"))
      for (const tenant of tenants.all) {
        yield* OutputPath.checkDirectory(NodePath.join(outDir, tenant.id)).pipe(
          Effect.mapError((error) => new UsageError({ message: `--out-dir: ${error.message}` }))
        )
      }
      const simulator = yield* Layers.startSimulator(first, [...settings.values()].flatMap(Tenancy.providersUsed))
      const journal = yield* Layer.build(Layers.journalLayer(first))
      const videos = Context.get(journal, Videos.Videos)
      const downloads = yield* Layer.build(Layers.downloadClient)
      const runtimes = new Map<string, Tenancy.Tenant>()
      const catalogs = new Map<string, Schema.Schema.Type<typeof Api.ModelList>>()
      for (const tenant of tenants.all) {
        const tenantSettings = settings.get(tenant.id)!
        catalogs.set(tenant.id, modelsOf(tenantSettings))
        runtimes.set(
          tenant.id,
          yield* Tenancy.make({
            info: tenant,
            settings: tenantSettings,
            simulator,
            journal,
            videos,
            downloads
          })
        )
      }
      const endpoints = yield* Webhooks.endpointsOf(file.gateway?.tenants ?? [])
      const outbox = Context.get(journal, Outbox.Outbox)
      const reader = Context.get(journal, Journal.Journal)
      const wake = yield* Queue.dropping<void>(1)
      const notice = Webhooks.notice({ reader, outbox, wake })
      const jobs = yield* Tenancy.jobs(notice)
      // Runs before the jobs are interrupted (finalizers run last first): no create is cut mid-call.
      yield* Effect.addFinalizer(() =>
        Effect.forEach(
          runtimes.values(),
          (runtime) =>
            runtime.stopping.stop({
              note: (text) => Effect.logInfo(`${text} (tenant ${runtime.info.id})`),
              done: Effect.never,
              now: Effect.never
            }),
          { concurrency: "unbounded", discard: true }
        )
      )
      // Every video not finished goes on, unless a live process works it (`Sweep`).
      const sweep = Sweep.make({ videos, runtimes, jobs })
      yield* sweep
      for (const missing of yield* outbox.missing) {
        const video = yield* videos.get(missing.tenant, missing.videoId)
        if (Option.isSome(video)) yield* notice(video.value)
      }
      yield* Effect.forkScoped(
        Webhooks.deliver({ outbox, endpoints, wake, options: { ...Webhooks.defaults, ...options.webhooks } })
      )
      yield* Effect.forkScoped(
        Effect.forever(
          Effect.zipRight(
            Effect.sleep(options.sweep ?? "15 seconds"),
            Effect.catchAll(sweep, (error) => Effect.logError(`reelay gateway: ${error.message}`))
          )
        )
      )
      return {
        tenants,
        runtimes,
        catalogs,
        videos,
        journal: reader,
        notified: new Set(endpoints.keys()),
        jobs,
        outDir,
        newId: () => `video_${randomBytes(16).toString("hex")}`
      }
    })
  )

const unauthorized = (message: string) => Api.error(Api.Unauthorized, message, { code: "invalid_api_key" })

const authorization = Layer.effect(
  Api.Authorization,
  Effect.map(GatewayState, ({ tenants }) =>
    Api.Authorization.of({
      bearer: (key) => {
        if (Redacted.value(key).trim() === "") {
          return Effect.fail(unauthorized("No API key was given: send Authorization: Bearer <your tenant key>."))
        }
        const tenant = tenants.find(key)
        return tenant === undefined
          ? Effect.fail(unauthorized("The API key is not one of this gateway's tenants."))
          : Effect.succeed(tenant)
      }
    })
  )
)

const models = HttpApiBuilder.group(Api.GatewayApi, "models", (handlers) =>
  handlers.handle("list", () =>
    Effect.gen(function* () {
      const tenant = yield* Api.CurrentTenant
      const { catalogs } = yield* GatewayState
      return catalogs.get(tenant.id)!
    })
  )
)

/**
 * A path the API does not have: OpenAI's 404, in its shape (the router's own is an empty body). A
 * catch-all route, which the router tries after every route of the API.
 */
const openAiNotFound = HttpApiBuilder.Router.use((router) =>
  router.all(
    "*",
    Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
      HttpServerResponse.unsafeJson(Api.errorBody(`Invalid URL (${request.method} ${request.url.split("?")[0]})`), {
        status: 404
      })
    )
  )
)

/** The gateway on `options.host:options.port`, its `HttpServer` (and so its address) in the output. */
export const layer = (
  options: Options
): Layer.Layer<
  HttpServer.HttpServer,
  UsageError | ConfigFileError | InvalidRequest | ServeError | JournalError | StateFileError
> =>
  HttpApiBuilder.serve().pipe(
    Layer.provide(openAiNotFound),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
    Layer.provide(
      HttpApiBuilder.api(Api.GatewayApi).pipe(
        Layer.provide(models),
        Layer.provide(VideosApi.handlers),
        Layer.provide(authorization)
      )
    ),
    Layer.provide(state(options)),
    Layer.provide(NodeHttpClient.layerUndici),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: options.port, host: options.host })),
    Layer.provide(NodeContext.layer),
    Layer.provide(Telemetry.layer(options.telemetry))
  )
