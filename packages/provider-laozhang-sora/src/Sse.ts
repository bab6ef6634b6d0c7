/**
 * A small Server-Sent Events decoder with bounded memory. Text goes in as it arrives (in chunks of
 * any size, split anywhere, even inside a `\r\n`); complete events come out. Lines end with `\n`,
 * `\r\n` or `\r` (the SSE grammar); `data:` lines of one event are joined with `\n`; comments
 * (`:`) and unknown fields are ignored.
 *
 * `Stream.splitLines` would keep an unterminated line growing for as long as the server sends text
 * without a newline, so a hostile or broken stream could exhaust memory. Here a line, an event and
 * the whole response each have a limit; crossing one is reported, and the caller stops reading.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"

/** One dispatched event. */
export interface SseEvent {
  /** The `data:` lines, joined with `\n`. */
  readonly data: string
  /** The `event:` field, when the server named the event type. */
  readonly event?: string | undefined
}

/** The decoder's memory limits. */
export interface Limits {
  /** The longest line, and the most `data` one event may carry, in characters. */
  readonly maxLineChars: number
  /** The most text the whole response may carry, in characters. */
  readonly maxTotalChars: number
}

/** A limit was crossed: the stream is not what the protocol describes. */
export interface LimitExceeded {
  readonly _tag: "LimitExceeded"
  readonly message: string
}

/** A decoder for one response. */
export interface Decoder {
  /** Feeds the next piece of text; returns the events it completed. */
  readonly feed: (text: string) => Either.Either<ReadonlyArray<SseEvent>, LimitExceeded>
  /**
   * The end of the stream: an unterminated last line is taken as a line, and an event still being
   * collected is dispatched (servers that close right after their last `data:` line are common).
   */
  readonly end: () => ReadonlyArray<SseEvent>
}

const LF = 10
const CR = 13

/** A fresh decoder (it keeps state between `feed` calls: one per response). */
export const makeDecoder = (limits: Limits): Decoder => {
  let partial = ""
  let afterCR = false
  let data: Array<string> = []
  let dataChars = 0
  let eventName: string | undefined
  let total = 0
  let out: Array<SseEvent> = []

  const exceeded = (message: string): Either.Either<never, LimitExceeded> =>
    Either.left({ _tag: "LimitExceeded", message })

  const dispatch = () => {
    if (data.length > 0) out.push({ data: data.join("\n"), event: eventName })
    data = []
    dataChars = 0
    eventName = undefined
  }

  /** Handles one complete line; returns a problem when the event grows past its limit. */
  const line = (text: string): string | undefined => {
    if (text.length > limits.maxLineChars) return `a line of more than ${limits.maxLineChars} characters`
    if (text === "") {
      dispatch()
      return undefined
    }
    if (text.charCodeAt(0) === 58 /* ":" */) return undefined
    const colon = text.indexOf(":")
    const field = colon < 0 ? text : text.slice(0, colon)
    let value = colon < 0 ? "" : text.slice(colon + 1)
    if (value.charCodeAt(0) === 32 /* " " */) value = value.slice(1)
    if (field === "data") {
      dataChars += value.length + 1
      if (dataChars > limits.maxLineChars) return `an event of more than ${limits.maxLineChars} characters`
      data.push(value)
    } else if (field === "event") {
      eventName = value
    }
    return undefined
  }

  const take = () => {
    const events = out
    out = []
    return events
  }

  return {
    feed: (text) => {
      total += text.length
      if (total > limits.maxTotalChars) return exceeded(`more than ${limits.maxTotalChars} characters in one answer`)
      let start = 0
      for (let index = 0; index < text.length; index++) {
        const code = text.charCodeAt(index)
        if (afterCR) {
          afterCR = false
          // The "\n" of a "\r\n" split across two pieces.
          if (code === LF && index === start) {
            start = index + 1
            continue
          }
        }
        if (code !== LF && code !== CR) continue
        const problem = line(partial + text.slice(start, index))
        partial = ""
        if (problem !== undefined) return exceeded(problem)
        if (code === CR) {
          if (text.charCodeAt(index + 1) === LF) index++
          else if (index + 1 === text.length) afterCR = true
        }
        start = index + 1
      }
      partial += text.slice(start)
      if (partial.length > limits.maxLineChars) return exceeded(`a line of more than ${limits.maxLineChars} characters`)
      return Either.right(take())
    },
    end: () => {
      if (partial !== "") line(partial)
      partial = ""
      dispatch()
      return take()
    }
  }
}
