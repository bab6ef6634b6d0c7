/**
 * Deliberately broken wrappers of a working provider, owned by the testkit's own tests: each changes
 * one thing about how the provider reports a failure, in a way the vendors' rules forbid, and the
 * conformance suite must catch it. The wrapped provider is unchanged otherwise, so a scenario that
 * fails can fail only because of the wrapper.
 */
import { ProviderUnavailable, RateLimited, type VideoError } from "@reelay/core/VideoError"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"

type Async = VideoProvider.AsyncVideoProvider

/**
 * Gives its create a timeout of its own, shorter than the engine's, and reports it as an outage that
 * created nothing (retryable, not charged) — although the request was sent and the vendor may well
 * have created the task.
 */
export const ownCreateTimeout =
  (timeout: Duration.DurationInput) =>
  (provider: Async): Async => ({
    ...provider,
    submit: (input) =>
      Effect.timeoutFail(provider.submit(input), {
        duration: timeout,
        onTimeout: () =>
          new ProviderUnavailable({
            provider: provider.id,
            stage: "response",
            message: `create: no answer within ${Duration.format(Duration.decode(timeout))}, nothing created`
          })
      })
  })

/**
 * Reads a gateway's 502 / 504 to a create as the vendor's own refusal ("nothing created", retryable),
 * as the provider guide once recommended — although the gateway may have forwarded the create.
 */
export const gatewayMeansNothingCreated = (provider: Async): Async => ({
  ...provider,
  submit: (input) =>
    Effect.mapError(
      provider.submit(input),
      (error): VideoError =>
        error._tag === "ProviderUnavailable" && (error.httpStatus === 502 || error.httpStatus === 504)
          ? new ProviderUnavailable({
              provider: provider.id,
              httpStatus: error.httpStatus,
              stage: "response",
              message: `create: HTTP ${error.httpStatus}, nothing created`
            })
          : error
    )
})

/** Drops the server's Retry-After from every 429 on a status or content call. */
export const ignoresRetryAfter = (provider: Async): Async => {
  const strip = (error: VideoError): VideoError =>
    error._tag === "RateLimited"
      ? new RateLimited({ provider: provider.id, httpStatus: 429, message: "rate limited (hint dropped)" })
      : error
  return {
    ...provider,
    status: (handle) => Effect.mapError(provider.status(handle), strip),
    content: (handle) => Effect.mapError(provider.content(handle), strip)
  }
}
