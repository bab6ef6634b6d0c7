/**
 * The gateway's API as OpenAI's SDKs speak it (`@effect/platform`'s `HttpApi`, which also gives the
 * OpenAPI document): `/v1/models` and `/v1/videos`, behind a bearer key that selects the tenant.
 * Errors have OpenAI's shape and status: `{"error": {"message", "type", "param", "code"}}`.
 *
 * @since 0.1.0
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import type * as BigDecimal from "effect/BigDecimal"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"

const ErrorBody = Schema.Struct({
  message: Schema.String,
  type: Schema.String,
  param: Schema.NullOr(Schema.String),
  code: Schema.NullOr(Schema.String)
})
export type ErrorBody = typeof ErrorBody.Type

const fields = { error: ErrorBody }

/** 400: the request is not one the gateway can serve (`param` names the field). Nothing was sent. */
export class BadRequest extends Schema.TaggedError<BadRequest>()(
  "BadRequest",
  fields,
  HttpApiSchema.annotations({ status: 400 })
) {}

/** 401: no key, or one no tenant holds. */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  fields,
  HttpApiSchema.annotations({ status: 401 })
) {}

/** 404: no such video for this tenant (another tenant's video is not found either). */
export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  fields,
  HttpApiSchema.annotations({ status: 404 })
) {}

/** 409: the video is not in a state that allows it (content before completion, an idempotency key reused). */
export class Conflict extends Schema.TaggedError<Conflict>()(
  "Conflict",
  fields,
  HttpApiSchema.annotations({ status: 409 })
) {}

/** 413: the body (an uploaded `input_reference`) is larger than the gateway takes. */
export class TooLarge extends Schema.TaggedError<TooLarge>()(
  "TooLarge",
  fields,
  HttpApiSchema.annotations({ status: 413 })
) {}

/** 416: a `Range` the video cannot satisfy. */
export class RangeNotSatisfiable extends Schema.TaggedError<RangeNotSatisfiable>()(
  "RangeNotSatisfiable",
  fields,
  HttpApiSchema.annotations({ status: 416 })
) {}

/** 429: the tenant's budget cannot pay for this video (`insufficient_quota`, as OpenAI says it). */
export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>()(
  "QuotaExceeded",
  fields,
  HttpApiSchema.annotations({ status: 429 })
) {}

/** 500: the gateway itself failed (its journal, say); nothing about the video is lost. */
export class ServerError extends Schema.TaggedError<ServerError>()(
  "ServerError",
  fields,
  HttpApiSchema.annotations({ status: 500 })
) {}

/** The tenant a request's key selected. */
export interface TenantInfo {
  readonly id: string
  /** Its profile in `reelay.config.json`, if it names one. */
  readonly profile: string | undefined
  /** Its budget over all its videos, in dollars, if it has one. */
  readonly budget: BigDecimal.BigDecimal | undefined
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

/** OpenAI's video statuses. */
export const VideoStatus = Schema.Literal("queued", "in_progress", "completed", "failed")
export type VideoStatus = typeof VideoStatus.Type

/**
 * OpenAI's video object, and reelay's fields after it: what the video cost (`cost`, dollars, with
 * `billing` saying whether that is certain), which provider and route made it, and its file's
 * digest once saved.
 */
export const Video = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("video"),
  status: VideoStatus,
  /** 0 to 100. */
  progress: Schema.Number,
  model: Schema.String,
  /** The duration in seconds, as a string (`"8"`), as OpenAI writes it; `""` while not known. */
  seconds: Schema.String,
  /** `1280x720`; `""` while not known. */
  size: Schema.String,
  prompt: Schema.NullOr(Schema.String),
  /** Unix seconds. */
  created_at: Schema.Number,
  completed_at: Schema.NullOr(Schema.Number),
  /** The gateway keeps a saved video until it is deleted: `null`. */
  expires_at: Schema.NullOr(Schema.Number),
  error: Schema.NullOr(Schema.Struct({ code: Schema.String, message: Schema.String })),
  remixed_from_video_id: Schema.Null,
  /** Dollars charged, or possibly charged when `billing` is `unknown` ("0.15"). */
  cost: Schema.String,
  billing: Schema.NullOr(Schema.Literal("charged", "not-charged", "unknown")),
  provider: Schema.NullOr(Schema.String),
  route: Schema.NullOr(Schema.Struct({ provider: Schema.String, model: Schema.String })),
  /** The saved file's SHA-256 (hex), once completed. */
  sha256: Schema.NullOr(Schema.String)
})
export type Video = typeof Video.Type

export const VideoList = Schema.Struct({
  object: Schema.Literal("list"),
  data: Schema.Array(Video),
  first_id: Schema.NullOr(Schema.String),
  last_id: Schema.NullOr(Schema.String),
  has_more: Schema.Boolean
})

export const Deleted = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("video.deleted"),
  deleted: Schema.Boolean
})

/**
 * The create body as JSON (the same fields travel as `multipart/form-data`, which the `openai` SDK
 * sends, with `input_reference` as a file part). For the OpenAPI document: the handler reads the
 * body itself, to take both encodings and answer every problem in OpenAI's shape.
 */
export const CreateBody = Schema.Struct({
  prompt: Schema.String,
  model: Schema.optional(Schema.String),
  seconds: Schema.optional(Schema.String),
  size: Schema.optional(Schema.String),
  /** A `data:` URL or an http(s) URL of the first frame. */
  input_reference: Schema.optional(Schema.Struct({ image_url: Schema.String }))
})

const VideoPath = Schema.Struct({ video_id: Schema.String })

export class Videos extends HttpApiGroup.make("videos")
  .add(
    HttpApiEndpoint.post("create", "/v1/videos")
      .setPayload(CreateBody)
      .addSuccess(Video)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Conflict)
      .addError(TooLarge)
      .addError(QuotaExceeded)
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/videos")
      .setUrlParams(
        Schema.Struct({
          after: Schema.optional(Schema.String),
          limit: Schema.optional(Schema.String),
          order: Schema.optional(Schema.String)
        })
      )
      .addSuccess(VideoList)
      .addError(BadRequest)
  )
  .add(HttpApiEndpoint.get("retrieve", "/v1/videos/:video_id").setPath(VideoPath).addSuccess(Video).addError(NotFound))
  .add(
    HttpApiEndpoint.del("delete", "/v1/videos/:video_id")
      .setPath(VideoPath)
      .addSuccess(Deleted)
      .addError(NotFound)
      .addError(Conflict)
  )
  .add(
    HttpApiEndpoint.get("content", "/v1/videos/:video_id/content")
      .setPath(VideoPath)
      .setUrlParams(Schema.Struct({ variant: Schema.optional(Schema.String) }))
      .addSuccess(
        HttpApiSchema.withEncoding(Schema.Uint8ArrayFromSelf, { kind: "Uint8Array", contentType: "video/mp4" })
      )
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Conflict)
      .addError(RangeNotSatisfiable)
  )
  .addError(ServerError)
  .middleware(Authorization) {}

export class GatewayApi extends HttpApi.make("reelay-gateway").add(Models).add(Videos) {}

/** What an OpenAI-shaped error says: `type` defaults to `invalid_request_error`. */
export interface ErrorOptions {
  readonly param?: string | undefined
  readonly code?: string | undefined
  readonly type?: string
}

/** The body of an OpenAI-shaped error, `{"error": {"message", "type", "param", "code"}}`. */
export const errorBody = (message: string, options: ErrorOptions = {}): { readonly error: ErrorBody } => ({
  error: {
    message,
    type: options.type ?? "invalid_request_error",
    param: options.param ?? null,
    code: options.code ?? null
  }
})

/** An OpenAI-shaped error of `Class`. */
export const error = <A>(
  Class: new (fields: { readonly error: ErrorBody }) => A,
  message: string,
  options: ErrorOptions = {}
): A => new Class(errorBody(message, options))
