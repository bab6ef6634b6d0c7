/**
 * A provider for engine tests, in test code only: it speaks no wire protocol, it follows a script.
 * Submits succeed or fail as scripted, tasks move along a timeline measured from their creation on
 * Effect's `Clock` (so the TestClock drives it), and the video is a real fixture file served as a
 * byte stream.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { type AssetSource, StreamAsset } from "../../src/AssetSource.js"
import type { ModelSpec } from "../../src/ModelSpec.js"
import { TaskHandle } from "../../src/TaskHandle.js"
import * as TaskStatus from "../../src/TaskStatus.js"
import type { VideoError } from "../../src/VideoError.js"
import type * as VideoProvider from "../../src/VideoProvider.js"

const here = path.dirname(fileURLToPath(import.meta.url))
export const videosDir = path.resolve(here, "../../../simulator/videos")
export const fixture = (name: string) => path.join(videosDir, name)

/** A byte stream over a file, readable from any offset, in 64 KiB chunks. */
export const fileAsset = (file: string) => {
  const bytes = fs.readFileSync(file)
  return new StreamAsset({
    size: bytes.length,
    open: (offset) =>
      Stream.fromIterable(
        (function* () {
          for (let at = offset; at < bytes.length; at += 65536) yield new Uint8Array(bytes.subarray(at, at + 65536))
        })()
      )
  })
}

/** How a task behaves, by milliseconds since it was created (on the `Clock`). */
export type Timeline = (elapsedMillis: number, attempt: number) => TaskStatus.TaskStatus

/** Queued for `queue` ms, then running with linear progress, done at `done` ms. */
export const linear =
  (queue: number, done: number): Timeline =>
  (elapsed) => {
    if (elapsed < queue) return new TaskStatus.Queued({})
    if (elapsed < done)
      return new TaskStatus.Running({ progress: Math.floor(((elapsed - queue) / (done - queue)) * 100) })
    return new TaskStatus.Succeeded({})
  }

export interface Script {
  readonly id?: string
  readonly models: ReadonlyArray<ModelSpec>
  /** Failures for successive submit calls; once exhausted, submits succeed. */
  readonly submitFailures?: ReadonlyArray<VideoError>
  /** Failures for successive status calls; once exhausted, the timeline answers. */
  readonly statusFailures?: ReadonlyArray<VideoError>
  /**
   * The task's timeline; `attempt` counts successful submits (0 for the first task). Default: queued
   * for 10 s, done at 40 s.
   */
  readonly timeline?: Timeline
  /** The file delivered. */
  readonly video?: string
  /** What `content` answers (default: the video as a byte stream). */
  readonly content?: () => AssetSource
  /** Declares that repeated creates with one idempotency key are dropped. */
  readonly idempotentCreates?: boolean
  /**
   * The provider's base URL (default on 127.0.0.1: it lives on this machine, like the test servers
   * its links point to, which the engine's network check then allows).
   */
  readonly baseUrl?: string
}

export interface Recorder {
  readonly submits: Array<{ readonly idempotencyKey: string; readonly model: string }>
  statusCalls: number
  contentCalls: number
  /** Concurrent calls in flight, and the most seen at once. */
  inFlight: number
  maxInFlight: number
}

export const scripted = (script: Script) => {
  const recorder: Recorder = { submits: [], statusCalls: 0, contentCalls: 0, inFlight: 0, maxInFlight: 0 }
  const submitFailures = [...(script.submitFailures ?? [])]
  const statusFailures = [...(script.statusFailures ?? [])]
  const created = new Map<string, { readonly at: number; readonly attempt: number }>()
  const timeline = script.timeline ?? linear(10_000, 40_000)
  const video = script.video ?? fixture("720x1280-8s.mp4")
  let tasks = 0
  const tracked = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        recorder.inFlight++
        recorder.maxInFlight = Math.max(recorder.maxInFlight, recorder.inFlight)
      }),
      () => effect,
      () => Effect.sync(() => recorder.inFlight--)
    )
  const provider: VideoProvider.AsyncVideoProvider = {
    specificationVersion: "v1",
    id: script.id ?? "scripted",
    mode: "async",
    models: script.models,
    defaultModel: script.models[0]!.id,
    baseUrl: script.baseUrl ?? "http://127.0.0.1/v1",
    submit: (input) =>
      tracked(
        Effect.gen(function* () {
          recorder.submits.push({ idempotencyKey: input.idempotencyKey, model: input.model.id })
          yield* Effect.sleep("1 millis")
          const failure = submitFailures.shift()
          if (failure !== undefined) return yield* Effect.fail(failure)
          const at = yield* Clock.currentTimeMillis
          const taskId = `task-${++tasks}`
          created.set(taskId, { at, attempt: tasks - 1 })
          return new TaskHandle({
            provider: "scripted",
            model: input.model.id,
            taskId,
            mode: "async",
            createdAt: new Date(at),
            expiresAt: new Date(at + 24 * 3600 * 1000)
          })
        })
      ),
    status: (handle) =>
      Effect.gen(function* () {
        recorder.statusCalls++
        const failure = statusFailures.shift()
        if (failure !== undefined) return yield* Effect.fail(failure)
        const task = created.get(handle.taskId)
        if (task === undefined) return yield* Effect.die(`unknown task ${handle.taskId}`)
        const now = yield* Clock.currentTimeMillis
        return timeline(now - task.at, task.attempt)
      }),
    content: () =>
      Effect.sync(() => {
        recorder.contentCalls++
        return script.content?.() ?? fileAsset(video)
      }),
    idempotentCreates: script.idempotentCreates
  }
  return { provider, recorder }
}

/** A streaming provider that plays scripted runs: each submit plays the next run (the last one repeats). */
export const scriptedStream = (options: {
  readonly models: ReadonlyArray<ModelSpec>
  /** Each run: events to emit, then optionally a failure. */
  readonly runs: ReadonlyArray<{
    readonly events: ReadonlyArray<VideoProvider.ProviderEvent>
    readonly failure?: VideoError
  }>
}) => {
  const recorder = { submits: [] as Array<string> }
  let run = 0
  const provider: VideoProvider.StreamingVideoProvider = {
    specificationVersion: "v1",
    id: "streamer",
    mode: "streaming",
    models: options.models,
    defaultModel: options.models[0]!.id,
    submit: (input) =>
      Stream.suspend(() => {
        recorder.submits.push(input.idempotencyKey)
        const script = options.runs[Math.min(run++, options.runs.length - 1)]!
        const events = Stream.fromIterable(script.events)
        return script.failure === undefined ? events : Stream.concat(events, Stream.fail(script.failure))
      })
  }
  return { provider, recorder }
}
