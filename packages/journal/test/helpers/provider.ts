/**
 * A provider for journal tests, in test code only: no wire protocol, tasks in memory that finish
 * `doneMillis` after creation, and a real MP4 (the simulator's fixture) as the video. It counts
 * every call, which is what the resume tests assert on ("polled, not re-created").
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { StreamAsset } from "@reelay/core/AssetSource"
import { GenerationTime, ModelCapabilities, ModelSpec } from "@reelay/core/ModelSpec"
import * as Money from "@reelay/core/Money"
import { TaskHandle } from "@reelay/core/TaskHandle"
import * as TaskStatus from "@reelay/core/TaskStatus"
import { TaskNotFound, type VideoError } from "@reelay/core/VideoError"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

const here = path.dirname(fileURLToPath(import.meta.url))
export const video = path.resolve(here, "../../../simulator/videos/720x1280-8s.mp4")

const spec = (chargePolicy: "on-success" | "per-request") =>
  new ModelSpec({
    id: "acme-portrait",
    description: "portrait, text only",
    capabilities: new ModelCapabilities({
      aspectRatios: ["9:16"],
      resolutions: ["720p"],
      durations: [8],
      sizes: ["720x1280"],
      imageInput: "none",
      audio: true
    }),
    price: Money.usd("0.25"),
    chargePolicy,
    generationTime: new GenerationTime({ typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 })
  })

/** The test model: $0.25, charged on success. */
export const model = spec("on-success")
const onSuccess = model

export const dayMillis = 24 * 3600 * 1000

export interface Calls {
  submits: Array<string>
  statuses: number
  contents: number
}

export const fileAsset = (file: string) => {
  const bytes = fs.readFileSync(file)
  return new StreamAsset({
    size: bytes.length,
    open: (offset) => Stream.succeed(new Uint8Array(bytes.subarray(offset)))
  })
}

export const scripted = (
  options: {
    readonly doneMillis?: number
    readonly submitFailures?: Array<VideoError>
    /** Default `on-success`; `per-request` models a create billed at once. */
    readonly chargePolicy?: "on-success" | "per-request"
  } = {}
) => {
  const model = options.chargePolicy === undefined ? onSuccess : spec(options.chargePolicy)
  const calls: Calls = { submits: [], statuses: 0, contents: 0 }
  const tasks = new Map<string, number>()
  const failures = [...(options.submitFailures ?? [])]
  let next = 0
  const done = options.doneMillis ?? 20
  /** Creates a task as if an earlier process had (for crafted resume states). */
  const createTask = (at: number, ttl = dayMillis) => {
    const taskId = `task-${++next}`
    tasks.set(taskId, at)
    return new TaskHandle({
      provider: "scripted",
      model: model.id,
      taskId,
      mode: "async",
      createdAt: new Date(at),
      expiresAt: new Date(at + ttl)
    })
  }
  const provider: VideoProvider.AsyncVideoProvider = {
    specificationVersion: "v1",
    id: "scripted",
    mode: "async",
    models: [model],
    defaultModel: model.id,
    submit: (input) =>
      Effect.gen(function* () {
        calls.submits.push(input.idempotencyKey)
        const failure = failures.shift()
        if (failure !== undefined) return yield* Effect.fail(failure)
        return createTask(yield* Clock.currentTimeMillis)
      }),
    status: (handle) =>
      Effect.gen(function* () {
        calls.statuses++
        const at = tasks.get(handle.taskId)
        if (at === undefined) return yield* new TaskNotFound({ message: `no task ${handle.taskId}` })
        const elapsed = (yield* Clock.currentTimeMillis) - at
        return elapsed >= done
          ? new TaskStatus.Succeeded({})
          : new TaskStatus.Running({ progress: Math.floor((elapsed / done) * 100) })
      }),
    content: () =>
      Effect.sync(() => {
        calls.contents++
        return fileAsset(video)
      })
  }
  return { provider, calls, createTask }
}
