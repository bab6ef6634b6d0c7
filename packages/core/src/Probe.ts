/**
 * Reads what a downloaded file really is from its own container metadata: container, frame size,
 * duration, codecs and whether it carries audio. Pure JavaScript (mediabunny), no ffprobe.
 *
 * @since 0.1.0
 */

import * as NodeFs from "node:fs"
import * as Effect from "effect/Effect"
import {
  FilePathSource,
  Input,
  type InputFormat,
  MATROSKA,
  MP4,
  MPEG_TS,
  QTFF,
  UnsupportedInputFormatError,
  WEBM
} from "mediabunny"
import { VideoProbe } from "./SavedVideo.js"
import { MalformedResponse } from "./VideoError.js"

// Video containers only. Not `ALL_FORMATS`: it includes HLS, whose playlists make the reader
// fetch the URLs they list, and a provider's file must never make us do that.
const formats: ReadonlyArray<readonly [format: InputFormat, container: string]> = [
  [MP4, "mp4"],
  [QTFF, "quicktime"],
  [MATROSKA, "matroska"],
  [WEBM, "webm"],
  [MPEG_TS, "mpeg-ts"]
]

// The reader keeps at most this much of the file in memory, whatever the file's size: the probe
// touches only the boxes it needs (moov and its children), never the media data or padding.
const maxCacheSize = 4 * 1024 * 1024

const errorCode = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && typeof (cause as { code?: unknown }).code === "string"
    ? (cause as { code: string }).code
    : "unreadable"

const malformed = (path: string, message: string, cause?: unknown) => {
  const detail = cause instanceof Error && cause.message !== "" ? ` (${cause.message.slice(0, 200)})` : ""
  return new MalformedResponse({ message: `${path} ${message}${detail}` })
}

/**
 * Probes the video at `path`. A file that is not a video this reader understands, or that has no
 * video track or no frame size, fails with `MalformedResponse`. Messages call the file `name`
 * (default `path`): a download is probed as `<output>.part`, before it takes the output's name, and
 * reported under that name.
 *
 * @example
 * ```ts
 * const probe = yield* Probe.probe("out/fox.mp4")
 * probe.size // "1280x720"
 * ```
 */
export const probe: (path: string, name?: string) => Effect.Effect<VideoProbe, MalformedResponse> = Effect.fn(
  "Probe.probe"
)(function* (file: string, name?: string) {
  const path = name ?? file
  yield* Effect.annotateCurrentSpan("probe.path", file)
  const size = yield* Effect.tryPromise({
    try: () => NodeFs.promises.stat(file).then((stats) => stats.size),
    catch: (cause) => malformed(path, `cannot be opened (${errorCode(cause)})`)
  })
  // Smaller than a box header: the reader would only fail an internal assertion.
  if (size < 16) return yield* malformed(path, `is too small to be a video (${size} bytes)`)
  return yield* Effect.acquireUseRelease(
    Effect.sync(
      () =>
        new Input({
          source: new FilePathSource(file, { maxCacheSize }),
          formats: formats.map(([format]) => format)
        })
    ),
    (input) =>
      Effect.tryPromise({
        try: () => read(input, path),
        catch: (cause) =>
          cause instanceof MalformedResponse
            ? cause
            : cause instanceof UnsupportedInputFormatError
              ? malformed(
                  path,
                  "is not a video container this reader understands (MP4, QuickTime, Matroska, WebM, MPEG-TS)"
                )
              : malformed(path, "cannot be read as a video", cause)
      }),
    (input) => Effect.sync(() => input.dispose())
  )
})

const read = async (input: Input, path: string): Promise<VideoProbe> => {
  const format = await input.getFormat()
  const container = formats.find(([candidate]) => candidate === format)?.[1] ?? format.name.toLowerCase()
  const video = await input.getPrimaryVideoTrack()
  if (video === null) throw malformed(path, `is a ${container} file without a video track`)
  const width = video.displayWidth
  const height = video.displayHeight
  if (!(width > 0 && height > 0)) throw malformed(path, `has a video track without a frame size (${width}x${height})`)
  const audio = await input.getAudioTracks()
  const durationSeconds = await input.computeDuration()
  if (!Number.isFinite(durationSeconds) || durationSeconds < 0) {
    throw malformed(path, `has no usable duration (${durationSeconds})`)
  }
  const audioCodec = audio.find((track) => track.codec !== null)?.codec ?? undefined
  return new VideoProbe({
    container,
    mimeType: format.mimeType,
    width,
    height,
    durationSeconds,
    hasAudio: audio.length > 0,
    ...(video.codec === null ? {} : { videoCodec: video.codec }),
    ...(audioCodec === undefined ? {} : { audioCodec })
  })
}
