/**
 * What is wrong with a setting before anything is sent: a value given on the command line, to
 * `createClient` or in the environment that cannot be used (`UsageError`), or a `reelay.config.json`
 * that cannot be read or does not match the documented format (`ConfigFileError`). Each is one line
 * for the user, and neither costs anything.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/** A setting that cannot be used as given. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  message: Schema.String
}) {}

/** `reelay.config.json` cannot be read or does not match the documented format. */
export class ConfigFileError extends Schema.TaggedError<ConfigFileError>()("ConfigFileError", {
  path: Schema.String,
  message: Schema.String
}) {}
