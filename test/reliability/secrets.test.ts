/**
 * Secrets: one run with a known, distinctive API key at the most verbose log level, through every
 * provider — successes, retries, vendor failures, lost answers, cut downloads — and through a
 * hostile server that echoes the key back, in every spelling a server can produce from it (the key,
 * percent-encoded, form-encoded, base64 / base64url of the key and of `Bearer <key>`, JSON-escaped,
 * 12-character runs of it; see `spellings.ts`): in a 401's error body, in a 5xx body (JSON and plain
 * text), in a garbled status answer (the excerpt), in a failed task's code and message, in an SSE
 * failure line and error chunk, in a garbled whole answer, in a response header of every answer, and
 * in a redirect's `Location`. Then every spelling is looked for everywhere the run could have put it: stdout,
 * stderr and `console`; every log line (all levels, with annotations and spans); every span (its
 * attributes — the HTTP client's request headers among them —, events and exit); every event, as
 * the journal and the CLI encode it; every error's message, `toString`, JSON and pretty cause; the
 * journal's SQLite files byte for byte (database, WAL, shared memory) and every row of every table;
 * the journal's read API; every file written (videos, `.part`s, anything else).
 *
 * No spelling may appear anywhere (the key's random part is looked for alone too, in case a
 * scrubber mangled the prefix but kept the rest); the short masked form vendors print on purpose
 * (`sk-...` and 4 characters) stays in the errors.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { assert, describe, it } from "@effect/vitest"
import * as Engine from "@reelay/core/Engine"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as GenerationEvent from "@reelay/core/GenerationEvent"
import type { VideoError } from "@reelay/core/VideoError"
import * as Journal from "@reelay/journal/Journal"
import * as Reseller from "@reelay/openai-videos/Reseller"
import { LaozhangSora } from "@reelay/provider-laozhang-sora"
import { Testkit } from "@reelay/testkit"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Hostile from "./hostile.js"
import { quick } from "./matrix.js"
import * as Observe from "./observe.js"
import { providers, resellerDefinition } from "./providers.js"
import * as Spellings from "./spellings.js"

const canary = Spellings.make("secret")
const apiKey = Redacted.make(canary.key)

const expectNowhere = (where: string, texts: Iterable<string>) => {
  const hits = [...texts].flatMap(canary.find)
  assert.deepStrictEqual(hits, [], `a spelling of the key appears in ${where}`)
}

/** Every file under `dir`, with its bytes. */
const filesUnder = (dir: string): ReadonlyArray<{ readonly path: string; readonly bytes: Buffer }> =>
  (NodeFs.readdirSync(dir, { recursive: true }) as Array<string>)
    .map((name) => NodePath.join(dir, name))
    .filter((path) => NodeFs.statSync(path).isFile())
    .map((path) => ({ path, bytes: NodeFs.readFileSync(path) }))

/**
 * A server that echoes the key back in every way it can. The prompt (or the task id) names the
 * scenario and which spelling to echo (`spell-<n>`, `_<n>` in a task id): one spelling per answer,
 * so each is echoed whole, within the lengths reelay quotes.
 */
const echoing = (): Hostile.Handler => (request, response, origins, body) => {
  const url = request.url ?? ""
  const scenario = /echo-[a-z0-9-]+|redirect-[a-z]+/.exec(`${url} ${body}`)?.[0] ?? "ok"
  const index = Number(/(?:spell-|_)(\d+)/.exec(`${url} ${body}`)?.[1] ?? 0)
  const spelling = canary.spellings[index]!.text
  const sora = url.endsWith("/chat/completions")
  const said =
    index === 0
      ? `Incorrect API key provided: ${spelling} (${canary.masked}); Authorization: Bearer ${spelling}; see https://vendor.example/keys?key=${spelling}`
      : `Incorrect API key provided (${canary.masked}): ${spelling}`
  // Every answer carries the spelling in a header of no special name, which the client records on its span.
  const echoed = { "x-request-id": `req ${spelling}` }
  if (scenario === "echo-401") {
    return Hostile.json(
      response,
      401,
      { error: { code: "invalid_api_key", message: said, type: "authentication_error" } },
      { "www-authenticate": `Bearer realm="${spelling}"`, ...echoed }
    )
  }
  // Retried (a 500 creates nothing): the server's hint keeps the retries quick.
  if (scenario === "echo-500-json") {
    return Hostile.json(response, 500, { error: { message: said } }, { "retry-after-ms": "10", ...echoed })
  }
  if (scenario === "echo-500-text") {
    return response.writeHead(502, { "content-type": "text/plain", ...echoed }).end(`upstream failed for ${said}`)
  }
  if (sora) {
    if (scenario === "echo-whole") {
      return response.writeHead(200, { "content-type": "application/json", ...echoed }).end(`${said} {"choices": [`)
    }
    response.writeHead(200, { "content-type": "text/event-stream", ...echoed })
    const head = Hostile.soraChunk("> ⌛️ Task is in queue, please wait patiently...\n\n")
    if (scenario === "echo-fail") {
      // The answer's id (reelay's task id for it) carries the spelling too.
      return response.end(
        Hostile.soraChunk("> ⌛️ Task is in queue, please wait patiently...\n\n", `foaicmpl-${spelling}`) +
          Hostile.soraChunk(`> ❌ Video generation failed (generation_failed): ${said}\n\n`) +
          Hostile.soraDone()
      )
    }
    if (scenario === "echo-error") {
      const error = { id: "foaicmpl-hostile", error: { code: "generation_failed", message: said } }
      return response.end(`${head}data: ${JSON.stringify(error)}\n\n`)
    }
    if (scenario === "echo-garbled") return response.end(`${head}data: {"oops": "${said}"\n\ndata: ${said}\n\n`)
    return response.end(head + Hostile.soraLink(`${origins.elsewhere}/video.mp4`) + Hostile.soraDone())
  }
  // The /v1/videos protocol: the task id carries the scenario and the spelling.
  if (request.method === "POST") {
    return Hostile.json(response, 200, { id: `task-${scenario}_${index}`, status: "queued" }, echoed)
  }
  if (url.includes("/files/")) {
    // On the API's own origin (the key comes along), redirected elsewhere with the key in the URL.
    const location = `${origins.elsewhere}/video.mp4?api_key=${canary.key}&sig=${encodeURIComponent(spelling)}`
    return response.writeHead(302, { location, ...echoed }).end()
  }
  if (url.endsWith("/content")) return Hostile.json(response, 200, { url: `${origins.api}/files/video.mp4` }, echoed)
  if (scenario === "echo-status") {
    return response
      .writeHead(200, { "content-type": "application/json", ...echoed })
      .end(`${said} {"id": "x", "status": "`)
  }
  if (scenario === "echo-fail") {
    return Hostile.json(
      response,
      200,
      { id: "x", status: "failed", error: { code: `failed:${spelling}`, message: said } },
      echoed
    )
  }
  return Hostile.json(response, 200, { id: "x", status: "completed", progress: 100 }, echoed)
}

/** The redirect's target, on another origin: serves the video. */
const elsewhere: Hostile.Handler = (_request, response) => Hostile.sendVideo(response)

describe("secrets: a known key, the most verbose log level, every provider, a server echoing it in every spelling", () => {
  it.scopedLive(
    "no spelling of the key appears anywhere: output, logs, spans, events, errors, the journal, the files",
    () =>
      Effect.gen(function* () {
        const sim = yield* Testkit.simulator()
        const hostile = yield* Hostile.start({ api: echoing(), elsewhere })
        const dir = yield* Testkit.tempDir("reelay-secrets-")
        const journalPath = NodePath.join(dir, "journal", "journal.db")
        const outputDir = NodePath.join(dir, "out")

        const simulated = providers.map((provider) => provider.make({ baseUrl: sim.urls[provider.host], apiKey }))
        const echo = Effect.flatMap(
          Reseller.decode({ ...resellerDefinition(hostile.baseUrl), id: "hostile", auth: "bearer" }),
          (definition) => Reseller.make(definition, { apiKey })
        )
        const echoSora = LaozhangSora.make({ id: "hostile-sora", baseUrl: hostile.baseUrl, apiKey })
        const layer = Testkit.engineLayer([...simulated, echo, echoSora], {
          engine: { requestTimeout: "3 seconds", submitTimeout: "3 seconds" }
        }).pipe(Layer.provideMerge(Journal.layerSqlite({ path: journalPath })))

        const faults = [
          "",
          "@sim:fail",
          "@sim:503(times=2)",
          "@sim:reset-after-create",
          "@sim:malformed",
          "@sim:truncate",
          "@sim:content-policy(on=create)",
          "@sim:429(times=always,retry-after=0.01)"
        ]
        const items = [
          ...providers.flatMap((provider) =>
            faults
              .filter((fault) => provider.protocol !== "sora" || fault !== "@sim:malformed")
              .map((fault, index) => ({
                key: `${provider.id}-${index}`,
                request: GenerateRequest.make({
                  prompt: `A red fox running through fresh snow at dawn ${quick} ${fault}`,
                  provider: provider.id,
                  model: provider.textModel
                })
              }))
          ),
          // Each spelling through each place a server's words are quoted from: an error body (401), a
          // garbled status answer (the excerpt), a failed task (code and message); on Sora an error body
          // (JSON, plain text), a failure line, an error chunk, a garbled whole answer.
          ...canary.spellings.flatMap((_spelling, index) => [
            ...["echo-401", "echo-status", "echo-fail"].map((scenario) => ({
              key: `hostile-${scenario}-${index}`,
              request: GenerateRequest.make({ prompt: `A fox ${scenario} spell-${index}`, provider: "hostile" })
            })),
            ...["echo-401", "echo-500-text", "echo-fail", "echo-error", "echo-whole"].map((scenario) => ({
              key: `hostile-sora-${scenario}-${index}`,
              request: GenerateRequest.make({ prompt: `A fox ${scenario} spell-${index}`, provider: "hostile-sora" })
            }))
          ]),
          // Retried 500s quote what a 401 quotes; the /v1/videos protocol quotes no plain-text body.
          ...["echo-500-json", "echo-500-text", "redirect-ok"].map((scenario) => ({
            key: `hostile-${scenario}`,
            request: GenerateRequest.make({ prompt: `A fox ${scenario}`, provider: "hostile" })
          })),
          ...["echo-500-json", "echo-garbled", "redirect-ok"].map((scenario) => ({
            key: `hostile-sora-${scenario}`,
            request: GenerateRequest.make({ prompt: `A fox ${scenario}`, provider: "hostile-sora" })
          }))
        ]

        const observed = Observe.make()
        const { events, stored, journalLog, charges } = yield* Observe.capturingOutput(
          observed,
          Effect.gen(function* () {
            const events: Array<GenerationEvent.GenerationEvent> = []
            // The capture works (else "nowhere" below would prove nothing): a marker through each channel.
            process.stdout.write("capture-check stdout\n")
            process.stderr.write("capture-check stderr\n")
            const { console: terminal } = globalThis
            terminal.log("capture-check console")
            yield* Effect.logDebug("capture-check log").pipe(Effect.annotateLogs("provider", "all"))
            yield* Stream.runForEach(Engine.generateMany(items, { batch: "secrets", outputDir }), (event) =>
              Effect.sync(() => events.push(event))
            ).pipe(Effect.withSpan("secrets.run"))
            const journal = yield* Journal.Journal
            return {
              events,
              stored: yield* journal.items("secrets"),
              journalLog: yield* journal.events("secrets"),
              charges: yield* journal.charges({ batch: "secrets" })
            }
          }).pipe(Effect.provide(layer), Effect.provide(Observe.layer(observed)))
        )

        // The run did what it should: videos saved, failures of every kind, the hostile ones included.
        const failed = events.flatMap((event) => (event._tag === "Failed" ? [event.error] : []))
        const saved = events.filter((event) => event._tag === "Saved")
        const tags = new Set(failed.map((error) => error._tag))
        for (const tag of [
          "AuthenticationFailed",
          "ProviderUnavailable",
          "MalformedResponse",
          "GenerationFailed",
          "UncertainSubmission",
          "ContentRejected",
          "RateLimited"
        ] as const) {
          assert.isTrue(tags.has(tag), `the run produced a ${tag} (${[...tags].join(", ")})`)
        }
        assert.isAtLeast(saved.length, providers.length + 2, "videos were saved on every provider")
        const redirected = hostile.seen.filter((seen) => seen.server === "elsewhere")
        assert.isAbove(redirected.length, 0, "the redirect was followed")
        for (const seen of redirected) assert.isUndefined(seen.headers.authorization, "no key after the redirect")
        const echoed = hostile.seen.filter((seen) => seen.server === "api")
        assert.isTrue(
          echoed.every((seen) => seen.headers.authorization === `Bearer ${canary.key}`),
          "the key really was sent, to the API"
        )

        // Output, logs, spans.
        for (const channel of ["stdout", "stderr", "console"]) {
          assert.isTrue(
            observed.output.some((line) => line.includes(`capture-check ${channel}`)),
            `${channel} was captured`
          )
        }
        assert.isTrue(
          observed.logs.some((line) => line.startsWith("DEBUG capture-check log")),
          "debug logs were captured"
        )
        expectNowhere("stdout / stderr / console", observed.output)
        expectNowhere("the logs", observed.logs)
        assert.isAbove(observed.spans.length, 0, "spans were recorded")
        assert.isTrue(
          observed.spans.some((span) => span.includes("http.request.header.authorization")),
          "the HTTP client's spans record request headers (so the check below means something)"
        )
        assert.isTrue(
          observed.spans.some((span) => span.includes("http.response.header.x-request-id=req [redacted]")),
          "the HTTP client's spans record the hostile server's response headers"
        )
        expectNowhere("the spans (attributes, events, exits)", observed.spans)

        // Events and errors.
        expectNowhere(
          "the events",
          events.map((event) => JSON.stringify(GenerationEvent.encode(event)))
        )
        // Each echoed spelling reached a quoted place (an error's message, code or excerpt) and was removed there.
        const unquoted = events.flatMap((event) =>
          event._tag === "Failed" &&
          /^hostile-.*-\d+$/.test(event.key) &&
          !JSON.stringify(event.error).includes("[redacted]")
            ? [`${event.key}: ${event.error._tag}: ${event.error.message}`]
            : []
        )
        assert.deepStrictEqual(unquoted, [], "every echoed spelling was quoted, scrubbed, in its item's error")
        // What vendors print on purpose (`sk-...` and 4 characters) is not taken for the key.
        assert.isTrue(
          failed.some((error) => error._tag === "AuthenticationFailed" && error.message.includes(canary.masked)),
          `an error quotes the masked key ${canary.masked}`
        )
        expectNowhere(
          "the errors",
          failed.flatMap((error: VideoError) => [
            error.message,
            String(error),
            error.toString(),
            JSON.stringify(error),
            error.stack ?? "",
            Cause.pretty(Cause.fail(error))
          ])
        )

        // The journal: its read API, every row of every table, and the files byte for byte.
        expectNowhere("the journal's read API", [
          JSON.stringify(stored),
          JSON.stringify(journalLog),
          JSON.stringify(charges, (_key, value) => (typeof value === "bigint" ? String(value) : value))
        ])
        const rows = yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          const tables = yield* sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table'`
          const dumped: Array<string> = []
          for (const { name } of tables) {
            dumped.push(JSON.stringify(yield* sql.unsafe(`SELECT * FROM "${name}"`)))
          }
          return { tables: tables.length, dumped }
        }).pipe(
          Effect.provide(SqliteClient.layer({ filename: journalPath, readonly: true })),
          Effect.scoped,
          Effect.orDie
        )
        assert.isAbove(rows.tables, 1, "the journal has tables")
        expectNowhere("the journal's rows", rows.dumped)
        const journalFiles = filesUnder(NodePath.dirname(journalPath))
        assert.isTrue(journalFiles.some((file) => file.path === journalPath))
        for (const file of journalFiles) {
          assert.deepStrictEqual(canary.findInBytes(file.bytes), [], `a spelling of the key is in ${file.path}`)
        }

        // Every file written: videos, .part files, anything.
        const written = filesUnder(outputDir)
        assert.isAtLeast(written.length, saved.length)
        for (const file of written) {
          assert.deepStrictEqual(canary.findInBytes(file.bytes), [], `a spelling of the key is in ${file.path}`)
        }
        process.stdout.write(
          `[secrets] key ${canary.masked}, ${canary.spellings.length} spellings: ${items.length} items, ${saved.length} saved, ${failed.length} failed (${[...tags].join(", ")}); ` +
            `searched ${observed.output.length} output writes, ${observed.logs.length} log lines, ${observed.spans.length} spans, ` +
            `${events.length} events, ${rows.dumped.length} tables, ${journalFiles.length} journal files, ${written.length} files written: no spelling of the key\n`
        )
      }),
    120_000
  )
})
