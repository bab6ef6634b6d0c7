/**
 * Webhooks out: `video.completed` and `video.failed` sent to a tenant's URL, signed as the Standard
 * Webhooks specification says (`webhook-id`, `webhook-timestamp`, `webhook-signature`: `v1,` and the
 * base64 HMAC-SHA256 of `id.timestamp.body` under the tenant's `whsec_` secret), so the `openai`
 * SDK's `webhooks.unwrap` verifies them. The body is OpenAI's event shape, its `data` the video.
 *
 * Deliveries live in the journal's outbox, recorded when the video ends; an attempt that is not
 * answered 2xx within its timeout is tried again on `retryDelays`, then given up. At least once:
 * a receiver drops repeats by `webhook-id`, the same on every attempt.
 *
 * @since 0.3.0
 */
import { createHmac } from "node:crypto"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { UsageError } from "@reelay/config/ConfigError"
import type * as ConfigFile from "@reelay/config/ConfigFile"
import type { Journal, Outbox, Videos } from "@reelay/journal"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Redacted from "effect/Redacted"
import type * as Api from "./Api.js"
import * as Tenants from "./Tenants.js"
import * as VideosApi from "./VideosApi.js"

/** Where a tenant hears of its videos' ends, and the key its messages are signed with. */
export interface Endpoint {
  readonly url: string
  readonly key: Redacted.Redacted<Uint8Array>
}

export interface Options {
  /** The waits before each attempt after the first; when they run out, the delivery is given up. */
  readonly retryDelays: ReadonlyArray<Duration.DurationInput>
  /** How long one attempt may take, answer included. */
  readonly attemptTimeout: Duration.DurationInput
  /** How often the outbox is looked at besides when a video ends here. */
  readonly tick: Duration.DurationInput
}

/** Standard Webhooks' suggested schedule: about a day and a half in all. */
export const defaults: Options = {
  retryDelays: ["5 seconds", "5 minutes", "30 minutes", "2 hours", "5 hours", "10 hours", "10 hours"],
  attemptTimeout: "15 seconds",
  tick: "1 second"
}

/**
 * The tenants' endpoints, their secrets read from the variables the file names. A secret must be
 * Standard Webhooks' `whsec_` and 24 to 64 base64 bytes; anything else is refused at start.
 */
export const endpointsOf = (
  tenants: ReadonlyArray<ConfigFile.Tenant>
): Effect.Effect<ReadonlyMap<string, Endpoint>, UsageError> =>
  Effect.gen(function* () {
    const endpoints = new Map<string, Endpoint>()
    for (const tenant of tenants) {
      if (tenant.webhook === undefined) continue
      const { secretEnv, url } = tenant.webhook
      const text = yield* Tenants.secretIn(secretEnv)
      const key = /^whsec_[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text.slice(6), "base64") : undefined
      if (key === undefined || key.length < 24 || key.length > 64) {
        return yield* new UsageError({
          message: `gateway tenant "${tenant.id}": ${secretEnv} ${text === "" ? "is not set" : "is not a Standard Webhooks secret"}; set it to whsec_ followed by 24 to 64 random bytes in base64 (openssl rand -base64 32)`
        })
      }
      endpoints.set(tenant.id, { url, key: Redacted.make(new Uint8Array(key)) })
    }
    return endpoints
  })

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`. */
export const sign = (key: Redacted.Redacted<Uint8Array>, id: string, timestamp: number, body: string): string =>
  `v1,${createHmac("sha256", Redacted.value(key)).update(`${id}.${timestamp}.${body}`).digest("base64")}`

/** The event a video's end makes, if it has ended: its type, and the body as it will be signed. */
export const eventOf = (
  video: Api.Video,
  now: number
): { readonly event: string; readonly messageId: string; readonly payload: string } | undefined => {
  if (video.status !== "completed" && video.status !== "failed") return undefined
  const type = `video.${video.status}`
  const messageId = `msg_${video.id}`
  const payload = JSON.stringify({
    id: `evt_${video.id.replace(/^video_/, "")}`,
    object: "event",
    type,
    created_at: Math.floor(now / 1000),
    data: video
  })
  return { event: type, messageId, payload }
}

/**
 * A video's end, told to its tenant when it asked to be (`notify`): recorded in the outbox, then
 * `wake` offered so it is sent at once. A failure here is found again at the next start
 * (`Outbox.missing`).
 */
export const notice =
  (options: { readonly reader: Journal.Service; readonly outbox: Outbox.Service; readonly wake: Queue.Queue<void> }) =>
  (video: Videos.Video): Effect.Effect<void> =>
    Effect.gen(function* () {
      if (!video.notify) return
      const { object } = yield* VideosApi.describe(options.reader, video)
      const event = eventOf(object, yield* Effect.clockWith((clock) => clock.currentTimeMillis))
      if (event === undefined) return
      yield* options.outbox.enqueue({ tenant: video.tenant, videoId: video.id, ...event })
      yield* Queue.offer(options.wake, undefined)
    }).pipe(
      Effect.catchAll((error) =>
        Effect.logError(`reelay gateway: the webhook of video ${video.id} is not recorded yet: ${error.message}`)
      )
    )

/**
 * Sends what is due, for ever: every `tick`, or at once when `wake` is offered (a video ended
 * here). Each delivery is taken in the journal first, so two gateways never send one attempt twice.
 */
export const deliver = (options: {
  readonly outbox: Outbox.Service
  readonly endpoints: ReadonlyMap<string, Endpoint>
  readonly wake: Queue.Queue<void>
  readonly options: Options
}): Effect.Effect<never, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    // No spans of its own: a span records the URL, which may carry the receiver's token.
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerDisabledWhen(() => true))
    const { outbox, endpoints } = options
    const { retryDelays, attemptTimeout, tick } = options.options
    const lease = Duration.toMillis(attemptTimeout) + 5_000

    const attempt = (delivery: Outbox.Delivery, endpoint: Endpoint) =>
      Effect.gen(function* () {
        const timestamp = Math.floor((yield* Effect.clockWith((clock) => clock.currentTimeMillis)) / 1000)
        const request = HttpClientRequest.post(endpoint.url).pipe(
          HttpClientRequest.bodyText(delivery.payload, "application/json"),
          HttpClientRequest.setHeaders({
            "webhook-id": delivery.messageId,
            "webhook-timestamp": String(timestamp),
            "webhook-signature": sign(endpoint.key, delivery.messageId, timestamp, delivery.payload),
            "user-agent": "reelay-gateway"
          })
        )
        const response = yield* client.execute(request).pipe(Effect.scoped, Effect.timeout(attemptTimeout))
        if (response.status < 200 || response.status > 299) {
          return yield* Effect.fail(`answered ${response.status}`)
        }
      })

    const one = (delivery: Outbox.Delivery) =>
      Effect.gen(function* () {
        const endpoint = endpoints.get(delivery.tenant)
        if (endpoint === undefined) {
          // Not configured here (removed, or another gateway of the journal has it): kept for one that can.
          const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
          return yield* outbox.postpone(delivery, now + 60_000)
        }
        if (!(yield* outbox.take(delivery, lease))) return
        const outcome = yield* Effect.either(attempt(delivery, endpoint))
        if (outcome._tag === "Right") return yield* outbox.delivered(delivery)
        // Never the transport's message: it quotes the URL, which may carry the receiver's token.
        const error =
          typeof outcome.left === "string"
            ? outcome.left
            : outcome.left._tag === "TimeoutException"
              ? `no answer within ${Duration.format(attemptTimeout)}`
              : `could not be sent (${outcome.left._tag}: ${outcome.left.reason})`
        // `delivery.attempts` is the count before this attempt: the delay after the n-th attempt is
        // `retryDelays[n - 1]`; past the last one, the delivery is given up.
        const wait = retryDelays[delivery.attempts]
        const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        yield* outbox.failed(delivery, {
          error,
          retryAt: wait === undefined ? undefined : now + Duration.toMillis(wait)
        })
        yield* Effect.logWarning(
          `reelay gateway: webhook ${delivery.messageId} to tenant ${delivery.tenant}: ${error}${wait === undefined ? "; given up" : `; tried again in ${Duration.format(wait)}`}`
        )
      })

    return yield* Effect.forever(
      Effect.gen(function* () {
        const due = yield* outbox.due(50)
        yield* Effect.forEach(due, one, { concurrency: 8, discard: true })
        yield* Effect.race(Queue.take(options.wake), Effect.sleep(tick))
        yield* Queue.takeAll(options.wake)
      }).pipe(
        Effect.catchAll((error) =>
          Effect.zipRight(Effect.logError(`reelay gateway: webhooks: ${error.message}`), Effect.sleep(tick))
        )
      )
    )
  })
