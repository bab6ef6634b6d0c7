/**
 * @reelay/journal — the durable task journal: crash-safe batches that never re-bill and never lose
 * a video. SQLite by default, PostgreSQL from a URL.
 *
 * @since 0.1.0
 */

/** Who works which item: the leases that let several processes share a batch. */
export * as Claims from "./Claims.js"
/** Write transactions several processes can share, and failures in words. */
export * as Database from "./Database.js"
/** The cluster's hold on each item it runs: its workflow's generation and due time, for the watchdog. */
export * as Drives from "./Drives.js"
/** The state machine: how events move an item, and where an item resumes. */
export * as JobState from "./JobState.js"
/** The journal's layers and its read API. */
export * as Journal from "./Journal.js"
/** What can go wrong with the journal itself. */
export * as JournalError from "./JournalError.js"
/** The schema, as migrations. */
export * as Migrations from "./Migrations.js"
/** The gateway's webhook deliveries, retried until delivered. */
export * as Outbox from "./Outbox.js"
/** The read API over any `@effect/sql` client. */
export * as Reader from "./Reader.js"
/** The journal's rows and their decoding. */
export * as Records from "./Records.js"
/** Opening SQLite journals: one canonical name per file, durability settings, readers. */
export * as Sqlite from "./Sqlite.js"
/** The gateway's videos: per tenant, with idempotency keys, beside the jobs that make them. */
export * as Videos from "./Videos.js"
/** The engine's `JobStore` with claims, over any `@effect/sql` client. */
export * as Writer from "./Writer.js"
