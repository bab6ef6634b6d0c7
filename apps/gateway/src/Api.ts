/**
 * The gateway's API as OpenAI's SDKs speak it (`@effect/platform`'s `HttpApi`, which also gives the
 * OpenAPI document): `GET /v1/models` so far, behind a bearer key that selects the tenant. Errors
 * have OpenAI's shape and status: `{"error": {"message", "type", "param", "code"}}`.
 *
 * @since 0.1.0
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"

const ErrorBody = Schema.Struct({
  message: Schema.String,
  type: Schema.String,
  param: Schema.NullOr(Schema.String),
  code: Schema.NullOr(Schema.String)
})

/** 401: no key, or one no tenant holds. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { error: ErrorBody },
  HttpApiSchema.annotations({ status: 401 })
) {}

/** The tenant a request's key selected. */
export interface TenantInfo {
  readonly id: string
  /** Its profile in `reelay.config.json`, if it names one. */
  readonly profile: string | undefined
}

export class CurrentTenant extends Context.Tag("@reelay/gateway/CurrentTenant")<CurrentTenant, TenantInfo>() {}

/** Every request names its tenant with `Authorization: Bearer <key>`. */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("@reelay/gateway/Authorization", {
  failure: Unauthorized,
  provides: CurrentTenant,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/** OpenAI's model object. */
export const Model = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("model"),
  /** When the model was made available, in seconds; 0: not known. */
  created: Schema.Number,
  /** The provider (or route) that serves it. */
  owned_by: Schema.String
})

export const ModelList = Schema.Struct({ object: Schema.Literal("list"), data: Schema.Array(Model) })

export class Models extends HttpApiGroup.make("models")
  .add(HttpApiEndpoint.get("list", "/v1/models").addSuccess(ModelList))
  .middleware(Authorization) {}

export class GatewayApi extends HttpApi.make("reelay-gateway").add(Models) {}
