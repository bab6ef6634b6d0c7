/**
 * A hostile provider: a server of our own (`hostile.ts`) speaking the `/v1/videos` protocol to a
 * reseller defined in configuration alone (`@reelay/openai-videos`), and Sora's SSE protocol to
 * `@reelay/provider-laozhang-sora`, through the real engine. It sends answers far larger than any
 * the protocols define, answers that never end, task ids made of path characters, video links on
 * other origins, redirects to other origins and to `file:`.
 *
 * Asserted: a clear error (or the video, where nothing is wrong with it); memory bounded — the
 * process's heap and `ArrayBuffer` growth while the generation runs stays under `memoryBound`
 * while the server offers 200 MB or an endless body, and the server stops being read long before;
 * no request path outside `/v1/videos/`, no file outside the output directory; the key only ever
 * sent to the API's own origin. The figures are printed.
 */
import * as NodeFs from "node:fs"
import type * as NodeHttp from "node:http"
import * as NodePath from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Engine from "@reelay/core/Engine"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import type { VideoError } from "@reelay/core/VideoError"
import * as Reseller from "@reelay/openai-videos/Reseller"
import { LaozhangSora } from "@reelay/provider-laozhang-sora"
import { Testkit } from "@reelay/testkit"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Hostile from "./hostile.js"
import { resellerDefinition } from "./providers.js"

const secret = "sk-reelay-hostile-canary-7f3a9c1e5b"
const apiKey = Redacted.make(secret)

/** Growth of the heap, and of `ArrayBuffer`s, allowed while a hostile answer is read. */
const memoryBound = 48 * Hostile.MiB
/** What a hostile answer offers: far beyond any limit. */
const huge = 200 * Hostile.MiB

const engine = {
  submitTimeout: "3 seconds",
  requestTimeout: "3 seconds",
  polling: { deadline: "4 seconds" },
  download: { idleTimeout: "1 second", maxBytes: 64 * Hostile.MiB }
} as const

type Wire = { readonly content?: "url" | "bytes" }

const reseller = (baseUrl: string, wire: Wire = {}) =>
  Effect.flatMap(
    Reseller.decode({ ...resellerDefinition(baseUrl), id: "hostile", auth: "bearer", wire }),
    (definition) => Reseller.make(definition, { apiKey })
  )

interface Outcome {
  readonly run: Testkit.Collected<VideoError>
  readonly error: VideoError | undefined
  readonly hostile: Hostile.Hostile
  /** The parent of the output directory: nothing may appear in it but `out/`. */
  readonly root: string
  readonly out: string
  readonly output: string
  readonly memory: { readonly rss: number; readonly heap: number; readonly arrayBuffers: number }
  readonly millis: number
}

const figures: Array<string> = []

/** Runs one generation against a hostile server through the reseller (or Sora), measuring memory. */
const generate = (
  name: string,
  handlers: Parameters<typeof Hostile.start>[0],
  options: {
    readonly protocol?: "videos" | "sora"
    readonly wire?: Wire
    readonly download?: Partial<Engine.EngineOptions["download"]>
  } = {}
) =>
  Effect.gen(function* () {
    const hostile = yield* Hostile.start(handlers)
    const root = yield* Testkit.tempDir("reelay-hostile-")
    const out = NodePath.join(root, "out")
    const output = NodePath.join(out, "video.mp4")
    const sora = options.protocol === "sora"
    const provider = sora
      ? LaozhangSora.make({ baseUrl: hostile.baseUrl, apiKey })
      : reseller(hostile.baseUrl, options.wire)
    const request = GenerateRequest.make({
      prompt: "A red fox running through fresh snow at dawn",
      model: sora ? "sora_video2" : "veo-3.1-landscape-fast"
    })
    const measured = yield* Hostile.measured(
      Testkit.collect(Engine.generate(request, { output })).pipe(
        Effect.provide(
          Testkit.engineLayer([provider], {
            engine: { ...engine, download: { ...engine.download, ...options.download } }
          })
        )
      )
    )
    const error = Testkit.failureOf(measured.result)
    const outcome: Outcome = {
      run: measured.result,
      error,
      hostile,
      root,
      out,
      output,
      memory: { rss: measured.rss, heap: measured.heap, arrayBuffers: measured.arrayBuffers },
      millis: measured.millis
    }
    const mib = (bytes: number) => `${(bytes / Hostile.MiB).toFixed(1)} MiB`
    figures.push(
      `  ${name}: ${error === undefined ? "saved" : `${error._tag} (${error.billing})`} in ${measured.millis} ms; ` +
        `growth heap ${mib(measured.heap)}, arrayBuffers ${mib(measured.arrayBuffers)}, rss ${mib(measured.rss)}; ` +
        `the server wrote ${mib(hostile.sent())}`
    )
    // Whatever happened: the key went nowhere but the API's own origin, nothing was written outside
    // the output directory, and the key is in no event and no error.
    for (const seen of hostile.seen) {
      if (seen.server === "api") continue
      const values = Object.values(seen.headers).join("\n")
      assert.notInclude(values, secret, `the key reached another origin: ${seen.method} ${seen.url}`)
      assert.isUndefined(seen.headers.authorization, `an Authorization header reached another origin (${seen.url})`)
    }
    assert.deepStrictEqual(
      NodeFs.readdirSync(root).filter((name) => name !== "out"),
      [],
      "nothing is written outside the output directory"
    )
    const text = JSON.stringify(outcome.run.events) + String(error) + JSON.stringify(error)
    assert.notInclude(text, secret, "the key in an event or the error")
    return outcome
  })

const expectBounded = (outcome: Outcome, offered: number = huge) => {
  assert.isBelow(outcome.memory.heap, memoryBound, "heap growth")
  assert.isBelow(outcome.memory.arrayBuffers, memoryBound, "ArrayBuffer growth")
  assert.isBelow(outcome.hostile.sent(), offered / 2, "the answer was not read to its end")
}

const expectFailure = (outcome: Outcome, tag: VideoError["_tag"], message: RegExp) => {
  assert.isDefined(outcome.error, `expected ${tag}, got ${Exit.isSuccess(outcome.run.exit) ? "a video" : "a defect"}`)
  assert.strictEqual(outcome.error!._tag, tag, outcome.error!.message)
  assert.match(outcome.error!.message, message)
  assert.isFalse(NodeFs.existsSync(outcome.output), "no video at the output path")
  assert.deepStrictEqual(Testkit.partFiles(outcome.out), [], "no .part left")
}

const expectSaved = (outcome: Outcome) => {
  assert.isUndefined(outcome.error, outcome.error?.message)
  assert.deepStrictEqual(NodeFs.readdirSync(outcome.out), ["video.mp4"])
  assert.isTrue(NodeFs.readFileSync(outcome.output).equals(Hostile.video), "the video served")
}

const created = (response: NodeHttp.ServerResponse, id = "task_1") =>
  Hostile.json(response, 200, { id, object: "video", status: "queued" })

/** A `/v1/videos` API: creates `id`, reports it completed, and answers `/content` with `content`. */
const videosApi =
  (content: Hostile.Handler, id = "task_1"): Hostile.Handler =>
  (request, response, origins, body) => {
    if (request.method === "POST") return created(response, id)
    if (request.url?.endsWith("/content")) return content(request, response, origins, body)
    return Hostile.json(response, 200, { id, status: "completed", progress: 100 })
  }

const jsonHead = (response: NodeHttp.ServerResponse, status = 200, length?: number) =>
  response.writeHead(status, {
    "content-type": "application/json",
    ...(length === undefined ? {} : { "content-length": String(length) })
  })

const sse = (response: NodeHttp.ServerResponse) => response.writeHead(200, { "content-type": "text/event-stream" })

describe("hostile provider: /v1/videos through a reseller defined in configuration", () => {
  it.scopedLive("a 200 MB status answer: MalformedResponse, memory bounded, not read to its end", () =>
    Effect.gen(function* () {
      const outcome = yield* generate("/v1/videos status of 200 MB", {
        api: (request, response) => {
          if (request.method === "POST") return created(response)
          jsonHead(response, 200, huge)
          Hostile.stream(response, {
            head: '{"id":"task_1","status":"processing","pad":"',
            filler: "x",
            total: huge - 2,
            tail: '"}'
          })
        }
      })
      expectFailure(outcome, "MalformedResponse", /larger than 1048576 bytes/)
      expectBounded(outcome)
    })
  )

  it.scopedLive("a status answer that never ends: MalformedResponse, memory bounded", () =>
    Effect.gen(function* () {
      const outcome = yield* generate("/v1/videos endless status", {
        api: (request, response) => {
          if (request.method === "POST") return created(response)
          jsonHead(response)
          Hostile.stream(response, { head: '{"id":"task_1","status":"processing","pad":"', filler: "x" })
        }
      })
      expectFailure(outcome, "MalformedResponse", /larger than 1048576 bytes/)
      expectBounded(outcome)
    })
  )

  it.scopedLive("a 200 MB create answer: UncertainSubmission (a 200 may mean a task), memory bounded", () =>
    Effect.gen(function* () {
      const outcome = yield* generate("/v1/videos create answer of 200 MB", {
        api: (_request, response) => {
          jsonHead(response, 200, huge)
          Hostile.stream(response, { head: '{"id":"task_1","status":"queued","pad":"', filler: "x", total: huge })
        }
      })
      expectFailure(outcome, "UncertainSubmission", /larger than 1048576 bytes/)
      assert.strictEqual(outcome.error!.billing, "unknown")
      expectBounded(outcome)
    })
  )

  it.scopedLive("a content answer that never ends: MalformedResponse, memory bounded", () =>
    Effect.gen(function* () {
      const outcome = yield* generate("/v1/videos endless content answer", {
        api: videosApi((_request, response) => {
          jsonHead(response)
          Hostile.stream(response, { head: '{"url":"http://127.0.0.1/', filler: "a" })
        })
      })
      expectFailure(outcome, "MalformedResponse", /larger than 1048576 bytes/)
      expectBounded(outcome)
    })
  )

  it.scopedLive("a 200 MB error body: mapped from its status (500, retried), memory bounded", () =>
    Effect.gen(function* () {
      const outcome = yield* generate("/v1/videos error body of 200 MB", {
        api: (_request, response) => {
          jsonHead(response, 500, huge)
          Hostile.stream(response, { head: '{"error":{"message":"', filler: "x", total: huge })
        }
      })
      expectFailure(outcome, "ProviderUnavailable", /unavailable \(HTTP 500\)/)
      assert.strictEqual(outcome.error!.billing, "not-charged")
      expectBounded(outcome)
    })
  )

  it.scopedLive(
    "an endless video without Content-Length: DownloadFailed at maxBytes, streamed to disk, .part removed",
    () =>
      Effect.gen(function* () {
        const outcome = yield* generate("/v1/videos endless download (64 MiB maxBytes)", {
          api: videosApi((_request, response, origins) =>
            Hostile.json(response, 200, { url: `${origins.elsewhere}/video.mp4?token=cdn-secret` })
          ),
          elsewhere: (_request, response) => {
            response.writeHead(200, { "content-type": "video/mp4" })
            Hostile.stream(response, { head: Hostile.video, filler: "\0" })
          }
        })
        expectFailure(outcome, "DownloadFailed", /larger than the 67108864-byte limit/)
        assert.strictEqual(outcome.error!.billing, "charged")
        // 64 MiB went to disk; memory held a batch or two of it.
        assert.isBelow(outcome.memory.heap, memoryBound, "heap growth")
        assert.isBelow(outcome.memory.arrayBuffers, memoryBound, "ArrayBuffer growth")
        assert.isFalse(
          (outcome.error as { message: string }).message.includes("cdn-secret"),
          "no CDN token in the error"
        )
      })
  )

  it.scopedLive("a video trickled forever: DownloadFailed under the minimum rate, bounded in time, .part kept", () =>
    Effect.gen(function* () {
      const outcome = yield* generate(
        "/v1/videos video trickled a byte every 50 ms",
        {
          api: videosApi((_request, response, origins) =>
            Hostile.json(response, 200, { url: `${origins.elsewhere}/video.mp4` })
          ),
          elsewhere: (_request, response) => {
            response.writeHead(200, { "content-type": "video/mp4", "content-length": String(Hostile.MiB) })
            const timer = setInterval(() => response.write("\0"), 50)
            response.once("close", () => clearInterval(timer))
          }
        },
        { download: { retry: { attempts: 2, baseDelay: "10 millis" } } }
      )
      assert.strictEqual(outcome.error?._tag, "DownloadFailed", outcome.error?.message)
      assert.match(outcome.error!.message, /under the minimum of 1024 bytes\/s.*gave up after 3 attempts/)
      // Three one-second windows and two short retry delays, never "for ever".
      assert.isBelow(outcome.millis, 10_000)
      assert.isFalse(NodeFs.existsSync(outcome.output), "no video at the output path")
      assert.deepStrictEqual(Testkit.partFiles(outcome.out), ["video.mp4.part"], "what arrived is kept for a resume")
    })
  )

  const pathIds = ["../../etc/passwd", "a/b", "a?b=c", "a#b", "%2e%2e", "..%2f..%2fx", "%2F..%2F", "a\\..\\b", "..."]
  for (const id of pathIds) {
    it.scopedLive(`task id ${JSON.stringify(id)}: encoded into one path segment, the video saved where asked`, () =>
      Effect.gen(function* () {
        const outcome = yield* generate(`task id ${JSON.stringify(id)}`, {
          api: videosApi(
            (_request, response, origins) => Hostile.json(response, 200, { url: `${origins.elsewhere}/video.mp4` }),
            id
          ),
          elsewhere: (_request, response) => Hostile.sendVideo(response)
        })
        expectSaved(outcome)
        const segment = encodeURIComponent(id)
        const paths = outcome.hostile.seen.filter((seen) => seen.server === "api").map((seen) => seen.url)
        assert.deepStrictEqual(
          [...new Set(paths)],
          ["/v1/videos", `/v1/videos/${segment}`, `/v1/videos/${segment}/content`],
          "every request stays in /v1/videos/, the id one segment"
        )
        for (const path of paths) {
          assert.strictEqual(new URL(path, outcome.hostile.api).pathname, path, "a path no URL parser rewrites")
        }
        assert.strictEqual(outcome.run.events.find((event) => event._tag === "Submitted")?._tag, "Submitted")
      })
    )
  }

  for (const id of [".", ".."]) {
    it.scopedLive(
      `task id ${JSON.stringify(id)} (a dot segment): refused at the create, nothing requested with it`,
      () =>
        Effect.gen(function* () {
          const outcome = yield* generate(`task id ${JSON.stringify(id)}`, { api: videosApi(() => undefined, id) })
          expectFailure(outcome, "UncertainSubmission", /cannot name a task in a URL path/)
          assert.deepStrictEqual(
            outcome.hostile.seen.map((seen) => `${seen.method} ${seen.url}`),
            ["POST /v1/videos"]
          )
        })
    )
  }

  it.scopedLive("a video link on another origin: fetched without the key", () =>
    Effect.gen(function* () {
      const outcome = yield* generate("/v1/videos link on another origin", {
        api: videosApi((_request, response, origins) =>
          Hostile.json(response, 200, { url: `${origins.elsewhere}/video.mp4` })
        ),
        elsewhere: (_request, response) => Hostile.sendVideo(response)
      })
      expectSaved(outcome)
      const fetched = outcome.hostile.seen.filter((seen) => seen.server === "elsewhere")
      assert.strictEqual(fetched.length, 1)
      assert.isTrue(
        outcome.hostile.seen.filter((seen) => seen.server === "api").every((seen) => seen.headers.authorization),
        "the API got its key"
      )
    })
  )

  it.scopedLive("a redirect from the provider's own origin to another one: the key is dropped at the hop", () =>
    Effect.gen(function* () {
      const outcome = yield* generate(
        "/v1/videos bytes content redirected to another origin",
        {
          api: videosApi((_request, response, origins) =>
            response.writeHead(302, { location: `${origins.elsewhere}/video.mp4` }).end()
          ),
          elsewhere: (_request, response) => Hostile.sendVideo(response)
        },
        { wire: { content: "bytes" } }
      )
      expectSaved(outcome)
      const content = outcome.hostile.seen.find((seen) => seen.url === "/v1/videos/task_1/content")
      assert.strictEqual(content?.headers.authorization, `Bearer ${secret}`, "the API's own origin gets the key")
      assert.strictEqual(outcome.hostile.seen.filter((seen) => seen.server === "elsewhere").length, 1)
    })
  )

  for (const location of ["file:///etc/passwd", "ftp://127.0.0.1/video.mp4", "javascript:alert(1)"]) {
    it.scopedLive(`a redirect to ${location.split(":")[0]}: DownloadFailed, nothing fetched`, () =>
      Effect.gen(function* () {
        const outcome = yield* generate(
          `/v1/videos redirect to ${location.split(":")[0]}:`,
          { api: videosApi((_request, response) => response.writeHead(302, { location }).end()) },
          { wire: { content: "bytes" } }
        )
        assert.strictEqual(outcome.error?._tag, "DownloadFailed", outcome.error?.message)
        assert.match(outcome.error!.message, /without a usable Location/)
        assert.isFalse(NodeFs.existsSync(outcome.output))
        assert.deepStrictEqual(
          outcome.hostile.seen.filter((seen) => seen.server !== "api"),
          []
        )
        // The one thing left: the empty `.part` Download keeps for a resume (see the README).
        for (const file of NodeFs.readdirSync(outcome.out)) assert.strictEqual(file, "video.mp4.part")
      })
    )
  }

  it.scopedLive("a video link with the file: scheme: MalformedResponse, nothing read", () =>
    Effect.gen(function* () {
      const outcome = yield* generate("/v1/videos link file:///etc/passwd", {
        api: videosApi((_request, response) => Hostile.json(response, 200, { url: "file:///etc/passwd" }))
      })
      expectFailure(outcome, "MalformedResponse", /cannot read/)
    })
  )

  it.scopedLive("a status answered with a redirect to another origin: not followed", () =>
    Effect.gen(function* () {
      const outcome = yield* generate("/v1/videos status redirected to another origin", {
        api: (request, response, origins) => {
          if (request.method === "POST") return created(response)
          response.writeHead(302, { location: `${origins.elsewhere}/v1/videos/task_1` }).end()
        },
        elsewhere: (_request, response) => Hostile.json(response, 200, { id: "task_1", status: "completed" })
      })
      expectFailure(outcome, "MalformedResponse", /HTTP 302/)
      assert.deepStrictEqual(
        outcome.hostile.seen.filter((seen) => seen.server === "elsewhere"),
        []
      )
    })
  )
})

describe("hostile provider: Sora's SSE stream", () => {
  it.scopedLive("one 200 MB SSE line: MalformedResponse, memory bounded", () =>
    Effect.gen(function* () {
      const outcome = yield* generate(
        "sora SSE line of 200 MB",
        {
          api: (_request, response) => {
            sse(response)
            Hostile.stream(response, {
              head: `${Hostile.soraChunk("> ⌛️ Task is in queue\n\n")}data: {"pad":"`,
              filler: "x",
              total: huge
            })
          }
        },
        { protocol: "sora" }
      )
      expectFailure(outcome, "MalformedResponse", /a line of more than/)
      assert.strictEqual(outcome.error!.billing, "charged", "the 200 was answered, and Sora bills every 200")
      expectBounded(outcome)
    })
  )

  it.scopedLive("progress events forever: MalformedResponse at the answer limit, memory bounded", () =>
    Effect.gen(function* () {
      const outcome = yield* generate(
        "sora endless progress",
        {
          api: (_request, response) => {
            sse(response)
            Hostile.stream(response, {
              head: Hostile.soraChunk("> ⌛️ Task is in queue\n\n"),
              filler: Hostile.soraChunk("> 🏃 Progress: 5.0%\n\n")
            })
          }
        },
        { protocol: "sora" }
      )
      expectFailure(outcome, "MalformedResponse", /characters in one answer/)
      expectBounded(outcome, Number.POSITIVE_INFINITY)
      assert.isBelow(outcome.hostile.sent(), 32 * Hostile.MiB, "the stream was not read for long")
    })
  )

  it.scopedLive("a stream that falls silent: PollTimeout at the deadline", () =>
    Effect.gen(function* () {
      const outcome = yield* generate(
        "sora silent stream",
        {
          api: (_request, response) => {
            sse(response)
            response.write(Hostile.soraChunk("> ⌛️ Task is in queue\n\n"))
          }
        },
        { protocol: "sora" }
      )
      expectFailure(outcome, "PollTimeout", /did not finish within 4s/)
      assert.isBelow(outcome.millis, 8000)
    })
  )

  it.scopedLive("a 200 MB JSON answer in place of the stream: MalformedResponse, memory bounded", () =>
    Effect.gen(function* () {
      const outcome = yield* generate(
        "sora JSON answer of 200 MB",
        {
          api: (_request, response) => {
            jsonHead(response, 200, huge)
            Hostile.stream(response, {
              head: '{"id":"x","object":"chat.completion","choices":[{"message":{"content":"',
              filler: "x",
              total: huge
            })
          }
        },
        { protocol: "sora" }
      )
      expectFailure(outcome, "MalformedResponse", /not a chat completion/)
      expectBounded(outcome)
    })
  )

  it.scopedLive("the video link on another origin: fetched without the key", () =>
    Effect.gen(function* () {
      const outcome = yield* generate(
        "sora link on another origin",
        {
          api: (_request, response, origins) => {
            sse(response)
            response.end(
              Hostile.soraChunk("> ⌛️ Task is in queue\n\n") +
                Hostile.soraLink(`${origins.elsewhere}/video.mp4`) +
                Hostile.soraDone()
            )
          },
          elsewhere: (_request, response) => Hostile.sendVideo(response)
        },
        { protocol: "sora" }
      )
      expectSaved(outcome)
    })
  )

  it.scopedLive("a link on the API's origin redirecting elsewhere: the key goes to the API only", () =>
    Effect.gen(function* () {
      const outcome = yield* generate(
        "sora link on the API origin, redirected",
        {
          api: (request, response, origins) => {
            if (request.method === "POST") {
              sse(response)
              return response.end(
                Hostile.soraChunk("> ⌛️ Task is in queue\n\n") +
                  Hostile.soraLink(`${origins.api}/files/video.mp4`) +
                  Hostile.soraDone()
              )
            }
            response.writeHead(302, { location: `${origins.elsewhere}/video.mp4` }).end()
          },
          elsewhere: (_request, response) => Hostile.sendVideo(response)
        },
        { protocol: "sora" }
      )
      expectSaved(outcome)
      const hop = outcome.hostile.seen.find((seen) => seen.url === "/files/video.mp4")
      assert.strictEqual(hop?.headers.authorization, `Bearer ${secret}`, "the API's own origin gets the key")
    })
  )

  it.scopedLive("a link with the file: scheme: no video, nothing read", () =>
    Effect.gen(function* () {
      const outcome = yield* generate(
        "sora link file:///etc/passwd",
        {
          api: (_request, response) => {
            sse(response)
            response.end(
              Hostile.soraChunk("> ⌛️ Task is in queue\n\n") +
                Hostile.soraLink("file:///etc/passwd") +
                Hostile.soraDone()
            )
          }
        },
        { protocol: "sora" }
      )
      // Not a video link: the answer ended without one, which the vendor bills (on-response).
      expectFailure(outcome, "GenerationFailed", /laozhang-sora/)
      assert.strictEqual(outcome.error!.billing, "charged")
      assert.isFalse(NodeFs.existsSync(outcome.out), "nothing written")
      assert.deepStrictEqual(
        outcome.hostile.seen.map((seen) => seen.url),
        ["/v1/chat/completions"]
      )
    })
  )
})

describe("hostile provider: figures", () => {
  it("prints what each hostile answer cost", () => {
    process.stdout.write(
      [`[hostile] memory bound ${memoryBound / Hostile.MiB} MiB (heap, ArrayBuffers)`, ...figures, ""].join("\n")
    )
  })
})
