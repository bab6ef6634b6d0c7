import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Simulator from "../src/Simulator.js"
import * as Videos from "../src/Videos.js"
import { attempt, bytes, get, json, laozhang, pngDataUrl, postJson, raw, sseData } from "./support.js"

const fixture = (name: string) => readFileSync(`${Videos.defaultDirectory}/${name}.mp4`)
// Real time, short phases: the stream is paced by the simulated clock.
const quick = "@sim:timing(queue=0.05,run=0.3)"

const chat = (model: string, text: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: "user", content: [{ type: "text", text }] }],
  ...extra
})

describe("laozhang sora (chat completions)", () => {
  it.scopedLive("stream: true is SSE exactly like the reference", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const prompt = `A happy cat playing with a ball in a sunny garden ${quick}`
      const res = yield* postJson(
        `${sim.urls.laozhang}/chat/completions`,
        chat("sora_video2", prompt, { stream: true }),
        laozhang
      )
      assert.strictEqual(res.status, 200)
      assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/)
      const text = yield* Effect.promise(() => res.text())
      const data = sseData(text)
      assert.strictEqual(data.at(-1), "[DONE]")
      const chunks = data.slice(0, -1).map((d) => JSON.parse(d))
      const id = chunks[0].id
      assert.match(id, /^foaicmpl-[0-9a-f]{32}$/)
      for (const c of chunks) {
        assert.deepStrictEqual(Object.keys(c).slice(0, 5), ["id", "object", "created", "model", "choices"])
        assert.strictEqual(c.id, id)
        assert.strictEqual(c.object, "chat.completion.chunk")
        assert.strictEqual(c.model, "sora_video2")
        assert.strictEqual(c.choices[0].index, 0)
      }
      assert.deepStrictEqual(chunks[0].choices[0], { index: 0, delta: { role: "assistant" }, finish_reason: null })
      const contents: Array<string> = chunks.slice(1, -1).map((c) => c.choices[0].delta.content)
      assert.strictEqual(
        contents[0],
        `\`\`\`json\n{\n    "prompt": ${JSON.stringify(prompt)},\n    "mode": "Vertical Mode"\n}\n\`\`\`\n\n`
      )
      assert.strictEqual(contents[1], "> ⌛️ Task is in queue, please wait patiently...\n\n")
      const progress = contents.slice(2, -1)
      assert.isAtLeast(progress.length, 5)
      const percents = progress.map((p) => {
        const m = /^> 🏃 Progress: (\d+\.\d)%\n\n$/.exec(p)
        assert.isNotNull(m, p)
        return Number(m![1])
      })
      assert.deepStrictEqual(
        [...percents].sort((a, b) => a - b),
        percents
      )
      const final = contents.at(-1)!
      const link =
        /^> ✅ Video generated successfully, \[Click here\]\((http:\/\/[^)]+\.mp4)\) to view video~~~\n\n$/.exec(final)
      assert.isNotNull(link)
      const last = chunks.at(-1)
      assert.deepStrictEqual(last.choices[0], { index: 0, delta: {}, finish_reason: "stop" })
      assert.deepStrictEqual(Object.keys(last.usage), ["prompt_tokens", "completion_tokens", "total_tokens"])
      // The link is on the CDN and serves a 704x1280, 10 s video.
      assert.isTrue(link![1]!.startsWith(sim.urls.cdn))
      assert.isTrue((yield* bytes(yield* get(link![1]!))).equals(fixture("704x1280-10s")))
      const ledger = yield* sim.ledger
      assert.deepStrictEqual(
        ledger.map((e) => [e.taskId, e.amount, e.rule, e.protocol]),
        [[id, "0.15", "on-response", "sora"]]
      )
    })
  )

  it.scopedLive("stream: false returns one chat.completion; landscape and 15 s pick the right video", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const res = yield* postJson(
        `${sim.urls.laozhang}/chat/completions`,
        chat("sora_video2-landscape", `A dog ${quick}`, { stream: false, seconds: 15 }),
        laozhang
      )
      assert.strictEqual(res.status, 200)
      const body = yield* json(res)
      assert.strictEqual(body.object, "chat.completion")
      assert.strictEqual(body.choices[0].finish_reason, "stop")
      assert.strictEqual(body.choices[0].message.role, "assistant")
      const content: string = body.choices[0].message.content
      assert.include(content, '"mode": "Horizontal Mode"')
      assert.include(content, "> ⌛️ Task is in queue")
      const url = /\[Click here\]\(([^)]+)\)/.exec(content)![1]!
      assert.isTrue((yield* bytes(yield* get(url))).equals(fixture("1280x704-15s")))
      assert.strictEqual((yield* sim.ledger).length, 1)
    })
  )

  it.scopedLive("a failed or rejected generation is a 200 without a link, and is charged", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      for (const directive of ["@sim:fail", "@sim:content-policy"]) {
        const res = yield* postJson(
          `${sim.urls.laozhang}/chat/completions`,
          chat("sora_video2", `x ${quick} ${directive}`, { stream: true }),
          laozhang
        )
        assert.strictEqual(res.status, 200)
        const data = sseData(yield* Effect.promise(() => res.text()))
        assert.strictEqual(data.at(-1), "[DONE]")
        const text = data
          .slice(0, -1)
          .map((d) => JSON.parse(d).choices[0].delta.content ?? "")
          .join("")
        assert.notInclude(text, "Click here")
        assert.include(text, "> ❌ Video generation failed")
        if (directive === "@sim:content-policy") assert.include(text, "content_policy_violation")
      }
      assert.deepStrictEqual(
        (yield* sim.ledger).map((e) => e.amount),
        ["0.15", "0.15"]
      )
    })
  )

  it.scopedLive("images: one image_url (http or data:) accepted, two refused; errors are not charged", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const url = `${sim.urls.laozhang}/chat/completions`
      const withImages = (...urls: Array<string>) => ({
        model: "sora_video2",
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: `Make it jump ${quick}` },
              ...urls.map((u) => ({ type: "image_url", image_url: { url: u } }))
            ]
          }
        ]
      })
      assert.strictEqual((yield* postJson(url, withImages("https://example.com/a.png"), laozhang)).status, 200)
      assert.strictEqual((yield* postJson(url, withImages(pngDataUrl), laozhang)).status, 200)
      const two = yield* postJson(url, withImages("https://e.com/a.png", "https://e.com/b.png"), laozhang)
      assert.strictEqual(two.status, 400)
      assert.strictEqual((yield* json(two)).error.code, "invalid_request")
      const badData = yield* postJson(url, withImages("data:image/png;base64,aGVsbG8="), laozhang)
      assert.strictEqual(badData.status, 400)
      const unauthorized = yield* postJson(url, chat("sora_video2", "x"), {})
      assert.strictEqual(unauthorized.status, 401)
      assert.strictEqual((yield* json(unauthorized)).error.code, "invalid_api_key")
      const wrongModel = yield* postJson(url, chat("veo-3.1", "x"), laozhang)
      assert.strictEqual(wrongModel.status, 400)
      assert.strictEqual((yield* json(wrongModel)).error.code, "invalid_model")
      const noFunds = yield* postJson(url, chat("sora_video2", "x"), { authorization: "Bearer sk-nofunds-x" })
      assert.strictEqual(noFunds.status, 402)
      const limited = yield* postJson(url, chat("sora_video2", "x @sim:429"), laozhang)
      assert.strictEqual(limited.status, 429)
      assert.strictEqual((yield* sim.ledger).length, 2)
    })
  )

  it.scopedLive("sse-cut ends the stream mid-way without [DONE], and the call is still charged", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const result = yield* raw(`${sim.urls.laozhang}/chat/completions`, {
        method: "POST",
        headers: { ...laozhang, "content-type": "application/json" },
        body: JSON.stringify(chat("sora_video2", `x ${quick} @sim:sse-cut(at=40)`, { stream: true }))
      })
      assert.strictEqual(result._tag, "Response")
      if (result._tag !== "Response") return
      assert.strictEqual(result.status, 200)
      assert.isFalse(result.complete)
      const data = sseData(result.body.toString("utf8"))
      assert.notInclude(data, "[DONE]")
      const last = JSON.parse(data.at(-1)!).choices[0].delta.content as string
      const percent = Number(/Progress: (\d+\.\d)%/.exec(last)![1])
      assert.isAtLeast(percent, 40)
      assert.isBelow(percent, 60)
      assert.strictEqual((yield* sim.ledger).length, 1)
      // A retry of the same logical request is not cut again (times=1).
      const retry = yield* postJson(
        `${sim.urls.laozhang}/chat/completions`,
        chat("sora_video2", `x ${quick} @sim:sse-cut(at=40)`, { stream: true }),
        laozhang
      )
      const text = yield* Effect.promise(() => retry.text())
      assert.isTrue(text.endsWith("data: [DONE]\n\n"))
      assert.strictEqual((yield* sim.ledger).length, 2)
    })
  )

  it.scopedLive("reset-after-create charges; reset-before-create does not", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator.make()
      const url = `${sim.urls.laozhang}/chat/completions`
      const init = (d: string) => ({
        method: "POST",
        headers: { ...laozhang, "content-type": "application/json" },
        body: JSON.stringify(chat("sora_video2", `x ${quick} ${d}`, { stream: true }))
      })
      assert.instanceOf(yield* attempt(url, init("@sim:reset-before-create")), Error)
      assert.strictEqual((yield* sim.ledger).length, 0)
      assert.instanceOf(yield* attempt(url, init("@sim:reset-after-create")), Error)
      assert.strictEqual((yield* sim.ledger).length, 1)
    })
  )
})
