/**
 * What can go wrong with the journal itself (never with a video: those are `VideoError`s).
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The journal could not be opened, migrated, read or written. `operation` says what was being
 * done; the message never holds a connection URL or a password.
 */
export class JournalError extends Schema.TaggedError<JournalError>()("JournalError", {
  operation: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}
