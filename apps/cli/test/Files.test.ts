import * as NodePath from "node:path"
import { describe, expect, it } from "@effect/vitest"
import * as Requests from "@reelay/client/Requests"
import * as ConfigFile from "@reelay/config/ConfigFile"
import * as Either from "effect/Either"
import * as BatchFile from "../src/BatchFile.js"

const parseBatch = (text: string, defaults: BatchFile.Defaults = { provider: "laozhang" }) =>
  BatchFile.parse("/data/jobs.jsonl", text, defaults)

const errorOf = <A, E extends { readonly message: string }>(result: Either.Either<A, E>) => {
  if (Either.isRight(result)) throw new Error("expected an error")
  return result.left
}

describe("BatchFile.parse", () => {
  it("reads one request per line, skipping blank lines, with keys and defaults", () => {
    const parsed = Either.getOrThrow(
      parseBatch(
        [
          '{"key": "fox", "prompt": "A red fox", "model": "veo-3.1-fast"}',
          "",
          '{"prompt": "An owl", "aspectRatio": "16:9", "seconds": 8}',
          '{"prompt": "Frames", "provider": "apiyi", "images": ["a.png", "https://x.example/b.png"], "output": "o/f.mp4"}'
        ].join("\n")
      )
    )
    expect(parsed.items.map((item) => item.key)).toEqual(["fox", "line-3", "line-4"])
    expect(parsed.items.map((item) => item.line)).toEqual([1, 3, 4])
    expect(parsed.items[0]?.request.provider).toBe("laozhang")
    expect(parsed.items[1]?.request.aspectRatio).toBe("16:9")
    const frames = parsed.items[2]!
    expect(frames.request.provider).toBe("apiyi")
    expect(frames.output).toBe("/data/o/f.mp4")
    expect(frames.request.images.map((image) => [image.role, image.source._tag])).toEqual([
      ["first-frame", "Path"],
      ["last-frame", "Url"]
    ])
    const first = frames.request.images[0]!.source
    expect(first._tag === "Path" && first.path).toBe(NodePath.resolve("/data", "a.png"))
  })

  it("does not apply the default model to a line that names another provider", () => {
    const parsed = Either.getOrThrow(
      parseBatch('{"prompt": "x", "provider": "laozhang-sora"}\n{"prompt": "y"}', {
        provider: "laozhang",
        model: "veo-3.1-fast"
      })
    )
    expect(parsed.items[0]?.request.model).toBeUndefined()
    expect(parsed.items[1]?.request.model).toBe("veo-3.1-fast")
  })

  it("names the line and the field of the first bad line", () => {
    const good = '{"prompt": "fine"}'
    expect(errorOf(parseBatch(`${good}\n{"prompt": "x",}`)).message).toMatch(
      /^\/data\/jobs\.jsonl:2: not a JSON object/
    )
    expect(errorOf(parseBatch(`${good}\n${good}\n{"promt": "x"}`)).message).toContain(
      "jobs.jsonl:3: promt: is unexpected"
    )
    expect(errorOf(parseBatch(`{"key": "a"}`)).message).toContain("jobs.jsonl:1: prompt: is missing")
    expect(errorOf(parseBatch(`{"prompt": "  "}`)).message).toContain("jobs.jsonl:1: prompt: must not be empty")
    expect(errorOf(parseBatch(`{"prompt": "x", "aspectRatio": "16x9"}`)).message).toContain(
      "jobs.jsonl:1: aspectRatio:"
    )
    expect(errorOf(parseBatch(`{"prompt": "x", "seconds": "8"}`)).message).toContain("jobs.jsonl:1: seconds:")
    expect(errorOf(parseBatch(`{"prompt": "x", "image": "a.png", "images": ["b.png"]}`)).message).toContain(
      'either "image" or "images"'
    )
    expect(errorOf(parseBatch(`{"prompt": "x", "images": ["a", "b", "c"]}`)).message).toContain("jobs.jsonl:1: images")
    expect(errorOf(parseBatch(`{"key": "k", "prompt": "x"}\n{"key": "k", "prompt": "y"}`)).message).toContain(
      'jobs.jsonl:2: key "k" is already used on line 1'
    )
    expect(errorOf(parseBatch(`{"key": "a b", "prompt": "x"}`)).message).toContain("jobs.jsonl:1: key:")
    expect(errorOf(parseBatch(`[1, 2]`)).message).toContain("jobs.jsonl:1: not a JSON object")
    const empty = errorOf(parseBatch("\n\n"))
    expect(empty.message).toContain("has no requests")
    expect(empty.line).toBeUndefined()
  })

  it("refuses a key written twice in one line, at any depth, naming the line and the key", () => {
    const good = '{"prompt": "fine"}'
    const twice = errorOf(parseBatch(`${good}\n{"prompt": "A fox", "model": "veo-3.1-fast", "prompt": "An owl"}`))
    expect(twice.line).toBe(2)
    expect(twice.message).toMatch(/^\/data\/jobs\.jsonl:2: the key "prompt" is written twice/)
    // Spelled differently, read the same by JSON.
    expect(errorOf(parseBatch('{"prompt": "A fox", "\\u0070rompt": "An owl"}')).message).toContain(
      'jobs.jsonl:1: the key "prompt" is written twice'
    )
    expect(
      errorOf(parseBatch('{"prompt": "x", "providerOptions": {"laozhang": {"seed": 1, "seed": 2}}}')).message
    ).toContain('jobs.jsonl:1: the key "seed" is written twice in providerOptions.laozhang')
    expect(
      errorOf(parseBatch('{"prompt": "x", "providerOptions": {"__proto__": {"laozhang": {"seed": 1}}}}')).message
    ).toContain('jobs.jsonl:1: the key "__proto__" in providerOptions cannot be used as a name')
    // The same key in two different objects is no repetition.
    expect(
      Either.isRight(parseBatch('{"prompt": "x", "providerOptions": {"a": {"k": 1}, "b": {"k": 2}}, "key": "k"}'))
    ).toBe(true)
  })

  it("drops a UTF-8 byte-order mark at the start of the file, and names one anywhere else", () => {
    const parsed = Either.getOrThrow(parseBatch('\uFEFF{"key": "fox", "prompt": "A fox"}\n{"prompt": "An owl"}'))
    expect(parsed.items.map((item) => item.key)).toEqual(["fox", "line-2"])
    expect(parsed.batchId).toBe(
      Either.getOrThrow(parseBatch('{"key": "fox", "prompt": "A fox"}\n{"prompt": "An owl"}')).batchId
    )
    expect(errorOf(parseBatch('{"prompt": "A fox"}\n\uFEFF{"prompt": "An owl"}')).message).toContain(
      "jobs.jsonl:2: the line starts with a byte-order mark"
    )
  })

  it("takes an item's own overwrite", () => {
    const parsed = Either.getOrThrow(parseBatch('{"prompt": "a", "overwrite": true}\n{"prompt": "b"}'))
    expect(parsed.items.map((item) => item.overwrite)).toEqual([true, undefined])
    expect(errorOf(parseBatch('{"prompt": "a", "overwrite": "yes"}')).message).toContain("jobs.jsonl:1: overwrite:")
  })

  it("gives a stable batch id from the file's name and content", () => {
    expect(BatchFile.batchIdFor("/x/My Jobs.jsonl", "a")).toMatch(/^My-Jobs-[0-9a-f]{8}$/)
    expect(BatchFile.batchIdFor("a.jsonl", "x")).toBe(BatchFile.batchIdFor("b/a.jsonl", "x"))
    expect(BatchFile.batchIdFor("a.jsonl", "x")).not.toBe(BatchFile.batchIdFor("a.jsonl", "y"))
  })
})

describe("Requests.toRequest", () => {
  it("maps images to first and last frame, URLs to UrlSource and paths to PathSource", () => {
    const request = Either.getOrThrow(Requests.toRequest({ prompt: "x", images: ["f.png", "http://h/l.png"] }, "/base"))
    expect(request.images.map((image) => image.role)).toEqual(["first-frame", "last-frame"])
    expect(request.images[0]?.source).toMatchObject({ _tag: "Path", path: "/base/f.png" })
    expect(request.images[1]?.source).toMatchObject({ _tag: "Url", url: "http://h/l.png" })
  })

  it("refuses three images and malformed values as InvalidRequest", () => {
    expect(errorOf(Requests.toRequest({ prompt: "x", images: ["a", "b", "c"] }, "/")).message).toContain("at most two")
    const ratio = errorOf(Requests.toRequest({ prompt: "x", aspectRatio: "wide" }, "/"))
    expect(ratio._tag).toBe("InvalidRequest")
    expect(ratio.field).toBe("aspectRatio")
    expect(errorOf(Requests.toRequest({ prompt: "x", seed: -1 }, "/")).field).toBe("seed")
    expect(errorOf(Requests.toRequest({ prompt: " " }, "/")).message).toContain("prompt")
  })
})

describe("ConfigFile.parse", () => {
  const parse = (json: unknown) => ConfigFile.parse("/p/reelay.config.json", JSON.stringify(json))

  it("reads profiles and resolves a relative journal against the file", () => {
    const loaded = Either.getOrThrow(
      parse({ defaultProfile: "a", journal: "j.db", profiles: { a: { provider: "apiyi", budget: 2 } } })
    )
    expect(loaded.defaultProfile).toBe("a")
    expect(loaded.journal).toBe("/p/j.db")
    expect(loaded.profiles.a?.budget).toBe(2)
    expect(Either.getOrThrow(parse({ journal: "postgres://h/db" })).journal).toBe("postgres://h/db")
  })

  it("refuses a key written in the file, naming where", () => {
    const error = errorOf(parse({ profiles: { a: { provider: "laozhang", apiKey: "sk-123" } } }))
    expect(error.message).toContain("profiles.a.apiKey: an API key does not belong in the configuration file")
    expect(error.message).not.toContain("sk-123")
  })

  it("names the first problem with its path", () => {
    expect(errorOf(parse({ profiles: { a: { budget: "lots" } } })).message).toContain("profiles.a.budget")
    expect(errorOf(parse({ profiles: { a: { provder: "x" } } })).message).toContain("provder")
    expect(errorOf(parse({ defaultProfile: "b", profiles: { a: {} } })).message).toContain(
      'defaultProfile "b" is not among the profiles (a)'
    )
    expect(errorOf(parse({ providers: [{ id: "acme" }] })).message).toContain("providers[0]")
    expect(errorOf(ConfigFile.parse("/p/c.json", "{nope")).message).toContain("not valid JSON")
  })

  const model = {
    id: "m1",
    price: "0.25",
    capabilities: {
      aspectRatios: ["16:9"],
      resolutions: ["720p"],
      durations: [8],
      sizes: ["1280x720"],
      imageInput: "none",
      audio: true
    },
    generationTime: { typicalSeconds: 45, minSeconds: 30, maxSeconds: 60 }
  }
  const reseller = (fields: Record<string, unknown> = {}, modelFields: Record<string, unknown> = {}) => ({
    id: "acme",
    baseUrl: "https://api.acme.example/v1",
    apiKeyEnv: "ACME_API_KEY",
    auth: "raw",
    chargePolicy: "on-success",
    models: [model, { ...model, id: "m2", ...modelFields }],
    ...fields
  })

  it("refuses a price that is negative, not a number or not finite, with its path in the file", () => {
    expect(Either.isRight(parse({ providers: [reseller()] }))).toBe(true)
    for (const price of ["-0.24", "abc", "Infinity", "NaN", "1e400", "", 0.24]) {
      const error = errorOf(parse({ providers: [reseller({}, { price })] }))
      expect(error.message, String(price)).toContain(
        'providers[0].models[1].price: a price in US dollars as a decimal string such as "0.25"'
      )
    }
    // A JSON number too large to be one reads as Infinity: refused wherever it is.
    expect(errorOf(ConfigFile.parse("/p/c.json", '{"profiles": {"a": {"budget": 1e400}}}')).message).toContain(
      "profiles.a.budget: a number too large to be one"
    )
  })

  it("refuses unknown fields inside a provider, at any depth, with the path", () => {
    expect(errorOf(parse({ providers: [reseller({ colour: "red" })] })).message).toContain(
      "providers[0].colour: is unexpected"
    )
    expect(errorOf(parse({ providers: [reseller({}, { flavour: 1 })] })).message).toContain(
      "providers[0].models[1].flavour: is unexpected"
    )
    expect(
      errorOf(parse({ providers: [reseller({}, { capabilities: { ...model.capabilities, fps: 24 } })] })).message
    ).toContain("providers[0].models[1].capabilities.fps: is unexpected")
    expect(errorOf(parse({ providers: [reseller({ wire: { contnet: "url" } })] })).message).toContain(
      "providers[0].wire.contnet: is unexpected"
    )
  })

  it("lists every accepted value, never only the first", () => {
    expect(errorOf(parse({ providers: [reseller({ chargePolicy: "sometimes" })] })).message).toContain(
      'providers[0].chargePolicy: Expected "on-success" | "per-request" | "on-response", actual "sometimes"'
    )
    expect(errorOf(parse({ providers: [reseller({ auth: "basic" })] })).message).toContain(
      'providers[0].auth: Expected "bearer" | "raw" | { "style": "bearer" | "raw", "header": <an HTTP header name> }, actual "basic"'
    )
    expect(errorOf(parse({ providers: [reseller({ wire: { content: "blob" } })] })).message).toContain(
      'providers[0].wire.content: Expected "url" | "bytes", actual "blob"'
    )
  })

  it("refuses an HTTP header name that cannot be sent, when the file is read", () => {
    for (const header of ["x api key", "x-key:", "x-key\r\nx-evil: 1", ""]) {
      const error = errorOf(parse({ providers: [reseller({ auth: { style: "raw", header } })] }))
      expect(error.message, JSON.stringify(header)).toContain("providers[0].auth.header: ")
    }
    const fine = Either.getOrThrow(parse({ providers: [reseller({ auth: { style: "raw", header: "X-Api-Key" } })] }))
    expect(fine.resellers[0]?.auth).toMatchObject({ style: "raw", header: "X-Api-Key" })
  })

  it("refuses __proto__ as a name, and a key written twice", () => {
    expect(
      errorOf(ConfigFile.parse("/p/c.json", '{"profiles": {"__proto__": {"budget": "1.00"}, "a": {}}}')).message
    ).toContain('the key "__proto__" in profiles cannot be used as a name')
    expect(
      errorOf(ConfigFile.parse("/p/c.json", '{"profiles": {"a": {"budget": "1.00", "budget": "100.00"}}}')).message
    ).toContain('the key "budget" is written twice in profiles.a')
    for (const name of ["toString", "constructor", "hasOwnProperty"]) {
      expect(errorOf(parse({ defaultProfile: name, profiles: { a: {} } })).message).toContain(
        `defaultProfile "${name}" is not among the profiles (a)`
      )
    }
  })

  it("drops a UTF-8 byte-order mark; names a UTF-16 file", async () => {
    const loaded = Either.getOrThrow(ConfigFile.parse("/p/c.json", '\uFEFF{"profiles": {"a": {}}}'))
    expect(Object.keys(loaded.profiles)).toEqual(["a"])
    const Json = await import("@reelay/config/Json")
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"profiles": {}}', "utf16le")])
    expect(errorOf(Json.decodeText(utf16)).message).toContain("the file is UTF-16")
    expect(Either.getOrThrow(Json.decodeText(Buffer.from('\uFEFF{"a": 1}', "utf8")))).toBe('{"a": 1}')
  })
})

describe("generate's output path", () => {
  it("names the file after the prompt, and puts it in a directory given as --out", async () => {
    const { slug, outputPath } = await import("@reelay/client/Run")
    expect(slug("A red fox running through fresh snow at dawn")).toBe("a-red-fox-running-through")
    expect(slug("¡¿!?")).toBe("video")
    expect(slug("Café au lait, s'il vous plaît")).toBe("cafe-au-lait-s-il")
    expect(outputPath(undefined, "/o", "x.mp4")).toBe("/o/x.mp4")
    expect(outputPath("/tmp/clip.mp4", "/o", "x.mp4")).toBe("/tmp/clip.mp4")
    expect(outputPath("/tmp/videos/", "/o", "x.mp4")).toBe("/tmp/videos/x.mp4")
    expect(outputPath("/tmp", "/o", "x.mp4")).toBe("/tmp/x.mp4")
  })
})
