import { assert, describe, it } from "@effect/vitest"
import * as Delivery from "../src/Delivery.js"
import { VideoProbe } from "../src/SavedVideo.js"

const probe = (size: string, durationSeconds: number, hasAudio = true) => {
  const [width, height] = size.split("x").map(Number)
  return new VideoProbe({
    container: "mp4",
    mimeType: "video/mp4",
    width: width!,
    height: height!,
    durationSeconds,
    hasAudio
  })
}

const cases: ReadonlyArray<{
  readonly name: string
  readonly got: VideoProbe
  readonly expected: Delivery.Expected
  readonly issues: ReadonlyArray<Delivery.Issue>
}> = [
  {
    name: "exactly what was asked",
    got: probe("1280x720", 8.02),
    expected: { size: "1280x720", seconds: 8, audio: true },
    issues: []
  },
  {
    name: "nothing asked, nothing checked",
    got: probe("640x480", 3, false),
    expected: {},
    issues: []
  },
  {
    name: "a few pixels off in the same class and ratio (1280x704 for 1280x720)",
    got: probe("1280x704", 8),
    expected: { size: "1280x720", seconds: 8 },
    issues: []
  },
  {
    name: "1080p delivered for 4k",
    got: probe("1920x1080", 8),
    expected: { size: "3840x2160", seconds: 8, audio: true },
    issues: [{ code: "resolution-mismatch", message: "asked for 3840x2160 (4k), got 1920x1080" }]
  },
  {
    name: "portrait delivered for landscape",
    got: probe("720x1280", 8),
    expected: { size: "1280x720" },
    issues: [{ code: "orientation-mismatch", message: "asked for 1280x720 (landscape), got 720x1280 (portrait)" }]
  },
  {
    name: "wrong orientation and class at once",
    got: probe("1080x1920", 8),
    expected: { size: "1280x720" },
    issues: [
      { code: "orientation-mismatch", message: "asked for 1280x720 (landscape), got 1080x1920 (portrait)" },
      { code: "resolution-mismatch", message: "asked for 1280x720 (720p), got 1080x1920" }
    ]
  },
  {
    name: "same class, another aspect ratio",
    got: probe("960x720", 8),
    expected: { size: "1280x720" },
    issues: [{ code: "aspect-ratio-mismatch", message: "asked for 1280x720 (16:9), got 960x720 (4:3)" }]
  },
  {
    name: "duration within the 0.5 s tolerance",
    got: probe("1280x720", 8.5),
    expected: { seconds: 8 },
    issues: []
  },
  {
    name: "duration too short",
    got: probe("1280x720", 6.04),
    expected: { seconds: 8 },
    issues: [{ code: "duration-mismatch", message: "asked for 8 s, got 6.04 s" }]
  },
  {
    name: "duration too long",
    got: probe("1280x720", 10),
    expected: { seconds: 8 },
    issues: [{ code: "duration-mismatch", message: "asked for 8 s, got 10 s" }]
  },
  {
    name: "audio asked for, none delivered",
    got: probe("1280x720", 8, false),
    expected: { audio: true },
    issues: [{ code: "missing-audio", message: "asked for a video with audio, got one without an audio track" }]
  },
  {
    name: "audio not asked for, some delivered",
    got: probe("1280x720", 8, true),
    expected: { audio: false },
    issues: []
  },
  {
    name: "aspect ratio and resolution without a size",
    got: probe("720x1280", 8),
    expected: { aspectRatio: "16:9", resolution: "1080p" },
    issues: [
      { code: "orientation-mismatch", message: "asked for 16:9 (landscape), got 720x1280 (portrait)" },
      { code: "resolution-mismatch", message: "asked for 1080p, got 720x1280 (720p)" }
    ]
  },
  {
    name: "2160p is the same class as 4k",
    got: probe("3840x2160", 8),
    expected: { aspectRatio: "16:9", resolution: "2160p" },
    issues: []
  },
  {
    name: "size takes precedence over aspect ratio and resolution",
    got: probe("1280x720", 8),
    expected: { size: "1280x720", aspectRatio: "9:16", resolution: "4k" },
    issues: []
  },
  {
    name: "everything wrong, reported in a stable order",
    got: probe("1920x1080", 4, false),
    expected: { size: "3840x2160", seconds: 8, audio: true },
    issues: [
      { code: "resolution-mismatch", message: "asked for 3840x2160 (4k), got 1920x1080" },
      { code: "duration-mismatch", message: "asked for 8 s, got 4 s" },
      { code: "missing-audio", message: "asked for a video with audio, got one without an audio track" }
    ]
  }
]

describe("Delivery.check", () => {
  for (const { name, got, expected, issues } of cases) {
    it(name, () => {
      assert.deepStrictEqual(Delivery.check(got, expected), issues)
    })
  }

  it("accepts the engine's expected output shape", () => {
    const expected: { readonly size: string; readonly seconds: number; readonly audio: boolean } = {
      size: "704x1280",
      seconds: 10,
      audio: true
    }
    assert.deepStrictEqual(Delivery.check(probe("704x1280", 10), expected), [])
  })
})
