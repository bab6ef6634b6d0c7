/**
 * A video on disk, verified.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"
import { Usd } from "./Money.js"

/** What the file turned out to be, read from its own container metadata. */
export class VideoProbe extends Schema.Class<VideoProbe>("VideoProbe")({
  /** `"mp4"`, `"quicktime"`, ... */
  container: Schema.String,
  mimeType: Schema.String,
  width: Schema.Int,
  height: Schema.Int,
  durationSeconds: Schema.Number,
  videoCodec: Schema.optional(Schema.String),
  hasAudio: Schema.Boolean,
  audioCodec: Schema.optional(Schema.String)
}) {
  /** `"1280x720"`. */
  get size(): string {
    return `${this.width}x${this.height}`
  }
}

export class SavedVideo extends Schema.Class<SavedVideo>("SavedVideo")({
  path: Schema.String,
  bytes: Schema.Int.pipe(Schema.nonNegative()),
  /** Hex SHA-256 of the file. */
  sha256: Schema.String,
  probe: VideoProbe,
  provider: Schema.String,
  model: Schema.String,
  taskId: Schema.optional(Schema.String),
  /** What the video cost, when known. */
  cost: Schema.optional(Usd)
}) {}
