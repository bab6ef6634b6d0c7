/**
 * The CLI's own errors: what is wrong with the command line, the configuration file or a batch
 * file. They are found before anything is sent, and each is one line for the user.
 *
 * @since 0.1.0
 */

import { ConfigFileError, UsageError } from "@reelay/config/ConfigError"
import * as Schema from "effect/Schema"

export { ConfigFileError, UsageError }

/** A line of a batch file is not a request; `line` is 1-based, as editors count. */
export class BatchFileError extends Schema.TaggedError<BatchFileError>()("BatchFileError", {
  path: Schema.String,
  line: Schema.optional(Schema.Int),
  message: Schema.String
}) {}

/** Any CLI error. */
export type CliError = UsageError | ConfigFileError | BatchFileError
