/**
 * Keeping secrets out of error messages: the one scrubber every provider uses, which lives in core
 * (`@reelay/core/Sanitize`) and is re-exported here for the providers that import it from this
 * package. See that module for every spelling of a key it removes.
 *
 * @since 0.1.0
 */
export * from "@reelay/core/Sanitize"
