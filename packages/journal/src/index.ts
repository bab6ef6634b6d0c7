/**
 * @reelay/journal — the durable task journal: crash-safe batches that never re-bill and never lose
 * a video. SQLite by default, PostgreSQL from a URL.
 *
 * @since 0.1.0
 */

/** The state machine: how events move an item, and where an item resumes. */
export * as JobState from "./JobState.js"
/** The journal's layers and its read API. */
export * as Journal from "./Journal.js"
/** What can go wrong with the journal itself. */
export * as JournalError from "./JournalError.js"
/** The schema, as migrations. */
export * as Migrations from "./Migrations.js"
/** Opening SQLite journals: the writer lock, durability settings, readers. */
export * as Sqlite from "./Sqlite.js"
/** The journal over any `@effect/sql` client. */
export * as Store from "./Store.js"
