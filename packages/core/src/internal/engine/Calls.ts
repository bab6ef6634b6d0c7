/**
 * One call to a provider as the engine makes it: within a time limit, and repeated on the failures
 * `RetryPolicy` allows, each repeat reported as a `Retrying` event.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { Retrying } from "../../GenerationEvent.js"
import * as RetryPolicy from "../../RetryPolicy.js"
import { ProviderUnavailable, type VideoError } from "../../VideoError.js"
import type { Item } from "./Item.js"
import type { Shared } from "./Shared.js"

/**
 * The one "no answer within T" error: the exchange broke, so whether the provider acted is unknown.
 * A read that ends so is retried; a create that ends so is uncertain.
 */
export const noAnswer = (provider: string, what: string, limit: Duration.Duration): ProviderUnavailable =>
  new ProviderUnavailable({
    provider,
    stage: "exchange",
    message: `${what}: no answer from ${provider} within ${Duration.format(limit)}`
  })

/** Fails `effect` with `noAnswer` when it runs past `limit`. */
export const within = <A, R>(
  effect: Effect.Effect<A, VideoError, R>,
  provider: string,
  what: string,
  limit: Duration.Duration
): Effect.Effect<A, VideoError, R> =>
  Effect.timeoutFail(effect, { duration: limit, onTimeout: () => noAnswer(provider, what, limit) })

/** The retry schedule for `operation`: stops on failures `retryable` refuses, reports each real retry. */
export const schedule = (
  shared: Shared,
  item: Item,
  operation: RetryPolicy.Operation,
  retryable: (error: VideoError) => boolean
) =>
  RetryPolicy.schedule(shared.retry, {
    while: retryable,
    onRetry: (step) =>
      item.emit(
        new Retrying({
          key: item.key,
          operation,
          attempt: step.attempt,
          delayMillis: step.delayMillis,
          error: step.error
        })
      )
  })

/** Repeats a read while its failure allows it for `operation`, reporting each retry. */
export const retrying = <A>(
  shared: Shared,
  item: Item,
  operation: RetryPolicy.Operation,
  effect: Effect.Effect<A, VideoError>
): Effect.Effect<A, VideoError> =>
  Effect.retry(
    effect,
    schedule(shared, item, operation, (error) => RetryPolicy.isRetryable(error, operation))
  )

/** A status or content read: limited to the engine's request timeout, then retried as `operation` allows. */
export const read = <A>(
  shared: Shared,
  item: Item,
  operation: "status" | "content",
  effect: Effect.Effect<A, VideoError>,
  provider: string,
  what: string
): Effect.Effect<A, VideoError> =>
  retrying(shared, item, operation, within(effect, provider, what, shared.requestTimeout))
