/**
 * The reference pages' own algorithm, ported faithfully from laozhang's Python example to Node:
 * `batch_generate_videos` (a pool of 5 workers that first creates every task, then waits for each
 * in creation-completion order) with `wait_for_video` (status at once, then every 5 s, 600 s
 * timeout) followed, in the same worker, by the complete workflow's `get_video_content` and
 * `download_video` (the body streamed to a file). Both durations are scaled by the simulator's time
 * scale. Errors end the task (`raise_for_status`), as in the sample; nothing is retried.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { begin, errorText, input, pool, report, workload } from "./common.js"

const { urls, apiKey, outDir, timeScale, settings, workload: file } = input()
const items = workload(file)
const workers = typeof settings.workers === "number" ? settings.workers : 5
const pollInterval = 5000 * timeScale
const timeout = 600_000 * timeScale
const base = urls.laozhang
const auth = { Authorization: `Bearer ${apiKey}` }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const raiseForStatus = (response: Response) => {
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${response.url}`)
}

const createVideoTask = async (prompt: string, model: string): Promise<{ id: string }> => {
  const response = await fetch(`${base}/videos`, {
    method: "POST",
    headers: { ...auth, "Content-Type": "application/json" },
    body: JSON.stringify({ model, prompt })
  })
  raiseForStatus(response)
  return (await response.json()) as { id: string }
}

const waitForVideo = async (videoId: string): Promise<unknown> => {
  const startTime = Date.now()
  while (true) {
    if (Date.now() - startTime > timeout) throw new Error(`Video generation timeout (${timeout / 1000}s)`)
    const response = await fetch(`${base}/videos/${videoId}`, { headers: auth })
    raiseForStatus(response)
    const task = (await response.json()) as { status: string }
    if (task.status === "completed") return task
    if (task.status === "failed") throw new Error("Generation failed")
    await sleep(pollInterval)
  }
}

const getVideoContent = async (videoId: string): Promise<{ url: string }> => {
  const response = await fetch(`${base}/videos/${videoId}/content`, { headers: auth })
  raiseForStatus(response)
  return (await response.json()) as { url: string }
}

const downloadVideo = async (videoUrl: string, savePath: string): Promise<void> => {
  const response = await fetch(videoUrl)
  raiseForStatus(response)
  await pipeline(Readable.fromWeb(response.body! as never), NodeFs.createWriteStream(savePath))
}

const main = async () => {
  NodeFs.mkdirSync(outDir, { recursive: true })
  const startedAt = begin()
  let saved = 0
  let failed = 0
  let firstError: string | undefined
  const fail = (error: unknown) => {
    failed++
    firstError ??= errorText(error)
  }
  // Step 1 of batch_generate_videos: create every task through the pool, ids in completion order.
  const created: Array<{ id: string; key: string }> = []
  await pool(items, workers, async (item) => {
    try {
      created.push({ id: (await createVideoTask(item.prompt, item.model)).id, key: item.key })
    } catch (error) {
      fail(error)
    }
  })
  // Step 2: the same pool waits for each task, then (the complete workflow) fetches and saves it.
  await pool(created, workers, async ({ id, key }) => {
    try {
      await waitForVideo(id)
      const content = await getVideoContent(id)
      await downloadVideo(content.url, NodePath.join(outDir, `${key}.mp4`))
      saved++
    } catch (error) {
      fail(error)
    }
  })
  report({ startedAt, endedAt: Date.now(), saved, failed, firstError })
}

void main()
