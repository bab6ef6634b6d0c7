import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"
import * as Sanitize from "../src/Sanitize.js"

// Characters that percent-encoding, form encoding, JSON escaping and base64 all treat differently.
const key = "sk-Test_0123/abcd+EFGH=ijkl~5678wxyz"
const bearer = `Bearer ${key}`
const secrets = [Redacted.make(key), Redacted.make(bearer)]

const base64 = (text: string) => Buffer.from(text).toString("base64")
const base64url = (text: string) => Buffer.from(text).toString("base64url")
const unicodeEscaped = (text: string) =>
  [...text].map((char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")

/** Every spelling a server can produce from the key, written here independently of the scrubber. */
const spellings: ReadonlyArray<readonly [string, string]> = [
  ["the exact key", key],
  ["encodeURIComponent", encodeURIComponent(key)],
  ["encodeURIComponent, lower-case hex", encodeURIComponent(key).replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase())],
  ["form encoding", new URLSearchParams({ k: key }).toString().slice(2)],
  ["form encoding of the header value", new URLSearchParams({ k: bearer }).toString().slice(2)],
  ["base64", base64(key)],
  ["base64 without padding", base64(key).replace(/=+$/, "")],
  ["base64url", base64url(key)],
  ["base64url with padding", base64(key).replace(/\+/g, "-").replace(/\//g, "_")],
  ["base64 of the header value", base64(bearer)],
  ["base64url of the header value", base64url(bearer)],
  ["base64 of the key inside a longer value", base64(`user:${key}`)],
  ["JSON.stringify", JSON.stringify(key).slice(1, -1)],
  ["JSON with escaped slashes", key.replace(/\//g, "\\/")],
  ["JSON with \\u escapes", unicodeEscaped(key)],
  ["JSON with some \\u escapes", key.replace(/[+=~]/g, (char) => unicodeEscaped(char))],
  ["JSON of the header value", JSON.stringify({ authorization: bearer })],
  ["12 characters of the tail", key.slice(-12)],
  ["12 characters of the middle", key.slice(9, 21)],
  ["a run longer than 12", key.slice(3, 30)]
]

describe("Sanitize.scrub: every spelling of the key", () => {
  for (const [name, spelling] of spellings) {
    it(`removes ${name}`, () => {
      const text = `vendor said: <${spelling}> (end)`
      const scrubbed = Sanitize.scrub(text, secrets)
      assert.notInclude(scrubbed, spelling)
      assert.include(scrubbed, "[redacted]")
      assert.isTrue(scrubbed.startsWith("vendor said: <"), scrubbed)
      assert.isTrue(scrubbed.endsWith("> (end)"), scrubbed)
      assert.isTrue(Sanitize.reveals(text, secrets), `${name} is a spelling of the key`)
    })
  }

  it("removes the key's own characters from a base64 value that holds it among others", () => {
    const scrubbed = Sanitize.scrub(`Basic ${base64(`user:${key}`)}`, secrets)
    // The characters left at the edges also encode bits of "user:" and the padding: never 2 in a row of the key.
    assert.notInclude(scrubbed, base64(key).slice(4, 16))
    assert.isBelow(scrubbed.replace("[redacted]", "").length, 20, scrubbed)
  })

  it("keeps what vendors print on purpose: a 4-character masked tail, and runs under 12 characters", () => {
    const text = `Incorrect API key provided: sk-...${key.slice(-4)}; key ending ${key.slice(-11)}`
    assert.strictEqual(Sanitize.scrub(text, secrets), text)
    assert.isFalse(Sanitize.reveals(text, secrets))
  })

  it("keeps the text around a key, and the space before it", () => {
    assert.strictEqual(
      Sanitize.scrub(`a ${key} b ${base64(bearer)} c ${encodeURIComponent(key)}`, secrets),
      "a [redacted] b [redacted] c [redacted]"
    )
  })

  it("removes every occurrence, overlapping spellings once", () => {
    const text = `${key}${key} / ${key.slice(-14)}${base64(key)} / ${key}`
    assert.strictEqual(Sanitize.scrub(text, secrets), "[redacted] / [redacted] / [redacted]")
  })

  it("still cuts URLs to their origin and masks key-like strings that are not ours", () => {
    const text = "see https://cdn.example/v/a.mp4?token=abc and sk-someoneelse123, Bearer abc.def, api_key=zzz"
    assert.strictEqual(
      Sanitize.scrub(text, secrets),
      "see https://cdn.example/… and sk-[redacted], Bearer [redacted], api_key=[redacted]"
    )
    assert.strictEqual(Sanitize.scrub(text), Sanitize.scrub(text, secrets))
  })

  it("ignores secrets under 6 characters; matches secrets of 6 to 11 characters whole", () => {
    const tiny = [Redacted.make("abc")]
    assert.strictEqual(Sanitize.scrub("abc abcdef", tiny), "abc abcdef")
    const short = [Redacted.make("q7Zk93")]
    assert.strictEqual(Sanitize.scrub("x q7Zk93 y q7Zk9", short), "x [redacted] y q7Zk9")
    assert.strictEqual(Sanitize.scrub(`x ${base64("Bearer q7Zk93")}`, [Redacted.make("Bearer q7Zk93")]), "x [redacted]")
  })

  it("removes several secrets of different lengths, wherever they sit", () => {
    const several = [Redacted.make("q7Zk93"), ...secrets]
    assert.strictEqual(
      Sanitize.scrub(`${key.slice(-13)} q7Zk93 ${base64(key)} ${key}q7Zk93!`, several),
      "[redacted] [redacted] [redacted] [redacted]!"
    )
  })

  it("finds the key at the end of a long text, through escapes, in one pass", () => {
    const filler = "ab%20cd\\n".repeat(50_000)
    const scrubbed = Sanitize.scrub(`${filler}${unicodeEscaped(key)}!`, secrets)
    assert.isTrue(scrubbed.endsWith("\\n[redacted]!"))
    assert.strictEqual(scrubbed.length, filler.length + "[redacted]!".length)
  })

  it("builds one scrubber per array of secrets", () => {
    assert.strictEqual(Sanitize.make(secrets), Sanitize.make(secrets))
  })

  it("excerpt: scrubbed, flattened and cut", () => {
    const excerpt = Sanitize.excerpt(`{"error":\n  "${base64(bearer)}", "pad": "${"x".repeat(300)}"}`, secrets, 40)
    assert.strictEqual(excerpt, `{"error": "[redacted]", "pad": "xxxxxxxx…`)
  })
})

describe("Sanitize.guardClient: spans", () => {
  const recorded: Array<Map<string, unknown>> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      recorded.push(attributes)
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `span-${recorded.length}`,
        traceId: "trace",
        parent: parent as Option.Option<Tracer.AnySpan>,
        context,
        status: { _tag: "Started", startTime },
        attributes,
        links,
        sampled: true,
        kind,
        end: () => {},
        attribute: (attribute, value) => {
          attributes.set(attribute, value)
        },
        event: () => {},
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })

  it.effect("removes the key from every response header the HTTP client records, whatever its name", () =>
    Effect.gen(function* () {
      const echoing = HttpClient.make((request) =>
        Effect.succeed(
          HttpClientResponse.fromWeb(
            request,
            new Response("{}", {
              headers: {
                "x-request-id": `req-${base64(bearer)}`,
                "x-debug": `key=${encodeURIComponent(key)}`,
                "www-authenticate": `Bearer realm="${key}"`,
                "content-type": "application/json"
              }
            })
          )
        )
      )
      const client = echoing.pipe(Sanitize.guardClient({ secrets, headers: ["x-acme-key"] }))
      yield* client.execute(
        HttpClientRequest.get("https://api.example/v1/videos/t1").pipe(HttpClientRequest.setHeader("x-acme-key", key))
      )
      const attributes = recorded.at(-1)!
      const text = [...attributes.entries()].map(([name, value]) => `${name}=${String(value)}`).join("\n")
      assert.include(text, "http.response.header.x-request-id=req-[redacted]")
      assert.include(text, "http.response.header.x-debug=key=[redacted]")
      assert.include(text, "http.response.header.content-type=application/json")
      assert.include(text, "url.full=https://api.example/v1/videos/t1")
      assert.isFalse(Sanitize.reveals(text, secrets), text)
    }).pipe(Effect.withTracer(tracer))
  )

  it.effect("leaves Effect's own tracer alone: its spans leave no process, so nothing is scrubbed for them", () =>
    Effect.gen(function* () {
      const native = yield* Effect.tracer
      const seen = yield* Effect.tracer.pipe(Sanitize.withScrubbedSpans(secrets))
      assert.strictEqual(seen, native)
      const wrapped = yield* Effect.tracer.pipe(Sanitize.withScrubbedSpans(secrets), Effect.withTracer(tracer))
      assert.notStrictEqual(wrapped, tracer, "any other tracer is wrapped")
    })
  )
})
