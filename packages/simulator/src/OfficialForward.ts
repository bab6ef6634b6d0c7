/**
 * laozhang's Veo 3.1 official forward (`veo-3.1-fast-generate-preview`, `veo-3.1-generate-preview`):
 * multipart/form-data only, statuses `queued → in_progress → completed | failed`, a compatibility
 * status path `/v1/video/generations/{id}`, and `/content` returning the MP4 bytes (with the API key,
 * on the API origin, never a public URL). Charged for every accepted create, whatever happens next.
 *
 * Validation follows the page: `seconds` / `duration` aligned (4, 6 or 8); 1080p and 4k need 8 s;
 * 4k is 16:9 only and needs `metadata` `{"durationSeconds":8,"resolution":"4k","aspectRatio":"16:9"}`;
 * `size`, `resolution` and `aspectRatio` consistent; `generateAudio`, `referenceImages`, `lastFrame`
 * and `video` refused; one `input_reference` file at most. The video delivered has the requested
 * frame size and duration.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { readPrompt } from "./AsyncVideos.js"
import * as Cdn from "./Cdn.js"
import type { Exchange } from "./Http.js"
import * as Http from "./Http.js"
import * as Images from "./Images.js"
import type { Account } from "./Ledger.js"
import type { Model } from "./Models.js"
import * as Pipeline from "./Pipeline.js"
import type { Task } from "./Tasks.js"
import * as Tasks from "./Tasks.js"
import type * as Timeline from "./Timeline.js"

/** Fields the official forward refuses (camelCase as documented, and their snake_case spellings). */
export const refusedFields = [
  "generateAudio",
  "referenceImages",
  "lastFrame",
  "video",
  "generate_audio",
  "reference_images",
  "last_frame"
] as const

/** Each supported frame size with its resolution and aspect ratio. */
export const sizes: ReadonlyArray<{
  readonly size: string
  readonly resolution: string
  readonly aspectRatio: string
}> = [
  { size: "1280x720", resolution: "720p", aspectRatio: "16:9" },
  { size: "720x1280", resolution: "720p", aspectRatio: "9:16" },
  { size: "1920x1080", resolution: "1080p", aspectRatio: "16:9" },
  { size: "1080x1920", resolution: "1080p", aspectRatio: "9:16" },
  { size: "3840x2160", resolution: "4k", aspectRatio: "16:9" }
]

const Metadata = Schema.Struct({
  durationSeconds: Schema.optional(Schema.Union(Schema.Number, Schema.String)),
  resolution: Schema.optional(Schema.String),
  aspectRatio: Schema.optional(Schema.String)
})

/** The parameters after validation. */
export interface Parameters {
  readonly seconds: number
  readonly size: string
  readonly resolution: string
  readonly aspectRatio: string
  readonly images: number
}

const text = (form: FormData, name: string): string | undefined => {
  const v = form.get(name)
  return typeof v === "string" ? v.trim() : undefined
}

/** Validates the form; returns the parameters or an error message. */
export const validate = (form: FormData): Parameters | string => {
  for (const name of refusedFields) {
    if (form.has(name)) return `${name} is not supported by the official forward; do not pass it`
  }
  const refs = form.getAll("input_reference")
  if (refs.some((r) => typeof r === "string")) return "input_reference must be an uploaded image file"
  if (refs.length > 1) return "Only one input_reference image is supported"
  const seconds = text(form, "seconds")
  const duration = text(form, "duration")
  for (const [name, v] of [
    ["seconds", seconds],
    ["duration", duration]
  ] as const) {
    if (v !== undefined && !["4", "6", "8"].includes(v)) return `${name} must be "4", "6" or "8"`
  }
  if (seconds !== undefined && duration !== undefined && seconds !== duration) {
    return `seconds ("${seconds}") and duration ("${duration}") must be the same`
  }
  const rawMetadata = text(form, "metadata")
  let metadata: typeof Metadata.Type | undefined
  if (rawMetadata !== undefined) {
    let json: unknown
    try {
      json = JSON.parse(rawMetadata)
    } catch {
      return "metadata must be a JSON object string"
    }
    const decoded = Schema.decodeUnknownEither(Metadata)(json)
    if (decoded._tag === "Left" || typeof json !== "object" || json === null || Array.isArray(json)) {
      return "metadata must be a JSON object with durationSeconds, resolution and aspectRatio"
    }
    metadata = decoded.right
  }
  const metaSeconds = metadata?.durationSeconds === undefined ? undefined : String(metadata.durationSeconds)
  const secs = Number(seconds ?? duration ?? metaSeconds ?? "8")
  if (metaSeconds !== undefined && Number(metaSeconds) !== secs) {
    return `metadata.durationSeconds (${metaSeconds}) does not match seconds (${secs})`
  }
  const resolution = text(form, "resolution")?.toLowerCase()
  const aspectRatio = text(form, "aspectRatio")
  const size = text(form, "size")
  if (resolution !== undefined && !["720p", "1080p", "4k"].includes(resolution)) {
    return `resolution must be 720p, 1080p or 4k`
  }
  if (aspectRatio !== undefined && !["16:9", "9:16"].includes(aspectRatio)) return `aspectRatio must be 16:9 or 9:16`
  let chosen: (typeof sizes)[number] | undefined
  if (size !== undefined) {
    chosen = sizes.find((s) => s.size === size)
    if (chosen === undefined) return `size must be one of ${sizes.map((s) => s.size).join(", ")}`
    if (resolution !== undefined && resolution !== chosen.resolution) {
      return `size ${size} is ${chosen.resolution}, not ${resolution}`
    }
    if (aspectRatio !== undefined && aspectRatio !== chosen.aspectRatio) {
      return `size ${size} is ${chosen.aspectRatio}, not ${aspectRatio}`
    }
  } else {
    const res = resolution ?? metadata?.resolution?.toLowerCase() ?? "720p"
    const aspect = aspectRatio ?? metadata?.aspectRatio ?? "16:9"
    chosen = sizes.find((s) => s.resolution === res && s.aspectRatio === aspect)
    if (chosen === undefined) return `${res} is not available in ${aspect} (4k is 16:9 only)`
  }
  if (metadata?.resolution !== undefined && metadata.resolution.toLowerCase() !== chosen.resolution) {
    return `metadata.resolution (${metadata.resolution}) does not match the requested resolution (${chosen.resolution})`
  }
  if (metadata?.aspectRatio !== undefined && metadata.aspectRatio !== chosen.aspectRatio) {
    return `metadata.aspectRatio (${metadata.aspectRatio}) does not match the requested aspect ratio (${chosen.aspectRatio})`
  }
  if (chosen.resolution !== "720p" && secs !== 8) return `${chosen.resolution} requires 8-second videos (seconds="8")`
  if (chosen.resolution === "4k") {
    if (
      metadata === undefined ||
      metaSeconds !== "8" ||
      metadata.resolution?.toLowerCase() !== "4k" ||
      metadata.aspectRatio !== "16:9"
    ) {
      return `4k requests must include metadata='{"durationSeconds":8,"resolution":"4k","aspectRatio":"16:9"}'`
    }
  }
  const seed = text(form, "seed")
  if (seed !== undefined && !/^\d+$/.test(seed)) return "seed must be a non-negative integer"
  return {
    seconds: secs,
    size: chosen.size,
    resolution: chosen.resolution,
    aspectRatio: chosen.aspectRatio,
    images: refs.length
  }
}

const epoch = (ms: number) => Math.floor(ms / 1000)

/** `POST /v1/videos` for an official-forward model. */
export const create = async (x: Exchange, account: Account, body: Http.Body, model: Model): Promise<void> => {
  if (body._tag !== "Multipart") {
    Http.sendError(x, "invalid_request", `${model.id} requires a multipart/form-data request body`)
    return
  }
  const form = body.form
  const prompt = form.get("prompt") ?? undefined
  const directives = readPrompt(x, prompt)
  if (directives === undefined) return
  const faults = Pipeline.collect(x, directives, Pipeline.identity(x, account, model.id, prompt as string), model)
  if (await Pipeline.transient(x, faults.now, "create")) return
  const params = validate(form)
  if (typeof params === "string") {
    Http.sendError(x, "invalid_request", params)
    return
  }
  const image = form.get("input_reference")
  if (image !== null && typeof image !== "string") {
    const problem = Images.checkFile("input_reference", new Uint8Array(await image.arrayBuffer()))
    if (problem !== undefined) {
      Http.sendError(x, "invalid_request", problem)
      return
    }
  }
  if (Pipeline.refuseByPolicy(x, faults.now)) return
  if (Pipeline.replayIdempotent(x, account)) return
  if (Pipeline.refuseUnfunded(x, account, model, faults.now)) return
  const task = Pipeline.createTask(x, {
    model,
    account,
    prompt: prompt as string,
    idPrefix: "video_",
    cdnFolder: "veo",
    size: params.size,
    seconds: params.seconds,
    resolution: params.resolution,
    aspectRatio: params.aspectRatio,
    images: params.images,
    shape: Pipeline.shape(x, faults.task, false),
    later: faults.later
  })
  const created = statusView(task, task.timeline.createdAt)
  task.createResponse = created
  Pipeline.rememberIdempotent(x, account, task)
  Pipeline.answerCreated(x, faults.now, created)
}

/** The official status vocabulary. */
const statusName = (status: Timeline.Phase["status"]): string => (status === "running" ? "in_progress" : status)

/** The task object of `POST /v1/videos` and `GET /v1/videos/{id}`. */
export const statusView = (task: Task, now: number): Record<string, unknown> => {
  const phase = Tasks.phase(task, now)
  return {
    id: task.id,
    task_id: task.id,
    object: "video",
    model: task.model.id,
    status: statusName(phase.status),
    progress: phase.progress,
    created_at: epoch(task.timeline.createdAt),
    seconds: String(task.seconds),
    size: task.size,
    resolution: task.resolution,
    aspectRatio: task.aspectRatio,
    ...(phase.status === "completed" ? { completed_at: epoch(phase.at), expires_at: epoch(task.urlExpiresAt) } : {}),
    ...(phase.status === "failed" ? { error: { code: phase.code, message: phase.message } } : {})
  }
}

/**
 * The object of the compatibility path `GET /v1/video/generations/{id}`: status only, no video URL.
 * It serves every laozhang video task, each in its own status vocabulary.
 */
export const compatView = (task: Task, now: number): Record<string, unknown> => {
  const phase = Tasks.phase(task, now)
  const status =
    phase.status === "running" ? (task.model.protocol === "official" ? "in_progress" : "processing") : phase.status
  return {
    task_id: task.id,
    id: task.id,
    object: "video.generation",
    model: task.model.id,
    status,
    progress: phase.progress,
    created_at: epoch(task.timeline.createdAt),
    seconds: String(task.seconds),
    size: task.size,
    ...(phase.status === "failed" ? { error: { code: phase.code, message: phase.message } } : {})
  }
}

/** `GET /v1/videos/{id}/content`: the MP4 bytes (Range supported) once completed. */
export const content = async (x: Exchange, task: Task, now: number): Promise<void> => {
  const phase = Tasks.phase(task, now)
  if (phase.status !== "completed") {
    const message =
      phase.status === "failed"
        ? `Video generation failed (${phase.code}): there is no video for this task`
        : `Video is not ready yet (status: ${statusName(phase.status)}, progress: ${phase.progress}%)`
    Http.sendError(x, "video_not_ready", message)
    return
  }
  if (now >= task.urlExpiresAt) {
    Http.sendError(x, "video_not_found", "The video has expired")
    return
  }
  const faults = Pipeline.faultsAt(x.state, task, "download")
  if (await Pipeline.transient(x, faults, "download")) return
  const truncate = Pipeline.find(faults, "truncate")
  if (truncate !== undefined) Pipeline.noteFault(x, truncate)
  const transfer: Cdn.Transfer = { status: null, contentLength: null, bytesSent: 0, truncated: false }
  x.res.setHeader("content-disposition", `attachment; filename="${task.id}.mp4"`)
  Cdn.serve(x.req, x.res, task, truncate, transfer)
  x.record.status = transfer.status
  x.record.outcome = transfer.truncated ? "cut" : "responded"
}
