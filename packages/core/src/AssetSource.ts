/**
 * Where a finished video can be fetched from.
 *
 * @since 0.1.0
 */

import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type { VideoError } from "./VideoError.js"

/**
 * A URL to download. It may be on the provider's own origin (then the engine sends the provider's
 * credentials) or on a CDN (then it sends none). Download links expire, usually after 24 hours.
 */
export class UrlAsset extends Schema.TaggedClass<UrlAsset>()("Url", {
  url: Schema.String,
  expiresAt: Schema.optional(Schema.Date),
  /** The size in bytes, when the provider said so beforehand. */
  size: Schema.optional(Schema.Int.pipe(Schema.nonNegative()))
}) {}

/** Opens the video's bytes from `offset`, so a cut transfer can resume. */
export type OpenBytes = (offset: number) => Stream.Stream<Uint8Array, VideoError>

const OpenBytesSchema = Schema.declare((u): u is OpenBytes => typeof u === "function", {
  identifier: "OpenBytes"
})

/**
 * A byte stream the provider hands over directly. Not serialisable (the function is dropped in
 * JSON): after a crash it must be asked for again.
 */
export class StreamAsset extends Schema.TaggedClass<StreamAsset>()("Stream", {
  open: OpenBytesSchema,
  size: Schema.optional(Schema.Int.pipe(Schema.nonNegative()))
}) {}

export const AssetSource = Schema.Union(UrlAsset, StreamAsset)
export type AssetSource = typeof AssetSource.Type
