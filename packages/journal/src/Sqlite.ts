/**
 * Opening SQLite journals: the writer (with its lock and durability settings) and readers.
 *
 * One writer per file. The lock is a second SQLite file, `<journal>.lock`, opened in
 * `locking_mode = EXCLUSIVE` and written once: SQLite then holds an exclusive POSIX lock on it for
 * as long as the connection is open. Nothing else ever uses that file, so the lock blocks no
 * reader of the journal, and because it is the operating system's lock it disappears with the
 * process, however the process ends (SIGKILL included): there is never a stale lock to clear.
 * Who holds it is written into the journal itself (`reelay_writer`), which readers can always
 * read, so a second writer can be told which process to wait for.
 *
 * @since 0.1.0
 */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import type { SqlError } from "@effect/sql/SqlError"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { JournalError, JournalLocked } from "./JournalError.js"
import * as Migrations from "./Migrations.js"

const open = (
  config: SqliteClient.SqliteClientConfig
): Effect.Effect<SqliteClient.SqliteClient, JournalError, Scope.Scope> =>
  Layer.build(SqliteClient.layer(config)).pipe(
    Effect.map((context) => Context.get(context, SqliteClient.SqliteClient)),
    Effect.catchAllCause((cause) =>
      Effect.fail(
        new JournalError({
          operation: "open",
          message: `cannot open the SQLite journal ${config.filename}`,
          cause: cause
        })
      )
    )
  )

const sqliteCode = (error: SqlError): string | undefined => {
  const cause = error.cause as { readonly code?: unknown } | undefined
  return typeof cause?.code === "string" ? cause.code : undefined
}

const failed = (operation: string, path: string) => (cause: SqlError) =>
  new JournalError({ operation, message: `${operation} failed on ${path}: ${cause.message}`, cause })

/** Who holds the journal for writing, as it recorded itself; absent when it cannot be read. */
const readHolder = (path: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      if (!NodeFs.existsSync(path)) return undefined
      const sql = yield* open({ filename: path, readonly: true, disableWAL: true })
      const rows = yield* sql<{
        readonly pid: number
        readonly hostname: string
        readonly started_at: number
      }>`SELECT pid, hostname, started_at FROM reelay_writer WHERE id = 1`
      return rows[0]
    })
  ).pipe(Effect.orElseSucceed(() => undefined))

/**
 * Takes the writer lock of `path` for the scope's life, or fails with `JournalLocked` at once
 * (no waiting: a batch that cannot write should say so, not hang).
 */
export const lock = (path: string): Effect.Effect<void, JournalError | JournalLocked, Scope.Scope> =>
  Effect.gen(function* () {
    const lockPath = `${path}.lock`
    const sql = yield* open({ filename: lockPath, disableWAL: true })
    yield* sql`PRAGMA busy_timeout = 0`.pipe(Effect.mapError(failed("lock", lockPath)))
    yield* sql`PRAGMA locking_mode = EXCLUSIVE`.pipe(Effect.mapError(failed("lock", lockPath)))
    const taken = yield* sql.unsafe("BEGIN EXCLUSIVE").pipe(
      Effect.as(true),
      Effect.catchAll((error) => {
        const code = sqliteCode(error)
        return code === "SQLITE_BUSY" || code === "SQLITE_LOCKED"
          ? Effect.succeed(false)
          : Effect.fail(failed("lock", lockPath)(error))
      })
    )
    if (!taken) {
      const holder = yield* readHolder(path)
      const since = holder === undefined ? undefined : new Date(Number(holder.started_at))
      return yield* new JournalLocked({
        path,
        ...(holder === undefined ? {} : { pid: Number(holder.pid), hostname: holder.hostname }),
        ...(since === undefined ? {} : { since }),
        message:
          `the journal ${path} is open for writing by another process` +
          (holder === undefined ? "" : ` (pid ${holder.pid} on ${holder.hostname}, since ${since?.toISOString()})`) +
          "; one process writes a journal at a time: wait for it to finish, or read the journal with a reader"
      })
    }
    // Written inside the exclusive transaction; the locking mode keeps the lock after the commit.
    yield* Effect.all(
      [
        sql`CREATE TABLE IF NOT EXISTS writer_lock (pid INTEGER NOT NULL)`,
        sql`DELETE FROM writer_lock`,
        sql`INSERT INTO writer_lock (pid) VALUES (${process.pid})`,
        sql.unsafe("COMMIT")
      ],
      { discard: true }
    ).pipe(Effect.mapError(failed("lock", lockPath)))
  })

/**
 * Opens `path` for writing: takes the lock, then opens the journal in WAL mode with
 * `synchronous = FULL` (every commit is on disk before it returns, which `record` promises).
 */
export const openWriter = (
  path: string
): Effect.Effect<SqliteClient.SqliteClient, JournalError | JournalLocked, Scope.Scope> =>
  Effect.gen(function* () {
    yield* lock(path)
    const sql = yield* open({ filename: path })
    yield* sql`PRAGMA synchronous = FULL`.pipe(Effect.mapError(failed("open", path)))
    yield* sql`PRAGMA busy_timeout = 5000`.pipe(Effect.mapError(failed("open", path)))
    return sql
  })

/** Records this process as the writer (for the message a second writer gets), until the scope closes. */
export const registerWriter = (sql: SqliteClient.SqliteClient): Effect.Effect<void, JournalError, Scope.Scope> =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const path = sql.config.filename
    yield* sql`INSERT INTO reelay_writer (id, pid, hostname, started_at) VALUES (1, ${process.pid}, ${NodeOs.hostname()}, ${now})
      ON CONFLICT (id) DO UPDATE SET pid = excluded.pid, hostname = excluded.hostname, started_at = excluded.started_at`.pipe(
      Effect.mapError(failed("open", path))
    )
    yield* Effect.addFinalizer(() =>
      sql`DELETE FROM reelay_writer WHERE id = 1 AND pid = ${process.pid}`.pipe(Effect.ignore)
    )
  })

/** Opens `path` read-only, without the lock. The journal must exist and be migrated. */
export const openReader = (path: string): Effect.Effect<SqliteClient.SqliteClient, JournalError, Scope.Scope> =>
  Effect.gen(function* () {
    if (!NodeFs.existsSync(path)) {
      return yield* new JournalError({ operation: "open", message: `there is no journal at ${path}` })
    }
    const sql = yield* open({ filename: path, readonly: true, disableWAL: true })
    const rows = yield* sql<{
      readonly latest: number | null
    }>`SELECT MAX(migration_id) AS latest FROM ${sql(Migrations.table)}`.pipe(
      Effect.mapError(
        (cause) =>
          new JournalError({ operation: "open", message: `${path} is not a reelay journal (${cause.message})`, cause })
      )
    )
    const latest = Number(rows[0]?.latest ?? 0)
    if (latest > Migrations.latest) {
      return yield* new JournalError({
        operation: "open",
        message: `${path} was written by a newer reelay (schema ${latest}, this one knows ${Migrations.latest})`
      })
    }
    if (latest < Migrations.latest) {
      // A reader never writes, so it cannot migrate: any writing command (say `reelay resume`) will.
      return yield* new JournalError({
        operation: "open",
        message: `${path} was written by an older reelay (schema ${latest}, this one reads ${Migrations.latest}); run a command that writes it (such as resume) to update it`
      })
    }
    return sql
  })
