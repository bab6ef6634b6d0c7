/**
 * Compares what was delivered with what was asked. Providers sometimes hand back another
 * resolution, orientation or length than requested, or drop the audio; the engine reports each
 * difference as a `Warning` event rather than failing, since the video was paid for.
 *
 * @since 0.1.0
 */
import { aspectRatioOf, parseSize, resolutionOf } from "./GenerateRequest.js"
import type { VideoProbe } from "./SavedVideo.js"

/** What the request asked for. Absent fields are not checked. */
export interface Expected {
  /** `"1280x720"`. When given, `aspectRatio` and `resolution` are not checked separately. */
  readonly size?: string | undefined
  readonly seconds?: number | undefined
  /** `true` when the model was asked for (or always produces) audio. */
  readonly audio?: boolean | undefined
  /** `"16:9"`; checked only without `size`. */
  readonly aspectRatio?: string | undefined
  /** `"720p"`, `"1080p"`, `"4k"`; checked only without `size`. */
  readonly resolution?: string | undefined
}

export type IssueCode =
  | "orientation-mismatch"
  | "resolution-mismatch"
  | "aspect-ratio-mismatch"
  | "duration-mismatch"
  | "missing-audio"

/** One difference between the request and the file. */
export interface Issue {
  readonly code: IssueCode
  readonly message: string
}

/** How far the duration may be from the request, in seconds (containers round to frames and audio packets). */
export const durationToleranceSeconds = 0.5

type Orientation = "landscape" | "portrait" | "square"

const orientationOf = (width: number, height: number): Orientation =>
  width > height ? "landscape" : width < height ? "portrait" : "square"

const ratioParts = (ratio: string): { readonly width: number; readonly height: number } => {
  const [width, height] = ratio.split(":").map(Number)
  return { width: width ?? 0, height: height ?? 0 }
}

// "2160p" and "4k" name the same class; `resolutionOf` says "4k".
const normalizeResolution = (resolution: string): string => {
  const lower = resolution.trim().toLowerCase()
  return lower === "2160p" ? "4k" : lower
}

const formatSeconds = (seconds: number): string => `${Number(seconds.toFixed(2))} s`

/**
 * The differences between `probe` and `expected`, in a stable order (frame, duration, audio).
 * Empty when the video is what was asked for.
 *
 * @example
 * ```ts
 * Delivery.check(probe, { size: "3840x2160", seconds: 8, audio: true })
 * // [{ code: "resolution-mismatch", message: "asked for 3840x2160 (4k), got 1920x1080" }]
 * ```
 */
export const check = (
  probe: Pick<VideoProbe, "width" | "height" | "durationSeconds" | "hasAudio">,
  expected: Expected
): ReadonlyArray<Issue> => {
  const issues: Array<Issue> = []
  const got = `${probe.width}x${probe.height}`
  const gotOrientation = orientationOf(probe.width, probe.height)

  if (expected.size !== undefined) {
    const asked = parseSize(expected.size)
    if (asked.width !== probe.width || asked.height !== probe.height) {
      const askedOrientation = orientationOf(asked.width, asked.height)
      if (askedOrientation !== gotOrientation) {
        issues.push({
          code: "orientation-mismatch",
          message: `asked for ${expected.size} (${askedOrientation}), got ${got} (${gotOrientation})`
        })
      }
      const askedResolution = resolutionOf(expected.size)
      if (askedResolution !== resolutionOf(got)) {
        issues.push({
          code: "resolution-mismatch",
          message: `asked for ${expected.size} (${askedResolution}), got ${got}`
        })
      } else if (askedOrientation === gotOrientation && aspectRatioOf(expected.size) !== aspectRatioOf(got)) {
        // Same class and orientation; a few pixels off (1280x704 for 1280x720) is not worth a warning.
        issues.push({
          code: "aspect-ratio-mismatch",
          message: `asked for ${expected.size} (${aspectRatioOf(expected.size)}), got ${got} (${aspectRatioOf(got)})`
        })
      }
    }
  } else {
    if (expected.aspectRatio !== undefined) {
      const asked = ratioParts(expected.aspectRatio)
      const askedOrientation = orientationOf(asked.width, asked.height)
      if (askedOrientation !== gotOrientation) {
        issues.push({
          code: "orientation-mismatch",
          message: `asked for ${expected.aspectRatio} (${askedOrientation}), got ${got} (${gotOrientation})`
        })
      } else if (aspectRatioOf(`${asked.width}x${asked.height}`) !== aspectRatioOf(got)) {
        issues.push({
          code: "aspect-ratio-mismatch",
          message: `asked for ${expected.aspectRatio}, got ${got} (${aspectRatioOf(got)})`
        })
      }
    }
    if (expected.resolution !== undefined && normalizeResolution(expected.resolution) !== resolutionOf(got)) {
      issues.push({
        code: "resolution-mismatch",
        message: `asked for ${expected.resolution}, got ${got} (${resolutionOf(got)})`
      })
    }
  }

  if (
    expected.seconds !== undefined &&
    !(Math.abs(probe.durationSeconds - expected.seconds) <= durationToleranceSeconds)
  ) {
    issues.push({
      code: "duration-mismatch",
      message: `asked for ${formatSeconds(expected.seconds)}, got ${formatSeconds(probe.durationSeconds)}`
    })
  }

  if (expected.audio === true && !probe.hasAudio) {
    issues.push({ code: "missing-audio", message: "asked for a video with audio, got one without an audio track" })
  }

  return issues
}
