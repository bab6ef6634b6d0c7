/**
 * Keeping secrets out of what reelay says. What a vendor sends back is quoted in errors (its
 * message, its code, an excerpt of a garbled answer) and recorded on spans (its headers), and all of
 * that ends up in output, logs, events and the journal. A hostile or careless server does not have
 * to echo the key as it was sent: it can percent-encode it, base64 it (or the `Authorization` value
 * built from it), JSON-escape it, or quote only its tail. So every quote passes through one
 * scrubber that knows the provider's secrets (the key and each header value built from it) and
 * removes each of these spellings:
 *
 * - the exact secret, and any run of 12 or more consecutive characters of it (a tail, a middle);
 * - the same, percent-encoded (`encodeURIComponent`, form encoding, either case of hex digits) or
 *   JSON-escaped (`\/`, `\uXXXX`, in any mix): the text is read through one level of decoding;
 * - base64 and base64url, with or without padding, of each secret — also where the secret sits
 *   inside a longer encoded value (`Basic base64(user:key)`): the characters that depend on the
 *   secret alone are removed whatever its position.
 *
 * Short masked forms that vendors print on purpose (`sk-...wxyz`, 4 characters) stay. Then URLs
 * lose everything after their origin (CDN links carry tokens in the path and query), and things
 * that look like keys (`sk-…`, `Bearer …`, `key=…`) are masked even when they are not ours.
 *
 * The spellings are computed once per secret; a scan is linear in the text's length (a rolling hash
 * of every 12-character window, looked up in the set of the secret's windows).
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Tracer from "effect/Tracer"

/** What replaces a secret. */
export const placeholder = "[redacted]"

/** Runs of this many consecutive characters of a secret are removed wherever they appear. */
export const runLength = 12

/** Shorter "secrets" are ignored: they would mask ordinary words, and real keys are long. */
export const minSecretLength = 6

const URL_PATTERN = /\b(https?):\/\/([^\s/"'<>?#]+)[^\s"'<>]*/gi
const BEARER_PATTERN = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]{4,}/gi
// `sk-…` keys (OpenAI style, laozhang, apiyi) and long opaque tokens in `key=…` form.
const KEY_PATTERN = /\bsk-[A-Za-z0-9_-]{3,}/g
const PARAM_PATTERN = /\b((?:api[_-]?key|key|token|access_token|signature|sig)=)[^\s&"']+/gi

// ---------------------------------------------------------------------------------------------
// What one secret looks like
// ---------------------------------------------------------------------------------------------

const BASE = 31

/** A polynomial hash of `text.slice(start, start + width)`, the same one the scan rolls. */
const hashOf = (text: string, start: number, width: number): number => {
  let hash = 0
  for (let index = start; index < start + width; index++) hash = (Math.imul(hash, BASE) + text.charCodeAt(index)) | 0
  return hash
}

/** `BASE^(width-1)`, modulo 2^32: what the character leaving the window weighs. */
const leadingWeight = (width: number): number => {
  let weight = 1
  for (let index = 1; index < width; index++) weight = Math.imul(weight, BASE)
  return weight
}

/**
 * The base64 (and base64url) texts that betray `secret`: its whole encoding, and, for each of the
 * three positions it can take relative to base64's 3-byte groups inside a longer value, the
 * characters that depend on its bytes alone.
 */
const encodedForms = (secret: string): ReadonlyArray<string> => {
  const bytes = Buffer.from(secret, "utf8")
  const forms = [bytes.toString("base64").replace(/=+$/, "")]
  for (let offset = 0; offset < 3; offset++) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64")
    // Character k holds bits [6k, 6k + 6): the ones wholly inside the secret's bytes.
    forms.push(encoded.slice(Math.ceil((8 * offset) / 6), Math.floor((8 * (offset + bytes.length)) / 6)))
  }
  const urlSafe = forms.map((form) => form.replace(/\+/g, "-").replace(/\//g, "_"))
  return [...forms, ...urlSafe].filter((form) => form.length >= runLength)
}

interface Compiled {
  readonly value: string
  readonly encoded: ReadonlyArray<string>
}

const compiledSecrets = new WeakMap<Redacted.Redacted<string>, Compiled | null>()

const compile = (secret: Redacted.Redacted<string>): Compiled | null => {
  let compiled = compiledSecrets.get(secret)
  if (compiled === undefined) {
    const value = Redacted.value(secret)
    compiled = value.length < minSecretLength ? null : { value, encoded: encodedForms(value) }
    compiledSecrets.set(secret, compiled)
  }
  return compiled
}

// ---------------------------------------------------------------------------------------------
// Reading a text through one level of percent-encoding and JSON escapes
// ---------------------------------------------------------------------------------------------

/**
 * A text with `%XX` (ASCII) and JSON escapes decoded, and, for each decoded character, the span of
 * the original it came from. `from` is absent when nothing was decoded (the common case).
 */
interface Plain {
  readonly text: string
  readonly from?: Int32Array | undefined
  readonly to?: Int32Array | undefined
}

const hexDigit = (code: number): number =>
  code >= 48 && code <= 57
    ? code - 48
    : code >= 65 && code <= 70
      ? code - 55
      : code >= 97 && code <= 102
        ? code - 87
        : -1

/** What `\x` stands for in JSON (and `\'`), by the code of `x`; 0 where it is not an escape. */
const SIMPLE_ESCAPES = new Uint8Array(128)
for (const [letter, code] of [
  ['"', 34],
  ["'", 39],
  ["/", 47],
  ["\\", 92],
  ["b", 8],
  ["f", 12],
  ["n", 10],
  ["r", 13],
  ["t", 9]
] as const) {
  SIMPLE_ESCAPES[letter.charCodeAt(0)] = code
}

const decode = (text: string): Plain => {
  if (!text.includes("%") && !text.includes("\\")) return { text }
  const codes = new Uint16Array(text.length)
  const from = new Int32Array(text.length)
  const to = new Int32Array(text.length)
  let size = 0
  for (let index = 0; index < text.length; ) {
    let code = text.charCodeAt(index)
    let width = 1
    if (code === 37 /* % */) {
      const high = hexDigit(text.charCodeAt(index + 1))
      const low = hexDigit(text.charCodeAt(index + 2))
      // ASCII only: a key's characters are; other bytes are parts of UTF-8 sequences.
      if (high >= 0 && high < 8 && low >= 0) {
        code = high * 16 + low
        width = 3
      }
    } else if (code === 92 /* \ */) {
      const next = text.charCodeAt(index + 1)
      if (next === 117 /* u */) {
        const digits = [2, 3, 4, 5].map((offset) => hexDigit(text.charCodeAt(index + offset)))
        if (digits.every((digit) => digit >= 0)) {
          code = digits.reduce((total, digit) => total * 16 + digit, 0)
          width = 6
        }
      } else if (next < 128 && SIMPLE_ESCAPES[next]! > 0) {
        code = SIMPLE_ESCAPES[next]!
        width = 2
      }
    }
    codes[size] = code
    from[size] = index
    to[size] = index + width
    size++
    index += width
  }
  if (size === text.length) return { text }
  let decoded = ""
  for (let start = 0; start < size; start += 8192) {
    decoded += String.fromCharCode(...codes.subarray(start, Math.min(size, start + 8192)))
  }
  return { text: decoded, from, to }
}

// ---------------------------------------------------------------------------------------------
// The scrubber
// ---------------------------------------------------------------------------------------------

/** Scrubs texts of one set of secrets. Build it once (`make`) and use it on every quote. */
export interface Scrubber {
  /** Every spelling of the secrets replaced by `[redacted]`; URLs cut to their origin; key-like strings masked. */
  readonly scrub: (text: string) => string
  /** Only the spellings of the secrets replaced: for text that must otherwise stay as it is (span attributes). */
  readonly removeSecrets: (text: string) => string
  /** Whether `text` holds any spelling of the secrets. */
  readonly reveals: (text: string) => boolean
}

interface Windows {
  readonly width: number
  readonly weight: number
  readonly hashes: Set<number>
  readonly texts: Set<string>
}

const build = (secrets: ReadonlyArray<Redacted.Redacted<string>>): Scrubber => {
  const compiled = [
    ...new Map(
      secrets.flatMap((secret) => {
        const one = compile(secret)
        return one === null ? [] : [[one.value, one] as const]
      })
    ).values()
  ]
  const byWidth = new Map<number, Windows>()
  // A header value built from the key (`Bearer <key>`) adds no run the key lacks, only runs that
  // would take the space before a quoted key with it.
  const runs = compiled.filter(
    ({ value }) => !compiled.some((other) => other.value !== value && value.includes(other.value))
  )
  for (const { value } of runs) {
    const width = Math.min(runLength, value.length)
    let windows = byWidth.get(width)
    if (windows === undefined) {
      windows = { width, weight: leadingWeight(width), hashes: new Set(), texts: new Set() }
      byWidth.set(width, windows)
    }
    for (let start = 0; start + width <= value.length; start++) {
      windows.texts.add(value.slice(start, start + width))
      windows.hashes.add(hashOf(value, start, width))
    }
  }
  const encoded = [...new Set(compiled.flatMap((one) => one.encoded))]

  /** The spans of `plain` to remove, as [start, end) pairs, unsorted. */
  const spans = (plain: string): Array<number> => {
    const found: Array<number> = []
    for (const { width, weight, hashes, texts } of byWidth.values()) {
      if (plain.length < width) continue
      let hash = hashOf(plain, 0, width)
      // Consecutive windows of one run extend it instead of adding a span each.
      let runStart = -1
      let runEnd = -1
      for (let start = 0; ; start++) {
        if (hashes.has(hash) && texts.has(plain.slice(start, start + width))) {
          if (runEnd >= start) {
            runEnd = start + width
          } else {
            if (runStart >= 0) found.push(runStart, runEnd)
            runStart = start
            runEnd = start + width
          }
        }
        if (start + width >= plain.length) break
        hash =
          (Math.imul((hash - Math.imul(plain.charCodeAt(start), weight)) | 0, BASE) + plain.charCodeAt(start + width)) |
          0
      }
      if (runStart >= 0) found.push(runStart, runEnd)
    }
    for (const form of encoded) {
      for (let at = plain.indexOf(form); at >= 0; at = plain.indexOf(form, at + 1)) {
        let end = at + form.length
        while (end < plain.length && end - at - form.length < 2 && plain.charCodeAt(end) === 61 /* = */) end++
        found.push(at, end)
      }
    }
    return found
  }

  const removeSecrets = (text: string): string => {
    if (byWidth.size === 0 || text.length < minSecretLength) return text
    const plain = decode(text)
    const found = spans(plain.text)
    if (found.length === 0) return text
    const ranges: Array<readonly [number, number]> = []
    for (let index = 0; index < found.length; index += 2) {
      const start = found[index]!
      const end = found[index + 1]!
      ranges.push(
        plain.from === undefined || plain.to === undefined ? [start, end] : [plain.from[start]!, plain.to[end - 1]!]
      )
    }
    ranges.sort((left, right) => left[0] - right[0])
    let out = ""
    let cursor = 0
    let open: [number, number] | undefined
    for (const [start, end] of ranges) {
      if (open !== undefined && start <= open[1]) {
        open[1] = Math.max(open[1], end)
        continue
      }
      if (open !== undefined) {
        out += text.slice(cursor, open[0]) + placeholder
        cursor = open[1]
      }
      open = [start, end]
    }
    if (open !== undefined) {
      out += text.slice(cursor, open[0]) + placeholder
      cursor = open[1]
    }
    return out + text.slice(cursor)
  }

  return {
    removeSecrets,
    scrub: (text) =>
      removeSecrets(text)
        .replace(URL_PATTERN, (_match, scheme: string, host: string) => `${scheme}://${host}/…`)
        .replace(BEARER_PATTERN, "$1 [redacted]")
        .replace(KEY_PATTERN, "sk-[redacted]")
        .replace(PARAM_PATTERN, "$1[redacted]"),
    reveals: (text) => byWidth.size > 0 && text.length >= minSecretLength && spans(decode(text).text).length > 0
  }
}

const noSecrets: ReadonlyArray<Redacted.Redacted<string>> = []
const scrubbers = new WeakMap<ReadonlyArray<Redacted.Redacted<string>>, Scrubber>()

/**
 * The scrubber of `secrets`: the API key and every header value built from it (`Bearer <key>`, or
 * whatever the provider's auth style sends). Cached by the array: a provider builds its list once.
 *
 * @example
 * ```ts
 * const scrubber = Sanitize.make([apiKey, Redacted.make(`Bearer ${Redacted.value(apiKey)}`)])
 * scrubber.scrub(vendorMessage)
 * ```
 */
export const make = (secrets: ReadonlyArray<Redacted.Redacted<string>> = noSecrets): Scrubber => {
  let scrubber = scrubbers.get(secrets)
  if (scrubber === undefined) {
    scrubber = build(secrets)
    scrubbers.set(secrets, scrubber)
  }
  return scrubber
}

/** `text` with every spelling of `secrets` removed, URLs cut to their origin and key-like strings masked. */
export const scrub = (text: string, secrets: ReadonlyArray<Redacted.Redacted<string>> = noSecrets): string =>
  make(secrets).scrub(text)

/** Whether `text` holds any spelling of `secrets` (see the module doc). */
export const reveals = (text: string, secrets: ReadonlyArray<Redacted.Redacted<string>>): boolean =>
  make(secrets).reveals(text)

/** A short, scrubbed excerpt of a body, for `MalformedResponse.excerpt` (at most `max` characters). */
export const excerpt = (
  body: string,
  secrets: ReadonlyArray<Redacted.Redacted<string>> = noSecrets,
  max = 160
): string => {
  const flat = scrub(body, secrets).replace(/\s+/g, " ").trim()
  if (flat === "") return "(empty body)"
  return flat.length <= max ? flat : `${flat.slice(0, max)}…`
}

// ---------------------------------------------------------------------------------------------
// Headers and spans
// ---------------------------------------------------------------------------------------------

/**
 * Headers that carry or describe credentials, in requests (`authorization`, ...) or in answers
 * (`www-authenticate`, where a server explains a refused key, sometimes quoting it). The HTTP
 * client records request and response headers on its spans: these are kept redacted there.
 */
export const credentialHeaders: ReadonlyArray<string> = [
  "authorization",
  "proxy-authorization",
  "www-authenticate",
  "proxy-authenticate",
  "x-api-key",
  "api-key",
  "cookie",
  "set-cookie"
]

/** `names` (the current `Headers.currentRedactedNames`) with `credentialHeaders` and `extra` added. */
export const withCredentialHeaders =
  (extra: ReadonlyArray<string> = []) =>
  (names: ReadonlyArray<string | RegExp>): ReadonlyArray<string | RegExp> => {
    const missing = [...credentialHeaders, ...extra].filter((name) => !names.includes(name))
    return missing.length === 0 ? names : [...names, ...new Set(missing)]
  }

const cleanValue = (value: unknown, remove: (text: string) => string): unknown =>
  typeof value === "string"
    ? remove(value)
    : Array.isArray(value)
      ? value.map((item) => (typeof item === "string" ? remove(item) : item))
      : value

/** `span`, except that the attributes and events written to it lose the secrets first. */
const scrubbingSpan = (span: Tracer.Span, remove: (text: string) => string): Tracer.Span =>
  new Proxy(span, {
    get: (target, key) => {
      if (key === "attribute")
        return (name: string, value: unknown) => target.attribute(name, cleanValue(value, remove))
      if (key === "event") {
        return (name: string, startTime: bigint, attributes?: Record<string, unknown>) =>
          target.event(
            remove(name),
            startTime,
            attributes === undefined
              ? undefined
              : Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, cleanValue(v, remove)]))
          )
      }
      const value: unknown = Reflect.get(target, key, target)
      return typeof value === "function" ? value.bind(target) : value
    }
  })

const scrubbingTracers = new WeakMap<Scrubber, WeakMap<Tracer.Tracer, Tracer.Tracer>>()

const scrubbingTracer = (tracer: Tracer.Tracer, scrubber: Scrubber): Tracer.Tracer => {
  let byTracer = scrubbingTracers.get(scrubber)
  if (byTracer === undefined) {
    byTracer = new WeakMap()
    scrubbingTracers.set(scrubber, byTracer)
  }
  let wrapped = byTracer.get(tracer)
  if (wrapped === undefined) {
    wrapped = Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) =>
        scrubbingSpan(
          tracer.span(scrubber.removeSecrets(name), parent, context, links, startTime, kind, options),
          scrubber.removeSecrets
        ),
      context: (f, fiber) => tracer.context(f, fiber)
    })
    byTracer.set(tracer, wrapped)
  }
  return wrapped
}

/**
 * Runs `effect` with a tracer that removes every spelling of `secrets` from the attributes and
 * events of the spans it opens. The HTTP client records every response header on its span, and a
 * server may echo the key in any of them, not only in the credential headers redacted by name.
 */
export const withScrubbedSpans =
  (secrets: ReadonlyArray<Redacted.Redacted<string>>) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    if (!secrets.some((secret) => compile(secret) !== null)) return effect
    const scrubber = make(secrets)
    // Effect's own tracer exports nothing: its spans live only in this process, so scrubbing their
    // attributes (every response header of every request) would cost time and protect no one. Any
    // other tracer (OpenTelemetry, a test's recorder) sends spans somewhere, and gets them scrubbed.
    return Effect.tracerWith((tracer) =>
      tracer === nativeTracer ? effect : Effect.withTracer(effect, scrubbingTracer(tracer, scrubber))
    )
  }

/** The tracer an Effect program has when none is provided. */
const nativeTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

/**
 * A provider's HTTP client, guarded: the credential headers (and `headers`, say a custom key
 * header) are redacted wherever the client logs or traces headers, and every spelling of `secrets`
 * is removed from what its spans record.
 *
 * @example
 * ```ts
 * const client = (yield* HttpClient.HttpClient).pipe(Sanitize.guardClient({ secrets, headers: ["x-acme-key"] }))
 * ```
 */
export const guardClient =
  (options: {
    readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
    readonly headers?: ReadonlyArray<string> | undefined
  }) =>
  <E, R>(client: HttpClient.HttpClient.With<E, R>): HttpClient.HttpClient.With<E, R> =>
    HttpClient.transform(client, (effect) =>
      Effect.locallyWith(effect, Headers.currentRedactedNames, withCredentialHeaders(options.headers)).pipe(
        withScrubbedSpans(options.secrets)
      )
    )
