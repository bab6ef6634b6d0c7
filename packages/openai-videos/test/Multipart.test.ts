import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Multipart from "../src/Multipart.js"

describe("Multipart", () => {
  it.effect("encodes fields and files that a standard parser reads back", () =>
    Effect.gen(function* () {
      const bytes = new Uint8Array([0, 1, 2, 13, 10, 45, 45, 255])
      const encoded = Multipart.encode([
        { _tag: "Field", name: "prompt", value: 'a "quoted" prompt\nwith two lines, 日本語' },
        { _tag: "Field", name: "seconds", value: "8" },
        { _tag: "File", name: "input_reference", fileName: "first.png", contentType: "image/png", bytes },
        { _tag: "File", name: "input_reference", fileName: 'la"st.png', contentType: "image/png", bytes }
      ])
      const form = yield* Effect.promise(() =>
        new Response(encoded.body, { headers: { "content-type": encoded.contentType } }).formData()
      )
      assert.strictEqual(form.get("prompt"), 'a "quoted" prompt\r\nwith two lines, 日本語')
      assert.strictEqual(form.get("seconds"), "8")
      const files = form.getAll("input_reference")
      assert.strictEqual(files.length, 2)
      for (const file of files) {
        assert.isTrue(file instanceof File)
        if (file instanceof File) {
          assert.deepStrictEqual(new Uint8Array(yield* Effect.promise(() => file.arrayBuffer())), bytes)
        }
      }
      assert.strictEqual((files[0] as File).name, "first.png")
    })
  )
})
