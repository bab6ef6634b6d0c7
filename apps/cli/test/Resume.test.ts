import { describe, expect, it } from "@effect/vitest"
import { outputsOf, recordedEndpoints } from "@reelay/client/Run"
import * as Providers from "@reelay/config/Providers"
import * as Settings from "@reelay/config/Settings"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import type * as Journal from "@reelay/journal/Journal"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

const settings = (env: Record<string, string> = { LAOZHANG_API_KEY: "sk-test-resume-key" }) => {
  const resolved = Settings.resolve({
    flags: {},
    environment: Settings.fromRecord(env),
    file: undefined,
    catalogs: Providers.catalogs([])
  })
  if (Either.isLeft(resolved)) throw new Error(resolved.left.message)
  return resolved.right
}

/** A journal item with what these functions read; the rest as an item fresh from the journal. */
const item = (key: string, fields: Partial<Journal.Item>): Journal.Item =>
  ({
    batch: "b",
    key,
    request: GenerateRequest.make({ prompt: key }),
    output: `/videos/${key}.mp4`,
    state: "submitted",
    provider: "laozhang",
    baseUrl: undefined,
    ...fields
  }) as Journal.Item

describe("reelay resume", () => {
  it("continues each provider at the base URL its creates went to, and says so when the settings differ", () => {
    const resolved = recordedEndpoints(settings(), "b", [
      item("a", { baseUrl: "http://127.0.0.1:4010/laozhang/v1" }),
      item("b", { baseUrl: "http://127.0.0.1:4010/laozhang/v1" }),
      // Saved items and the built-in simulator's do not count.
      item("c", { baseUrl: "http://elsewhere.example/v1", state: "downloaded" }),
      item("d", { baseUrl: "http://127.0.0.1:1/laozhang/v1", provider: "simulator" })
    ])
    if (Either.isLeft(resolved)) throw new Error(resolved.left.message)
    const laozhang = resolved.right.settings.providers.find((provider) => provider.id === "laozhang")
    expect(laozhang?.baseUrl).toEqual({ value: "http://127.0.0.1:4010/laozhang/v1", source: "the journal (batch b)" })
    expect(resolved.right.notes).toHaveLength(1)
    expect(resolved.right.notes[0]).toContain("resuming at http://127.0.0.1:4010/laozhang/v1")
    expect(resolved.right.notes[0]).toContain("https://api.laozhang.ai/v1")
  })

  it("is refused when one provider's creates went to several hosts", () => {
    const resolved = recordedEndpoints(settings(), "b", [
      item("a", { baseUrl: "http://one.example/v1" }),
      item("b", { baseUrl: "http://two.example/v1" })
    ])
    expect(Either.isLeft(resolved) && resolved.left.message).toMatch(/sent creates for laozhang to 2 hosts/)
  })

  it("moves only the videos not saved yet, and --out only for one", () =>
    Effect.gen(function* () {
      const stored = [item("saved", { state: "downloaded" }), item("open", {})]
      const moved = yield* outputsOf(stored, { out: undefined, outDir: "/elsewhere" })
      expect(moved.map((it) => it.output)).toEqual(["/videos/saved.mp4", "/elsewhere/open.mp4"])
      const single = yield* outputsOf(stored, { out: "/elsewhere/x.mp4", outDir: undefined })
      expect(single[1]?.output).toBe("/elsewhere/x.mp4")
      const two = yield* Effect.flip(outputsOf([...stored, item("other", {})], { out: "/x.mp4", outDir: undefined }))
      expect(two.message).toMatch(/--out names one file, and this batch has 2 video\(s\) not yet saved/)
    }).pipe(Effect.runPromise))
})
