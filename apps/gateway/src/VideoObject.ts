/**
 * A gateway video as OpenAI's video object: its status and progress from the journal's item (the
 * engine's record of the job), its cost from the journal's charges. Pure: the journal is read by the
 * caller.
 *
 * @since 0.3.0
 */
import * as Money from "@reelay/core/Money"
import * as Polling from "@reelay/core/Polling"
import type { Journal, Videos } from "@reelay/journal"
import * as BigDecimal from "effect/BigDecimal"
import type * as Api from "./Api.js"

/** Where the engine's job stands, in OpenAI's four words. No job recorded yet: `queued`. */
export const statusOf = (item: Journal.Item | undefined): Api.VideoStatus => {
  switch (item?.state) {
    case undefined:
    case "planned":
    case "submitting":
      return "queued"
    case "submitted":
    case "running":
    case "succeeded":
    case "duplicate":
      return "in_progress"
    case "downloaded":
      return "completed"
    case "failed":
    case "uncertain":
    case "expired":
      return "failed"
  }
}

/** `UncertainSubmission` → `uncertain_submission`: an error's tag as an OpenAI error code. */
export const codeOf = (tag: string): string => tag.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()

const seconds = (date: Date) => Math.floor(date.getTime() / 1000)

/** The error of a failed video: the engine's, or for an uncertain create, what that means for the caller. */
const errorOf = (item: Journal.Item | undefined): Api.Video["error"] => {
  if (item === undefined) return null
  if (item.error !== undefined) return { code: codeOf(item.error._tag), message: item.error.message }
  if (item.state === "uncertain") {
    return {
      code: "uncertain_submission",
      message:
        "the create may have reached the provider and its answer was lost; the gateway does not create it again (that could bill twice)"
    }
  }
  if (item.state === "expired")
    return { code: "task_expired", message: "the video expired at the provider before it was fetched" }
  return null
}

/** The video object of `video`, whose job is `item` (if recorded yet) and whose charges sum to `costs`. */
export const make = (
  video: Videos.Video,
  item: Journal.Item | undefined,
  costs: { readonly charged: Money.Usd; readonly unknown: Money.Usd }
): Api.Video => {
  const status = statusOf(item)
  const request = video.request
  const probe = item?.video?.probe
  const firstRoute = request.routes?.[0]
  const model = item?.model ?? request.model ?? firstRoute?.model ?? ""
  const spent = Money.sum([costs.charged, costs.unknown])
  return {
    id: video.id,
    object: "video",
    status,
    progress:
      status === "completed" ? 100 : status === "in_progress" ? Math.min(99, Math.max(0, item?.progress ?? 0)) : 0,
    model,
    seconds:
      probe !== undefined
        ? String(Math.round(probe.durationSeconds))
        : request.seconds !== undefined
          ? String(request.seconds)
          : "",
    size: probe !== undefined ? `${probe.width}x${probe.height}` : (request.size ?? ""),
    prompt: request.prompt,
    created_at: seconds(video.createdAt),
    completed_at: status === "completed" || status === "failed" ? seconds(item!.updatedAt) : null,
    expires_at: null,
    error: status === "failed" ? errorOf(item) : null,
    remixed_from_video_id: null,
    cost: BigDecimal.format(BigDecimal.normalize(spent)),
    billing: item?.billing ?? (BigDecimal.isZero(costs.unknown) ? null : "unknown"),
    provider: item?.provider ?? null,
    route:
      item?.provider !== undefined && item.model !== undefined ? { provider: item.provider, model: item.model } : null,
    sha256: status === "completed" ? (item?.sha256 ?? null) : null
  }
}

/**
 * When a client polling a video is best answered again (`openai-poll-after-ms`): the engine's own
 * polling plan for the job, from the model's typical time and the progress seen so far.
 */
export const pollAfterMillis = (
  video: Videos.Video,
  item: Journal.Item | undefined,
  typicalSeconds: number | undefined,
  options: Polling.PollingOptions,
  now: number
): number => {
  const time = { typicalSeconds: typicalSeconds ?? 60, minSeconds: 1, maxSeconds: typicalSeconds ?? 60 }
  const readings =
    item?.progress !== undefined && item.progress > 0 ? [{ at: item.updatedAt.getTime(), progress: item.progress }] : []
  const planned = Polling.plan({ time, submittedAt: video.createdAt.getTime(), now, readings }, options)
  return Math.max(1, Math.round(planned.delayMillis))
}
