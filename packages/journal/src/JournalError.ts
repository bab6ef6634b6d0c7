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

/**
 * Another process holds the SQLite journal for writing. One writer per file: two processes
 * driving one batch could both create the same task. Readers (`layerSqliteReader`) are not affected.
 */
export class JournalLocked extends Schema.TaggedError<JournalLocked>()("JournalLocked", {
  path: Schema.String,
  /** The holder's process id, when it could be read. */
  pid: Schema.optional(Schema.Int),
  hostname: Schema.optional(Schema.String),
  since: Schema.optional(Schema.Date),
  message: Schema.String
}) {}
