/**
 * Sora 2 through laozhang's chat completions (`sora_video2`, `sora_video2-landscape`): synchronous.
 * With `stream: true` the answer is Server-Sent Events exactly as the reference shows: a role chunk,
 * the prompt echoed in a JSON code block, a queue line, `> 🏃 Progress: N%` lines paced by the
 * simulated clock, the final markdown link to the video, a `finish_reason: "stop"` chunk with usage,
 * then `data: [DONE]`. With `stream: false` one `chat.completion` carries the same text.
 *
 * Charged for every accepted request (the HTTP 200), even when generation then fails: a failure or a
 * content-policy rejection is still a 200 whose text says so, with no link.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { readPrompt } from "./AsyncVideos.js"
import type { Directive } from "./Directive.js"
import type { Exchange } from "./Http.js"
import * as Http from "./Http.js"
import * as Images from "./Images.js"
import type { Account } from "./Ledger.js"
import * as Models from "./Models.js"
import * as Pipeline from "./Pipeline.js"
import type { Task } from "./Tasks.js"
import * as Timeline from "./Timeline.js"

const TextPart = Schema.Struct({ type: Schema.Literal("text"), text: Schema.String })
const ImagePart = Schema.Struct({
  type: Schema.Literal("image_url"),
  image_url: Schema.Union(Schema.Struct({ url: Schema.String }), Schema.String)
})
const Message = Schema.Struct({
  role: Schema.String,
  content: Schema.Union(Schema.String, Schema.Array(Schema.Union(TextPart, ImagePart)))
})

/** The chat completions request (unknown fields are ignored). `seconds` (10 or 15) is the simulator's. */
export const ChatRequest = Schema.Struct({
  model: Schema.String,
  messages: Schema.NonEmptyArray(Message),
  stream: Schema.optional(Schema.Boolean),
  seconds: Schema.optional(Schema.Union(Schema.Number, Schema.String)),
  duration: Schema.optional(Schema.Union(Schema.Number, Schema.String))
})

/** The lines of the answer, as the reference prints them. */
export const text = {
  promptEcho: (prompt: string, landscape: boolean): string =>
    `\`\`\`json\n${JSON.stringify(
      { prompt, mode: landscape ? "Horizontal Mode" : "Vertical Mode" },
      null,
      4
    )}\n\`\`\`\n\n`,
  queued: "> ⌛️ Task is in queue, please wait patiently...\n\n",
  progress: (percent: number): string => `> 🏃 Progress: ${percent.toFixed(1)}%\n\n`,
  success: (url: string): string => `> ✅ Video generated successfully, [Click here](${url}) to view video~~~\n\n`,
  failure: (code: string): string =>
    code === "content_policy_violation"
      ? "> ❌ Video generation failed: the request was rejected by the content safety system (content_policy_violation)\n\n"
      : `> ❌ Video generation failed (${code}), please try again later\n\n`
}

/** One scheduled piece of the answer. */
interface Step {
  readonly at: number
  readonly content: string
  readonly percent?: number
  readonly final?: boolean
}

/** The answer's content pieces after the queue line, each with the simulator time it appears. */
export const steps = (task: Task, url: string, lines: number): ReadonlyArray<Step> => {
  const t = task.timeline
  const end = Timeline.endsAt(t, task.outcome)
  const out: Array<Step> = []
  for (let k = 1; k <= lines; k++) {
    const at = Timeline.startsAt(t) + Math.ceil((t.runMs * k) / (lines + 1))
    if (at >= end) break
    const percent = Timeline.progressAt(t, at)
    out.push({ at, content: text.progress(percent), percent })
  }
  out.push({
    at: end,
    content: task.outcome._tag === "Success" ? text.success(url) : text.failure(task.outcome.code),
    final: true
  })
  return out
}

const usage = (prompt: string, content: string) => {
  const prompt_tokens = Math.ceil(prompt.length / 4) + 4
  const completion_tokens = Math.ceil(content.length / 4)
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens }
}

const readSeconds = (value: number | string | undefined): number | undefined => {
  if (value === undefined) return 10
  const n = Number(value)
  return n === 10 || n === 15 ? n : undefined
}

/** `POST /v1/chat/completions`. */
export const create = async (x: Exchange, account: Account, body: Http.Body): Promise<void> => {
  if (body._tag !== "Json") {
    Http.sendError(x, "invalid_request", "Content-Type must be application/json")
    return
  }
  const decoded = Schema.decodeUnknownEither(ChatRequest)(body.value)
  if (decoded._tag === "Left") {
    Http.sendError(
      x,
      "invalid_request",
      'Expected { model, messages: [{ role, content: string | [{ type: "text", text } | { type: "image_url", image_url: { url } }] }], stream? }'
    )
    return
  }
  const request = decoded.right
  x.record.model = request.model
  const model = Models.find("laozhang", request.model)
  if (model === undefined || model.protocol !== "sora") {
    Http.sendError(
      x,
      "invalid_model",
      model === undefined
        ? `Model ${request.model} does not exist`
        : `Model ${request.model} is not served by /v1/chat/completions here; use /v1/videos`
    )
    return
  }
  const message = [...request.messages].reverse().find((m) => m.role === "user") ?? request.messages[0]
  const parts =
    typeof message.content === "string" ? [{ type: "text" as const, text: message.content }] : message.content
  const prompt = parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n")
  const directives = readPrompt(x, prompt)
  if (directives === undefined) return
  const seconds = readSeconds(request.seconds ?? request.duration)
  if (seconds === undefined) {
    Http.sendError(x, "invalid_request", "seconds must be 10 or 15")
    return
  }
  const faults = Pipeline.collect(x, directives, Pipeline.identity(x, account, model.id, prompt), model)
  if (await Pipeline.transient(x, faults.now, "create")) return
  const images = parts.flatMap((p) =>
    p.type === "image_url" ? [typeof p.image_url === "string" ? p.image_url : p.image_url.url] : []
  )
  if (images.length > 1) {
    Http.sendError(x, "invalid_request", "At most one reference image (image_url) is supported")
    return
  }
  for (const url of images) {
    const problem = Images.checkUrl("image_url", url)
    if (problem !== undefined) {
      Http.sendError(x, "invalid_request", problem)
      return
    }
  }
  if (Pipeline.refuseByPolicy(x, faults.now)) return
  if (Pipeline.refuseUnfunded(x, account, model, faults.now)) return
  const shape = Pipeline.shape(x, faults.task, true)
  const landscape = model.orientation === "landscape"
  const task = Pipeline.createTask(x, {
    model,
    account,
    prompt,
    idPrefix: "foaicmpl-",
    cdnFolder: "sora",
    size: landscape ? "1280x704" : "704x1280",
    seconds,
    images: images.length,
    shape,
    later: faults.later
  })
  // The completion exists (and is charged) from here, whatever reaches the client.
  if (await Pipeline.holdAnswer(x, faults.now)) return
  const cut = Pipeline.find(faults.now, "reset-after-create")
  if (cut !== undefined) {
    Pipeline.noteFault(x, cut)
    Http.reset(x)
    return
  }
  const gateway = Pipeline.gatewayError(faults.now)
  if (gateway !== undefined) {
    Pipeline.answerGateway(x, gateway)
    return
  }
  const malformed = Pipeline.find(faults.now, "malformed")
  if (malformed !== undefined) Pipeline.noteFault(x, malformed)
  const answer = {
    head: [text.promptEcho(prompt, landscape), text.queued],
    steps: steps(task, `${x.state.urls.cdn}${task.cdnPath}`, x.state.config.soraProgressLines)
  }
  if (request.stream === true) stream(x, task, answer, shape.sseCut, malformed)
  else await whole(x, task, answer, shape.sseCut, malformed)
}

interface Answer {
  readonly head: ReadonlyArray<string>
  readonly steps: ReadonlyArray<Step>
}

/**
 * Runs `onStep` for each step when the simulator clock reaches it, checking the clock at most every
 * 250 ms of wall time (so a manual clock or `POST /_sim/time` is noticed quickly), until a step
 * returns `false`, the last step ran, the client left or the simulator stopped.
 */
const pace = (x: Exchange, steps: ReadonlyArray<Step>, onStep: (step: Step) => boolean, onEnd: () => void) => {
  let index = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const stop = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }
  const signal = x.state.shutdown.signal
  const onAbort = () => {
    stop()
    Http.resetSocket(x.req.socket)
  }
  signal.addEventListener("abort", onAbort, { once: true })
  x.res.once("close", () => {
    stop()
    signal.removeEventListener("abort", onAbort)
  })
  const tick = () => {
    timer = undefined
    if (x.res.destroyed || signal.aborted) return
    const now = x.state.now()
    while (index < steps.length && steps[index]!.at <= now) {
      if (!onStep(steps[index++]!)) return
    }
    if (index >= steps.length) {
      signal.removeEventListener("abort", onAbort)
      onEnd()
      return
    }
    timer = setTimeout(tick, Math.min(250, Math.max(5, steps[index]!.at - now)))
  }
  tick()
}

/** Whether a cut at `at` percent falls on this step. */
const cutsHere = (sseCut: Directive | undefined, step: Step): boolean =>
  sseCut !== undefined && (step.final === true || (step.percent ?? 0) >= (sseCut.at ?? 50))

const stream = (x: Exchange, task: Task, answer: Answer, sseCut: Directive | undefined, malformed?: Directive) => {
  const created = Math.floor(task.timeline.createdAt / 1000)
  const model = task.model.id
  const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({
      id: task.id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra
    })}\n\n`
  x.record.status = 200
  x.record.outcome = "responded"
  x.res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no"
  })
  let content = ""
  const say = (piece: string) => {
    content += piece
    x.res.write(chunk({ content: piece }))
  }
  x.res.write(chunk({ role: "assistant" }))
  for (const piece of answer.head) say(piece)
  if (malformed !== undefined) x.res.write(`${chunk({ content: "> 🏃" }).slice(0, 60)}\n\n`)
  const cut = () => {
    x.record.outcome = "cut"
    const socket = x.res.socket
    socket?.end()
    setTimeout(() => socket?.destroy(), 1000).unref()
  }
  if (sseCut !== undefined && (sseCut.at ?? 50) <= 0) return cut()
  pace(
    x,
    answer.steps,
    (step) => {
      if (step.final === true && cutsHere(sseCut, step)) {
        cut()
        return false
      }
      say(step.content)
      if (cutsHere(sseCut, step)) {
        cut()
        return false
      }
      return true
    },
    () => {
      x.res.write(chunk({}, "stop", { usage: usage(task.prompt, content) }))
      x.res.end("data: [DONE]\n\n")
    }
  )
}

const whole = async (x: Exchange, task: Task, answer: Answer, sseCut: Directive | undefined, malformed?: Directive) =>
  new Promise<void>((resolve) => {
    let content = answer.head.join("")
    x.res.once("close", () => resolve())
    pace(
      x,
      answer.steps,
      (step) => {
        if (cutsHere(sseCut, step)) {
          Http.reset(x)
          resolve()
          return false
        }
        content += step.content
        return true
      },
      () => {
        const body = {
          id: task.id,
          object: "chat.completion",
          created: Math.floor(task.timeline.createdAt / 1000),
          model: task.model.id,
          choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
          usage: usage(task.prompt, content)
        }
        if (malformed !== undefined) Http.sendMalformed(x, JSON.stringify(body))
        else Http.sendJson(x, 200, body)
        resolve()
      }
    )
  })
