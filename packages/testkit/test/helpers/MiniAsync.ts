/**
 * A deliberately small provider for laozhang's async `/v1/videos` protocol, owned by the testkit's
 * own tests: it must pass the conformance suite, and each `Flaw` breaks it in one way the suite
 * must catch. Not a product: the real one is `@reelay/provider-laozhang`.
 *
 * Frames travel as multipart `input_reference` uploads, the only form laozhang's `-fl` models use
 * (the simulated vendor ignores a JSON image URL), so the frame model takes bytes only.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { UrlAsset } from "@reelay/core/AssetSource"
import * as Http from "@reelay/core/Http"
import { GenerationTime, ModelCapabilities, ModelSpec } from "@reelay/core/ModelSpec"
import * as Money from "@reelay/core/Money"
import { TaskHandle } from "@reelay/core/TaskHandle"
import * as TaskStatus from "@reelay/core/TaskStatus"
import {
  AuthenticationFailed,
  ContentRejected,
  GenerationFailed,
  InsufficientBalance,
  InvalidRequest,
  MalformedResponse,
  ProviderUnavailable,
  RateLimited,
  TaskNotFound,
  type VideoError
} from "@reelay/core/VideoError"
import * as VideoProvider from "@reelay/core/VideoProvider"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/** One way to get the protocol wrong. */
export type Flaw =
  | "none"
  | "credentials-to-cdn"
  | "no-idempotency-key"
  | "wrong-price"
  | "reset-looks-like-refused"
  | "policy-as-failure"
  | "ignores-images"

const model = (id: string, frames: boolean, price: string) =>
  new ModelSpec({
    id,
    description: id,
    capabilities: new ModelCapabilities({
      aspectRatios: ["9:16"],
      resolutions: ["720p"],
      durations: [8],
      sizes: ["720x1280"],
      imageInput: frames ? "first-last-frame" : "none",
      imageTransports: frames ? ["bytes"] : [],
      audio: true
    }),
    price: Money.usd(price),
    chargePolicy: "on-success",
    generationTime: new GenerationTime({ typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 })
  })

const Created = Schema.Struct({ id: Schema.String })
const Status = Schema.Struct({
  status: Schema.String,
  progress: Schema.optional(Schema.Number),
  error: Schema.optional(Schema.Struct({ code: Schema.String, message: Schema.String }))
})
const Content = Schema.Struct({ url: Schema.String })
const ErrorBody = Schema.Struct({ error: Schema.Struct({ code: Schema.String, message: Schema.String }) })

export interface Options {
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string>
  readonly flaw?: Flaw
  /** Where the CDN is, for the `credentials-to-cdn` flaw. */
  readonly cdn?: string
}

export const make = (options: Options) =>
  Effect.gen(function* () {
    const flaw = options.flaw ?? "none"
    const id = "mini"
    const client = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest(HttpClientRequest.bearerToken(options.apiKey)),
      HttpClient.mapRequest(HttpClientRequest.acceptJson)
    )
    const fail = (
      response: HttpClientResponse.HttpClientResponse,
      operation: string,
      taskId?: string
    ): Effect.Effect<never, VideoError> =>
      Effect.flatMap(
        Effect.orElseSucceed(HttpClientResponse_json(response), () => undefined),
        (body): Effect.Effect<never, VideoError> => {
          const code = body?.error.code ?? ""
          const common = { provider: id, httpStatus: response.status, message: `HTTP ${response.status} ${code}` }
          const hint = Http.retryAfterMillis(response.headers)
          switch (true) {
            case response.status === 401:
              return Effect.fail(new AuthenticationFailed(common))
            case response.status === 402:
              return Effect.fail(new InsufficientBalance(common))
            case response.status === 404 && taskId !== undefined:
              return Effect.fail(new TaskNotFound({ ...common, taskId }))
            case response.status === 429:
              return Effect.fail(
                new RateLimited({ ...common, ...(hint === undefined ? {} : { retryAfterMillis: hint }) })
              )
            // A gateway's 502 / 504 to a create may hide a task the service behind it created.
            case operation === "create" && (response.status === 502 || response.status === 504):
              return Effect.fail(new ProviderUnavailable({ ...common, stage: "exchange" }))
            case response.status >= 500:
              return Effect.fail(new ProviderUnavailable({ ...common, stage: "response" }))
            case code === "content_policy_violation":
              return Effect.fail(new ContentRejected(common))
            default:
              return Effect.fail(new InvalidRequest(common))
          }
        }
      )
    const send = (request: HttpClientRequest.HttpClientRequest, operation: string, taskId?: string) =>
      client.execute(request).pipe(
        Effect.catchTag("RequestError", (error) => {
          const unavailable = Http.unavailableFromRequestError(error, { provider: id, operation, taskId })
          return Effect.fail(
            flaw === "reset-looks-like-refused"
              ? new ProviderUnavailable({ ...unavailable, stage: "connect" })
              : unavailable
          )
        }),
        Effect.catchTag("ResponseError", (error) =>
          Effect.fail(new ProviderUnavailable({ provider: id, stage: "exchange", message: error.message }))
        ),
        Effect.flatMap((response) =>
          response.status === 200 ? Effect.succeed(response) : fail(response, operation, taskId)
        )
      )
    const read = <A, I>(schema: Schema.Schema<A, I>, response: HttpClientResponse.HttpClientResponse) =>
      Effect.flatMap(
        Effect.mapError(
          response.text,
          (error) => new ProviderUnavailable({ provider: id, stage: "exchange", message: error.message })
        ),
        (text) =>
          Effect.mapError(
            Schema.decodeUnknown(Schema.parseJson(schema))(text),
            () => new MalformedResponse({ provider: id, message: "unreadable answer", excerpt: text.slice(0, 80) })
          )
      )
    const models = [
      model("veo-3.1-fast", false, flaw === "wrong-price" ? "0.25" : "0.15"),
      model("veo-3.1-fast-fl", true, "0.15")
    ]
    const provider: VideoProvider.AsyncVideoProvider = {
      specificationVersion: VideoProvider.specificationVersion,
      mode: "async",
      id,
      models,
      defaultModel: "veo-3.1-fast",
      credentials: {
        origin: new URL(flaw === "credentials-to-cdn" && options.cdn !== undefined ? options.cdn : options.baseUrl)
          .origin,
        headers: [["authorization", Redacted.make(`Bearer ${Redacted.value(options.apiKey)}`)]]
      },
      submit: (input) =>
        Effect.gen(function* () {
          const files = flaw === "ignores-images" ? [] : input.request.images.map((image) => image.source)
          let request = HttpClientRequest.post(`${options.baseUrl}/videos`)
          if (files.length === 0) {
            request = yield* HttpClientRequest.bodyJson(request, {
              model: input.model.id,
              prompt: input.request.prompt
            }).pipe(Effect.orDie)
          } else {
            const form = new FormData()
            form.append("model", input.model.id)
            form.append("prompt", input.request.prompt)
            files.forEach((file, index) => {
              if (file._tag !== "Bytes") return
              const type = file.mimeType ?? "image/png"
              form.append("input_reference", new Blob([file.bytes], { type }), file.fileName ?? `frame-${index}`)
            })
            // Encoded to bytes here: the undici client cannot stream a built-in `FormData`.
            const encoded = new Response(form)
            const body = new Uint8Array(yield* Effect.promise(() => encoded.arrayBuffer()))
            request = HttpClientRequest.bodyUint8Array(request, body, encoded.headers.get("content-type") ?? "")
          }
          if (flaw !== "no-idempotency-key")
            request = HttpClientRequest.setHeader(request, "idempotency-key", input.idempotencyKey)
          const created = yield* Effect.flatMap(send(request, "create"), (response) => read(Created, response))
          return new TaskHandle({
            provider: id,
            model: input.model.id,
            taskId: created.id,
            mode: "async",
            createdAt: new Date()
          })
        }),
      status: (handle) =>
        Effect.gen(function* () {
          const response = yield* send(
            HttpClientRequest.get(`${options.baseUrl}/videos/${handle.taskId}`),
            "status",
            handle.taskId
          )
          const status = yield* read(Status, response)
          switch (status.status) {
            case "queued":
              return new TaskStatus.Queued({ progress: status.progress })
            case "processing":
              return new TaskStatus.Running({ progress: status.progress })
            case "completed":
              return new TaskStatus.Succeeded({})
            case "failed": {
              const code = status.error?.code ?? "unknown"
              const context = {
                provider: id,
                taskId: handle.taskId,
                vendorCode: code,
                message: status.error?.message ?? code
              }
              return new TaskStatus.Failed({
                error:
                  code === "content_policy_violation" && flaw !== "policy-as-failure"
                    ? new ContentRejected(context)
                    : new GenerationFailed({ ...context, vendorMessage: status.error?.message ?? code })
              })
            }
            default:
              // Not a state we know: ask again rather than end the task.
              return yield* new MalformedResponse({
                provider: id,
                taskId: handle.taskId,
                message: `status ${status.status}`
              })
          }
        }),
      content: (handle) =>
        Effect.gen(function* () {
          const response = yield* send(
            HttpClientRequest.get(`${options.baseUrl}/videos/${handle.taskId}/content`),
            "content",
            handle.taskId
          )
          const content = yield* read(Content, response)
          return new UrlAsset({ url: content.url })
        })
    }
    return provider
  })

const HttpClientResponse_json = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.flatMap(response.text, (text) => Schema.decodeUnknown(Schema.parseJson(ErrorBody))(text))
