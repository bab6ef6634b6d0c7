/**
 * The requests about an existing task, shared by every video protocol: `GET /v1/videos/{id}`,
 * `GET /v1/videos/{id}/content` and laozhang's `GET /v1/video/generations/{id}`. The task's protocol
 * decides the shape of the answer; a task is visible only to the key that created it.
 *
 * @since 0.1.0
 */
import * as AsyncVideos from "./AsyncVideos.js"
import type { Exchange } from "./Http.js"
import * as Http from "./Http.js"
import * as OfficialForward from "./OfficialForward.js"
import * as Pipeline from "./Pipeline.js"
import * as Tasks from "./Tasks.js"

const lookup = (x: Exchange, id: string): Tasks.Task | undefined => {
  const account = Pipeline.authorize(x)
  if (account === undefined) return undefined
  const task = x.state.tasks.get(x.host ?? "laozhang", id, x.state.now())
  if (task === undefined || task.model.protocol === "sora" || task.account.fingerprint !== account.fingerprint) {
    Http.sendError(x, "video_not_found", `Video task ${id} not found (it may have expired)`)
    return undefined
  }
  x.record.taskId = task.id
  x.record.model = task.model.id
  return task
}

/** `GET /v1/videos/{id}` (`compat: false`) or `GET /v1/video/generations/{id}` (`compat: true`). */
export const status = async (x: Exchange, id: string, compat: boolean): Promise<void> => {
  const task = lookup(x, id)
  if (task === undefined) return
  const faults = Pipeline.faultsAt(x.state, task, "status")
  if (await Pipeline.transient(x, faults, "status")) return
  const now = x.state.now()
  x.record.phase = Tasks.phase(task, now).status
  const view = compat
    ? OfficialForward.compatView(task, now)
    : task.model.protocol === "official"
      ? OfficialForward.statusView(task, now)
      : AsyncVideos.statusView(task, now)
  const unknown = Pipeline.find(faults, "unknown-status")
  if (unknown !== undefined) {
    Pipeline.noteFault(x, unknown)
    view["status"] = unknown.value ?? "paused"
  }
  const malformed = Pipeline.find(faults, "malformed")
  if (malformed !== undefined) {
    Pipeline.noteFault(x, malformed)
    Http.sendMalformed(x, JSON.stringify(view))
    return
  }
  Http.sendJson(x, 200, view)
}

/** `GET /v1/videos/{id}/content`: JSON with a CDN URL (async) or the MP4 bytes (official). */
export const content = async (x: Exchange, id: string): Promise<void> => {
  const task = lookup(x, id)
  if (task === undefined) return
  const faults = Pipeline.faultsAt(x.state, task, "content")
  if (await Pipeline.transient(x, faults, "content")) return
  const now = x.state.now()
  const malformed = Pipeline.find(faults, "malformed")
  if (malformed !== undefined && task.model.protocol === "async") {
    Pipeline.noteFault(x, malformed)
    Http.sendMalformed(x, JSON.stringify({ id: task.id, object: "video", status: "completed", url: "" }))
    return
  }
  if (task.model.protocol === "official") await OfficialForward.content(x, task, now)
  else AsyncVideos.content(x, task, now)
}
