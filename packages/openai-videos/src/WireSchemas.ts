/**
 * The bodies of the `/v1/videos` protocol, as the reference pages show them. Decoding is lenient
 * where the pages are loose (unknown fields are ignored, `progress` may be a number or `"36%"`), and
 * strict where reelay depends on a field (a task id, a status, a download URL).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** A vendor's explanation, `{ code, message, type }`; every part optional, `null` read as absent. */
export const ErrorDetail = Schema.Struct({
  code: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Number))),
  message: Schema.optional(Schema.NullOr(Schema.String)),
  type: Schema.optional(Schema.NullOr(Schema.String))
})
export type ErrorDetail = typeof ErrorDetail.Type

/** The documented error body: `{"error":{"code","message","type"}}` (a bare string is accepted too). */
export const ErrorBody = Schema.Struct({
  error: Schema.Union(ErrorDetail, Schema.String)
})
export type ErrorBody = typeof ErrorBody.Type

/** The answer to `POST /videos`: a task object. Which id field counts is a protocol option. */
export const CreatedTask = Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.String)),
  task_id: Schema.optional(Schema.NullOr(Schema.String)),
  status: Schema.optional(Schema.NullOr(Schema.String)),
  model: Schema.optional(Schema.NullOr(Schema.String))
})
export type CreatedTask = typeof CreatedTask.Type

/** `progress` as sent: a number (`36`), or a string (`"36"`, `"36%"`). */
export const Progress = Schema.Union(Schema.Number, Schema.String)

/**
 * The answer to `GET /videos/{id}` (or the compatibility path): the task's state. A completed task's
 * answer may carry the video's link: laozhang's published async examples read it from `video_url`,
 * else `url` (their recorded answer has both); the reference pages show none and send the link from
 * `/content`. Read leniently: a link that is not an http(s) URL is ignored, and `/content` asked.
 */
export const TaskObject = Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.String)),
  task_id: Schema.optional(Schema.NullOr(Schema.String)),
  status: Schema.String,
  progress: Schema.optional(Schema.NullOr(Progress)),
  error: Schema.optional(Schema.NullOr(Schema.Union(ErrorDetail, Schema.String))),
  video_url: Schema.optional(Schema.NullOr(Schema.String)),
  url: Schema.optional(Schema.NullOr(Schema.String)),
  /** Seconds since the epoch, when the vendor says when the link dies. */
  expires_at: Schema.optional(Schema.NullOr(Schema.Number))
})
export type TaskObject = typeof TaskObject.Type

/** An absolute http(s) URL. */
export const HttpUrl = Schema.String.pipe(
  Schema.filter((url) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol), {
    message: () => "an absolute http(s) URL"
  })
)

/** The JSON answer to `GET /videos/{id}/content` (the `url` content style). */
export const ContentObject = Schema.Struct({
  url: HttpUrl,
  /** Seconds since the epoch, when the vendor says when the link dies. */
  expires_at: Schema.optional(Schema.NullOr(Schema.Number)),
  duration: Schema.optional(Schema.NullOr(Schema.Union(Schema.Number, Schema.String))),
  resolution: Schema.optional(Schema.NullOr(Schema.String))
})
export type ContentObject = typeof ContentObject.Type

/** The task id of a create answer: the preferred field, else the other one. */
export const taskIdOf = (created: CreatedTask, preferred: "id" | "task_id"): string | undefined => {
  const first = preferred === "id" ? created.id : created.task_id
  const second = preferred === "id" ? created.task_id : created.id
  const id = first ?? second
  return typeof id === "string" && id.trim() !== "" ? id.trim() : undefined
}

const isHttpUrl = Schema.is(HttpUrl)

/** The video link a status answer carries: `video_url`, else `url`, when it is an absolute http(s) URL. */
export const videoLinkOf = (task: TaskObject): string | undefined =>
  [task.video_url, task.url].find((link): link is string => typeof link === "string" && isHttpUrl(link.trim()))?.trim()

/** A progress percentage in [0, 100], or `undefined` when the value is not a number. */
export const percentOf = (progress: typeof Progress.Type | null | undefined): number | undefined => {
  if (progress === undefined || progress === null) return undefined
  const value = typeof progress === "number" ? progress : Number(progress.trim().replace(/%$/, ""))
  if (typeof progress === "string" && progress.trim() === "") return undefined
  return Number.isFinite(value) ? Math.min(100, Math.max(0, value)) : undefined
}

/** The code and message of an error detail, whatever its shape. */
export const detailOf = (
  error: ErrorDetail | string | null | undefined
): { readonly code: string | undefined; readonly message: string | undefined; readonly type: string | undefined } => {
  if (error === undefined || error === null) return { code: undefined, message: undefined, type: undefined }
  if (typeof error === "string") return { code: undefined, message: error, type: undefined }
  const nonEmpty = (value: string | number | null | undefined) =>
    value === undefined || value === null || String(value).trim() === "" ? undefined : String(value).trim()
  return { code: nonEmpty(error.code), message: nonEmpty(error.message), type: nonEmpty(error.type) }
}
