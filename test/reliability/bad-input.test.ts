/**
 * Bad input, library side: the core `Engine` with the real providers (all five, pointed at the
 * simulator), fed requests that cannot be served. Each must end in one clear `InvalidRequest` (or
 * `BudgetExceeded`, `AuthenticationFailed`) that names what is wrong and what would be accepted,
 * `not-charged` — and **nothing sent**: the simulator's request log and ledger stay empty, no
 * `Submitting` event, no file. Requests that cannot even be built (an empty prompt, a `file:`
 * image URL) are refused by `GenerateRequest`'s schema, at construction and at decoding.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Engine from "@reelay/core/Engine"
import {
  BytesSource,
  GenerateRequest,
  ImageInput,
  type ImageRole,
  PathSource,
  UrlSource
} from "@reelay/core/GenerateRequest"
import * as Money from "@reelay/core/Money"
import type { VideoError } from "@reelay/core/VideoError"
import { Laozhang } from "@reelay/provider-laozhang"
import { Testkit } from "@reelay/testkit"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { providers } from "./providers.js"

const apiKey = Redacted.make("sk-reliability-bad-input")

const image = (role: ImageRole, source: ImageInput["source"]) => new ImageInput({ role, source })
const png = (role: ImageRole = "first-frame") =>
  image(role, new BytesSource({ bytes: Testkit.png, mimeType: "image/png", fileName: `${role}.png` }))

interface Case {
  readonly name: string
  readonly request: (files: string) => GenerateRequest
  /** Sets files up in the directory before the request is made. */
  readonly setup?: (files: string) => void
  readonly tag?: VideoError["_tag"]
  readonly field?: string
  /** What the message must say: the wrong value and what is accepted instead. */
  readonly message: RegExp
  /** Values `supported` must list, when the refusal carries it. */
  readonly supported?: ReadonlyArray<string>
}

const request = (fields: ConstructorParameters<typeof GenerateRequest>[0]) => GenerateRequest.make(fields)
const fox = "A red fox running through fresh snow at dawn"

const cases: ReadonlyArray<Case> = [
  {
    name: "an unknown provider",
    request: () => request({ prompt: fox, provider: "acme" }),
    field: "provider",
    message: /unknown provider "acme".*laozhang.*apiyi/
  },
  {
    name: "an unknown model",
    request: () => request({ prompt: fox, provider: "laozhang", model: "veo-9" }),
    field: "model",
    message: /unknown model "veo-9" for provider "laozhang" \(available: veo-3\.1, /,
    supported: ["veo-3.1-fast", "veo-3.1-fl"]
  },
  {
    name: "a duration the model does not make",
    request: () => request({ prompt: fox, provider: "laozhang", model: "veo-3.1-fast", seconds: 4 }),
    field: "seconds",
    message: /"veo-3\.1-fast" does not support a duration of seconds 4 \(supported: 8\)/,
    supported: ["8"]
  },
  {
    name: "a resolution the model does not make, with the models that do",
    request: () => request({ prompt: fox, provider: "laozhang", model: "veo-3.1-fast", resolution: "1080p" }),
    field: "resolution",
    message: /does not support resolution "1080p" \(supported: 720p\)/,
    supported: ["720p"]
  },
  {
    name: "an aspect ratio the model does not make, with the models that do",
    request: () => request({ prompt: fox, provider: "apiyi", model: "veo-3.1-fast", aspectRatio: "16:9" }),
    field: "aspectRatio",
    message: /does not support aspect ratio "16:9" \(supported: 9:16\); models of "apiyi" that do: veo-3\.1-landscape/
  },
  {
    name: "a seed on a model without one",
    request: () => request({ prompt: fox, provider: "laozhang-sora", model: "sora_video2", seed: 7 }),
    field: "seed",
    message: /"sora_video2" does not take a seed/
  },
  {
    name: "a negative prompt on a model without one",
    request: () => request({ prompt: fox, provider: "laozhang", model: "veo-3.1", negativePrompt: "rain" }),
    field: "negativePrompt",
    message: /"veo-3\.1" does not take a negative prompt/
  },
  {
    name: "a size that contradicts the aspect ratio",
    request: () =>
      request({
        prompt: fox,
        provider: "laozhang-official",
        model: "veo-3.1-fast-generate-preview",
        size: "1280x720",
        aspectRatio: "9:16"
      }),
    field: "size",
    message: /size 1280x720 is 16:9, which contradicts aspect ratio 9:16/
  },
  {
    name: "a size that contradicts the resolution",
    request: () =>
      request({
        prompt: fox,
        provider: "laozhang-official",
        model: "veo-3.1-fast-generate-preview",
        size: "1920x1080",
        resolution: "720p"
      }),
    field: "size",
    message: /size 1920x1080 is 1080p, which contradicts resolution 720p/
  },
  {
    name: "a combination the vendor's rules forbid (1080p needs 8 s)",
    request: () =>
      request({
        prompt: fox,
        provider: "laozhang-official",
        model: "veo-3.1-fast-generate-preview",
        resolution: "1080p",
        seconds: 4
      }),
    message: /1080p.*8/
  },
  {
    name: "4k in portrait, which the official forward does not make",
    request: () =>
      request({
        prompt: fox,
        provider: "laozhang-official",
        model: "veo-3.1-fast-generate-preview",
        resolution: "4k",
        aspectRatio: "9:16"
      }),
    message: /4k.*9:16|no 4k 9:16 output/
  },
  {
    name: "an image on a text-only model, with the models that take one",
    request: () => request({ prompt: fox, provider: "laozhang", model: "veo-3.1-fast", images: [png()] }),
    field: "images",
    message: /"veo-3\.1-fast" does not take images \(text to video only\); models of "laozhang" that do: veo-3\.1-fl/
  },
  {
    name: "a frame model without its frame",
    request: () => request({ prompt: fox, provider: "laozhang", model: "veo-3.1-fast-fl" }),
    field: "images",
    message: /"veo-3\.1-fast-fl" makes video from a first-frame image and needs one; for text to video use veo-3\.1, /
  },
  {
    name: "a missing image file",
    request: (files) =>
      request({
        prompt: fox,
        provider: "laozhang",
        model: "veo-3.1-fast-fl",
        images: [image("first-frame", new PathSource({ path: NodePath.join(files, "missing.png") }))]
      }),
    field: "images",
    message: /cannot read image ".*missing\.png": no such file/
  },
  {
    name: "a directory given as an image",
    request: (files) =>
      request({
        prompt: fox,
        provider: "laozhang",
        model: "veo-3.1-fast-fl",
        images: [image("first-frame", new PathSource({ path: files }))]
      }),
    field: "images",
    message: /is not a file/
  },
  {
    name: "a file that is not an image, with the types accepted",
    setup: (files) => NodeFs.writeFileSync(NodePath.join(files, "notes.png"), "just text, named like a picture"),
    request: (files) =>
      request({
        prompt: fox,
        provider: "apiyi",
        model: "veo-3.1-fast-fl",
        images: [image("first-frame", new PathSource({ path: NodePath.join(files, "notes.png") }))]
      }),
    field: "images",
    message: /"?.*notes\.png"? is not a JPEG, PNG, WebP or GIF image/,
    supported: ["image/jpeg", "image/png", "image/webp", "image/gif"]
  },
  {
    name: "an oversized image file, with the limit",
    setup: (files) => {
      const bytes = Buffer.alloc(10 * 1024 * 1024 + 1)
      Buffer.from(Testkit.png).copy(bytes)
      NodeFs.writeFileSync(NodePath.join(files, "big.png"), bytes)
    },
    request: (files) =>
      request({
        prompt: fox,
        provider: "laozhang",
        model: "veo-3.1-fast-fl",
        images: [image("first-frame", new PathSource({ path: NodePath.join(files, "big.png") }))]
      }),
    field: "images",
    message: /is 10485761 bytes; the limit for "veo-3\.1-fast-fl" is 10485760 bytes/
  },
  {
    name: "oversized image bytes, with the limit",
    request: () =>
      request({
        prompt: fox,
        provider: "laozhang-sora",
        model: "sora_video2",
        images: [image("first-frame", new BytesSource({ bytes: new Uint8Array(10 * 1024 * 1024 + 1) }))]
      }),
    field: "images",
    message: /is 10485761 bytes; the limit for "sora_video2" is 10485760 bytes/
  },
  {
    name: "too many images (two first frames)",
    request: () =>
      request({
        prompt: fox,
        provider: "laozhang",
        model: "veo-3.1-fast-fl",
        images: [png("first-frame"), png("first-frame")]
      }),
    field: "images",
    message: /at most one image can be the first-frame/
  },
  {
    name: "too many images for Sora (one in all)",
    request: () =>
      request({
        prompt: fox,
        provider: "laozhang-sora",
        model: "sora_video2",
        images: [png("first-frame"), png("reference")]
      }),
    field: "images",
    message: /takes at most one image in total.*got 2/
  },
  {
    name: "a last frame without a first",
    request: () => request({ prompt: fox, provider: "apiyi", model: "veo-3.1-fast-fl", images: [png("last-frame")] }),
    field: "images",
    message: /a last-frame image needs a first-frame image too/
  },
  {
    name: "a last frame on a first-frame-only model, with the models that take one",
    request: () =>
      request({
        prompt: fox,
        provider: "laozhang-official",
        model: "veo-3.1-fast-generate-preview",
        images: [png("first-frame"), png("last-frame")]
      }),
    field: "images",
    message: /does not take a last-frame image \(it takes a first frame only\)/
  },
  {
    name: "an image URL where only bytes are accepted",
    request: () =>
      request({
        prompt: fox,
        provider: "apiyi",
        model: "veo-3.1-fast-fl",
        images: [image("first-frame", new UrlSource({ url: "https://images.example.com/fox.png" }))]
      }),
    field: "images",
    message: /cannot fetch images from a URL; give a local file or bytes instead/,
    supported: ["bytes"]
  },
  {
    name: "a reference image on a model without references",
    request: () => request({ prompt: fox, provider: "laozhang", model: "veo-3.1-fast-fl", images: [png("reference")] }),
    field: "images",
    message: /does not take reference images/
  },
  {
    name: "a budget smaller than one video",
    request: () => request({ prompt: fox, provider: "laozhang-official", model: "veo-3.1-generate-preview" }),
    tag: "BudgetExceeded",
    message: /costs up to \$1\.20 and \$0\.00 of the \$1\.00 budget is already committed; nothing was sent/
  }
]

/** The five providers against one simulator, and a budget of $1.00. */
const world = Effect.gen(function* () {
  const sim = yield* Testkit.simulator()
  const dir = yield* Testkit.tempDir("reelay-bad-input-")
  const files = NodePath.join(dir, "files")
  const out = NodePath.join(dir, "out")
  NodeFs.mkdirSync(files)
  const layer = Testkit.engineLayer(
    providers.map((provider) => provider.make({ baseUrl: sim.urls[provider.host], apiKey })),
    { limit: Money.usd("1.00") }
  )
  return { sim, files, out, layer }
})

/** Nothing reached the vendor, nothing was charged, nothing was written. */
const expectNothingSent = (
  sim: Testkit.Collected<VideoError> | undefined,
  state: { readonly sim: import("@reelay/simulator/Simulator").Service; readonly out: string }
) =>
  Effect.gen(function* () {
    if (sim !== undefined) {
      assert.notInclude(sim.tags, "Submitting", "no billable call was started")
      assert.strictEqual(sim.tags.at(-1), "Failed")
    }
    assert.deepStrictEqual(
      (yield* state.sim.requests).map((record) => `${record.method} ${record.path}`),
      [],
      "the vendor received nothing"
    )
    assert.deepStrictEqual(yield* state.sim.ledger, [], "nothing was charged")
    assert.isFalse(NodeFs.existsSync(state.out) && NodeFs.readdirSync(state.out).length > 0, "nothing was written")
  })

describe("bad input (library): a clear refusal, nothing sent", () => {
  for (const each of cases) {
    it.scopedLive(each.name, () =>
      Effect.gen(function* () {
        const state = yield* world
        each.setup?.(state.files)
        const run = yield* Testkit.collect(
          Engine.generate(each.request(state.files), { output: NodePath.join(state.out, "video.mp4") })
        ).pipe(Effect.provide(state.layer))
        const error = Testkit.failureOf(run)
        assert.isDefined(error, "refused")
        assert.strictEqual(error!._tag, each.tag ?? "InvalidRequest", error!.message)
        assert.strictEqual(error!.billing, "not-charged")
        assert.match(error!.message, each.message)
        if (error!._tag === "InvalidRequest") {
          if (each.field !== undefined) assert.strictEqual(error!.field, each.field, error!.message)
          for (const value of each.supported ?? []) assert.include(error!.supported ?? [], value)
        }
        yield* expectNothingSent(run, state)
      })
    )
  }

  it("an empty or blank prompt cannot even be made into a request", () => {
    for (const prompt of ["", "   ", "\n\t"]) {
      assert.throws(() => GenerateRequest.make({ prompt }), /the prompt must not be empty/)
      const decoded = Schema.decodeUnknownEither(GenerateRequest)({ prompt })
      assert.isTrue(Either.isLeft(decoded))
      if (Either.isLeft(decoded)) assert.match(String(decoded.left), /the prompt must not be empty/)
    }
  })

  it("an image URL that is not http(s) cannot even be made into a request", () => {
    for (const url of ["file:///etc/passwd", "ftp://example.com/a.png", "data:image/png;base64,AAAA", "fox.png"]) {
      assert.throws(() => new UrlSource({ url }), /an image URL must be an absolute http\(s\) URL/)
    }
  })

  it.scopedLive("a batch reusing a key for another request: that item refused, only the first sent", () =>
    Effect.gen(function* () {
      const state = yield* world
      const first = request({ prompt: `${fox} @sim:timing(queue=0.01,run=0.05)`, provider: "laozhang" })
      const report = yield* Engine.runMany(
        [
          { key: "shot", request: first },
          { key: "shot", request: request({ prompt: "An owl landing on a branch", provider: "laozhang" }) },
          { key: "again", request: first }
        ],
        { outputDir: state.out }
      ).pipe(Effect.provide(state.layer))
      const refused = report.failed.get("shot")
      assert.strictEqual(refused?._tag, "InvalidRequest")
      assert.match(refused!.message, /item key "shot" is used twice in this batch for different requests/)
      assert.strictEqual(refused?._tag === "InvalidRequest" ? refused.field : undefined, "key")
      assert.strictEqual(report.duplicates.get("again"), "shot", "the same request under another key is generated once")
      assert.strictEqual(report.saved.size, 1)
      const creates = yield* Testkit.creates(state.sim)
      assert.strictEqual(creates.length, 1, "one create: the first item's")
    })
  )

  it.scopedLive("a batch beyond its budget: the items past it refused, nothing sent for them", () =>
    Effect.gen(function* () {
      const state = yield* world
      const items = Array.from({ length: 8 }, (_, index) => ({
        key: `shot-${index + 1}`,
        request: request({
          prompt: `${fox}, take ${index + 1} @sim:timing(queue=0.01,run=0.05)`,
          provider: "laozhang",
          model: "veo-3.1"
        })
      }))
      // $0.25 each against $1.00: four fit, four do not.
      const report = yield* Engine.runMany(items, { outputDir: state.out, concurrency: { submit: 1 } }).pipe(
        Effect.provide(state.layer)
      )
      assert.strictEqual(report.saved.size, 4)
      assert.strictEqual(report.failed.size, 4)
      for (const error of report.failed.values()) {
        assert.strictEqual(error._tag, "BudgetExceeded")
        assert.match(error.message, /costs up to \$0\.25 and \$1\.00 of the \$1\.00 budget is already committed/)
      }
      assert.strictEqual((yield* Testkit.creates(state.sim)).length, 4, "creates only for the items within budget")
      assert.strictEqual((yield* state.sim.ledger).length, 4)
    })
  )

  it.scopedLive("a provider without a key, or with a base URL that is not one: refused, nothing sent", () =>
    Effect.gen(function* () {
      const state = yield* world
      for (const provider of [
        Laozhang.make({ baseUrl: state.sim.urls.laozhang }),
        Laozhang.make({ baseUrl: "not a url", apiKey })
      ]) {
        const run = yield* Testkit.collect(
          Engine.generate(request({ prompt: fox }), { output: NodePath.join(state.out, "video.mp4") })
        ).pipe(Effect.provide(Testkit.engineLayer([provider])))
        const error = Testkit.failureOf(run)
        assert.include(["AuthenticationFailed", "InvalidRequest"], error?._tag)
        assert.match(error!.message, /has no API key: set LAOZHANG_API_KEY; nothing was sent|base URL "not a url"/)
        assert.notStrictEqual(error!.billing, "charged")
        yield* expectNothingSent(undefined, state)
      }
    })
  )
})
