import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { assert, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { BytesSource, GenerateRequest, ImageInput, PathSource, UrlSource } from "../src/GenerateRequest.js"
import * as Validation from "../src/Validation.js"
import { InvalidRequest } from "../src/VideoError.js"
import type * as VideoProvider from "../src/VideoProvider.js"
import { landscapeFrames, PNG, portrait, pro } from "./helpers/catalog.js"

const provider: VideoProvider.Service = {
  specificationVersion: "v1",
  id: "acme",
  mode: "async",
  models: [portrait(), landscapeFrames(), pro()],
  defaultModel: "acme-portrait",
  submit: () => Effect.die("not used"),
  status: () => Effect.die("not used"),
  content: () => Effect.die("not used")
}

const refusal = (fields: ConstructorParameters<typeof GenerateRequest>[0]) =>
  Effect.gen(function* () {
    const result = yield* Effect.either(Validation.validate(GenerateRequest.make(fields), provider))
    assert.isTrue(Either.isLeft(result), "expected a refusal")
    if (Either.isRight(result)) throw new Error("unreachable")
    assert.strictEqual(result.left._tag, "InvalidRequest")
    assert.strictEqual(result.left.billing, "not-charged")
    return result.left
  })

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "reelay-validation-"))

layer(NodeFileSystem.layer)("Validation", (it) => {
  it.effect("accepts a plain request and fills in the model's defaults", () =>
    Effect.gen(function* () {
      const validated = yield* Validation.validate(GenerateRequest.make({ prompt: "a fox" }), provider)
      assert.strictEqual(validated.model.id, "acme-portrait")
      assert.deepStrictEqual(validated.expected, { size: "720x1280", seconds: 8, audio: true })
    })
  )

  it.effect("refuses a prompt or negative prompt over the model's limit, naming the limit and the length", () =>
    Effect.gen(function* () {
      const limit = portrait().capabilities.maxPromptChars
      assert.strictEqual(limit, 5000, "the default limit")
      const atLimit = yield* Validation.validate(GenerateRequest.make({ prompt: "x".repeat(limit) }), provider)
      assert.strictEqual(atLimit.request.prompt.length, limit)
      const prompt = yield* refusal({ prompt: "x".repeat(1_000_000) })
      assert.strictEqual(prompt.field, "prompt")
      assert.strictEqual(
        prompt.message,
        'the prompt is 1000000 characters long; model "acme-portrait" takes at most 5000'
      )
      assert.deepStrictEqual(prompt.supported, ["at most 5000 characters"])
      // Counted as JavaScript counts: an emoji is two.
      const emoji = yield* refusal({ prompt: "🦊".repeat(2501) })
      assert.include(emoji.message, "is 5002 characters long")
      const negative = yield* refusal({ prompt: "a fox", model: "acme-pro", negativePrompt: "x".repeat(5001) })
      assert.strictEqual(negative.field, "negativePrompt")
      assert.include(
        negative.message,
        'the negative prompt is 5001 characters long; model "acme-pro" takes at most 5000'
      )
    })
  )

  it("sizes the largest answer a maximal prompt can make: both texts at 6 bytes a character, and room", () => {
    assert.strictEqual(Validation.largestAnswerBytes(portrait()), 2 * 5000 * 6 + 64 * 1024)
    // The worst character really is 6 bytes in JSON, and no character of a JavaScript string is more.
    assert.strictEqual(JSON.stringify("\u0001").length - 2, Validation.maxJsonBytesPerChar)
    assert.strictEqual(JSON.stringify("\ud800").length - 2, Validation.maxJsonBytesPerChar)
    assert.strictEqual(Buffer.byteLength(JSON.stringify("\uffff")) - 2, 3)
  })

  it.effect("names the models a provider has when the model is unknown", () =>
    Effect.gen(function* () {
      const error = yield* refusal({ prompt: "a fox", model: "acme-9000" })
      assert.include(error.message, 'unknown model "acme-9000"')
      assert.include(error.message, "acme-portrait, acme-landscape-fl, acme-pro")
      assert.deepStrictEqual(error.supported, ["acme-portrait", "acme-landscape-fl", "acme-pro"])
    })
  )

  it.effect("names supported values and the sibling models that would accept the request", () =>
    Effect.gen(function* () {
      const aspect = yield* refusal({ prompt: "a fox", aspectRatio: "16:9" })
      assert.include(aspect.message, 'model "acme-portrait" does not support aspect ratio "16:9" (supported: 9:16)')
      assert.include(aspect.message, 'models of "acme" that do: acme-landscape-fl, acme-pro')
      const resolution = yield* refusal({ prompt: "a fox", resolution: "4k" })
      assert.include(resolution.message, "(supported: 720p)")
      assert.include(resolution.message, "acme-pro")
      const seconds = yield* refusal({ prompt: "a fox", model: "acme-pro", seconds: 10 })
      assert.include(seconds.message, "(supported: 8, 4, 6)")
      assert.strictEqual(seconds.field, "seconds")
    })
  )

  it.effect("refuses options that contradict each other", () =>
    Effect.gen(function* () {
      const error = yield* refusal({ prompt: "a fox", model: "acme-pro", size: "1920x1080", resolution: "4k" })
      assert.include(error.message, "size 1920x1080 is 1080p, which contradicts resolution 4k")
      const aspect = yield* refusal({ prompt: "a fox", model: "acme-pro", size: "1920x1080", aspectRatio: "9:16" })
      assert.include(aspect.message, "contradicts aspect ratio 9:16")
    })
  )

  it.effect("derives the expected size from aspect ratio and resolution", () =>
    Effect.gen(function* () {
      const validated = yield* Validation.validate(
        GenerateRequest.make({ prompt: "a fox", model: "acme-pro", aspectRatio: "9:16", resolution: "1080p" }),
        provider
      )
      assert.strictEqual(validated.expected.size, "1080x1920")
    })
  )

  it.effect("refuses a negative prompt or seed where the model takes none", () =>
    Effect.gen(function* () {
      const negative = yield* refusal({ prompt: "a fox", negativePrompt: "blur" })
      assert.include(negative.message, 'does not take a negative prompt; models of "acme" that do: acme-pro')
      const seed = yield* refusal({ prompt: "a fox", seed: 7 })
      assert.include(seed.message, "does not take a seed")
    })
  )

  it.effect("checks image roles against the model", () =>
    Effect.gen(function* () {
      const png = new BytesSource({ bytes: PNG })
      const textOnly = yield* refusal({
        prompt: "a fox",
        images: [ImageInput.make({ role: "first-frame", source: png })]
      })
      assert.include(
        textOnly.message,
        'does not take images (text to video only); models of "acme" that do: acme-landscape-fl, acme-pro'
      )
      const lastOnly = yield* refusal({
        prompt: "a fox",
        model: "acme-pro",
        images: [
          ImageInput.make({ role: "first-frame", source: png }),
          ImageInput.make({ role: "last-frame", source: png })
        ]
      })
      assert.include(
        lastOnly.message,
        'does not take a last-frame image (it takes a first frame only); models of "acme" that do: acme-landscape-fl'
      )
      const noFirst = yield* refusal({
        prompt: "a fox",
        model: "acme-landscape-fl",
        images: [ImageInput.make({ role: "last-frame", source: png })]
      })
      assert.include(noFirst.message, "a last-frame image needs a first-frame image too")
    })
  )

  it.effect("reads local images, sniffs their type and enforces the size limit", () =>
    Effect.gen(function* () {
      const good = path.join(tmp, "frame.png")
      fs.writeFileSync(good, PNG)
      const validated = yield* Validation.validate(
        GenerateRequest.make({
          prompt: "a fox",
          model: "acme-landscape-fl",
          images: [ImageInput.make({ role: "first-frame", source: new PathSource({ path: good }) })]
        }),
        provider
      )
      const image = validated.request.images[0]!
      assert.strictEqual(image.source._tag, "Bytes")
      if (image.source._tag === "Bytes") {
        assert.strictEqual(image.source.mimeType, "image/png")
        assert.strictEqual(image.source.fileName, "frame.png")
        assert.deepStrictEqual(image.source.bytes, PNG)
      }

      const missing = yield* refusal({
        prompt: "a fox",
        model: "acme-landscape-fl",
        images: [ImageInput.make({ role: "first-frame", source: new PathSource({ path: path.join(tmp, "nope.png") }) })]
      })
      assert.include(missing.message, "cannot read image")
      assert.include(missing.message, "nope.png")
      assert.include(missing.message, ": no such file")
      assert.notInclude(missing.message, "ENOENT")

      const text = path.join(tmp, "notes.png")
      fs.writeFileSync(text, "just some text")
      const notImage = yield* refusal({
        prompt: "a fox",
        model: "acme-landscape-fl",
        images: [ImageInput.make({ role: "first-frame", source: new PathSource({ path: text }) })]
      })
      assert.include(notImage.message, "is not a JPEG, PNG, WebP or GIF image")

      const big = path.join(tmp, "big.png")
      fs.writeFileSync(big, Buffer.concat([PNG, Buffer.alloc(2048)]))
      const oversized = yield* refusal({
        prompt: "a fox",
        model: "acme-landscape-fl",
        images: [ImageInput.make({ role: "first-frame", source: new PathSource({ path: big }) })]
      })
      assert.include(oversized.message, 'the limit for "acme-landscape-fl" is 1024 bytes')
    })
  )

  it.effect("refuses an image transport the model cannot take", () =>
    Effect.gen(function* () {
      const url = yield* refusal({
        prompt: "a fox",
        model: "acme-landscape-fl",
        images: [ImageInput.make({ role: "first-frame", source: new UrlSource({ url: "https://example.com/a.png" }) })]
      })
      assert.include(url.message, "cannot fetch images from a URL")
    })
  )

  it.effect("runs the provider's own protocol rules after the catalog", () =>
    Effect.gen(function* () {
      const strict: VideoProvider.Service = {
        ...provider,
        check: ({ request }) =>
          request.resolution === "4k" && request.seconds !== 8
            ? Effect.fail(new InvalidRequest({ message: "4k needs 8 seconds", billing: "not-charged" }))
            : Effect.succeed(["seed is advisory"])
      }
      const result = yield* Effect.either(
        Validation.validate(
          GenerateRequest.make({ prompt: "a", model: "acme-pro", resolution: "4k", seconds: 4 }),
          strict
        )
      )
      assert.isTrue(Either.isLeft(result) && result.left.message === "4k needs 8 seconds")
      const ok = yield* Validation.validate(GenerateRequest.make({ prompt: "a", model: "acme-pro" }), strict)
      assert.deepStrictEqual(ok.warnings, ["seed is advisory"])
    })
  )

  it.effect("refuses an empty prompt when the request is decoded", () =>
    Effect.sync(() => {
      assert.throws(() => GenerateRequest.make({ prompt: "   " }), /the prompt must not be empty/)
    })
  )
})
