/**
 * Deterministic pseudo-randomness. Each draw is a pure hash of the seed and a label (for example the
 * task's sequence number), so a task's duration and id do not depend on how many other draws
 * happened before it, only on its position in the creation order.
 *
 * @since 0.1.0
 */

/** FNV-1a over UTF-16 code units, finished with murmur3's avalanche so close inputs spread apart. */
export const hash32 = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** A number in [0, 1) determined by `parts`. */
export const unit = (...parts: ReadonlyArray<string | number>): number => hash32(parts.join("\u0000")) / 0x1_0000_0000

/** `length` lowercase hex characters determined by `parts`. */
export const hex = (length: number, ...parts: ReadonlyArray<string | number>): string => {
  let out = ""
  for (let block = 0; out.length < length; block++) {
    out += hash32([...parts, block].join("\u0000"))
      .toString(16)
      .padStart(8, "0")
  }
  return out.slice(0, length)
}

/** A sequence of draws for decisions that are not tied to one task (fault probabilities). */
export interface Stream {
  readonly next: () => number
  readonly reset: () => void
}

/** A deterministic stream of numbers in [0, 1) for `seed` (read at each draw) under `label`. */
export const stream = (seed: () => string, label: string): Stream => {
  let n = 0
  return {
    next: () => unit(seed(), label, n++),
    reset: () => {
      n = 0
    }
  }
}
