/**
 * Keeping secrets out of error messages. What a vendor sends back is quoted in errors (its message,
 * an excerpt of a garbled answer), and errors end up in logs, events and the journal, so every
 * quote passes through here first: URLs lose everything after their origin (CDN links carry
 * tokens in the path and query), things that look like keys are masked, and known secrets are
 * removed verbatim.
 *
 * @since 0.1.0
 */
import * as Redacted from "effect/Redacted"

const URL_PATTERN = /\b(https?):\/\/([^\s/"'<>?#]+)[^\s"'<>]*/gi
const BEARER_PATTERN = /\b(Bearer)\s+[A-Za-z0-9._~+/=-]{4,}/gi
// `sk-…` keys (OpenAI style, laozhang, apiyi) and long opaque tokens in `key=…` form.
const KEY_PATTERN = /\bsk-[A-Za-z0-9_-]{3,}/g
const PARAM_PATTERN = /\b((?:api[_-]?key|key|token|access_token|signature|sig)=)[^\s&"']+/gi

/** `text` with URLs cut to their origin, key-like strings masked and each of `secrets` removed. */
export const scrub = (text: string, secrets: ReadonlyArray<Redacted.Redacted<string>> = []): string => {
  let out = text
  for (const secret of secrets) {
    const value = Redacted.value(secret)
    // A very short "secret" would mask ordinary words; real keys are long.
    if (value.length >= 6) out = out.split(value).join("[redacted]")
  }
  return out
    .replace(URL_PATTERN, (_match, scheme: string, host: string) => `${scheme}://${host}/…`)
    .replace(BEARER_PATTERN, "$1 [redacted]")
    .replace(KEY_PATTERN, "sk-[redacted]")
    .replace(PARAM_PATTERN, "$1[redacted]")
}

/** A short, scrubbed excerpt of a body, for `MalformedResponse.excerpt` (at most `max` characters). */
export const excerpt = (body: string, secrets: ReadonlyArray<Redacted.Redacted<string>> = [], max = 160): string => {
  const flat = scrub(body, secrets).replace(/\s+/g, " ").trim()
  if (flat === "") return "(empty body)"
  return flat.length <= max ? flat : `${flat.slice(0, max)}…`
}

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
