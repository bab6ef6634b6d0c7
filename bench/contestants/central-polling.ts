/**
 * The shape the issue asks of reelay's engine, as a contestant: one central poller over a table of
 * task states instead of a fiber per item. One timer, armed for the earliest due poll; a binary
 * min-heap of due times; reelay's own `Polling.plan` (same options, same time scale) for every wait,
 * and `Polling.jitter`'s rule for the jitter; undici's `request` for every call (the dispatcher API
 * that reelay's platform client uses too; Node's `fetch` took about three times its CPU per call here).
 * Creates, status calls and downloads each have a limit (default reelay's: 10, 10, 5). Each video is streamed to
 * `<key>.mp4.part` with SHA-256 on the way, fsync'ed and renamed, like reelay's download.
 *
 * Not a product: no journal, budget, events, Range resume, redirect policy or MP4 probe, and a
 * status error is simply retried at the next planned poll (five in a row end the task). The plan sees
 * the latest reading and the latest with lower progress (what its rate estimate uses), where reelay
 * keeps the last eight readings: they differ only after eight polls without progress.
 *
 * `settings.hold` (ms): an in-flight run, as for reelay (`common.inflight`).
 */
import { createHash } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import type { GenerationTime } from "@reelay/core/ModelSpec"
import * as Polling from "@reelay/core/Polling"
import * as LaozhangCatalog from "@reelay/provider-laozhang/LaozhangCatalog"
import { Agent, request } from "undici"
import { begin, errorText, inflight, input, pool, report, workload } from "./common.js"

const { urls, apiKey, outDir, timeScale, settings, workload: file } = input()
const items = workload(file)
const num = (name: string, fallback: number) =>
  typeof settings[name] === "number" ? (settings[name] as number) : fallback
const limits = { submit: num("submit", 10), status: num("status", 10), download: num("download", 5) }
const hold = typeof settings.hold === "number" ? settings.hold : undefined
const dispatcher = new Agent(typeof settings.connections === "number" ? { connections: settings.connections } : {})

const options: Polling.PollingOptions = {
  ...Polling.defaultPollingOptions,
  timeScale,
  ...(typeof settings.deadlineMs === "number" ? { deadline: settings.deadlineMs } : {})
}
const deadlineMs = typeof options.deadline === "number" ? options.deadline : 10 * 60 * 1000
const base = urls.laozhang
const auth = { authorization: `Bearer ${apiKey}` }
const times = new Map<string, GenerationTime>(LaozhangCatalog.models.map((model) => [model.id, model.generationTime]))

/** One task's row in the table. */
class Task {
  id = ""
  submittedAt = 0
  due = 0
  /** The latest reading, and the latest with lower progress (NaN: none). */
  lastAt = Number.NaN
  lastProgress = Number.NaN
  lowerAt = Number.NaN
  lowerProgress = Number.NaN
  hint: number | undefined = undefined
  errors = 0
  constructor(
    readonly key: string,
    readonly time: GenerationTime
  ) {}
}

// ---------------------------------------------------------------------------------------------------
// The binary min-heap of due polls

const heap: Array<Task> = []

const push = (task: Task) => {
  let index = heap.push(task) - 1
  while (index > 0) {
    const parent = (index - 1) >> 1
    if (heap[parent]!.due <= task.due) break
    heap[index] = heap[parent]!
    index = parent
  }
  heap[index] = task
}

const pop = (): Task => {
  const top = heap[0]!
  const last = heap.pop()!
  if (heap.length > 0) {
    let index = 0
    for (;;) {
      const left = 2 * index + 1
      if (left >= heap.length) break
      const right = left + 1
      const child = right < heap.length && heap[right]!.due < heap[left]!.due ? right : left
      if (heap[child]!.due >= last.due) break
      heap[index] = heap[child]!
      index = child
    }
    heap[index] = last
  }
  return top
}

// ---------------------------------------------------------------------------------------------------
// The one timer

let timer: NodeJS.Timeout | undefined
let armedFor = Number.POSITIVE_INFINITY

const arm = () => {
  const top = heap[0]
  if (top === undefined || top.due >= armedFor) return
  if (timer !== undefined) clearTimeout(timer)
  armedFor = top.due
  timer = setTimeout(fire, Math.max(0, top.due - Date.now()))
}

/** Due tasks wait here for a status slot, in due order. */
const ready: Array<Task> = []
let readyHead = 0
let statusCalls = 0

const fire = () => {
  timer = undefined
  armedFor = Number.POSITIVE_INFINITY
  const now = Date.now()
  while (heap.length > 0 && heap[0]!.due <= now) ready.push(pop())
  pump()
  arm()
}

const pump = () => {
  while (statusCalls < limits.status && readyHead < ready.length) {
    const task = ready[readyHead++]!
    statusCalls++
    void poll(task).finally(() => {
      statusCalls--
      pump()
    })
  }
  if (readyHead === ready.length) {
    ready.length = 0
    readyHead = 0
  }
}

// ---------------------------------------------------------------------------------------------------
// The policy: reelay's plan

const readings = (task: Task): Array<Polling.Reading> => {
  if (Number.isNaN(task.lastAt)) return []
  const last = { at: task.lastAt, progress: task.lastProgress }
  return Number.isNaN(task.lowerAt) ? [last] : [{ at: task.lowerAt, progress: task.lowerProgress }, last]
}

/** `Polling.jitter`'s rule, without an Effect per poll: later only for a measured finish, else ±. */
const jittered = (plan: Polling.Plan): number => {
  const spread = plan.measured
    ? 1 + Math.random() * options.jitter
    : 1 - options.jitter + Math.random() * 2 * options.jitter
  return Math.round(plan.delayMillis * spread)
}

const schedule = (task: Task, now: number) => {
  const plan = Polling.plan(
    { time: task.time, submittedAt: task.submittedAt, now, readings: readings(task), hintMillis: task.hint },
    options
  )
  task.due = Math.min(now + jittered(plan), task.submittedAt + deadlineMs)
  push(task)
  arm()
}

const record = (task: Task, at: number, progress: number) => {
  if (Number.isNaN(task.lastAt) || progress === task.lastProgress) {
    // First reading, or no movement: the lower reading (if any) stays the rate's start.
  } else if (progress > task.lastProgress) {
    task.lowerAt = task.lastAt
    task.lowerProgress = task.lastProgress
  } else if (!(task.lowerProgress < progress)) {
    task.lowerAt = Number.NaN
    task.lowerProgress = Number.NaN
  }
  task.lastAt = at
  task.lastProgress = progress
}

// ---------------------------------------------------------------------------------------------------
// Calls

let saved = 0
let failed = 0
let firstError: string | undefined
let counter: ReturnType<typeof inflight> | undefined
let startedAt = 0

const finish = () => {
  if (counter === undefined && saved + failed === items.length) {
    report({ startedAt, endedAt: Date.now(), saved, failed, firstError })
  }
}

const fail = (error: unknown) => {
  failed++
  firstError ??= errorText(error)
  counter?.ended(errorText(error))
  finish()
}

const poll = async (task: Task): Promise<void> => {
  let body: { status?: string; progress?: number | string }
  let hint: string | null
  try {
    const response = await request(`${base}/videos/${task.id}`, { headers: auth, dispatcher })
    body = (await response.body.json()) as typeof body
    if (response.statusCode !== 200) throw new Error(`status: HTTP ${response.statusCode}`)
    const header = response.headers["openai-poll-after-ms"]
    hint = typeof header === "string" ? header : null
  } catch (error) {
    if (++task.errors >= 5 || Date.now() >= task.submittedAt + deadlineMs) return fail(error)
    return schedule(task, Date.now())
  }
  const at = Date.now()
  task.errors = 0
  if (body.status === "completed") {
    downloads.push(task)
    return drain()
  }
  if (body.status === "failed") return fail(new Error(`task ${task.id} failed`))
  if (at >= task.submittedAt + deadlineMs)
    return fail(new Error(`task ${task.id} still ${body.status} at the deadline`))
  record(task, at, body.status === "queued" ? Number(body.progress ?? 0) : Number(body.progress))
  task.hint = hint === null ? undefined : Number(hint)
  schedule(task, at)
}

const downloads: Array<Task> = []
let downloadsHead = 0
let downloading = 0

const drain = () => {
  while (downloading < limits.download && downloadsHead < downloads.length) {
    const task = downloads[downloadsHead++]!
    if (downloadsHead === downloads.length) {
      downloads.length = 0
      downloadsHead = 0
    }
    downloading++
    void save(task)
      .then(() => {
        saved++
        finish()
      }, fail)
      .finally(() => {
        downloading--
        drain()
      })
  }
}

const save = async (task: Task): Promise<void> => {
  const content = await request(`${base}/videos/${task.id}/content`, { headers: auth, dispatcher })
  const { url } = (await content.body.json()) as { url: string }
  if (content.statusCode !== 200) throw new Error(`content: HTTP ${content.statusCode}`)
  const response = await request(url, { dispatcher })
  if (response.statusCode !== 200) {
    await response.body.dump()
    throw new Error(`download: HTTP ${response.statusCode}`)
  }
  const path = NodePath.join(outDir, `${task.key}.mp4`)
  const hash = createHash("sha256")
  const handle = await NodeFs.promises.open(`${path}.part`, "w")
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      hash.update(chunk)
      await handle.write(chunk)
    }
    await handle.sync()
  } finally {
    await handle.close()
  }
  await NodeFs.promises.rename(`${path}.part`, path)
  hash.digest("hex")
}

const create = async (task: Task, model: string, prompt: string): Promise<void> => {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await request(`${base}/videos`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ model, prompt }),
        dispatcher
      })
      const body = (await response.body.json()) as { id: string }
      const code = response.statusCode
      // A 4xx other than 429 is final; 429 and 5xx are retried like a broken connection.
      if (code !== 200 && code !== 429 && code < 500) {
        throw Object.assign(new Error(`create: HTTP ${code}`), { final: true })
      }
      if (code !== 200) throw new Error(`create: HTTP ${code}`)
      task.id = body.id
      return
    } catch (error) {
      if ((error as { final?: boolean }).final === true || attempt >= 3) throw error
      await new Promise((resolve) => setTimeout(resolve, 1000 * timeScale * attempt))
    }
  }
}

const main = async () => {
  NodeFs.mkdirSync(outDir, { recursive: true })
  startedAt = begin()
  if (hold !== undefined) counter = inflight({ total: items.length, holdMs: hold, startedAt })
  await pool(items, limits.submit, async (item) => {
    const time = times.get(item.model)
    if (time === undefined) return fail(new Error(`no generation time for ${item.model}`))
    const task = new Task(item.key, time)
    try {
      await create(task, item.model, item.prompt)
    } catch (error) {
      return fail(error)
    }
    task.submittedAt = Date.now()
    counter?.submitted()
    schedule(task, task.submittedAt)
  })
  finish()
}

void main()
