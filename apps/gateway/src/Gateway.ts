/**
 * The gateway server: the tenants of `reelay.config.json`, each with the models its profile serves,
 * behind the OpenAI-shaped API (`Api`), with its OpenAPI document at `/openapi.json`.
 *
 * @since 0.1.0
 */
import { createServer } from "node:http"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpServer from "@effect/platform/HttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type { ConfigFileError } from "@reelay/config/ConfigError"
import { UsageError } from "@reelay/config/ConfigError"
import * as Providers from "@reelay/config/Providers"
import * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import type { InvalidRequest } from "@reelay/core/VideoError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Schema from "effect/Schema"
import * as Api from "./Api.js"
import * as Tenants from "./Tenants.js"

export interface Options {
  /** The configuration file (else `REELAY_CONFIG`, else `./reelay.config.json`). */
  readonly config?: string | undefined
  /** 0 picks a free port. */
  readonly port: number
  readonly host: string
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

interface State {
  readonly tenants: Tenants.Tenants
  readonly catalogs: ReadonlyMap<string, Schema.Schema.Type<typeof Api.ModelList>>
}
class GatewayState extends Context.Tag("@reelay/gateway/State")<GatewayState, State>() {}

const state = (options: Options) =>
  Layer.effect(
    GatewayState,
    Effect.gen(function* () {
      const file = yield* Setup.file({ config: options.config })
      if (file === undefined) {
        return yield* new UsageError({
          message: "reelay serve needs a reelay.config.json with a gateway section (--config, or REELAY_CONFIG)"
        })
      }
      const tenants = yield* Tenants.load(file)
      const catalogs = new Map<string, Schema.Schema.Type<typeof Api.ModelList>>()
      for (const tenant of tenants.all) {
        // A tenant's settings are its profile's (else the file's default profile), never the
        // operator's shell: REELAY_PROVIDER and the like would reroute and bill every tenant alike.
        const settings = yield* Setup.settings(
          { config: file.path, profile: tenant.profile ?? file.defaultProfile },
          {
            ignore: [
              Settings.env.provider,
              Settings.env.model,
              Settings.env.profile,
              Settings.env.maxCost,
              Settings.env.timeout
            ]
          }
        )
        catalogs.set(tenant.id, modelsOf(settings))
      }
      return { tenants, catalogs }
    })
  )

const unauthorized = (message: string) =>
  new Api.Unauthorized({ error: { message, type: "invalid_request_error", param: null, code: "invalid_api_key" } })

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

/** The gateway on `options.host:options.port`, its `HttpServer` (and so its address) in the output. */
export const layer = (
  options: Options
): Layer.Layer<HttpServer.HttpServer, UsageError | ConfigFileError | InvalidRequest | ServeError> =>
  HttpApiBuilder.serve().pipe(
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
    Layer.provide(HttpApiBuilder.api(Api.GatewayApi).pipe(Layer.provide(models), Layer.provide(authorization))),
    Layer.provide(state(options)),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: options.port, host: options.host }))
  )
