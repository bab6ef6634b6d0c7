import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Sse from "../src/Sse.js"

const limits: Sse.Limits = { maxLineChars: 1024, maxTotalChars: 64 * 1024 }

/** Feeds `pieces` one by one and returns every event, `end()` included. */
const decode = (pieces: ReadonlyArray<string>, settings: Sse.Limits = limits) => {
  const decoder = Sse.makeDecoder(settings)
  const events: Array<Sse.SseEvent> = []
  for (const piece of pieces) {
    const result = decoder.feed(piece)
    if (Either.isLeft(result)) return Either.left(result.left)
    events.push(...result.right)
  }
  events.push(...decoder.end())
  return Either.right(events)
}

const data = (pieces: ReadonlyArray<string>) => Either.getOrThrow(decode(pieces)).map((event) => event.data)

const sample = 'data: {"a":1}\n\ndata: {"b":2}\n\n: keep-alive\n\nevent: note\ndata: x\ndata: y\n\ndata: [DONE]\n\n'

describe("Sse", () => {
  it("decodes events, joins multi-line data, ignores comments", () => {
    const events = Either.getOrThrow(decode([sample]))
    assert.deepStrictEqual(
      events.map((event) => [event.data, event.event]),
      [
        ['{"a":1}', undefined],
        ['{"b":2}', undefined],
        ["x\ny", "note"],
        ["[DONE]", undefined]
      ]
    )
  })

  it("gives the same events however the text is split", () => {
    const expected = data([sample])
    for (let cut = 0; cut <= sample.length; cut++) {
      assert.deepStrictEqual(data([sample.slice(0, cut), sample.slice(cut)]), expected, `split at ${cut}`)
    }
    assert.deepStrictEqual(data(sample.split("")), expected, "one character at a time")
  })

  it("accepts CRLF, CR and LF line ends, a CRLF split across pieces included", () => {
    const crlf = sample.replaceAll("\n", "\r\n")
    const cr = sample.replaceAll("\n", "\r")
    const expected = data([sample])
    assert.deepStrictEqual(data([crlf]), expected)
    assert.deepStrictEqual(data([cr]), expected)
    for (let cut = 0; cut <= crlf.length; cut++) {
      assert.deepStrictEqual(data([crlf.slice(0, cut), crlf.slice(cut)]), expected, `CRLF split at ${cut}`)
    }
  })

  it("takes `data:` without a space, and dispatches a last event the server did not terminate", () => {
    assert.deepStrictEqual(data(["data:{}\n\ndata: tail"]), ["{}", "tail"])
  })

  it("refuses a line longer than the limit, even one that never ends", () => {
    const result = decode(["data: ", "x".repeat(600), "x".repeat(600)])
    assert.isTrue(Either.isLeft(result))
    const endless = Sse.makeDecoder(limits)
    let refused = false
    for (let i = 0; i < 100 && !refused; i++) refused = Either.isLeft(endless.feed("y".repeat(100)))
    assert.isTrue(refused, "an endless line is refused once it passes the limit")
  })

  it("refuses an event whose data lines add up past the limit", () => {
    const lines = Array.from({ length: 20 }, () => `data: ${"z".repeat(100)}\n`).join("")
    assert.isTrue(Either.isLeft(decode([lines])))
  })

  it("refuses an answer longer than the total limit", () => {
    const events = Array.from({ length: 200 }, () => 'data: {"ok":true}\n\n').join("")
    const result = decode([events, events], { maxLineChars: 1024, maxTotalChars: events.length + 10 })
    assert.isTrue(Either.isLeft(result))
  })
})
