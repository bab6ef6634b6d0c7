/**
 * The dialects of the `/v1/videos` protocol. Every reseller that speaks it does the same three
 * steps (create, poll, fetch) but spells a few things its own way; these options name those
 * differences so one implementation serves them all.
 *
 * | option | values | who |
 * | --- | --- | --- |
 * | `auth` | `bearer` (`Authorization: Bearer <key>`), `raw` (`Authorization: <key>`) | laozhang / apiyi |
 * | `createEncoding` | `json`, `multipart`, `json-or-multipart` (multipart only to upload image files) | laozhang async / official forward / apiyi |
 * | `urlImages` | `send` (the URL itself, JSON `input_reference`), `upload` (reelay fetches it and uploads the bytes) | default / laozhang async |
 * | `idField` | `id`, `task_id` | which create-answer field names the task |
 * | `runningStatus` | `processing`, `in_progress` | the word for "generating" |
 * | `content` | `url` (JSON with a `url`), `bytes` (the MP4 itself) | what `/videos/{id}/content` returns |
 * | `statusPath` | `videos` (`/videos/{id}`), `video-generations` (`/video/generations/{id}`) | the compatibility path |
 * | `parameters` | `seconds`, `duration`, `size`, `resolution`, `aspectRatio`, `negativePrompt`, `seed` | create fields beyond `model` and `prompt` |
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** How the API key travels. */
export const AuthStyle = Schema.Literal("bearer", "raw")
export type AuthStyle = typeof AuthStyle.Type

/**
 * An HTTP header name (RFC 9110 `token`): letters, digits and ``!#$%&'*+-.^_`|~``. Anything else
 * (a space, a colon, a line break) cannot be sent, and is refused when the configuration is read,
 * not found by the first create, where a failure is an uncertain submission.
 */
export const HeaderName = Schema.String.pipe(
  Schema.pattern(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, {
    message: (issue) =>
      `an HTTP header name: letters, digits and !#$%&'*+-.^_\`|~ (no spaces, colons or line breaks), got ${JSON.stringify(issue.actual)}`
  })
)

/** The API key's header: `style` decides the value's form, `header` its name (default `authorization`). */
export class Auth extends Schema.Class<Auth>("Auth")(
  Schema.Struct({
    style: AuthStyle,
    /** Default `authorization`. */
    header: Schema.optional(HeaderName)
  }).annotations({ title: '{ "style": "bearer" | "raw", "header": <an HTTP header name> }' })
) {}

/**
 * How the create body is encoded:
 * - `json`: always JSON; images travel as URLs (`input_reference`).
 * - `multipart`: always `multipart/form-data`; images travel as uploaded `input_reference` files.
 * - `json-or-multipart`: JSON, except when an image must be uploaded (bytes), then multipart.
 */
export const CreateEncoding = Schema.Literal("json", "multipart", "json-or-multipart")
export type CreateEncoding = typeof CreateEncoding.Type

/**
 * How an image given by URL travels:
 * - `send`: as the URL itself (JSON `input_reference`); the vendor fetches it.
 * - `upload`: reelay fetches it (see `ImageFetch`) before anything billable is sent, and uploads the
 *   bytes as a multipart `input_reference` file, like a local file. For a vendor that takes frames
 *   only as uploads and ignores a URL without an error: the video would be made, and charged,
 *   without the frame.
 */
export const UrlImages = Schema.Literal("send", "upload")
export type UrlImages = typeof UrlImages.Type

/** Which field of the create answer names the task. The other one is read when it is missing. */
export const IdField = Schema.Literal("id", "task_id")
export type IdField = typeof IdField.Type

/** The status word for "generating": the async resellers say `processing`, OpenAI's own API `in_progress`. */
export const RunningStatus = Schema.Literal("processing", "in_progress")
export type RunningStatus = typeof RunningStatus.Type

/** What `GET /videos/{id}/content` returns: JSON carrying a (CDN) `url`, or the video bytes. */
export const ContentStyle = Schema.Literal("url", "bytes")
export type ContentStyle = typeof ContentStyle.Type

/** Where a task's status is read: `/videos/{id}`, or the compatibility path `/video/generations/{id}`. */
export const StatusPath = Schema.Literal("videos", "video-generations")
export type StatusPath = typeof StatusPath.Type

/**
 * Request fields a create may carry besides `model`, `prompt` and the images, named as the wire
 * names them. Each is sent with the value the engine validated (the model's default when the
 * request left it out), except `negativePrompt` and `seed`, which are sent only when given.
 */
export const Parameter = Schema.Literal(
  "seconds",
  "duration",
  "size",
  "resolution",
  "aspectRatio",
  "negativePrompt",
  "seed"
)
export type Parameter = typeof Parameter.Type

/**
 * One dialect of the protocol. Every field has a default: the async dialect apiyi speaks (`asyncDialect`).
 * A dialect that uploads URL images needs an encoding that can carry files.
 */
export class WireOptions extends Schema.Class<WireOptions>("WireOptions")(
  Schema.Struct({
    createEncoding: Schema.optionalWith(CreateEncoding, { default: () => "json-or-multipart" as const }),
    urlImages: Schema.optionalWith(UrlImages, { default: () => "send" as const }),
    idField: Schema.optionalWith(IdField, { default: () => "id" as const }),
    runningStatus: Schema.optionalWith(RunningStatus, { default: () => "processing" as const }),
    content: Schema.optionalWith(ContentStyle, { default: () => "url" as const }),
    statusPath: Schema.optionalWith(StatusPath, { default: () => "videos" as const }),
    parameters: Schema.optionalWith(Schema.Array(Parameter), { default: () => [] })
  }).pipe(
    Schema.filter((options) =>
      options.urlImages === "upload" && options.createEncoding === "json"
        ? 'urlImages "upload" sends images as multipart files, which createEncoding "json" cannot carry'
        : true
    )
  )
) {}

/**
 * The async dialect apiyi and laozhang share: JSON (multipart to upload frames), `id`, `processing`, a
 * CDN `url`. laozhang's is this with `urlImages: "upload"`.
 */
export const asyncDialect: WireOptions = new WireOptions({})

/** The longest task id used in a path; real ones are a few dozen characters. */
export const maxTaskIdLength = 512

/**
 * Whether a task id (from the vendor's answer, or a journal) can name a task in a URL path. Every
 * character is percent-encoded where needed, but `.` and `..` are dot segments that URL parsing
 * resolves (`/v1/videos/..` is `/v1/`), so no encoding makes them stay inside `/videos/`: a vendor
 * answering such an id (or an empty or huge one) is not followed anywhere.
 */
export const isUsableTaskId = (taskId: string): boolean =>
  taskId.length > 0 && taskId.length <= maxTaskIdLength && taskId !== "." && taskId !== ".."

/** The path of a task's status, relative to the base URL (check `isUsableTaskId` first). */
export const statusPathOf = (options: WireOptions, taskId: string): string =>
  options.statusPath === "video-generations"
    ? `/video/generations/${encodeURIComponent(taskId)}`
    : `/videos/${encodeURIComponent(taskId)}`

/** The path of a task's content, relative to the base URL (check `isUsableTaskId` first). */
export const contentPathOf = (taskId: string): string => `/videos/${encodeURIComponent(taskId)}/content`
