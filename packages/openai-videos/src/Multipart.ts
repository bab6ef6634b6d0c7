/**
 * `multipart/form-data` bodies (RFC 7578) encoded to bytes here rather than handed over as a
 * `FormData`: the undici client of `@effect/platform-node` (undici 7) cannot stream the `FormData`
 * and `Blob` of Node 20's built-in fetch (an older undici), and bytes behave the same on every
 * `HttpClient`. The images are in memory already (the engine read and size-checked them).
 *
 * @since 0.1.0
 */

/** One part: a text field, or a file. */
export type Part =
  | { readonly _tag: "Field"; readonly name: string; readonly value: string }
  | {
      readonly _tag: "File"
      readonly name: string
      readonly fileName: string
      readonly contentType: string
      readonly bytes: Uint8Array
    }

/** An encoded body and the `Content-Type` naming its boundary. */
export interface Encoded {
  readonly body: Uint8Array
  readonly contentType: string
}

// The WHATWG form encoding: quotes and line breaks in names are percent-escaped.
const escapeName = (text: string) => text.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A")

/** Encodes `parts` under a fresh random boundary. */
export const encode = (
  parts: ReadonlyArray<Part>,
  boundary = `reelay-${crypto.randomUUID().replace(/-/g, "")}`
): Encoded => {
  const encoder = new TextEncoder()
  const chunks: Array<Uint8Array> = []
  for (const part of parts) {
    const disposition =
      part._tag === "Field"
        ? `Content-Disposition: form-data; name="${escapeName(part.name)}"\r\n\r\n`
        : `Content-Disposition: form-data; name="${escapeName(part.name)}"; filename="${escapeName(part.fileName)}"\r\nContent-Type: ${part.contentType}\r\n\r\n`
    chunks.push(encoder.encode(`--${boundary}\r\n${disposition}`))
    // Line breaks in a field value are normalised to CRLF, as a browser does.
    chunks.push(part._tag === "Field" ? encoder.encode(part.value.replace(/\r\n|\r|\n/g, "\r\n")) : part.bytes)
    chunks.push(encoder.encode("\r\n"))
  }
  chunks.push(encoder.encode(`--${boundary}--\r\n`))
  const body = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0))
  let offset = 0
  for (const chunk of chunks) {
    body.set(chunk, offset)
    offset += chunk.length
  }
  return { body, contentType: `multipart/form-data; boundary=${boundary}` }
}
