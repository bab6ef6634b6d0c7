/**
 * Delivery: a made video brought to disk. Downloaded (resumable, verified, credentials only to the
 * provider's origin), probed while still `<output>.part` (bytes that are not a video never take the
 * output's name), compared with what was asked, and reported `Saved`. A link its server refuses is
 * not the end while the task is known: the provider is asked for a fresh link once.
 *
 * @internal
 */
import { createHash } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { AssetSource } from "../../AssetSource.js"
import * as Billing from "../../Billing.js"
import * as DeliveryCheck from "../../Delivery.js"
import * as Download from "../../Download.js"
import * as Gate from "../../Gate.js"
import { Downloading, Retrying, Saved, Warning } from "../../GenerationEvent.js"
import type { ModelSpec } from "../../ModelSpec.js"
import * as Probe from "../../Probe.js"
import { SavedVideo, type VideoProbe } from "../../SavedVideo.js"
import type { TaskHandle } from "../../TaskHandle.js"
import type * as Validation from "../../Validation.js"
import { annotate, TaskExpired, type VideoError, withBilling } from "../../VideoError.js"
import * as VideoProvider from "../../VideoProvider.js"
import * as Calls from "./Calls.js"
import type { Item } from "./Item.js"
import type { Shared } from "./Shared.js"

/** The video of a task that expired before it was downloaded: made, paid for, and gone. */
export const expiredVideo = (provider: VideoProvider.Service, handle: TaskHandle) =>
  new TaskExpired({
    provider: provider.id,
    taskId: handle.taskId,
    billing: "charged",
    ...(handle.expiresAt === undefined ? {} : { expiredAt: handle.expiresAt }),
    message: `the video of task ${handle.taskId} was made (and paid for) but expired at ${provider.id} before it was downloaded`
  })

/**
 * The provider of a task that can be asked about again. A synchronous stream cannot: once it is gone
 * without its link, so is the video. Its answer was recorded (the task exists), so under a
 * charge-on-answer policy its charge is certain.
 */
export const asyncProvider = (
  provider: VideoProvider.Service,
  handle: TaskHandle
): Effect.Effect<VideoProvider.AsyncVideoProvider, TaskExpired> => {
  if (provider.mode === "async" && handle.mode === "async") return Effect.succeed(provider)
  const model = VideoProvider.findModel(provider, handle.model)
  const charged = model !== undefined && Billing.chargedAt(model.chargePolicy) === "accepted"
  return Effect.fail(
    new TaskExpired({
      provider: provider.id,
      taskId: handle.taskId,
      billing: charged ? "charged" : "unknown",
      message: `task ${handle.taskId} was a synchronous stream that stopped before its video link arrived; it cannot be asked for again, so the video is lost${charged ? ` (${provider.id} charged it when it answered)` : ""}`
    })
  )
}

/** The sha256 of a file on disk (hex). */
export const sha256Of = (shared: Shared, file: string) =>
  Effect.gen(function* () {
    const hash = createHash("sha256")
    yield* Stream.runForEach(shared.fs.stream(file), (chunk) => Effect.sync(() => hash.update(chunk)))
    return hash.digest("hex")
  })

/** Downloads, probes and checks the video, then reports it saved. Without an output, nothing to do. */
const save = (
  shared: Shared,
  item: Item,
  provider: VideoProvider.Service,
  model: ModelSpec,
  taskId: string,
  asset: AssetSource,
  expected: Validation.Expected | undefined
): Effect.Effect<SavedVideo | undefined, VideoError> =>
  Effect.gen(function* () {
    const output = item.output
    if (output === undefined) return undefined
    const context = { provider: provider.id, taskId }
    const { allowPrivateNetworks, ...limits } = shared.download
    // Filled by `verify`, which probes the file while it is still `<output>.part`.
    const verified: { probe?: VideoProbe } = {}
    const downloaded = yield* Gate.through(
      item.gates.download,
      Download.download({
        ...limits,
        asset,
        path: output,
        overwrite: item.overwrite,
        credentials: provider.credentials,
        provider: provider.id,
        taskId,
        // Links may reach local addresses only of the class the provider's own base URL has.
        network: { baseUrl: provider.baseUrl ?? provider.credentials?.origin, allowPrivateNetworks },
        // Bytes that are not a video never take the output's name (kept as `<output>.rejected`).
        verify: (file) =>
          Effect.map(Probe.probe(file, output), (probe) => {
            verified.probe = probe
          }),
        onProgress: (receivedBytes, totalBytes) =>
          item.emit(
            new Downloading({ key: item.key, receivedBytes, ...(totalBytes === undefined ? {} : { totalBytes }) })
          ),
        onRetry: (attempt, delayMillis, error) =>
          item.emit(new Retrying({ key: item.key, operation: "download", attempt, delayMillis, error }))
      })
    ).pipe(
      Effect.provide(shared.platform),
      Effect.mapError((error) => withBilling(annotate(error, context), "charged"))
    )
    if (downloaded.path !== output) {
      yield* item.emit(
        new Warning({
          key: item.key,
          code: "output-taken",
          message: `a file appeared at ${output} while the video was being made; it was kept, and the video saved as ${downloaded.path}`
        })
      )
    }
    const probe = verified.probe
    if (probe === undefined) return yield* Effect.dieMessage("a download returned without being verified")
    if (expected !== undefined) {
      for (const warning of DeliveryCheck.check(probe, expected)) {
        yield* item.emit(new Warning({ key: item.key, code: warning.code, message: warning.message }))
      }
    }
    const video = new SavedVideo({
      path: downloaded.path,
      bytes: downloaded.bytes,
      sha256: downloaded.sha256,
      probe,
      provider: provider.id,
      model: model.id,
      taskId,
      cost: model.price
    })
    yield* item.emit(new Saved({ key: item.key, video }))
    return video
  })

/** Asks the provider where the video of `handle` is now (a fresh link), and saves it from there. */
export const saveFresh = Effect.fn("Engine.delivery.fresh")(function* (
  shared: Shared,
  item: Item,
  provider: VideoProvider.Service,
  model: ModelSpec,
  handle: TaskHandle,
  expected: Validation.Expected | undefined
) {
  const context = { provider: provider.id, taskId: handle.taskId }
  const polled = yield* asyncProvider(provider, handle)
  const now = new Date(yield* Clock.currentTimeMillis)
  const asset = yield* Calls.read(
    shared,
    item,
    "content",
    polled.content(handle),
    provider.id,
    `content of ${handle.taskId}`
  ).pipe(
    Effect.mapError(
      (error): VideoError =>
        error._tag === "TaskNotFound" && handle.isExpired(now)
          ? expiredVideo(provider, handle)
          : withBilling(annotate(error, context), "charged")
    )
  )
  return yield* save(shared, item, provider, model, handle.taskId, asset, expected)
})

/**
 * Saves the video from `asset`. A link its server refuses (expired early, revoked, rotated, its host
 * gone) is not the end while the task is known: the provider is asked for a fresh link once, and the
 * video saved from that.
 */
export const deliver = Effect.fn("Engine.delivery")(function* (
  shared: Shared,
  item: Item,
  provider: VideoProvider.Service,
  model: ModelSpec,
  handle: TaskHandle,
  asset: AssetSource,
  expected: Validation.Expected | undefined
) {
  return yield* save(shared, item, provider, model, handle.taskId, asset, expected).pipe(
    Effect.catchIf(
      // The link's server answered with an error, or could not be reached at all, or the link led
      // where reelay does not fetch from; a failure to write the file here is no reason to ask for
      // another link.
      (error) =>
        error._tag === "DownloadFailed" &&
        (error.httpStatus !== undefined || error.transient || error.refusedTarget === true) &&
        provider.mode === "async" &&
        handle.mode === "async",
      (error) =>
        Effect.gen(function* () {
          if (handle.isExpired(new Date(yield* Clock.currentTimeMillis))) return yield* Effect.fail(error)
          yield* item.emit(
            new Warning({
              key: item.key,
              code: "fresh-link",
              message: `the video link was refused (${error.message}); asking ${provider.id} for a fresh one`
            })
          )
          return yield* saveFresh(shared, item, provider, model, handle, expected)
        })
    )
  )
})
