/**
 * Reads laozhang's Sora answer: a chat completion streamed as SSE chunks whose text carries the
 * generation's story in Markdown (reference page, "Streaming Output Format"):
 *
 * ```
 * ```json {"prompt": "...", "mode": "Vertical Mode"} ```      the prompt echoed (ignored)
 * > ⌛️ Task is in queue, please wait patiently...            → Queued
 * > 🏃 Progress: 36.0%                                        → Progress { percent: 36 }
 * > ✅ Video generated successfully, [Click here](URL) ...     → Completed { asset: URL }
 * ```
 *
 * then a chunk with `finish_reason: "stop"` and `data: [DONE]`. A failed generation is still an
 * HTTP 200 whose text says so and carries no link: that text becomes the error's `vendorMessage`.
 *
 * The reader keeps only what it needs (the current line, a few recent lines, counters), never the
 * whole answer, so memory stays bounded however long the stream runs.
 *
 * @since 0.1.0
 */
import { UrlAsset } from "@reelay/core/AssetSource"
import * as Sanitize from "@reelay/core/Sanitize"
import {
  ContentRejected,
  GenerationFailed,
  MalformedResponse,
  ProviderUnavailable,
  type VideoError
} from "@reelay/core/VideoError"
import type { ProviderEvent } from "@reelay/core/VideoProvider"
import * as Either from "effect/Either"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/** An error object as OpenAI-compatible gateways send it, in a body or inside a stream. */
export const VendorError = Schema.Struct({
  message: Schema.optional(Schema.NullOr(Schema.String)),
  code: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Number))),
  type: Schema.optional(Schema.NullOr(Schema.String))
})
export type VendorError = typeof VendorError.Type

/** `{"error": {...}}`, `{"error": "..."}` or a bare `{"message": ...}`. */
export const ErrorBody = Schema.Struct({
  error: Schema.optional(Schema.Union(VendorError, Schema.String)),
  message: Schema.optional(Schema.NullOr(Schema.String)),
  code: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Number)))
})
export type ErrorBody = typeof ErrorBody.Type

const Message = Schema.Struct({
  role: Schema.optional(Schema.NullOr(Schema.String)),
  content: Schema.optional(Schema.NullOr(Schema.String))
})

const Choice = Schema.Struct({
  index: Schema.optional(Schema.Number),
  /** Streamed answers. */
  delta: Schema.optional(Schema.NullOr(Message)),
  /** A whole answer (`stream: false`, or a gateway that ignored `stream: true`). */
  message: Schema.optional(Schema.NullOr(Message)),
  finish_reason: Schema.optional(Schema.NullOr(Schema.String))
})

/** One `chat.completion.chunk` (or a whole `chat.completion`). Unknown fields are ignored. */
export const ChatChunk = Schema.Struct({
  id: Schema.optional(Schema.String),
  object: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  choices: Schema.optional(Schema.Array(Choice)),
  error: Schema.optional(Schema.Union(VendorError, Schema.String))
})
export type ChatChunk = typeof ChatChunk.Type

const decodeChunk = Schema.decodeUnknownEither(Schema.parseJson(ChatChunk))

/** The vendor's code and message from an error object, whatever its shape. */
export const vendorError = (
  error: VendorError | string | undefined,
  fallback?: { readonly message?: string | null | undefined; readonly code?: string | number | null | undefined }
): { readonly code: string | undefined; readonly message: string | undefined } => {
  if (typeof error === "string") return { code: undefined, message: error }
  const code = error?.code ?? fallback?.code
  return {
    code: code === null || code === undefined ? undefined : String(code),
    message: error?.message ?? fallback?.message ?? undefined
  }
}

/** Words that mark a refusal under the content policy, in a vendor code or message. */
export const contentPolicyPattern =
  /content[_ ]?(policy|filter|safety|moderation)|safety system|moderation|violat|sensitive|prohibited|inappropriate/i

const failurePattern = /❌|\bfail(ed|ure|s)?\b|\berror\b|\brejected\b|\brefused\b|violat/i
const successPattern = /✅|success|generated|completed|done/i
const progressPattern = /progress/i
const percentPattern = /(\d{1,3}(?:\.\d+)?)\s*%/
const queuePattern = /\bqueue[ds]?\b|waiting|排队/i
const markdownLinkPattern = /\[[^\]]*\]\(\s*<?(https?:\/\/[^\s)>]+)>?\s*\)/gi
const videoUrlPattern = /https?:\/\/[^\s)\]"'<>]+?\.(?:mp4|mov|webm|m4v)(?:\?[^\s)\]"'<>]*)?(?=[\s)\]"'<>]|$)/i
const videoPathPattern = /\.(mp4|mov|webm|m4v)$/i
const codePattern = /\(([a-z][a-z0-9_]{2,})\)/gi

const isVideoPath = (url: string): boolean => {
  try {
    return videoPathPattern.test(new URL(url).pathname)
  } catch {
    return false
  }
}

/**
 * The video link in one line of the answer, if any: a Markdown link on a success line or to a video
 * file, else a bare URL of a video file. Links on failure lines are never videos.
 */
export const linkIn = (line: string): string | undefined => {
  if (failurePattern.test(line)) return undefined
  const success = successPattern.test(line)
  for (const match of line.matchAll(markdownLinkPattern)) {
    const url = match[1]
    if (url !== undefined && URL.canParse(url) && (success || isVideoPath(url))) return url
  }
  const bare = videoUrlPattern.exec(line)?.[0]
  return bare !== undefined && URL.canParse(bare) ? bare : undefined
}

/** The vendor's code in a failure line, such as `content_policy_violation` in `... (content_policy_violation)`. */
export const codeIn = (line: string): string | undefined => {
  let code: string | undefined
  for (const match of line.matchAll(codePattern)) code = match[1]
  return code
}

/** A line without its leading quote marker and emoji. */
const clean = (line: string): string =>
  line
    .replace(/^>\s*/, "")
    .replace(/^[^\p{L}\p{N}[(]+/u, "")
    .trim()

const clip = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

/** What reading one piece produced: events to emit, then possibly the error that ends the answer. */
export interface Step {
  readonly events: ReadonlyArray<ProviderEvent>
  readonly error?: VideoError | undefined
}

/** Settings of a reader. */
export interface Options {
  /** The provider id, for errors. */
  readonly provider: string
  /** The task id used when the answer names none (the `id` of the chunks), or one that holds a secret. */
  readonly fallbackTaskId: string
  /** How long the video link stays valid after it arrives. */
  readonly linkTtlMillis: number
  /** The longest line of text, and the most text the answer may carry, in characters. */
  readonly maxLineChars: number
  readonly maxTotalChars: number
  /**
   * Secrets (the API key, and the `Authorization` value built from it) removed in every spelling
   * from anything of the vendor's quoted in an error, which also loses key-like strings and URLs
   * past their origin: errors end up in logs, events and journals.
   */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
}

/** How the byte stream ended, when it ended before a link. */
export type Ending =
  | { readonly _tag: "Clean" }
  | { readonly _tag: "Cut"; readonly detail: string }
  | { readonly _tag: "Malformed"; readonly detail: string }

/** Reads one answer; keeps state between calls. */
export interface Reader {
  /** Reads one SSE event's data (a JSON chunk, or `[DONE]`). `now` dates the link's expiry. */
  readonly data: (data: string, now: number) => Step
  /** Reads a whole `chat.completion` JSON body (a non-streamed answer). */
  readonly whole: (body: string, now: number) => Step
  /** The stream ended without a link: returns the error that explains it (and a pending `Accepted`). */
  readonly end: (ending: Ending, now: number) => Step
  /** The task id, once the answer named one. */
  readonly taskId: () => string | undefined
}

/** A fresh reader: one per answer. */
export const make = (options: Options): Reader => {
  let taskId: string | undefined
  let accepted = false
  let queued = false
  let percent = Number.NEGATIVE_INFINITY
  let finished = false
  let completed = false
  let inFence = false
  let partial = ""
  let total = 0
  let skipped = 0
  let failure: { readonly text: string; readonly code: string | undefined } | undefined
  const recent: Array<string> = []

  const accept = (events: Array<ProviderEvent>, id: string | undefined) => {
    if (accepted) return
    accepted = true
    // The id only names the answer (the link comes in it): one that carries the key is not kept.
    taskId = id === undefined || Sanitize.reveals(id, options.secrets ?? []) ? options.fallbackTaskId : id
    events.push({ _tag: "Accepted", taskId })
  }

  const scrub = (text: string) => Sanitize.scrub(text, options.secrets)

  // Scrubbed before it is clipped: a clip through a quoted key would leave a piece no rule knows.
  const remember = (line: string) => {
    recent.push(clip(scrub(line), 300))
    if (recent.length > 5) recent.shift()
  }

  /** Handles one complete line of the answer's text. */
  const onLine = (raw: string, now: number, events: Array<ProviderEvent>) => {
    const trimmed = raw.trim()
    // The prompt is echoed in a fenced JSON block: what the user wrote must never pass for the vendor's words.
    if (trimmed.startsWith("```")) {
      inFence = !inFence
      return
    }
    if (inFence || trimmed === "" || completed) return
    const quoted = trimmed.startsWith(">")
    if (failurePattern.test(trimmed)) {
      remember(clean(trimmed))
      failure = { text: clip(scrub(clean(trimmed)), 500), code: codeIn(trimmed) }
      return
    }
    const link = linkIn(trimmed)
    if (link !== undefined) {
      completed = true
      events.push({
        _tag: "Completed",
        asset: new UrlAsset({ url: link, expiresAt: new Date(now + options.linkTtlMillis) })
      })
      return
    }
    if (!quoted || !(progressPattern.test(trimmed) || queuePattern.test(trimmed))) remember(clean(trimmed))
    if (!quoted) return
    if (progressPattern.test(trimmed)) {
      const value = Number(percentPattern.exec(trimmed)?.[1])
      if (Number.isFinite(value) && value >= 0 && value <= 100 && value > percent) {
        percent = value
        events.push({ _tag: "Progress", percent: value })
      }
      return
    }
    if (!queued && percent < 0 && queuePattern.test(trimmed)) {
      queued = true
      events.push({ _tag: "Queued" })
    }
  }

  /** Appends text to the answer, handling every line it completes. */
  const onText = (text: string, now: number, events: Array<ProviderEvent>): VideoError | undefined => {
    total += text.length
    if (total > options.maxTotalChars)
      return malformed(`the answer carries more than ${options.maxTotalChars} characters`)
    let start = 0
    for (let index = text.indexOf("\n"); index >= 0; index = text.indexOf("\n", start)) {
      onLine(partial + text.slice(start, index), now, events)
      partial = ""
      start = index + 1
    }
    partial += text.slice(start)
    if (partial.length > options.maxLineChars) {
      return malformed(`a line of the answer is longer than ${options.maxLineChars} characters`)
    }
    return undefined
  }

  const flush = (now: number, events: Array<ProviderEvent>) => {
    if (partial !== "") onLine(partial, now, events)
    partial = ""
  }

  const malformed = (message: string) =>
    new MalformedResponse({
      provider: options.provider,
      ...(taskId === undefined ? {} : { taskId }),
      message: `${options.provider}: ${message}`
    })

  /** The error of an answer that finished without a video: the vendor's own words, scrubbed. */
  const refusal = (vendorCode: string | undefined, text: string | undefined): VideoError => {
    const code = vendorCode === undefined ? undefined : clip(scrub(vendorCode), 100)
    const vendorMessage = text === undefined || text === "" ? undefined : clip(scrub(text), 500)
    const context = {
      provider: options.provider,
      ...(taskId === undefined ? {} : { taskId }),
      ...(code === undefined ? {} : { vendorCode: code })
    }
    if (contentPolicyPattern.test(`${code ?? ""} ${text ?? ""}`)) {
      return new ContentRejected({
        ...context,
        message: `${options.provider} rejected the request under its content policy: ${vendorMessage ?? code}`
      })
    }
    return new GenerationFailed({
      ...context,
      ...(vendorMessage === undefined ? {} : { vendorMessage }),
      message: `${options.provider} answered without a video${vendorMessage === undefined ? "" : `: ${vendorMessage}`}`
    })
  }

  const chunk = (decoded: ChatChunk, now: number, events: Array<ProviderEvent>): VideoError | undefined => {
    accept(events, decoded.id)
    if (decoded.error !== undefined) {
      const { code, message } = vendorError(decoded.error)
      return refusal(code, message ?? code)
    }
    for (const choice of decoded.choices ?? []) {
      const content = choice.delta?.content ?? choice.message?.content
      if (typeof content === "string" && content !== "") {
        const problem = onText(content, now, events)
        if (problem !== undefined) return problem
      }
      if (choice.finish_reason !== undefined && choice.finish_reason !== null) {
        finished = true
        flush(now, events)
      }
    }
    return undefined
  }

  const step = (events: ReadonlyArray<ProviderEvent>, error?: VideoError): Step =>
    error === undefined ? { events } : { events, error }

  return {
    data: (data, now) => {
      const events: Array<ProviderEvent> = []
      if (completed) return step(events)
      if (data.trim() === "[DONE]") {
        finished = true
        flush(now, events)
        return step(events)
      }
      const decoded = decodeChunk(data)
      if (Either.isLeft(decoded)) {
        // One garbled event must not lose a video that is still coming: skip it and read on.
        skipped++
        return step(events)
      }
      return step(events, chunk(decoded.right, now, events))
    },
    whole: (body, now) => {
      const events: Array<ProviderEvent> = []
      const decoded = decodeChunk(body)
      if (Either.isLeft(decoded)) {
        accept(events, undefined)
        return step(
          events,
          malformed(`the answer is not a chat completion: ${Sanitize.excerpt(body, options.secrets, 200)}`)
        )
      }
      const problem = chunk(decoded.right, now, events)
      if (problem !== undefined) return step(events, problem)
      finished = true
      flush(now, events)
      return step(events)
    },
    end: (ending, now) => {
      const events: Array<ProviderEvent> = []
      accept(events, undefined)
      flush(now, events)
      if (completed) return step(events)
      if (ending._tag === "Malformed") return step(events, malformed(ending.detail))
      // The vendor said why: that is the answer it bills, even if the connection then broke.
      if (failure !== undefined) return step(events, refusal(failure.code, failure.text))
      if (finished) {
        const said = recent.join(" / ")
        return step(events, refusal(undefined, said === "" ? undefined : said))
      }
      const unread = skipped === 0 ? "" : `; ${skipped} event(s) could not be read`
      return step(
        events,
        new ProviderUnavailable({
          provider: options.provider,
          ...(taskId === undefined ? {} : { taskId }),
          stage: "exchange",
          message:
            ending._tag === "Cut"
              ? `the stream from ${options.provider} broke before the video link (${ending.detail})${unread}`
              : `the stream from ${options.provider} ended before the video link, without [DONE]${unread}`
        })
      )
    },
    taskId: () => taskId
  }
}
