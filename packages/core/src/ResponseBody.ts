/**
 * Reading the body of an API answer (a create, a status, a content lookup, an image fetch) under the
 * rules every HTTP provider shares, so no provider can forget one:
 *
 * - **A cap that counts decoded bytes.** An answer far larger than any the protocols define, or one
 *   that never ends, is read up to the cap and no further (closing the connection).
 * - **`Content-Encoding` undone.** undici's `request` (the client reelay's apps use) hands over the
 *   bytes as sent, compressed or not; a server may compress although it was not asked to. `gzip`,
 *   `deflate` and `br` are decoded as they stream in, and the cap counts what they decode to: a
 *   gzip bomb (a few MB inflating to gigabytes) stops at the cap. Other encodings are refused; the
 *   compressed bytes are never handed on as if they were the answer (nor quoted in an error).
 * - **A minimum pace.** Fewer than `minBytesPerSecond` per `window` (and silence) fails the read, like
 *   a download's watchdog: a server trickling a byte now and then cannot hold a read open. The total
 *   time of a request is the caller's limit (the engine's `requestTimeout` / `submitTimeout`, the
 *   polling deadline); the pace cuts a trickle long before that.
 *
 * The pace is a `FiberRef` the engine sets from its options around everything it asks a provider,
 * so providers need no setting of their own.
 *
 * @since 0.1.0
 */

import * as Zlib from "node:zlib"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { errorCodes } from "./Http.js"

/** How fast an answer's body must arrive once its headers have. */
export interface Pace {
  /**
   * Fewer bytes than this per second, over any `window`, fails the read; so does a `window` of
   * silence (also with 0). Default 1024, as for downloads.
   */
  readonly minBytesPerSecond: number
  /** The span the rate is measured over (default 10 s). */
  readonly window: Duration.DurationInput
}

export const defaultPace: Pace = { minBytesPerSecond: 1024, window: "10 seconds" }

/** The pace reads use; the engine sets it from `EngineOptions.answers`. */
export const currentPace: FiberRef.FiberRef<Pace> = globalValue("@reelay/core/ResponseBody/currentPace", () =>
  FiberRef.unsafeMake<Pace>(defaultPace)
)

/**
 * Why a body could not be read:
 * - `Transport`: the connection broke while it was read (`cause` is the client's error);
 * - `TooSlow`: it came in under the minimum pace;
 * - `Encoding`: its `Content-Encoding` is one reelay cannot decode, or its compressed bytes are corrupt;
 * - `TooLarge`: it decodes to more than the cap (only from `decoded`; `read` reports it as `truncated`).
 */
export class ReadError extends Data.TaggedError("ResponseBodyError")<{
  readonly reason: "Transport" | "TooSlow" | "Encoding" | "TooLarge"
  /** What happened, in words, without anything the server sent. */
  readonly detail: string
  readonly cause?: unknown
}> {}

/** What a reader needs of a response. */
export type Answer = Pick<HttpClientResponse.HttpClientResponse, "headers" | "stream">

const decoders: Record<
  string,
  (first: Uint8Array) => Zlib.Gunzip | Zlib.Inflate | Zlib.InflateRaw | Zlib.BrotliDecompress
> = {
  gzip: () => Zlib.createGunzip(),
  "x-gzip": () => Zlib.createGunzip(),
  // RFC 9110 "deflate" is the zlib format; some servers send bare deflate data. A zlib header is two
  // bytes whose first names method 8 and whose 16-bit value is a multiple of 31.
  deflate: (first) =>
    first.length >= 2 && (first[0]! & 0x0f) === 8 && ((first[0]! << 8) | first[1]!) % 31 === 0
      ? Zlib.createInflate()
      : Zlib.createInflateRaw(),
  br: () => Zlib.createBrotliDecompress()
}

/** The encodings of `Content-Encoding`, in the order they were applied (`identity` left out). */
export const encodingsOf = (headers: Answer["headers"]): ReadonlyArray<string> => {
  const value = headers["content-encoding"]
  if (typeof value !== "string") return []
  return value
    .split(",")
    .map((part) => part.trim().toLowerCase())
    .filter((part) => part !== "" && part !== "identity")
}

const transportError = (error: HttpClientError.ResponseError) =>
  new ReadError({
    reason: "Transport",
    detail: errorCodes(error.cause)[0] ?? error.description ?? error.reason,
    cause: error
  })

/** One decoding step, streamed: the zlib object is fed from its own fiber, with back-pressure both ways. */
const decodeWith = (
  source: Stream.Stream<Uint8Array, ReadError>,
  encoding: string
): Stream.Stream<Uint8Array, ReadError> =>
  Stream.unwrapScoped(
    Effect.gen(function* () {
      const create = decoders[encoding]
      if (create === undefined) {
        return yield* new ReadError({
          reason: "Encoding",
          detail: `the answer is encoded with ${JSON.stringify(encoding.slice(0, 40))}, which reelay cannot decode (it reads gzip, deflate and br)`
        })
      }
      const pull = yield* Stream.toPull(source)
      const firstPull = yield* Effect.either(pull)
      if (Either.isLeft(firstPull)) {
        if (Option.isNone(firstPull.left)) return Stream.empty
        return yield* firstPull.left.value
      }
      const first = firstPull.right
      const head = Buffer.concat(Array.from(first))
      const inflater = create(head)
      yield* Effect.addFinalizer(() => Effect.sync(() => inflater.destroy()))
      let failure: ReadError | undefined
      const write = (bytes: Uint8Array) =>
        Effect.async<void>((resume) => {
          if (inflater.write(bytes)) return resume(Effect.void)
          const drained = () => resume(Effect.void)
          inflater.once("drain", drained)
          return Effect.sync(() => inflater.off("drain", drained))
        })
      const pump = Effect.gen(function* () {
        yield* write(head)
        while (true) {
          const next = yield* Effect.either(pull)
          if (Either.isLeft(next)) {
            if (Option.isNone(next.left)) {
              inflater.end()
              return
            }
            failure = next.left.value
            inflater.destroy(new Error("the answer could not be read"))
            return
          }
          for (const bytes of next.right) yield* write(bytes)
        }
      })
      yield* Effect.forkScoped(pump)
      return Stream.fromAsyncIterable(
        inflater as AsyncIterable<Buffer>,
        (cause) =>
          failure ??
          new ReadError({
            reason: "Encoding",
            detail: `its ${encoding} data is corrupt (${errorCodes(cause)[0] ?? "undecodable"})`,
            cause
          })
      ).pipe(Stream.map((bytes) => new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)))
    })
  )

/**
 * The body, decoded, as a stream that fails with `TooLarge` once it has produced `maxBytes` bytes
 * and there is more (the bytes up to the cap come first). No pace: a stream (Sora's SSE) has the
 * rules of its own protocol. `onRaw` sees every byte as it arrives from the network.
 */
export const decoded = (
  response: Answer,
  maxBytes: number,
  onRaw?: (bytes: number) => void
): Stream.Stream<Uint8Array, ReadError> =>
  Stream.suspend(() => {
    const raw = response.stream.pipe(
      // A fetch-based client has no stream at all for an empty body.
      Stream.catchAll((error) => (error.reason === "EmptyBody" ? Stream.empty : Stream.fail(transportError(error)))),
      onRaw === undefined ? (stream) => stream : Stream.tap((bytes) => Effect.sync(() => onRaw(bytes.length)))
    )
    const encodings = encodingsOf(response.headers)
    // Undone last applied first; each step is bounded by the next, the last one by the cap below.
    const plain = encodings.reduceRight((stream, encoding) => decodeWith(stream, encoding), raw)
    let produced = 0
    let over = false
    return plain.pipe(
      // One network chunk at a time: `takeUntil` must see `over` as of the chunk it is deciding on.
      Stream.rechunk(1),
      Stream.map((bytes) => {
        const room = maxBytes - produced
        produced += bytes.length
        if (bytes.length <= room) return bytes
        over = true
        return bytes.subarray(0, Math.max(0, room))
      }),
      // Stops pulling (which ends the transfer and the decoding) at the first byte past the cap.
      Stream.takeUntil(() => over),
      Stream.filter((bytes) => bytes.length > 0),
      Stream.concat(
        Stream.suspend(() =>
          over
            ? Stream.fail(new ReadError({ reason: "TooLarge", detail: `the answer is larger than ${maxBytes} bytes` }))
            : Stream.empty
        )
      )
    )
  })

export interface ReadOptions {
  /** The most decoded bytes kept; more is `truncated`, and reading stops there. */
  readonly maxBytes: number
  /** Apply the minimum pace (`currentPace`); default true. */
  readonly paced?: boolean | undefined
}

/** A body read whole, or up to the cap. */
export interface Read {
  readonly bytes: Uint8Array
  /** More than `maxBytes` arrived (decoded); `bytes` holds the first `maxBytes`. */
  readonly truncated: boolean
}

/** The pace watchdog: fails when fewer than the minimum arrived over the last whole window. */
const watchdog = (pace: Pace, arrived: () => number): Effect.Effect<never, ReadError> =>
  Effect.suspend(() => {
    const windowMillis = Math.max(1, Duration.toMillis(pace.window))
    const minimum = (Math.max(0, pace.minBytesPerSecond) * windowMillis) / 1000
    const window = Duration.format(Duration.millis(windowMillis))
    // `arrived` at the last five ticks, a quarter window apart: the first and the last span a window.
    const marks = [arrived()]
    const loop: Effect.Effect<never, ReadError> = Effect.flatMap(Effect.sleep(windowMillis / 4), () => {
      marks.push(arrived())
      if (marks.length > 5) marks.shift()
      if (marks.length === 5) {
        const gained = marks[4]! - marks[0]!
        if (gained === 0 || gained < minimum) {
          return Effect.fail(
            new ReadError({
              reason: "TooSlow",
              detail:
                gained === 0
                  ? `sent no data for ${window} after ${arrived()} bytes of its answer`
                  : `sent only ${gained} bytes in ${window} (${arrived()} in all), under the minimum of ${pace.minBytesPerSecond} bytes/s (minBytesPerSecond)`
            })
          )
        }
      }
      return loop
    })
    return loop
  })

/**
 * Reads the body, decoded, up to `maxBytes`, at the minimum pace. Never more than `maxBytes` plus
 * one network chunk is held, whatever the server sends or its encoding inflates to.
 */
export const read = (response: Answer, options: ReadOptions): Effect.Effect<Read, ReadError> =>
  Effect.gen(function* () {
    const chunks: Array<Uint8Array> = []
    let size = 0
    let arrived = 0
    let truncated = false
    const body = Stream.runForEach(
      decoded(response, options.maxBytes, (bytes) => {
        arrived += bytes
      }),
      (bytes) =>
        Effect.sync(() => {
          chunks.push(bytes)
          size += bytes.length
        })
    ).pipe(
      Effect.catchIf(
        (error) => error.reason === "TooLarge",
        () =>
          Effect.sync(() => {
            truncated = true
          })
      )
    )
    const paced = options.paced !== false
    yield* paced
      ? Effect.raceFirst(
          body,
          Effect.flatMap(FiberRef.get(currentPace), (pace) => watchdog(pace, () => arrived))
        )
      : body
    const joined = Buffer.concat(chunks, size)
    return { bytes: new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength), truncated }
  })

/** `read`, as UTF-8 text (a character cut at the cap is replaced, never an error). */
export const readText = (
  response: Answer,
  options: ReadOptions
): Effect.Effect<{ readonly text: string; readonly truncated: boolean }, ReadError> =>
  Effect.map(read(response, options), ({ bytes, truncated }) => ({ text: new TextDecoder().decode(bytes), truncated }))
