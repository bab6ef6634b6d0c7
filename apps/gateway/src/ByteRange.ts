/**
 * A `Range: bytes=...` header read against a file of `size` bytes (RFC 9110 §14.1.2): one range,
 * as `start-end`, `start-` or `-suffix`. Several ranges are answered whole, as the RFC allows.
 *
 * @since 0.3.0
 */

/** The bytes to send: all of them, a part, or none (`416`). */
export type ByteRange =
  | { readonly _tag: "Whole" }
  | { readonly _tag: "Part"; readonly start: number; readonly end: number }
  | { readonly _tag: "Unsatisfiable" }

export const parse = (header: string | undefined, size: number): ByteRange => {
  if (header === undefined) return { _tag: "Whole" }
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  // Another unit, several ranges, or a malformed header: ignored, the whole file is sent.
  if (match === null) return { _tag: "Whole" }
  const [, first = "", last = ""] = match
  if (first === "" && last === "") return { _tag: "Whole" }
  if (first === "") {
    const suffix = Number(last)
    if (suffix === 0 || size === 0) return { _tag: "Unsatisfiable" }
    return { _tag: "Part", start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(first)
  // `last` before `first` is not a range at all: ignored, like any malformed header.
  if (last !== "" && Number(last) < start) return { _tag: "Whole" }
  if (start >= size) return { _tag: "Unsatisfiable" }
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1)
  return { _tag: "Part", start, end }
}
