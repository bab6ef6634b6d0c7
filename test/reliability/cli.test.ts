/**
 * The `reelay` command line under the reliability suite's two CLI questions, spawning the real,
 * built CLI (`test/cli/harness.ts`) against a simulator started here:
 *
 * - **Bad input**: each case one clear line on stderr naming what is wrong, a non-zero exit, nothing
 *   on stdout, nothing sent (the simulator's request log for the case's key is empty), nothing
 *   charged, nothing journaled. These complement `test/cli/commands.test.ts` (unknown provider and
 *   model, unsupported option, unreadable / oversized / non-image file, missing key, malformed batch
 *   lines, unknown flags, budget below the price, broken configuration): contradictory options,
 *   too many images, a last frame where only a first is taken, URLs where only bytes are, empty
 *   prompts, a reused batch key, malformed numbers and durations, a batch beyond its budget.
 * - **Secrets**: a known key at `--log-level debug` through every provider, with failures, and
 *   through a hostile server (a reseller in `reelay.config.json`) echoing the key in a 401 and a 500
 *   body, a failed task's code and message and a Sora failure line, in every spelling a server can
 *   make of it (`spellings.ts`), and redirecting with it in the URL: no spelling may appear in any
 *   stdout, stderr, journal byte or file; the masked `sk-...` form vendors print stays.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Journal from "@reelay/journal/Journal"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as Harness from "../cli/harness.js"
import * as Hostile from "./hostile.js"
import { resellerDefinition } from "./providers.js"
import * as Spellings from "./spellings.js"

const harness = Harness.forFile()

/** A PNG of `size` bytes (its header, then zeros). */
const png = (path: string, size = 100) => {
  const bytes = Buffer.alloc(size)
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes)
  NodeFs.writeFileSync(path, bytes)
}

const lines = (...objects: ReadonlyArray<Record<string, unknown>>) =>
  `${objects.map((object) => JSON.stringify(object)).join("\n")}\n`

/** The batches a journal holds (none when the file was never created). */
const journaled = (path: string) =>
  NodeFs.existsSync(path)
    ? Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const context = yield* Layer.build(Journal.layerSqliteReader({ path }))
            return (yield* Context.get(context, Journal.Journal).batches).map((batch) => batch.batch)
          })
        )
      )
    : Promise.resolve([] as ReadonlyArray<string>)

interface BadCase {
  readonly name: string
  readonly args: ReadonlyArray<string>
  readonly setup?: (cwd: string) => void
  /** Acceptable exit codes: 2 (usage), 10 (InvalidRequest), 23 (BudgetExceeded). */
  readonly code: ReadonlyArray<number>
  /** The one line on stderr. */
  readonly line: RegExp
}

const badCases: ReadonlyArray<BadCase> = [
  {
    name: "a size that contradicts the aspect ratio",
    args: ["generate", "A fox", "--provider", "laozhang-official", "--size", "1280x720", "--aspect-ratio", "9:16"],
    code: [10],
    line: /^reelay: InvalidRequest: size 1280x720 is 16:9, which contradicts aspect ratio 9:16/
  },
  {
    name: "a size that contradicts the resolution",
    args: ["generate", "A fox", "--provider", "laozhang-official", "--size", "1920x1080", "--resolution", "4k"],
    code: [10],
    line: /^reelay: InvalidRequest: size 1920x1080 is 1080p, which contradicts resolution 4k/
  },
  {
    name: "a seed on a model without one",
    args: ["generate", "A fox", "--model", "sora_video2", "--seed", "7"],
    code: [10],
    line: /^reelay: InvalidRequest: model "sora_video2" does not take a seed/
  },
  {
    name: "three images (a first and a last frame at most)",
    args: [
      "generate",
      "A fox",
      "--model",
      "veo-3.1-fast-fl",
      "--image",
      "a.png",
      "--image",
      "b.png",
      "--image",
      "c.png"
    ],
    setup: (cwd) => {
      for (const name of ["a.png", "b.png", "c.png"]) png(NodePath.join(cwd, name))
    },
    code: [2, 10],
    line: /^reelay: (InvalidRequest|UsageError): .*(at most|three|3 images|two images)/
  },
  {
    name: "a last frame for a model that takes a first frame only",
    args: ["generate", "A fox", "--provider", "laozhang-official", "--image", "a.png", "--image", "b.png"],
    setup: (cwd) => {
      for (const name of ["a.png", "b.png"]) png(NodePath.join(cwd, name))
    },
    code: [10],
    line: /^reelay: InvalidRequest: model "veo-3\.1-fast-generate-preview" does not take a last-frame image/
  },
  {
    name: "an image URL where the model takes files only",
    args: [
      "generate",
      "A fox",
      "--provider",
      "apiyi",
      "--model",
      "veo-3.1-fast-fl",
      "--image",
      "https://a.example/f.png"
    ],
    code: [10],
    line: /^reelay: InvalidRequest: model "veo-3\.1-fast-fl" cannot fetch images from a URL; give a local file/
  },
  {
    name: "a directory as an image",
    args: ["generate", "A fox", "--model", "veo-3.1-fast-fl", "--image", "frames"],
    setup: (cwd) => NodeFs.mkdirSync(NodePath.join(cwd, "frames")),
    code: [10],
    line: /^reelay: InvalidRequest: image ".*frames" is not a file/
  },
  {
    name: "an empty prompt",
    args: ["generate", ""],
    code: [2, 10],
    line: /prompt/i
  },
  {
    name: "a blank prompt",
    args: ["generate", "   "],
    code: [2, 10],
    line: /prompt/i
  },
  {
    // 100,000 characters: the most one argument may carry on Linux is 128 KiB.
    name: "a prompt longer than the model takes",
    args: ["generate", "x".repeat(100_000)],
    code: [10],
    line: /^reelay: InvalidRequest: the prompt is 100000 characters long; model ".+" takes at most 5000 /
  },
  {
    name: "a duration that is not a number",
    args: ["generate", "A fox", "--seconds", "eight"],
    code: [2],
    line: /seconds|integer/i
  },
  {
    name: "a negative duration",
    args: ["generate", "A fox", "--seconds", "-8"],
    code: [2, 10],
    line: /seconds|-8/
  },
  {
    name: "a budget that is not an amount",
    args: ["generate", "A fox", "--max-cost", "lots"],
    code: [2],
    line: /max-cost|lots/
  },
  {
    name: "a negative budget",
    args: ["generate", "A fox", "--max-cost", "-1"],
    code: [2, 23],
    line: /max-cost|-1|budget/
  },
  {
    name: "a timeout that is not a duration",
    args: ["generate", "A fox", "--timeout", "forever"],
    code: [2],
    line: /timeout|forever/
  },
  {
    name: "a batch reusing a key for two requests",
    args: ["batch", "jobs.jsonl"],
    setup: (cwd) =>
      NodeFs.writeFileSync(
        NodePath.join(cwd, "jobs.jsonl"),
        lines({ key: "shot", prompt: "A fox" }, { key: "shot", prompt: "An owl" })
      ),
    code: [2, 10],
    line: /jobs\.jsonl:2: .*key.*shot/
  },
  {
    name: "a batch line with an empty prompt",
    args: ["batch", "jobs.jsonl"],
    setup: (cwd) => NodeFs.writeFileSync(NodePath.join(cwd, "jobs.jsonl"), lines({ prompt: "A fox" }, { prompt: "" })),
    code: [2, 10],
    line: /jobs\.jsonl:2: .*prompt/
  },
  {
    name: "a batch line with three images",
    args: ["batch", "jobs.jsonl"],
    setup: (cwd) => {
      for (const name of ["a.png", "b.png", "c.png"]) png(NodePath.join(cwd, name))
      NodeFs.writeFileSync(
        NodePath.join(cwd, "jobs.jsonl"),
        lines({ prompt: "A fox", model: "veo-3.1-fast-fl", images: ["a.png", "b.png", "c.png"] })
      )
    },
    code: [2, 10],
    line: /jobs\.jsonl:1: .*images/
  },
  {
    // (A last frame without a first cannot be written on the command line: the first image given is
    // always the first frame. The library case is in bad-input.test.ts.)
    name: "a batch line whose image is not a path",
    args: ["batch", "jobs.jsonl"],
    setup: (cwd) => {
      png(NodePath.join(cwd, "a.png"))
      NodeFs.writeFileSync(
        NodePath.join(cwd, "jobs.jsonl"),
        lines({ prompt: "A fox", model: "veo-3.1-fast-fl", images: ["a.png"] }, { prompt: "An owl", image: 7 })
      )
    },
    code: [2, 10],
    line: /jobs\.jsonl:2: .*image/
  }
]

describe("bad input (CLI): one clear line, a non-zero exit, nothing sent, charged or journaled", () => {
  for (const each of badCases) {
    it(each.name, async () => {
      const cwd = Harness.workdir("reliability-bad")
      each.setup?.(cwd)
      const key = harness.freshKey("sk-reliability-bad")
      const journal = NodePath.join(cwd, "journal.db")
      const result = await Harness.run(each.args, { cwd, env: { ...harness.env(key), REELAY_JOURNAL: journal } })
      const stderr = result.stderr.split("\n").filter((text) => text.trim() !== "")
      assert.include(each.code, result.code, `exit ${result.code}: ${result.stderr}`)
      assert.isTrue(
        stderr.some((text) => each.line.test(text)),
        `stderr says what is wrong (${each.line}):\n${result.stderr}`
      )
      if (!/^\S+ ?(is|must)/.test(stderr[0] ?? "")) {
        assert.isAtMost(stderr.length, 2, `one line for the user:\n${result.stderr}`)
      }
      assert.strictEqual(result.stdout, "", "nothing on stdout")
      assert.deepStrictEqual(
        harness.requestsOf(key).map((request) => `${request.method} ${request.path}`),
        [],
        "nothing sent"
      )
      assert.deepStrictEqual(harness.chargesOf(key), [], "nothing charged")
      assert.deepStrictEqual(await journaled(journal), [], "nothing journaled")
    })
  }

  // `generate --max-cost 0.10` is refused up front (exit 23, one line, nothing journaled: see
  // test/cli). `batch` is not: it opens and journals the batch, and every item then fails
  // BudgetExceeded (exit 3, a line per item). Nothing is sent or charged either way; the README's
  // "found before anything is sent: nothing is journaled" is not what `batch` does (reported).
  it("a batch whose budget does not cover one video: refused up front, nothing journaled, sent or charged", async () => {
    const cwd = Harness.workdir("reliability-bad")
    NodeFs.writeFileSync(NodePath.join(cwd, "jobs.jsonl"), lines({ prompt: "A fox" }, { prompt: "An owl" }))
    const key = harness.freshKey("sk-reliability-bad")
    const journal = NodePath.join(cwd, "journal.db")
    const result = await Harness.run(["batch", "jobs.jsonl", "--max-cost", "0.10"], {
      cwd,
      env: { ...harness.env(key), REELAY_JOURNAL: journal }
    })
    assert.strictEqual(result.code, 23, result.stderr)
    const refusals = result.stderr.split("\n").filter((text) => /BudgetExceeded: .*budget is \$0\.10/.test(text))
    assert.strictEqual(refusals.length, 1, result.stderr)
    assert.isFalse(NodeFs.existsSync(journal), "nothing journaled")
    assert.deepStrictEqual(harness.requestsOf(key), [], "nothing sent")
    assert.deepStrictEqual(harness.chargesOf(key), [], "nothing charged")
  })
})

describe("secrets (CLI): a known key at --log-level debug, every provider, a server echoing it", () => {
  it("no spelling of the key appears in any output, journal byte or file", async () => {
    const canary = Spellings.make("cli")
    const servers = await startHostile(canary)
    try {
      const cwd = Harness.workdir("reliability-secrets")
      const journal = NodePath.join(cwd, ".reelay", "journal.db")
      NodeFs.writeFileSync(
        NodePath.join(cwd, "reelay.config.json"),
        JSON.stringify({
          providers: [
            { ...resellerDefinition(servers.baseUrl), id: "hostile", auth: "bearer", apiKeyEnv: "HOSTILE_API_KEY" }
          ]
        })
      )
      const quick = "@sim:timing(queue=0.02,run=0.1)"
      NodeFs.writeFileSync(
        NodePath.join(cwd, "jobs.jsonl"),
        lines(
          { key: "lz", prompt: `A fox ${quick}`, provider: "laozhang", model: "veo-3.1-fast" },
          { key: "lz-fail", prompt: `A fox ${quick} @sim:fail`, provider: "laozhang", model: "veo-3.1-fast" },
          { key: "lz-lost", prompt: `A fox ${quick} @sim:reset-after-create`, provider: "laozhang" },
          { key: "apiyi", prompt: `An owl ${quick} @sim:500`, provider: "apiyi", model: "veo-3.1-fast" },
          { key: "official", prompt: `A boat ${quick} @sim:truncate`, provider: "laozhang-official" },
          { key: "sora", prompt: `A cat ${quick}`, provider: "laozhang-sora" },
          { key: "sora-cut", prompt: `A dog ${quick} @sim:sse-cut`, provider: "laozhang-sora" },
          { key: "echo-500", prompt: "A fox echo-500-json", provider: "hostile" },
          { key: "redirect", prompt: "A fox redirect-ok", provider: "hostile" },
          // Each spelling of the key (`spellings.ts`) in an error body and in a failed task's code and message.
          ...canary.spellings.flatMap((_spelling, index) => [
            { key: `echo-401-${index}`, prompt: `A fox echo-401 spell-${index}`, provider: "hostile" },
            { key: `echo-fail-${index}`, prompt: `A fox echo-fail spell-${index}`, provider: "hostile" }
          ])
        )
      )
      const env = {
        ...harness.env(canary.key),
        LAOZHANG_OFFICIAL_API_KEY: canary.key,
        HOSTILE_API_KEY: canary.key,
        REELAY_JOURNAL: journal
      }
      const timed = async (args: ReadonlyArray<string>) => {
        const started = Date.now()
        const result = await Harness.run(args, { cwd, env })
        return { ...result, seconds: (Date.now() - started) / 1000 }
      }
      const runs = [
        await timed(["batch", "jobs.jsonl", "--log-level", "debug"]),
        await timed(["batch", "jobs.jsonl", "--batch", "again", "--json", "--log-level", "debug"]),
        await timed(["generate", "A fox echo-401", "--provider", "hostile", "--log-level", "debug", "--json"]),
        await timed(["generate", "A fox echo-500-json", "--provider", "hostile", "--log-level", "debug"]),
        await timed([
          "generate",
          "A fox",
          "--provider",
          "laozhang-sora",
          "--base-url",
          servers.baseUrl,
          "--log-level",
          "debug"
        ]),
        await timed(["status", "--log-level", "debug", "--json"]),
        await timed(["status", "again", "--log-level", "debug"]),
        await timed(["cost", "--log-level", "debug", "--json"]),
        await timed(["config", "--log-level", "debug", "--json"]),
        await timed(["resume", "again", "--log-level", "debug"])
      ]
      // The runs did happen: videos saved, failures reported, the hostile server reached with the key.
      assert.isTrue(
        NodeFs.readdirSync(cwd, { recursive: true }).some((name) => String(name).endsWith(".mp4")),
        "videos were saved"
      )
      assert.isTrue(runs[2]!.code === 11 && runs[3]!.code !== 0, `${runs[2]!.stderr}\n${runs[3]!.stderr}`)
      assert.isTrue(
        servers.hostile.seen.some(
          (seen) => seen.server === "api" && seen.headers.authorization === `Bearer ${canary.key}`
        ),
        "the key was sent to the hostile API"
      )
      for (const seen of servers.hostile.seen.filter((seen) => seen.server === "elsewhere")) {
        assert.isUndefined(seen.headers.authorization, "no key after the redirect")
      }
      for (const [index, run] of runs.entries()) {
        for (const [name, text] of [
          ["stdout", run.stdout],
          ["stderr", run.stderr]
        ] as const) {
          assert.deepStrictEqual(canary.find(text), [], `run ${index + 1}: a spelling of the key on ${name}`)
        }
      }
      const files = (NodeFs.readdirSync(cwd, { recursive: true }) as Array<string>)
        .map((name) => NodePath.join(cwd, name))
        .filter((path) => NodeFs.statSync(path).isFile())
      assert.isTrue(files.includes(journal), "the journal was written")
      for (const file of files) {
        assert.deepStrictEqual(canary.findInBytes(NodeFs.readFileSync(file)), [], `a spelling of the key is in ${file}`)
      }
      // What vendors print on purpose (`sk-...` and 4 characters) is not taken for the key.
      assert.include(runs[0]!.stdout + runs[0]!.stderr, canary.masked)
      process.stdout.write(
        `[secrets/cli] ${runs.length} runs (exit, seconds: ${runs.map((run) => `${run.code} ${run.seconds.toFixed(1)}`).join("; ")}), ${files.length} files searched: no spelling of the key\n`
      )
    } finally {
      await servers.stop()
    }
  }, 120_000)
})

/** The hostile servers of the CLI secrets test, started for as long as the test needs them. */
const startHostile = async (canary: Spellings.Canary) => {
  const scope = Effect.runSync(Scope.make())
  const hostile = await Effect.runPromise(
    Hostile.start({ api: echoing(canary), elsewhere: (_request, response) => Hostile.sendVideo(response) }).pipe(
      Scope.extend(scope)
    )
  )
  return {
    hostile,
    baseUrl: hostile.baseUrl,
    stop: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/**
 * Echoes the key back: in a 401 and a 500 body, a failed task's code and message, a response header,
 * a redirect's URL, a Sora failure line. The prompt (or the task id) says which spelling
 * (`spell-<n>`, `_<n>`); the Sora failure line carries them all.
 */
const echoing =
  (canary: Spellings.Canary): Hostile.Handler =>
  (request, response, origins, body) => {
    const url = request.url ?? ""
    const scenario = /echo-[a-z0-9-]+|redirect-[a-z]+/.exec(`${url} ${body}`)?.[0] ?? "ok"
    const index = Number(/(?:spell-|_)(\d+)/.exec(`${url} ${body}`)?.[1] ?? 0)
    const spelling = canary.spellings[index]!.text
    const echo = `Incorrect API key provided (${canary.masked}): ${spelling}; Authorization: Bearer ${spelling}`
    if (url.endsWith("/chat/completions")) {
      response.writeHead(200, { "content-type": "text/event-stream", "x-request-id": canary.key })
      const all = canary.spellings.map((one) => one.text).join("; ")
      return response.end(
        Hostile.soraChunk("> ⌛️ Task is in queue\n\n") +
          Hostile.soraChunk(`> ❌ Video generation failed (generation_failed): ${all}\n\n`) +
          Hostile.soraDone()
      )
    }
    if (scenario === "echo-401") {
      return Hostile.json(response, 401, { error: { code: "invalid_api_key", message: echo } })
    }
    // Retried (a 500 creates nothing): the server's hint keeps the retries quick.
    if (scenario === "echo-500-json") {
      return Hostile.json(response, 500, { error: { message: echo } }, { "retry-after-ms": "10" })
    }
    if (request.method === "POST") {
      return Hostile.json(
        response,
        200,
        { id: `task-${scenario}_${index}`, status: "queued" },
        { "x-request-id": spelling }
      )
    }
    if (url.includes("/files/")) {
      return response.writeHead(302, { location: `${origins.elsewhere}/video.mp4?api_key=${canary.key}` }).end()
    }
    if (url.endsWith("/content")) return Hostile.json(response, 200, { url: `${origins.api}/files/video.mp4` })
    if (scenario === "echo-fail") {
      return Hostile.json(response, 200, {
        id: "x",
        status: "failed",
        error: { code: `failed:${spelling}`, message: echo }
      })
    }
    return Hostile.json(response, 200, { id: "x", status: "completed", progress: 100 })
  }

/**
 * Issue 11, cases 2, 7 and 9 through the real CLI: a file at an output, a configuration that would
 * pick the wrong profile, bill a negative price or fail only when sending, and batch lines JSON reads
 * two ways. Each is refused with exit 2 and one line naming what is wrong, before anything is sent:
 * the simulator's request log and ledger stay empty for the case's key, nothing is journaled, and a
 * file at an output keeps every byte.
 */
describe("files, configuration and batch lines (CLI): refused before anything is sent", () => {
  const theirs = Buffer.from("someone's file, not a video of ours")

  const refused = async (
    args: ReadonlyArray<string>,
    options: {
      readonly setup: (cwd: string) => void
      readonly line: RegExp
      readonly env?: (key: string) => Record<string, string>
      /** Files that must keep every byte (relative to the working directory). */
      readonly untouched?: ReadonlyArray<string>
    }
  ) => {
    const cwd = Harness.workdir("reliability-files")
    options.setup(cwd)
    for (const name of options.untouched ?? []) NodeFs.writeFileSync(NodePath.join(cwd, name), theirs)
    const key = harness.freshKey("sk-reliability-files")
    const journal = NodePath.join(cwd, "journal.db")
    const before = harness.sim.state.requests.list().length
    const result = await Harness.run(args, {
      cwd,
      env: { ...harness.env(key), ...options.env?.(key), REELAY_JOURNAL: journal }
    })
    assert.strictEqual(result.code, 2, `exit ${result.code}: ${result.stderr}`)
    const stderr = result.stderr.split("\n").filter((text) => text.trim() !== "")
    assert.strictEqual(stderr.length, 1, `one line:\n${result.stderr}`)
    assert.match(stderr[0]!, options.line)
    assert.strictEqual(result.stdout, "", "nothing on stdout")
    assert.deepStrictEqual(harness.requestsOf(key), [], "nothing sent with the case's key")
    assert.strictEqual(harness.sim.state.requests.list().length, before, "nothing sent at all")
    assert.deepStrictEqual(harness.chargesOf(key), [], "nothing charged")
    assert.deepStrictEqual(await journaled(journal), [], "nothing journaled")
    for (const name of options.untouched ?? []) {
      assert.isTrue(NodeFs.readFileSync(NodePath.join(cwd, name)).equals(theirs), `${name} keeps every byte`)
    }
    return { cwd, key, result }
  }

  const batchFile =
    (...objects: ReadonlyArray<Record<string, unknown>>) =>
    (cwd: string) =>
      NodeFs.writeFileSync(NodePath.join(cwd, "jobs.jsonl"), lines(...objects))

  it("generate --out onto an existing file: exit 2 naming the path and --overwrite; with --overwrite, replaced", async () => {
    const { cwd, key } = await refused(["generate", "A fox", "--out", "taken.mp4"], {
      setup: () => undefined,
      untouched: ["taken.mp4"],
      line: /^reelay: UsageError: .*\/taken\.mp4 already exists; .*pass --overwrite to replace it.*Nothing was sent$/
    })
    const replaced = await Harness.run(["generate", "A fox", "--out", "taken.mp4", "--overwrite"], {
      cwd,
      env: { ...harness.env(key), REELAY_JOURNAL: NodePath.join(cwd, "journal.db") }
    })
    assert.strictEqual(replaced.code, 0, replaced.stderr)
    assert.isTrue(Harness.isMp4(NodePath.join(cwd, "taken.mp4")), "the video replaced the file")
  })

  it("a batch line whose output exists, named or derived in --out-dir: exit 2; its own overwrite lets it", async () => {
    await refused(["batch", "jobs.jsonl"], {
      setup: batchFile({ key: "a", prompt: "A fox", output: "a.mp4" }, { key: "b", prompt: "An owl", output: "b.mp4" }),
      untouched: ["b.mp4"],
      line: /^reelay: UsageError: jobs\.jsonl:2: .*\/b\.mp4 already exists; .*--overwrite \(or "overwrite": true on its line\)/
    })
    const { cwd, key } = await refused(["batch", "jobs.jsonl", "--out-dir", "."], {
      setup: batchFile({ key: "fox", prompt: "A fox" }, { key: "owl", prompt: "An owl" }),
      untouched: ["owl.mp4"],
      line: /^reelay: UsageError: jobs\.jsonl:2: .*\/owl\.mp4 already exists/
    })
    batchFile({ key: "fox", prompt: "A fox" }, { key: "owl", prompt: "An owl", overwrite: true })(cwd)
    const allowed = await Harness.run(["batch", "jobs.jsonl", "--out-dir", "."], {
      cwd,
      env: { ...harness.env(key), REELAY_JOURNAL: NodePath.join(cwd, "journal.db") }
    })
    assert.strictEqual(allowed.code, 0, allowed.stderr)
    assert.isTrue(Harness.isMp4(NodePath.join(cwd, "owl.mp4")), "the line that allowed it replaced the file")
  })

  it("two items of one batch saving to one file: exit 2 naming both lines", async () => {
    await refused(["batch", "jobs.jsonl"], {
      setup: batchFile(
        { prompt: "A fox", output: "clips/same.mp4" },
        { prompt: "A cat" },
        { prompt: "An owl", output: "clips/../clips/same.mp4" }
      ),
      line: /^reelay: UsageError: jobs\.jsonl:1 and jobs\.jsonl:3 both save to .*\/clips\/same\.mp4; one would replace the other's video/
    })
    // A default name in --out-dir counts: key "fox" is out/fox.mp4.
    await refused(["batch", "jobs.jsonl", "--out-dir", "out"], {
      setup: batchFile({ key: "fox", prompt: "A fox" }, { key: "owl", prompt: "An owl", output: "out/fox.mp4" }),
      line: /^reelay: UsageError: jobs\.jsonl:1 and jobs\.jsonl:2 both save to .*\/out\/fox\.mp4/
    })
  })

  it("a finished batch run again with its videos in place: verified, nothing created again", async () => {
    const cwd = Harness.workdir("reliability-files")
    batchFile({ key: "fox", prompt: "A fox" }, { key: "owl", prompt: "An owl", output: "owl.mp4" })(cwd)
    const key = harness.freshKey("sk-reliability-files")
    const env = { ...harness.env(key), REELAY_JOURNAL: NodePath.join(cwd, "journal.db") }
    const first = await Harness.run(["batch", "jobs.jsonl", "--out-dir", "out"], { cwd, env })
    assert.strictEqual(first.code, 0, first.stderr)
    const creates = () => harness.requestsOf(key).filter((request) => request.method === "POST").length
    assert.strictEqual(creates(), 2)
    const saved = NodeFs.readFileSync(NodePath.join(cwd, "owl.mp4"))
    const again = await Harness.run(["batch", "jobs.jsonl", "--out-dir", "out"], { cwd, env })
    assert.strictEqual(again.code, 0, again.stderr)
    assert.strictEqual(creates(), 2, "nothing created again")
    assert.isTrue(NodeFs.readFileSync(NodePath.join(cwd, "owl.mp4")).equals(saved))
    const resumed = await Harness.run(["resume"], { cwd, env })
    assert.strictEqual(resumed.code, 0, resumed.stderr)
    assert.strictEqual(creates(), 2, "nothing created by resume")
  })

  const profileConfig = (cwd: string) =>
    NodeFs.writeFileSync(
      NodePath.join(cwd, "reelay.config.json"),
      JSON.stringify({ profiles: { capped: { provider: "laozhang", budget: "0.01" } } })
    )

  for (const name of ["toString", "constructor", "hasOwnProperty", "__proto__"]) {
    it(`--profile ${name}: exit 2 listing the profiles the file defines`, async () => {
      await refused(["generate", "A fox", "--profile", name], {
        setup: profileConfig,
        line: new RegExp(
          `^reelay: UsageError: unknown profile "${name}" \\(from --profile\\); .*reelay\\.config\\.json defines capped$`
        )
      })
    })
  }

  const resellerConfig = (change: (definition: ReturnType<typeof resellerDefinition>) => unknown) => (cwd: string) =>
    NodeFs.writeFileSync(
      NodePath.join(cwd, "reelay.config.json"),
      JSON.stringify({ providers: [change(resellerDefinition(harness.sim.urls.apiyi))] })
    )
  const resellerKey = (key: string) => ({ RESALE_API_KEY: key })

  it("a reseller with a negative price: exit 2 naming providers[0].models[0].price", async () => {
    await refused(["generate", "A fox", "--provider", "resale"], {
      setup: resellerConfig((definition) => ({
        ...definition,
        models: definition.models.map((model) => ({ ...model, price: "-0.24" }))
      })),
      env: resellerKey,
      line: /^reelay: ConfigFileError: .*reelay\.config\.json: providers\[0\]\.models\[0\]\.price: a price in US dollars .*got "-0\.24"$/
    })
  })

  it("an unknown field inside a reseller's model: exit 2 with its path", async () => {
    await refused(["generate", "A fox", "--provider", "resale"], {
      setup: resellerConfig((definition) => ({
        ...definition,
        models: definition.models.map((model) => ({ ...model, pirce: "0.10" }))
      })),
      env: resellerKey,
      line: /^reelay: ConfigFileError: .*providers\[0\]\.models\[0\]\.pirce: is unexpected, expected: "id" \| .*"price"/
    })
  })

  it("a charge policy not among the three: exit 2 listing all three", async () => {
    await refused(["generate", "A fox", "--provider", "resale"], {
      setup: resellerConfig((definition) => ({ ...definition, chargePolicy: "sometimes" })),
      env: resellerKey,
      line: /providers\[0\]\.chargePolicy: Expected "on-success" \| "per-request" \| "on-response", actual "sometimes"$/
    })
  })

  it("an HTTP header name that cannot be sent: exit 2 when the configuration is read", async () => {
    await refused(["generate", "A fox", "--provider", "resale"], {
      setup: resellerConfig((definition) => ({ ...definition, auth: { style: "raw", header: "x api key" } })),
      env: resellerKey,
      line: /^reelay: ConfigFileError: .*providers\[0\]\.auth\.header: an HTTP header name: .*got "x api key"$/
    })
  })

  it("a key with a line break in it: exit 2 naming the variable, never the key", async () => {
    const { key, result } = await refused(["generate", "A fox", "--provider", "apiyi"], {
      setup: () => undefined,
      env: (key) => ({ APIYI_API_KEY: `${key}\nx-injected: 1` }),
      line: /^reelay: UsageError: the key in APIYI_API_KEY \(for apiyi\) holds a line break or another control character/
    })
    assert.notInclude(result.stderr, key)
  })

  it("a batch line with a key written twice: exit 2 naming the line and the key", async () => {
    await refused(["batch", "jobs.jsonl"], {
      setup: (cwd) =>
        NodeFs.writeFileSync(
          NodePath.join(cwd, "jobs.jsonl"),
          '{"prompt": "A fox"}\n{"prompt": "A fox", "model": "veo-3.1-fast", "prompt": "An owl"}\n'
        ),
      line: /^reelay: BatchFileError: jobs\.jsonl:2: the key "prompt" is written twice/
    })
  })

  it("a batch file that starts with a UTF-8 byte-order mark: read as if it had none", async () => {
    const cwd = Harness.workdir("reliability-files")
    NodeFs.writeFileSync(NodePath.join(cwd, "jobs.jsonl"), `\uFEFF${lines({ key: "fox", prompt: "A fox" })}`)
    const key = harness.freshKey("sk-reliability-files")
    const result = await Harness.run(["batch", "jobs.jsonl", "--out-dir", "out"], {
      cwd,
      env: { ...harness.env(key), REELAY_JOURNAL: NodePath.join(cwd, "journal.db") }
    })
    assert.strictEqual(result.code, 0, result.stderr)
    assert.isTrue(Harness.isMp4(NodePath.join(cwd, "out", "fox.mp4")))
  })
})
