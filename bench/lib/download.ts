/**
 * The download benchmark: one 1 GiB video (`@sim:pad(bytes=1g)`), fetched by curl, reelay and the
 * `openai` package, each in its own process, in paired rounds (every contestant once per round, the
 * order reversed every other round); min and median reported.
 *
 * Two sources, both in the same simulator process: the CDN link of an async task (what reelay and
 * curl download for laozhang's Veo models, no credentials), and the official forward's `/content`
 * on the API origin (MP4 bytes behind the key, which is what `openai`'s `downloadContent` expects:
 * laozhang's async `/content` answers JSON). Throughput is bytes over the contestant's own transfer
 * time (curl's `time_total`; from just before the request to the file written for the others, so
 * no process start-up is counted); peak RSS is the whole process's.
 */
import { execFileSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { benchDir } from "./bundle.js"
import { log, median, runContestant, type Sim, startSim, timedAsync } from "./proc.js"

export interface DownloadRow {
  readonly id: string
  readonly label: string
  readonly source: "cdn" | "api"
  readonly runs: number
  readonly bytes: number
  /** Median and best transfer time. */
  readonly seconds: number
  readonly minSeconds: number
  /** Median throughput. */
  readonly mibPerSecond: number
  /** Throughput relative to curl on the same source. */
  readonly ratio: number
  readonly peakRssMB: number
  readonly cpuSeconds: number
  /** CPU seconds per GiB received (median over runs): the client's cost, the server's not included. */
  readonly cpuPerGiB: number
}

const apiKey = "sk-bench-download"

const createTasks = async (sim: Sim, size: string) => {
  const prompt = `A 1 GiB benchmark video @sim:pad(bytes=${size}) @sim:timing(queue=0,run=0.01)`
  const auth = { authorization: `Bearer ${apiKey}` }
  const created = (await (
    await fetch(`${sim.urls.laozhang}/videos`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ model: "veo-3.1-fast", prompt })
    })
  ).json()) as { id: string }
  const form = new FormData()
  form.set("model", "veo-3.1-fast-generate-preview")
  form.set("prompt", prompt)
  const official = (await (
    await fetch(`${sim.urls.laozhang}/videos`, { method: "POST", headers: auth, body: form })
  ).json()) as { id: string }
  await new Promise((resolve) => setTimeout(resolve, 100))
  const content = (await (
    await fetch(`${sim.urls.laozhang}/videos/${created.id}/content`, { headers: auth })
  ).json()) as { url: string }
  return { cdnUrl: content.url, officialId: official.id, apiUrl: `${sim.urls.laozhang}/videos/${official.id}/content` }
}

const settle = () => {
  // Each run starts with the previous file's dirty pages written back, so no run pays for another's.
  execFileSync("sync")
}

export const runDownload = async (options: {
  readonly runs: number
  readonly size: string
}): Promise<ReadonlyArray<DownloadRow>> => {
  const work = NodePath.join(benchDir, ".work", "download")
  NodeFs.rmSync(work, { recursive: true, force: true })
  NodeFs.mkdirSync(work, { recursive: true })
  const sim = await startSim({ timeScale: 1 / 30 })
  const samples = new Map<string, Array<{ seconds: number; bytes: number; rss: number; cpu: number }>>()
  const add = (id: string, sample: { seconds: number; bytes: number; rss: number; cpu: number }) => {
    const list = samples.get(id) ?? []
    list.push(sample)
    samples.set(id, list)
  }
  try {
    const { cdnUrl, officialId, apiUrl } = await createTasks(sim, options.size)
    const file = NodePath.join(work, "video.mp4")
    const curl = async (id: string, url: string, headers: ReadonlyArray<string>) => {
      const run = await timedAsync("curl", [
        "-s",
        "-f",
        ...headers,
        "-o",
        file,
        "-w",
        "%{time_total} %{size_download}",
        url
      ])
      const [seconds, bytes] = run.stdout.trim().split(" ").map(Number)
      add(id, { seconds: seconds!, bytes: bytes!, rss: run.peakRss, cpu: run.cpu })
    }
    const node = async (
      id: string,
      contestant: "reelay-download" | "lean-download" | "openai-download",
      settings: Record<string, string | boolean>
    ) => {
      const result = await runContestant(contestant, {
        urls: sim.urls,
        apiKey,
        workload: "",
        outDir: work,
        timeScale: 1 / 30,
        settings
      })
      add(id, {
        seconds: (result.endedAt - result.startedAt) / 1000,
        bytes: result.bytes ?? 0,
        rss: result.peakRss,
        cpu: result.cpuSeconds
      })
    }
    // curl, then `sync` of the file: the same durability reelay gives (its fsync before rename).
    const curlSync = async (id: string, url: string) => {
      const run = await timedAsync("sh", ["-c", 'curl -s -f -o "$0" "$1" && sync "$0"', file, url])
      add(id, { seconds: run.wall, bytes: NodeFs.statSync(file).size, rss: run.peakRss, cpu: run.cpu })
    }
    // The same, and the SHA-256 on the way: every guarantee of reelay's that costs time, in shell.
    // GNU time's figures for `sh` include the pipeline's processes (CPU summed, RSS the largest).
    const curlHashSync = async (id: string, url: string) => {
      const run = await timedAsync("sh", ["-c", 'curl -s -f "$1" | tee "$0" | sha256sum && sync "$0"', file, url])
      add(id, { seconds: run.wall, bytes: NodeFs.statSync(file).size, rss: run.peakRss, cpu: run.cpu })
    }
    const steps: ReadonlyArray<[string, () => Promise<void>]> = [
      ["curl-cdn", () => curl("curl-cdn", cdnUrl, [])],
      ["curl-sync-cdn", () => curlSync("curl-sync-cdn", cdnUrl)],
      ["curl-hash-sync-cdn", () => curlHashSync("curl-hash-sync-cdn", cdnUrl)],
      ["reelay-cdn", () => node("reelay-cdn", "reelay-download", { url: cdnUrl })],
      ["lean-cdn", () => node("lean-cdn", "lean-download", { url: cdnUrl })],
      ["curl-api", () => curl("curl-api", apiUrl, ["-H", `Authorization: Bearer ${apiKey}`])],
      ["reelay-api", () => node("reelay-api", "reelay-download", { url: apiUrl, credentials: true })],
      ["openai-api", () => node("openai-api", "openai-download", { taskId: officialId })],
      ["openai-stream-api", () => node("openai-stream-api", "openai-download", { taskId: officialId, stream: true })]
    ]
    for (let run = 1; run <= options.runs; run++) {
      for (const [id, step] of run % 2 === 1 ? steps : [...steps].reverse()) {
        settle()
        await step()
        for (const name of NodeFs.readdirSync(work)) NodeFs.rmSync(NodePath.join(work, name), { force: true })
        const last = samples.get(id)!.at(-1)!
        log(
          `download run ${run}/${options.runs} ${id}: ${(last.bytes / 2 ** 20 / last.seconds).toFixed(0)} MiB/s, ${(last.rss / 1e6).toFixed(0)} MB peak`
        )
      }
    }
  } finally {
    await sim.stop()
    NodeFs.rmSync(work, { recursive: true, force: true })
  }
  const labels: Record<string, [string, "cdn" | "api"]> = {
    "curl-cdn": ["curl -o", "cdn"],
    "curl-sync-cdn": ["curl -o, then sync (same durability as reelay)", "cdn"],
    "curl-hash-sync-cdn": ["curl | tee file | sha256sum && sync (reelay's guarantees)", "cdn"],
    "reelay-cdn": ["reelay Download.download", "cdn"],
    "lean-cdn": ["lean Node reader: node:http + SHA-256 + fsync, no Effect", "cdn"],
    "curl-api": ["curl -o (with key)", "api"],
    "reelay-api": ["reelay Download.download (with key)", "api"],
    "openai-api": ["openai downloadContent → arrayBuffer", "api"],
    "openai-stream-api": ["openai downloadContent → for await body → file", "api"]
  }
  const throughput = (id: string) => {
    const list = samples.get(id)!
    return median(list.map((s) => s.bytes / s.seconds))
  }
  return [...samples.keys()].map((id) => {
    const list = samples.get(id)!
    const [label, source] = labels[id]!
    const rate = throughput(id)
    return {
      id,
      label,
      source,
      runs: list.length,
      bytes: list[0]!.bytes,
      seconds: median(list.map((s) => s.seconds)),
      minSeconds: Math.min(...list.map((s) => s.seconds)),
      mibPerSecond: rate / 2 ** 20,
      ratio: rate / throughput(`curl-${source}`),
      peakRssMB: median(list.map((s) => s.rss)) / 1e6,
      cpuSeconds: median(list.map((s) => s.cpu)),
      cpuPerGiB: median(list.map((s) => s.cpu / (s.bytes / 2 ** 30)))
    }
  })
}
