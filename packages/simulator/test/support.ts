/**
 * Plain HTTP helpers for the simulator's tests: global `fetch` for ordinary calls, `node:http` where a
 * test must see what `fetch` hides (a reset connection, a body cut short). Never reelay's providers:
 * these tests check the wire itself.
 */
import { request } from "node:http"
import * as Effect from "effect/Effect"

/** A laozhang key (Bearer). */
export const laozhang = { authorization: "Bearer sk-test-laozhang" }
/** An apiyi key (raw). */
export const apiyi = { authorization: "sk-test-apiyi" }

/** `fetch` as an Effect (a rejected fetch is a defect: tests that expect one use `attempt`). */
export const call = (url: string, init?: RequestInit): Effect.Effect<Response> => Effect.promise(() => fetch(url, init))

/** `fetch` that reports a transport failure instead of failing the test. */
export const attempt = (url: string, init?: RequestInit): Effect.Effect<Response | Error> =>
  Effect.promise(() => fetch(url, init).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))))

/** A JSON body, inspected loosely by the tests. */
// biome-ignore lint/suspicious/noExplicitAny: test assertions read response bodies field by field
export type Body = any

/** The body as JSON. */
export const json = <A = Body>(res: Response): Effect.Effect<A> => Effect.promise(() => res.json() as Promise<A>)

/** The body as bytes. */
export const bytes = (res: Response): Effect.Effect<Buffer> =>
  Effect.promise(async () => Buffer.from(await res.arrayBuffer()))

/** POSTs JSON. */
export const postJson = (url: string, body: unknown, headers: Record<string, string>) =>
  call(url, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) })

/** POSTs multipart form data (fetch writes the boundary). */
export const postForm = (url: string, form: FormData, headers: Record<string, string>) =>
  call(url, { method: "POST", headers, body: form })

/** A GET with headers. */
export const get = (url: string, headers: Record<string, string> = {}) => call(url, { headers })

/** A tiny JPEG-looking file (the simulator checks magic bytes, not pixels). */
export const jpeg = (): Blob =>
  new Blob([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0xff, 0xd9])], {
    type: "image/jpeg"
  })

/** A PNG signature as a base64 data URL. */
export const pngDataUrl = `data:image/png;base64,${Buffer.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0
]).toString("base64")}`

/** Builds a form from fields; `input_reference` entries may repeat. */
export const form = (fields: Record<string, string>, images = 0): FormData => {
  const f = new FormData()
  for (const [k, v] of Object.entries(fields)) f.append(k, v)
  for (let i = 0; i < images; i++) f.append("input_reference", jpeg(), `frame-${i}.jpg`)
  return f
}

/** A GET of the control endpoint, as JSON. */
export const control = <A = Body>(base: string, path: string, init?: RequestInit): Effect.Effect<A> =>
  Effect.flatMap(call(`${base}${path}`, init), (r) => json<A>(r))

/** What a raw `node:http` exchange ended as. */
export type Raw =
  | {
      readonly _tag: "Response"
      readonly status: number
      readonly headers: Record<string, string | Array<string> | undefined>
      readonly body: Buffer
      /** Whether the body arrived whole. */
      readonly complete: boolean
    }
  | { readonly _tag: "Error"; readonly code: string }

/** One request on a fresh connection, reporting resets and cut bodies instead of throwing. */
export const raw = (
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {}
): Effect.Effect<Raw> =>
  Effect.promise(
    () =>
      new Promise<Raw>((resolve) => {
        const req = request(url, { method: options.method ?? "GET", headers: options.headers, agent: false }, (res) => {
          const chunks: Array<Buffer> = []
          let settled = false
          const finish = (complete: boolean) => {
            if (settled) return
            settled = true
            resolve({
              _tag: "Response",
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks),
              complete
            })
          }
          res.on("data", (c: Buffer) => chunks.push(c))
          res.on("end", () => finish(res.complete))
          res.on("aborted", () => finish(false))
          res.on("error", () => finish(false))
          res.on("close", () => finish(res.complete))
        })
        req.on("error", (e: NodeJS.ErrnoException) => resolve({ _tag: "Error", code: e.code ?? e.message }))
        if (options.body !== undefined) req.write(options.body)
        req.end()
      })
  )

/** The `data:` payloads of an SSE body. */
export const sseData = (text: string): Array<string> =>
  text
    .split("\n\n")
    .filter((e) => e.startsWith("data: "))
    .map((e) => e.slice("data: ".length))
