/**
 * The veo-3.1 family on both hosts (laozhang `/v1/videos` with Bearer keys, apiyi `/v1/videos` with
 * raw keys): create a task, poll `queued → processing → completed | failed` with a progress
 * percentage, then `/content` returns JSON with a CDN `url`, the duration and the resolution.
 * Charged only when a task completes.
 *
 * Frame-to-video (`-fl`) takes one image (first frame) or two (first and last frame) as
 * multipart/form-data with one or two `input_reference` files, on both hosts (apiyi's documented form,
 * and the only one laozhang's published async examples use: "image URLs are not supported").
 * A JSON `input_reference` (one image URL or an array of two) is refused by apiyi; laozhang's `-fl`
 * models take it without an error and ignore it, so the video is made, and charged, without the frame
 * (logged in the request's `ignored`). Its page's "Supports URL" names no field: this is the silent
 * failure its examples warn of, and the reason reelay never sends frames that way.
 *
 * A completed status carries no link: the page's status table lists none and sends it from
 * `/content`. (laozhang's examples read `video_url` / `url` from the status answer, and reelay accepts
 * them there, tested with scripted answers; the simulator keeps the page's shape so that `/content`
 * and its faults stay exercised.)
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import * as Schema from "effect/Schema"
import * as Directive from "./Directive.js"
import type { Exchange } from "./Http.js"
import * as Http from "./Http.js"
import * as Images from "./Images.js"
import type { Account } from "./Ledger.js"
import type { Model } from "./Models.js"
import * as Pipeline from "./Pipeline.js"
import type * as RequestLog from "./RequestLog.js"
import type { Task } from "./Tasks.js"
import * as Tasks from "./Tasks.js"

/** Longest prompt accepted, in characters. */
export const maxPromptLength = 5000

/** The JSON create body (unknown fields are ignored, as the vendors do). */
export const CreateJson = Schema.Struct({
  model: Schema.String,
  prompt: Schema.optional(Schema.Unknown),
  input_reference: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String)))
})

/** The create response. */
export interface Created {
  readonly id: string
  readonly object: "video"
  readonly created: number
  readonly status: "queued"
  readonly model: string
}

const seconds = (ms: number) => Math.floor(ms / 1000)

/** The frame size of a veo-3.1 family model: 720x1280 portrait, 1280x720 landscape. */
export const sizeOf = (model: Model): string => (model.orientation === "landscape" ? "1280x720" : "720x1280")

/** Checks a prompt; returns its directives, or answers `invalid_prompt` and returns `undefined`. */
export const readPrompt = (x: Exchange, prompt: unknown): ReadonlyArray<Directive.Directive> | undefined => {
  if (typeof prompt !== "string" || prompt.trim() === "") {
    Http.sendError(x, "invalid_prompt", "prompt is required and must be a non-empty string")
    return undefined
  }
  if (prompt.length > maxPromptLength) {
    Http.sendError(x, "invalid_prompt", `prompt is longer than ${maxPromptLength} characters`)
    return undefined
  }
  const parsed = Directive.parsePrompt(prompt)
  if (parsed.errors.length > 0) {
    Http.sendError(x, "invalid_prompt", parsed.errors.join("; "))
    return undefined
  }
  return parsed.directives
}

/** Counts and checks the input images; answers 400 and returns `undefined` when they are refused. */
const readImages = (x: Exchange, body: Http.Body, model: Model): number | undefined => {
  let count = 0
  let ignored = 0
  if (body._tag === "Multipart") {
    for (const entry of body.form.getAll("input_reference")) {
      if (typeof entry === "string") {
        Http.sendError(x, "invalid_request", "input_reference must be an uploaded image file")
        return undefined
      }
      count++
    }
  } else if (body._tag === "Json") {
    const refs = (body.value as { input_reference?: string | ReadonlyArray<string> }).input_reference
    const urls = refs === undefined ? [] : typeof refs === "string" ? [refs] : refs
    if (urls.length > 0 && x.host === "apiyi") {
      Http.sendError(
        x,
        "invalid_request",
        "Frame-to-video requests must be multipart/form-data with input_reference image files"
      )
      return undefined
    }
    for (const url of urls) {
      const problem = Images.checkUrl("input_reference", url)
      if (problem !== undefined) {
        Http.sendError(x, "invalid_request", problem)
        return undefined
      }
    }
    // laozhang's frame models accept the field and drop it: no error, no frame (see the module doc).
    if (x.host === "laozhang" && model.frames) ignored = urls.length
    else count = urls.length
  }
  const given = count + ignored
  if (given > 0 && !model.frames) {
    const suggestion = `${model.id}-fl`.replace("-fl-fl", "-fl")
    Http.sendError(
      x,
      "invalid_model",
      `Model ${model.id} does not accept input_reference images; use a frame-to-video model such as ${suggestion}`
    )
    return undefined
  }
  if (model.frames && given === 0) {
    Http.sendError(
      x,
      "invalid_request",
      `Model ${model.id} needs one or two input_reference images (first frame, or first and last frame)`
    )
    return undefined
  }
  if (given > 2) {
    Http.sendError(x, "invalid_request", "At most two input_reference images: the first and the last frame")
    return undefined
  }
  if (ignored > 0) x.record.ignored = ["input_reference"]
  return count
}

/** Checks the uploaded files' bytes (an async read, so separate from counting), logging what arrived. */
const checkFiles = async (x: Exchange, body: Http.Body): Promise<boolean> => {
  if (body._tag !== "Multipart") return true
  const uploads: Array<RequestLog.Upload> = []
  for (const entry of body.form.getAll("input_reference")) {
    if (typeof entry === "string") continue
    const bytes = new Uint8Array(await entry.arrayBuffer())
    uploads.push({
      field: "input_reference",
      fileName: entry.name,
      contentType: entry.type,
      bytes: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex")
    })
    x.record.uploads = uploads
    const problem = Images.checkFile("input_reference", bytes)
    if (problem !== undefined) {
      Http.sendError(x, "invalid_request", problem)
      return false
    }
  }
  return true
}

/** `POST /v1/videos` for a veo-3.1 family model. */
export const create = async (x: Exchange, account: Account, body: Http.Body, model: Model): Promise<void> => {
  let prompt: unknown
  if (body._tag === "Json") {
    const decoded = Schema.decodeUnknownEither(CreateJson)(body.value)
    if (decoded._tag === "Left") {
      Http.sendError(x, "invalid_request", "input_reference must be an image URL or an array of image URLs")
      return
    }
    prompt = decoded.right.prompt
  } else if (body._tag === "Multipart") {
    prompt = body.form.get("prompt") ?? undefined
  } else {
    Http.sendError(
      x,
      "invalid_request",
      "Content-Type must be application/json (or multipart/form-data for -fl models)"
    )
    return
  }
  const directives = readPrompt(x, prompt)
  if (directives === undefined) return
  const text = prompt as string
  const faults = Pipeline.collect(x, directives, Pipeline.identity(x, account, model.id, text), model)
  if (await Pipeline.transient(x, faults.now, "create")) return
  const images = readImages(x, body, model)
  if (images === undefined || !(await checkFiles(x, body))) return
  if (Pipeline.refuseByPolicy(x, faults.now)) return
  if (Pipeline.replayIdempotent(x, account)) return
  if (Pipeline.refuseUnfunded(x, account, model, faults.now)) return
  const task = Pipeline.createTask(x, {
    model,
    account,
    prompt: text,
    idPrefix: "video_",
    cdnFolder: "flow",
    size: sizeOf(model),
    seconds: 8,
    images,
    shape: Pipeline.shape(x, faults.task, false),
    later: faults.later
  })
  const created: Created = {
    id: task.id,
    object: "video",
    created: seconds(task.timeline.createdAt),
    status: "queued",
    model: model.id
  }
  task.createResponse = created
  Pipeline.rememberIdempotent(x, account, task)
  Pipeline.answerCreated(x, faults.now, created)
}

/** The status object of `GET /v1/videos/{id}`. */
export const statusView = (task: Task, now: number): Record<string, unknown> => {
  const phase = Tasks.phase(task, now)
  const status = phase.status === "running" ? "processing" : phase.status
  return {
    id: task.id,
    object: "video",
    model: task.model.id,
    status,
    progress: phase.progress,
    prompt: task.prompt,
    created: seconds(task.timeline.createdAt),
    ...(phase.status === "completed" ? { completed_at: seconds(phase.at) } : {}),
    ...(phase.status === "failed"
      ? { failed_at: seconds(phase.at), error: { code: phase.code, message: phase.message } }
      : {})
  }
}

/** `GET /v1/videos/{id}/content`: JSON with the CDN URL once completed; `video_not_ready` before. */
export const content = (x: Exchange, task: Task, now: number): void => {
  const phase = Tasks.phase(task, now)
  if (phase.status !== "completed") {
    const message =
      phase.status === "failed"
        ? `Video generation failed (${phase.code}): there is no video for this task`
        : `Video is not ready yet (status: ${phase.status === "running" ? "processing" : phase.status}, progress: ${phase.progress}%)`
    Http.sendError(x, "video_not_ready", message)
    return
  }
  Http.sendJson(x, 200, {
    id: task.id,
    object: "video",
    created: seconds(task.timeline.createdAt),
    status: "completed",
    model: task.model.id,
    prompt: task.prompt,
    url: `${x.state.urls.cdn}${task.cdnPath}`,
    duration: task.seconds,
    resolution: task.size
  })
}
