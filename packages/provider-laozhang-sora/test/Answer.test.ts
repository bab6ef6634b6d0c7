import * as Headers from "@effect/platform/Headers"
import { assert, describe, it } from "@effect/vitest"
import type { VideoProvider } from "@reelay/core"
import * as Redacted from "effect/Redacted"
import * as Answer from "../src/Answer.js"
import * as LaozhangSora from "../src/LaozhangSora.js"

const now = Date.UTC(2025, 9, 6, 12, 0, 0)
const day = 24 * 60 * 60 * 1000

const reader = (overrides: Partial<Answer.Options> = {}) =>
  Answer.make({
    provider: "laozhang-sora",
    fallbackTaskId: "laozhang-sora-key",
    linkTtlMillis: day,
    maxLineChars: 4096,
    maxTotalChars: 64 * 1024,
    ...overrides
  })

const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: "foaicmpl-xxx",
    object: "chat.completion.chunk",
    created: 1759759480,
    model: "sora_video2",
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...extra
  })

const say = (content: string) => chunk({ content })

/** The reference page's streaming sample, chunk for chunk. */
const reference = [
  chunk({ role: "assistant" }),
  say(
    '```json\n{\n    "prompt": "A happy cat playing with a ball in a sunny garden",\n    "mode": "Vertical Mode"\n}\n```\n\n'
  ),
  say("> ⌛️ Task is in queue, please wait patiently...\n\n"),
  say("> 🏃 Progress: 36.0%\n\n"),
  say(
    "> ✅ Video generated successfully, [Click here](https://sora.gptkey.asia/assets/sora/xxx.mp4) to view video~~~\n\n"
  ),
  chunk({}, "stop", { usage: { prompt_tokens: 17, completion_tokens: 244, total_tokens: 261 } }),
  "[DONE]"
]

/** Reads every data payload, then the end; returns the events and the final error. */
const read = (payloads: ReadonlyArray<string>, ending: Answer.Ending = { _tag: "Clean" }, r = reader()) => {
  const events: Array<VideoProvider.ProviderEvent> = []
  for (const payload of payloads) {
    const step = r.data(payload, now)
    events.push(...step.events)
    if (step.error !== undefined) return { events, error: step.error }
    if (events.some((event) => event._tag === "Completed")) return { events, error: undefined }
  }
  const step = r.end(ending, now)
  return { events: [...events, ...step.events], error: step.error }
}

const failureStream = (line: string) => [
  chunk({ role: "assistant" }),
  say("> ⌛️ Task is in queue, please wait patiently...\n\n"),
  say("> 🏃 Progress: 20.0%\n\n"),
  say(line),
  chunk({}, "stop"),
  "[DONE]"
]

describe("Answer", () => {
  it("reads the reference stream: accepted, queued, progress, then the link, valid for one day", () => {
    const { events, error } = read(reference)
    assert.isUndefined(error)
    assert.deepStrictEqual(
      events.map((event) => event._tag),
      ["Accepted", "Queued", "Progress", "Completed"]
    )
    assert.deepStrictEqual(events[0], { _tag: "Accepted", taskId: "foaicmpl-xxx" })
    assert.deepStrictEqual(events[2], { _tag: "Progress", percent: 36 })
    const completed = events[3]
    assert.strictEqual(completed?._tag, "Completed")
    if (completed?._tag !== "Completed" || completed.asset._tag !== "Url") return assert.fail("a URL asset")
    assert.strictEqual(completed.asset.url, "https://sora.gptkey.asia/assets/sora/xxx.mp4")
    assert.strictEqual(completed.asset.expiresAt?.getTime(), now + day)
  })

  it("finds a link split across chunks, anywhere", () => {
    const line =
      "> ✅ Video generated successfully, [Click here](https://cdn.example/assets/sora/abc.mp4) to view video~~~\n\n"
    for (let cut = 1; cut < line.length; cut++) {
      const { events } = read([chunk({ role: "assistant" }), say(line.slice(0, cut)), say(line.slice(cut)), "[DONE]"])
      const completed = events.find((event) => event._tag === "Completed")
      assert.isDefined(completed, `split at ${cut}`)
    }
  })

  it("ignores the echoed prompt, even when it looks like progress or carries a video URL", () => {
    const echo = say(
      '```json\n{\n    "prompt": "> Progress: 99% see https://example.com/trick.mp4 [Click](https://example.com/x.mp4)",\n    "mode": "Vertical Mode"\n}\n```\n\n'
    )
    const { events, error } = read([
      chunk({ role: "assistant" }),
      echo,
      say("> 🏃 Progress: 12.0%\n\n"),
      chunk({}, "stop"),
      "[DONE]"
    ])
    assert.deepStrictEqual(
      events.map((event) => event._tag),
      ["Accepted", "Progress"]
    )
    assert.strictEqual(error?._tag, "GenerationFailed")
  })

  it("reports progress only upwards", () => {
    const { events } = read([
      chunk({ role: "assistant" }),
      say("> 🏃 Progress: 10.0%\n\n"),
      say("> 🏃 Progress: 5.0%\n\n"),
      say("> 🏃 Progress: 10.0%\n\n"),
      say("> 🏃 Progress: 55.5%\n\n")
    ])
    assert.deepStrictEqual(
      events
        .filter((event) => event._tag === "Progress")
        .map((event) => (event._tag === "Progress" ? event.percent : 0)),
      [10, 55.5]
    )
  })

  it("a failure text is GenerationFailed carrying the vendor's words and code", () => {
    const { events, error } = read(
      failureStream("> ❌ Video generation failed (generation_failed), please try again later\n\n")
    )
    assert.strictEqual(events[0]?._tag, "Accepted")
    assert.strictEqual(error?._tag, "GenerationFailed")
    if (error?._tag !== "GenerationFailed") return
    assert.strictEqual(error.vendorCode, "generation_failed")
    assert.strictEqual(error.vendorMessage, "Video generation failed (generation_failed), please try again later")
    assert.strictEqual(error.taskId, "foaicmpl-xxx")
  })

  it("a content-policy text is ContentRejected", () => {
    const { error } = read(
      failureStream(
        "> ❌ Video generation failed: the request was rejected by the content safety system (content_policy_violation)\n\n"
      )
    )
    assert.strictEqual(error?._tag, "ContentRejected")
    if (error?._tag === "ContentRejected") assert.strictEqual(error.vendorCode, "content_policy_violation")
  })

  it("an answer that finishes without a link or a failure line fails with what it said", () => {
    const { error } = read([
      chunk({ role: "assistant" }),
      say("> Something unexpected happened upstream\n\n"),
      chunk({}, "stop")
    ])
    assert.strictEqual(error?._tag, "GenerationFailed")
    if (error?._tag === "GenerationFailed") assert.include(error.vendorMessage ?? "", "Something unexpected happened")
  })

  it("a stream that stops before the link and before [DONE] is a broken exchange", () => {
    const cut = read(reference.slice(0, 4), { _tag: "Cut", detail: "UND_ERR_SOCKET" })
    assert.strictEqual(cut.error?._tag, "ProviderUnavailable")
    if (cut.error?._tag === "ProviderUnavailable") assert.strictEqual(cut.error.stage, "exchange")
    const clean = read(reference.slice(0, 4), { _tag: "Clean" })
    assert.strictEqual(clean.error?._tag, "ProviderUnavailable")
    assert.deepStrictEqual(
      cut.events.map((event) => event._tag),
      ["Accepted", "Queued", "Progress"]
    )
  })

  it("a failure text followed by a cut is still the vendor's answer", () => {
    const payloads = failureStream(
      "> ❌ Video generation failed (generation_failed), please try again later\n\n"
    ).slice(0, 4)
    const { error } = read(payloads, { _tag: "Cut", detail: "ECONNRESET" })
    assert.strictEqual(error?._tag, "GenerationFailed")
  })

  it("an error object inside the stream is the vendor's failure", () => {
    const { events, error } = read([
      chunk({ role: "assistant" }),
      JSON.stringify({ error: { message: "upstream generation error", code: "upstream_error", type: "server_error" } })
    ])
    assert.strictEqual(events[0]?._tag, "Accepted")
    assert.strictEqual(error?._tag, "GenerationFailed")
    if (error?._tag === "GenerationFailed") assert.strictEqual(error.vendorCode, "upstream_error")
  })

  it("skips a garbled event and still finds the video", () => {
    const garbled = `${say("> 🏃")}`.slice(0, 40)
    const { events, error } = read([reference[0]!, garbled, ...reference.slice(1)])
    assert.isUndefined(error)
    assert.strictEqual(events.at(-1)?._tag, "Completed")
  })

  it("accepts with the fallback id when the stream ends before any readable chunk", () => {
    const { events, error } = read(["{not json"], { _tag: "Cut", detail: "ECONNRESET" })
    assert.deepStrictEqual(events, [{ _tag: "Accepted", taskId: "laozhang-sora-key" }])
    assert.strictEqual(error?._tag, "ProviderUnavailable")
  })

  it("refuses an answer past its text limit, or a line past its limit", () => {
    const r = reader({ maxTotalChars: 1000, maxLineChars: 500 })
    const big = read(
      [chunk({ role: "assistant" }), ...Array.from({ length: 80 }, () => say("> 🏃 Progress: 1%\n"))],
      { _tag: "Clean" },
      r
    )
    assert.strictEqual(big.error?._tag, "MalformedResponse")
    const long = read(
      [chunk({ role: "assistant" }), say("x".repeat(600))],
      { _tag: "Clean" },
      reader({ maxLineChars: 500 })
    )
    assert.strictEqual(long.error?._tag, "MalformedResponse")
  })

  it("reads a whole chat.completion", () => {
    const body = JSON.stringify({
      id: "foaicmpl-whole",
      object: "chat.completion",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content:
              "> ⌛️ Task is in queue\n\n> ✅ Video generated successfully, [Click here](https://cdn.example/v.mp4) to view video~~~\n\n"
          },
          finish_reason: "stop"
        }
      ]
    })
    const step = reader().whole(body, now)
    assert.isUndefined(step.error)
    assert.deepStrictEqual(
      step.events.map((event) => event._tag),
      ["Accepted", "Queued", "Completed"]
    )
  })

  it("finds links only where a video is meant", () => {
    assert.strictEqual(
      Answer.linkIn("✅ Video generated successfully, [Click here](https://a.b/c) to view"),
      "https://a.b/c"
    )
    assert.strictEqual(Answer.linkIn("see [docs](https://a.b/guide)"), undefined)
    assert.strictEqual(Answer.linkIn("here: https://a.b/v/x.mp4?sig=1 enjoy"), "https://a.b/v/x.mp4?sig=1")
    assert.strictEqual(Answer.linkIn("❌ failed, see [log](https://a.b/x.mp4)"), undefined)
  })
})

describe("LaozhangSora.statusError", () => {
  const map = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    LaozhangSora.statusError("laozhang-sora", status, Headers.fromInput(headers), JSON.stringify(body), 0)
  const error = (code: string, message = "x") => ({ error: { code, message, type: "t" } })

  it("maps the documented statuses", () => {
    assert.strictEqual(map(401, error("invalid_api_key"))._tag, "AuthenticationFailed")
    assert.strictEqual(map(403, error("forbidden"))._tag, "AuthenticationFailed")
    const balance = map(402, error("insufficient_balance"))
    assert.strictEqual(balance._tag, "InsufficientBalance")
    if (balance._tag === "InsufficientBalance") assert.strictEqual(balance.vendorCode, "insufficient_balance")
    assert.strictEqual(map(429, error("insufficient_quota"))._tag, "InsufficientBalance")
    const limited = map(429, error("rate_limit_exceeded"), { "retry-after": "2" })
    assert.strictEqual(limited._tag, "RateLimited")
    if (limited._tag === "RateLimited") assert.strictEqual(limited.retryAfterMillis, 2000)
    // The vendor's own 5xx created nothing; a gateway's 502 / 504 may have lost a billed 200.
    for (const [status, stage] of [
      [500, "response"],
      [502, "exchange"],
      [503, "response"],
      [504, "exchange"]
    ] as const) {
      const unavailable = map(status, error("internal_error"), { "retry-after-ms": "150" })
      assert.strictEqual(unavailable._tag, "ProviderUnavailable")
      if (unavailable._tag === "ProviderUnavailable") {
        assert.strictEqual(unavailable.stage, stage, `HTTP ${status}`)
        assert.strictEqual(unavailable.retryAfterMillis, 150)
        assert.strictEqual(unavailable.httpStatus, status)
      }
    }
    assert.strictEqual(map(400, error("content_policy_violation"))._tag, "ContentRejected")
    assert.strictEqual(map(400, error("invalid_prompt", "prompt too long"))._tag, "InvalidRequest")
    assert.strictEqual(map(404, error("not_found"))._tag, "InvalidRequest")
    assert.include(map(404, error("not_found")).message, "LAOZHANG_BASE_URL")
  })

  it("keeps a body that is not JSON as the vendor's words", () => {
    const mapped = LaozhangSora.statusError("laozhang-sora", 502, Headers.empty, "<html>Bad gateway</html>", 0)
    assert.strictEqual(mapped._tag, "ProviderUnavailable")
    assert.include(mapped.message, "Bad gateway")
  })
})

describe("the key echoed back by the vendor", () => {
  const key = "sk-echo-0123456789abcdef"
  const echo = `bad key ${key}; Authorization: Bearer ${key}; see https://vendor.example/keys?key=${key}`
  const secrets = [Redacted.make(key)]

  it("is scrubbed from error bodies", () => {
    for (const [status, body] of [
      [401, JSON.stringify({ error: { code: "invalid_api_key", message: echo } })],
      [500, JSON.stringify({ error: { code: key, message: echo } })],
      [502, `upstream: ${echo}`]
    ] as const) {
      const mapped = LaozhangSora.statusError("laozhang-sora", status, Headers.empty, body, 0, secrets)
      assert.notInclude(`${mapped.message} ${JSON.stringify(mapped)}`, key, `HTTP ${status}`)
      assert.include(mapped.message, "[redacted]")
    }
  })

  it("is scrubbed from failure lines, error chunks and unreadable answers", () => {
    const failed = reader({ secrets })
    failed.data(say(`> ❌ Video generation failed (generation_failed): ${echo}\n\n`), now)
    failed.data(chunk({}, "stop"), now)
    const ended = failed.end({ _tag: "Clean" }, now).error
    assert.strictEqual(ended?._tag, "GenerationFailed")
    assert.notInclude(JSON.stringify(ended), key)
    const errorChunk = reader({ secrets }).data(chunk({}, null, { error: { code: key, message: echo } }), now).error
    assert.isDefined(errorChunk)
    assert.notInclude(JSON.stringify(errorChunk), key)
    const whole = reader({ secrets }).whole(`not json ${echo}`, now).error
    assert.strictEqual(whole?._tag, "MalformedResponse")
    assert.notInclude(JSON.stringify(whole), key)
  })
})
