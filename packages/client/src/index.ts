/**
 * @reelay/client — reelay for code that does not use Effect.
 *
 * @since 0.1.0
 */
