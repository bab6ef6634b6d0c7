/**
 * A canary API key for the secrets tests, and every spelling a server can produce from it: the key
 * itself, percent-encoded (`encodeURIComponent`, form encoding), base64 and base64url of the key and
 * of `Bearer <key>`, JSON-escaped (escaped slashes, `\uXXXX`), and 12-character runs of its tail and
 * middle. The key holds `/`, `+`, `=` and `~`, so that each encoding differs from the key, and its
 * base64 has padding. Written here from the definitions, independently of `Sanitize`.
 *
 * `find` looks for every spelling (and for the key's random part alone, in case a scrubber mangled
 * the rest), as written and as JSON would write it: events, journal rows and NDJSON are JSON.
 */
import { randomBytes } from "node:crypto"

export interface Spelling {
  readonly name: string
  readonly text: string
}

export interface Canary {
  readonly key: string
  /** 16 random hexadecimal characters inside the key. */
  readonly random: string
  readonly spellings: ReadonlyArray<Spelling>
  /** `sk-...` and the key's last 4 characters: what vendors print on purpose, and may stay. */
  readonly masked: string
  /** Where any spelling appears in `text`, with some context; empty when nowhere. */
  readonly find: (text: string) => ReadonlyArray<string>
  /** The spellings found in a file's bytes. */
  readonly findInBytes: (bytes: Buffer) => ReadonlyArray<string>
}

const base64 = (text: string) => Buffer.from(text).toString("base64")
const base64url = (text: string) => Buffer.from(text).toString("base64url")

/** A fresh canary; `label` (letters) tells the tests' keys apart. */
export const make = (label: string): Canary => {
  const random = randomBytes(8).toString("hex")
  const tail = randomBytes(6).toString("hex")
  const key = `sk-reelay/${label}+canary=${random}~${tail}`
  const bearer = `Bearer ${key}`
  const middle = key.indexOf(random) - 4
  const spellings: ReadonlyArray<Spelling> = [
    { name: "the key", text: key },
    { name: "encodeURIComponent", text: encodeURIComponent(key) },
    { name: "form encoding", text: new URLSearchParams({ k: key }).toString().slice(2) },
    { name: "base64", text: base64(key) },
    { name: "base64url", text: base64url(key) },
    { name: "base64 of the Authorization value", text: base64(bearer) },
    { name: "base64url of the Authorization value", text: base64url(bearer) },
    { name: "JSON with escaped slashes", text: key.replace(/\//g, "\\/") },
    {
      name: "JSON with \\u escapes",
      text: key.replace(/[^A-Za-z0-9]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)
    },
    { name: "its last 12 characters", text: tail },
    { name: "12 characters of its middle", text: key.slice(middle, middle + 12) }
  ]
  const needles = [
    ...new Set(
      [...spellings.map((spelling) => spelling.text.replace(/=+$/, "")), random].flatMap((text) => [
        text,
        JSON.stringify(text).slice(1, -1)
      ])
    )
  ]
  return {
    key,
    random,
    spellings,
    masked: `sk-...${key.slice(-4)}`,
    find: (text) => {
      const hits: Array<string> = []
      for (const needle of needles) {
        for (let at = text.indexOf(needle); at >= 0 && hits.length < 5; at = text.indexOf(needle, at + 1)) {
          hits.push(text.slice(Math.max(0, at - 120), at + needle.length + 40).replace(/\s+/g, " "))
        }
      }
      return hits
    },
    findInBytes: (bytes) => needles.filter((needle) => bytes.indexOf(needle) >= 0)
  }
}
