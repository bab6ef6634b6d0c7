/**
 * Reading the JSON users write (batch lines, `reelay.config.json`) strictly: `JSON.parse` keeps the
 * last of two equal keys without a word, so `{"prompt": "a fox", ..., "prompt": "an owl"}` would
 * generate (and bill) a video nobody asked for. Here a key repeated in one object is refused, at
 * any depth, and so is `__proto__` as a key; a file's encoding is told apart: a UTF-8 byte-order mark is dropped (editors on
 * Windows write one), a UTF-16 file is named as such instead of failing as "not JSON".
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"

/** Why a text is not the JSON value it should be: not JSON at all, a key written twice, or an encoding. */
export interface Problem {
  readonly kind: "syntax" | "duplicate-key" | "encoding"
  readonly message: string
}

const bom = "\uFEFF"

/** The text without a leading UTF-8 byte-order mark. */
export const stripBom = (text: string): string => (text.startsWith(bom) ? text.slice(bom.length) : text)

/** Whether `text` starts with a byte-order mark (as decoded from UTF-8). */
export const startsWithBom = (text: string): boolean => text.startsWith(bom)

/**
 * Decodes a file's bytes as UTF-8 text, dropping a UTF-8 byte-order mark. A UTF-16 or UTF-32
 * byte-order mark is refused by name: decoded as UTF-8 such a file is noise.
 */
export const decodeText = (bytes: Uint8Array): Either.Either<string, Problem> => {
  const starts = (...prefix: ReadonlyArray<number>) => prefix.every((byte, index) => bytes[index] === byte)
  const wide =
    starts(0x00, 0x00, 0xfe, 0xff) || starts(0xff, 0xfe, 0x00, 0x00)
      ? "UTF-32"
      : starts(0xfe, 0xff) || starts(0xff, 0xfe)
        ? "UTF-16"
        : undefined
  if (wide !== undefined) {
    return Either.left({
      kind: "encoding",
      message: `the file is ${wide} (it starts with a ${wide} byte-order mark); save it as UTF-8`
    })
  }
  return Either.right(stripBom(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8")))
}

/**
 * A key JSON reads without a word and a program should not: one written twice in one object, or
 * `__proto__` (decoded into an object it would set the object's prototype, so that every name
 * looked up in it finds its fields). `path` is where the object is (`providerOptions.laozhang`, `""`
 * for the top).
 */
export interface DuplicateKey {
  readonly reason: "duplicate" | "reserved"
  readonly key: string
  readonly path: string
}

type Frame =
  | { readonly kind: "object"; readonly path: string; readonly keys: Set<string>; expectKey: boolean; current: string }
  | { readonly kind: "array"; readonly path: string; index: number }

const member = (path: string, key: string) =>
  /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? (path === "" ? key : `${path}.${key}`) : `${path}[${JSON.stringify(key)}]`

/**
 * The first key written twice in one object of `text`, or named `__proto__`; `text` must be valid
 * JSON (parse it first). Keys are compared as JSON reads them (`"\u0070rompt"` is `"prompt"`).
 */
export const duplicateKey = (text: string): DuplicateKey | undefined => {
  const stack: Array<Frame> = []
  const childPath = (): string => {
    const parent = stack[stack.length - 1]
    if (parent === undefined) return ""
    return parent.kind === "object" ? member(parent.path, parent.current) : `${parent.path}[${parent.index}]`
  }
  let at = 0
  while (at < text.length) {
    const char = text[at]
    if (char === '"') {
      let end = at + 1
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1
      const top = stack[stack.length - 1]
      if (top?.kind === "object" && top.expectKey) {
        const key = JSON.parse(text.slice(at, end + 1)) as string
        if (key === "__proto__") return { reason: "reserved", key, path: top.path }
        if (top.keys.has(key)) return { reason: "duplicate", key, path: top.path }
        top.keys.add(key)
        top.current = key
        top.expectKey = false
      }
      at = end + 1
      continue
    }
    if (char === "{") {
      stack.push({ kind: "object", path: childPath(), keys: new Set(), expectKey: true, current: "" })
    } else if (char === "[") {
      stack.push({ kind: "array", path: childPath(), index: 0 })
    } else if (char === "}" || char === "]") {
      stack.pop()
    } else if (char === ",") {
      const top = stack[stack.length - 1]
      if (top?.kind === "object") top.expectKey = true
      else if (top?.kind === "array") top.index++
    }
    at++
  }
  return undefined
}

/** `duplicateKey` in words: `the key "prompt" is written twice` (`in providerOptions.laozhang`). */
export const describeDuplicate = (duplicate: DuplicateKey): string => {
  const where = duplicate.path === "" ? "" : ` in ${duplicate.path}`
  return duplicate.reason === "reserved"
    ? `the key "__proto__"${where} cannot be used as a name`
    : `the key ${JSON.stringify(duplicate.key)} is written twice${where} (JSON would silently keep only the last value); write each key once`
}

/** Parses JSON text, refusing a key written twice in one object. */
export const parse = (text: string): Either.Either<unknown, Problem> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return Either.left({ kind: "syntax", message: error instanceof Error ? error.message : String(error) })
  }
  const duplicate = duplicateKey(text)
  return duplicate === undefined
    ? Either.right(value)
    : Either.left({ kind: "duplicate-key", message: describeDuplicate(duplicate) })
}
