/**
 * API answers a hostile server shapes (issue 11, cases 4, 6 and 10b), through the real engine and a
 * `/v1/videos` reseller defined in configuration, against servers of this file's own (`hostile.ts`):
 *
 * - **Requests without an end**: a status answer whose body, or whose headers, trickle one byte
 *   every 500 ms ends at the task's deadline (`PollTimeout`, the task left alone), far sooner than
 *   the trickle or the request timeout would; a create answer trickled is cut by the minimum pace and
 *   is an `UncertainSubmission`, never sent twice; a steady answer under `minBytesPerSecond` fails,
 *   one above it is read.
 * - **Compressed answers**: gzip and br answers are decoded; a gzip bomb stops at the answer cap,
 *   memory bounded, and what is quoted is the decoded text.
 * - **Prompts the provider cannot read back**: a 1 MB prompt is refused before anything is sent; a
 *   prompt at the limit, made of the characters JSON escapes longest, goes through the simulator and
 *   its status (which echoes it) is read back; every built-in catalog's limit fits its reader's cap.
 */
import * as NodeFs from "node:fs"
import type * as NodeHttp from "node:http"
import * as NodePath from "node:path"
import { Readable } from "node:stream"
import * as Zlib from "node:zlib"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Engine from "@reelay/core/Engine"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as Money from "@reelay/core/Money"
import * as Validation from "@reelay/core/Validation"
import * as OpenAiVideos from "@reelay/openai-videos/OpenAiVideos"
import * as Reseller from "@reelay/openai-videos/Reseller"
import { LaozhangSora } from "@reelay/provider-laozhang-sora"
import { Testkit } from "@reelay/testkit"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Hostile from "./hostile.js"
import { providers, resellerDefinition } from "./providers.js"

const apiKey = Redacted.make("sk-reelay-answers-canary-5d2b8e")
const model = "veo-3.1-landscape-fast"
const fox = "A red fox running through fresh snow at dawn"

const reseller = (baseUrl: string) =>
  Effect.flatMap(Reseller.decode({ ...resellerDefinition(baseUrl), id: "hostile", auth: "bearer" }), (definition) =>
    Reseller.make(definition, { apiKey })
  )

/** The engine's defaults where they matter here: a read may take 60 s, a create 120 s. */
const patient: Engine.EngineOptions = { requestTimeout: "60 seconds", submitTimeout: "120 seconds" }

/** One generation against a hostile `/v1/videos` (or Sora) server, timed and with memory measured. */
const generate = (
  handlers: Parameters<typeof Hostile.start>[0],
  engine: Engine.EngineOptions,
  prompt: string = fox,
  protocol: "videos" | "sora" = "videos"
) =>
  Effect.gen(function* () {
    const hostile = yield* Hostile.start(handlers)
    const out = yield* Testkit.tempDir("reelay-answers-")
    const output = NodePath.join(out, "video.mp4")
    const provider =
      protocol === "sora" ? LaozhangSora.make({ baseUrl: hostile.baseUrl, apiKey }) : reseller(hostile.baseUrl)
    const request = GenerateRequest.make({ prompt, model: protocol === "sora" ? "sora_video2" : model })
    const measured = yield* Hostile.measured(
      Testkit.collect(Engine.generate(request, { output })).pipe(
        Effect.provide(Testkit.engineLayer([provider], { engine }))
      )
    )
    const run = measured.result
    const creates = hostile.seen.filter((seen) => seen.method === "POST").length
    return { hostile, run, error: Testkit.failureOf(run), millis: measured.millis, memory: measured, output, creates }
  })

const created = (response: NodeHttp.ServerResponse) =>
  Hostile.json(response, 200, { id: "task_1", object: "video", status: "queued" })

const jsonHead = (response: NodeHttp.ServerResponse, headers: Record<string, string> = {}) =>
  response.writeHead(200, { "content-type": "application/json", ...headers })

/** A status answer padded to about 1 KB: 500 s at a byte every 500 ms. */
const processing = JSON.stringify({ id: "task_1", status: "processing", progress: 50, pad: "x".repeat(1000) })

const deadline = 3_000
/** The task's deadline plus what a loaded machine may add; the trickles would take minutes. */
const bound = deadline + 7_000

describe("requests without an end", () => {
  it.scopedLive(
    "a status body trickled a byte every 500 ms: cut at the task's deadline, PollTimeout, the charge unknown",
    () =>
      Effect.gen(function* () {
        const outcome = yield* generate(
          {
            api: (request, response) => {
              if (request.method === "POST") return created(response)
              jsonHead(response)
              Hostile.trickle(response, processing, { everyMillis: 500 })
            }
          },
          { ...patient, polling: { deadline: `${deadline} millis` } }
        )
        assert.strictEqual(outcome.error?._tag, "PollTimeout", outcome.error?.message)
        assert.match(outcome.error!.message, /had not answered a status request when the deadline passed/)
        assert.strictEqual(outcome.error!.billing, "unknown", "on-success: a task still running may yet be charged")
        assert.isBelow(outcome.millis, bound, "ended at the deadline, not after the request timeout or the trickle")
        assert.isAtLeast(outcome.millis, deadline)
        assert.strictEqual(outcome.creates, 1)
        const charges = Testkit.chargesOf(outcome.run.events)
        assert.strictEqual(Money.format(charges.certain), "$0.00")
        assert.strictEqual(Money.format(charges.possible), "$0.15")
        assert.isFalse(NodeFs.existsSync(outcome.output))
      }),
    60_000
  )

  it.scopedLive(
    "status headers trickled a byte every 500 ms: cut at the task's deadline, PollTimeout",
    () =>
      Effect.gen(function* () {
        const outcome = yield* generate(
          {
            api: (request, response) => {
              if (request.method === "POST") return created(response)
              Hostile.trickleHeaders(request, 500)
            }
          },
          { ...patient, polling: { deadline: `${deadline} millis` } }
        )
        assert.strictEqual(outcome.error?._tag, "PollTimeout", outcome.error?.message)
        assert.strictEqual(outcome.error!.billing, "unknown")
        assert.isBelow(outcome.millis, bound)
        assert.strictEqual(outcome.creates, 1)
      }),
    60_000
  )

  it.scopedLive(
    "a create answer trickled: cut by the minimum pace, UncertainSubmission, never a second create",
    () =>
      Effect.gen(function* () {
        const outcome = yield* generate(
          {
            api: (_request, response) => {
              jsonHead(response)
              Hostile.trickle(response, JSON.stringify({ id: "task_1", status: "queued", pad: "x".repeat(1000) }), {
                everyMillis: 500
              })
            }
          },
          { ...patient, answers: { window: "1 second" } }
        )
        assert.strictEqual(outcome.error?._tag, "UncertainSubmission", outcome.error?.message)
        assert.match(outcome.error!.message, /under the minimum of 1024 bytes\/s/)
        assert.strictEqual(outcome.error!.billing, "unknown")
        assert.strictEqual(outcome.creates, 1, "never created again")
        assert.isFalse(
          outcome.run.events.some((event) => event._tag === "Retrying" && event.operation === "submit"),
          "no retried create"
        )
        // One window (and a quarter), not the 120 s submit timeout.
        assert.isBelow(outcome.millis, 10_000)
      }),
    60_000
  )

  /** A completed status answer of about 20 KiB, carrying the video's link. */
  const completed = (origins: Hostile.Origins) =>
    JSON.stringify({
      id: "task_1",
      status: "completed",
      progress: 100,
      video_url: `${origins.elsewhere}/video.mp4`,
      pad: "x".repeat(20 * 1024)
    })

  const steady = (perTick: number) =>
    generate(
      {
        api: (request, response, origins) => {
          if (request.method === "POST") return created(response)
          jsonHead(response)
          Hostile.trickle(response, completed(origins), { everyMillis: 250, perTick })
        },
        elsewhere: (_request, response) => Hostile.sendVideo(response)
      },
      { ...patient, answers: { minBytesPerSecond: 2048, window: "1 second" }, polling: { deadline: "30 seconds" } }
    )

  it.scopedLive(
    "a steady answer under minBytesPerSecond (1 KiB/s against 2 KiB/s) fails; one above it (8 KiB/s) is read",
    () =>
      Effect.gen(function* () {
        const slow = yield* steady(256)
        assert.strictEqual(slow.error?._tag, "ProviderUnavailable", slow.error?.message)
        assert.match(slow.error!.message, /under the minimum of 2048 bytes\/s \(minBytesPerSecond\)/)
        assert.isFalse(NodeFs.existsSync(slow.output))

        const fast = yield* steady(2048)
        assert.isUndefined(fast.error, fast.error?.message)
        assert.isTrue(NodeFs.readFileSync(fast.output).equals(Hostile.video))
      }),
    60_000
  )
})

describe("compressed answers", () => {
  it.scopedLive("a gzip status answer and a br content answer are decoded: the video is saved", () =>
    Effect.gen(function* () {
      const outcome = yield* generate(
        {
          api: (request, response, origins) => {
            if (request.method === "POST") return created(response)
            if (request.url?.endsWith("/content")) {
              const body = Zlib.brotliCompressSync(JSON.stringify({ url: `${origins.elsewhere}/video.mp4` }))
              return jsonHead(response, { "content-encoding": "br", "content-length": String(body.length) }).end(body)
            }
            const body = Zlib.gzipSync(JSON.stringify({ id: "task_1", status: "completed", progress: 100 }))
            jsonHead(response, { "content-encoding": "gzip", "content-length": String(body.length) }).end(body)
          },
          elsewhere: (_request, response) => Hostile.sendVideo(response)
        },
        {}
      )
      assert.isUndefined(outcome.error, outcome.error?.message)
      assert.isTrue(NodeFs.readFileSync(outcome.output).equals(Hostile.video))
    })
  )

  it.scopedLive("a gzip SSE stream (Sora) is decoded as it arrives: the video is saved", () =>
    Effect.gen(function* () {
      const outcome = yield* generate(
        {
          api: (_request, response, origins) => {
            response.writeHead(200, { "content-type": "text/event-stream", "content-encoding": "gzip" })
            const gzip = Zlib.createGzip()
            gzip.pipe(response)
            gzip.write(Hostile.soraChunk("> ⌛️ Task is in queue\n\n"))
            gzip.flush()
            gzip.end(Hostile.soraLink(`${origins.elsewhere}/video.mp4`) + Hostile.soraDone())
          },
          elsewhere: (_request, response) => Hostile.sendVideo(response)
        },
        {},
        fox,
        "sora"
      )
      assert.isUndefined(outcome.error, outcome.error?.message)
      assert.isTrue(NodeFs.readFileSync(outcome.output).equals(Hostile.video))
    })
  )

  // 128 MiB of JSON text in 128 KB: far past the 1 MiB answer cap once decoded.
  const head = '{"id":"task_1","status":"processing","pad":"'
  const bomb = Zlib.gzipSync(Buffer.concat([Buffer.from(head), Buffer.alloc(128 * Hostile.MiB, "x")]), { level: 9 })

  it.scopedLive("a gzip bomb: decoded only up to the cap, MalformedResponse, memory bounded", () =>
    Effect.gen(function* () {
      const outcome = yield* generate(
        {
          api: (request, response) => {
            if (request.method === "POST") return created(response)
            jsonHead(response, { "content-encoding": "gzip" })
            Readable.from([bomb]).pipe(response)
          }
        },
        {}
      )
      assert.strictEqual(outcome.error?._tag, "MalformedResponse", outcome.error?.message)
      assert.match(outcome.error!.message, /larger than 1048576 bytes/)
      const excerpt = (outcome.error as { readonly excerpt?: string }).excerpt ?? ""
      assert.isTrue(excerpt.startsWith(head), `the decoded text is quoted, never the compressed bytes: ${excerpt}`)
      assert.isBelow(outcome.memory.heap, 48 * Hostile.MiB, "heap growth")
      assert.isBelow(outcome.memory.arrayBuffers, 48 * Hostile.MiB, "ArrayBuffer growth")
    })
  )
})

describe("prompts the provider cannot read back", () => {
  it.scopedLive("a 1 MB prompt: refused before anything is sent, naming the limit and its length", () =>
    Effect.gen(function* () {
      const outcome = yield* generate({ api: (_request, response) => created(response) }, {}, "x".repeat(1_000_000))
      assert.strictEqual(outcome.error?._tag, "InvalidRequest", outcome.error?.message)
      assert.match(
        outcome.error!.message,
        /^the prompt is 1000000 characters long; model "veo-3\.1-landscape-fast" takes at most 5000$/
      )
      assert.strictEqual(outcome.error!.billing, "not-charged")
      assert.deepStrictEqual(outcome.hostile.seen, [], "nothing sent")
      assert.isFalse(outcome.run.events.some((event) => event._tag === "Submitting" || event._tag === "Charged"))
    })
  )

  // The characters JSON escapes longest: a control character and a lone surrogate are `\uXXXX`
  // (6 bytes), a quote and a backslash two; the Sora echo escapes each once more.
  const worst = '\u0001\ud800"\\\u001f'
  const atLimit = (limit: number) => `A fox ${worst.repeat(limit)}`.slice(0, limit)

  for (const id of ["laozhang", "laozhang-sora"]) {
    it.scopedLive(`${id}: a prompt at the limit, of worst-case characters, is created and read back`, () =>
      Effect.gen(function* () {
        const sim = yield* Testkit.simulator()
        const subject = providers.find((provider) => provider.id === id)!
        const provider = subject.make({ baseUrl: sim.urls[subject.host], apiKey })
        const out = yield* Testkit.tempDir("reelay-answers-")
        const prompt = atLimit(5000)
        assert.strictEqual(prompt.length, 5000)
        const run = yield* Testkit.collect(
          Engine.generate(GenerateRequest.make({ prompt, model: subject.textModel }), {
            output: NodePath.join(out, "video.mp4")
          })
        ).pipe(Effect.provide(Testkit.engineLayer([provider])))
        const error = Testkit.failureOf(run)
        assert.isUndefined(error, error?.message)
        assert.isTrue(run.tags.includes("Saved"))
      })
    )
  }

  it.scopedLive("every built-in catalog's prompt limit fits its reader's cap", () =>
    Effect.gen(function* () {
      for (const subject of providers) {
        const provider = yield* subject.make({ baseUrl: "https://api.example/v1", apiKey })
        for (const spec of provider.models) {
          if (subject.protocol === "sora") {
            assert.isAtMost(LaozhangSora.echoLineChars(spec), 256 * 1024, `${subject.id} ${spec.id}`)
          } else {
            assert.isAtMost(
              Validation.largestAnswerBytes(spec),
              OpenAiVideos.defaultMaxBodyBytes,
              `${subject.id} ${spec.id}`
            )
          }
        }
      }
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )
})
