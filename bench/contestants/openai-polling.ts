/**
 * The `openai` npm package's `videos` client against the simulator's laozhang host: for every item
 * at once (the SDK has no concurrency control), `videos.create`, then `videos.retrieve` until the
 * task ends, then `videos.downloadContent`.
 *
 * The SDK (6.x and 7.x alike) has no polling helper for videos; its helpers for other resources
 * (`src/lib/polling.ts`, vector-store files, runs) wait `openai-poll-after-ms` when the server sends
 * it and 5000 ms otherwise. That convention is used here: `settings.pollIntervalMs` is the SDK's
 * 5000 ms, either scaled by the simulator's time scale or left as is (both are run).
 *
 * Where laozhang's wire is not OpenAI's (the SDK is pointed at `/laozhang/v1` unchanged):
 * - laozhang says `processing` where OpenAI says `in_progress`: anything not `completed` or `failed`
 *   is taken as still running (a loop on `queued | in_progress` only would stop at once);
 * - `/content` answers JSON with a CDN `url` for these models, not the bytes: `downloadContent`'s
 *   `Response` is read as JSON, and the URL downloaded with `fetch`, streamed to the file.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import OpenAI from "openai"
import { Agent, setGlobalDispatcher } from "undici"
import { begin, errorText, input, report, workload } from "./common.js"

const { urls, apiKey, outDir, settings, workload: file } = input()
const items = workload(file)
const defaultInterval = typeof settings.pollIntervalMs === "number" ? settings.pollIntervalMs : 5000
// `settings.connections`: at most that many sockets per origin for Node's fetch, which the SDK and the
// CDN downloads use (an undici Agent as the global dispatcher). Default: no limit (the SDK's default).
if (typeof settings.connections === "number") setGlobalDispatcher(new Agent({ connections: settings.connections }))
const client = new OpenAI({ apiKey, baseURL: urls.laozhang })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const generate = async (key: string, model: string, prompt: string): Promise<void> => {
  let video = await client.videos.create({ model, prompt })
  while (video.status !== "completed" && video.status !== "failed") {
    // The SDK's polling convention: the server's `openai-poll-after-ms`, else the default interval.
    const { data, response } = await client.videos.retrieve(video.id).withResponse()
    video = data
    if (video.status === "completed" || video.status === "failed") break
    const hinted = Number(response.headers.get("openai-poll-after-ms"))
    await sleep(Number.isFinite(hinted) && hinted > 0 ? hinted : defaultInterval)
  }
  if (video.status === "failed") throw new Error(`generation failed: ${video.error?.message ?? "unknown"}`)
  const content = await client.videos.downloadContent(video.id)
  const { url } = (await content.json()) as { url: string }
  const response = await fetch(url)
  if (!response.ok) throw new Error(`HTTP ${response.status} downloading ${key}`)
  await pipeline(
    Readable.fromWeb(response.body! as never),
    NodeFs.createWriteStream(NodePath.join(outDir, `${key}.mp4`))
  )
}

const main = async () => {
  NodeFs.mkdirSync(outDir, { recursive: true })
  const startedAt = begin()
  let saved = 0
  let failed = 0
  let firstError: string | undefined
  await Promise.all(
    items.map((item) =>
      generate(item.key, item.model, item.prompt).then(
        () => {
          saved++
        },
        (error) => {
          failed++
          firstError ??= errorText(error)
        }
      )
    )
  )
  report({ startedAt, endedAt: Date.now(), saved, failed, firstError })
}

void main()
