/**
 * Opening SQLite journals: writers (several processes may write one journal; their claims keep
 * them apart) and readers.
 *
 * **One file, one name.** SQLite keeps its write-ahead log and its shared-memory index beside the
 * name a database is opened by (`<name>-wal`, `<name>-shm`), and those files are what keep its
 * writers apart. Two processes reaching one database by two names (a symlink, a hard link) would
 * each have a log of their own and corrupt it. So a journal is always opened by its **canonical
 * name**: symlinks resolved (`realpath`), and, because a hard link has no single true name, the
 * first name any process opened this file (device + inode) by, registered in a per-user directory
 * beside the system's temporary files (`reelay-<uid>/journals/<dev>-<ino>`, a symlink to that name).
 * Every later opener of the same file, by whatever name, opens it by that one.
 *
 * **Durability.** WAL mode with `synchronous = FULL`: a `record` that returned is on disk. The log
 * is checkpointed as the run goes (every 64 pages) and cut back to 256 KiB after each checkpoint,
 * so a long run does not leave megabytes of log beside a small database; the last writer to close
 * folds it in and removes it.
 *
 * @since 0.1.0
 */
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as OutputPath from "@reelay/core/OutputPath"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Database from "./Database.js"
import { JournalError } from "./JournalError.js"
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
          message: `cannot open the SQLite journal ${config.filename}: ${Database.explain(cause)}`,
          cause
        })
      )
    )
  )

/** Where the names of journals with several names are registered, per user. */
export const registryDirectory = (): string =>
  NodePath.join(NodeOs.tmpdir(), `reelay-${process.getuid?.() ?? "user"}`, "journals")

const osError = (operation: string, path: string, what: string) => (cause: unknown) =>
  new JournalError({
    operation,
    message: `${what} ${path} (${(cause as { readonly code?: string }).code ?? String(cause)})`,
    cause
  })

/**
 * The name `path` must be opened by: its real path, or, when the file is also reachable by another
 * name, the name that was registered first for its device and inode (see the module doc). Creates
 * the journal's directory when missing.
 */
export const canonicalPath = (path: string): Effect.Effect<string, JournalError> =>
  Effect.gen(function* () {
    const absolute = NodePath.resolve(path)
    // Not `mkdirSync({ recursive: true })`: under a directory that refuses new entries (/proc) it
    // never returns, and being synchronous it would block even Ctrl-C.
    yield* Effect.all(
      [OutputPath.makeDirectory(NodePath.dirname(absolute)), OutputPath.makeDirectory(registryDirectory())],
      {
        discard: true
      }
    ).pipe(
      Effect.mapError(
        (error) => new JournalError({ operation: "open", message: `cannot open the journal ${path}: ${error.message}` })
      )
    )
    return yield* Effect.try({
      try: () => {
        const real = NodeFs.existsSync(absolute)
          ? NodeFs.realpathSync(absolute)
          : NodePath.join(NodeFs.realpathSync(NodePath.dirname(absolute)), NodePath.basename(absolute))
        if (!NodeFs.existsSync(real)) {
          // A new journal: this is its only name so far. Creating it now lets the registration
          // below name it before any other process can link it.
          NodeFs.closeSync(NodeFs.openSync(real, "a"))
        }
        return register(real)
      },
      catch: osError("open", path, "cannot open the journal")
    })
  })

/** Registers `real` as the name of its file unless another name is registered; returns the one to use. */
const register = (real: string): string => {
  const stat = NodeFs.statSync(real)
  const directory = registryDirectory()
  const entry = NodePath.join(directory, `${stat.dev}-${stat.ino}`)
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      NodeFs.symlinkSync(real, entry)
      return real
    } catch (error) {
      if ((error as { readonly code?: string }).code !== "EEXIST") throw error
    }
    const registered = NodeFs.readlinkSync(entry)
    const same = (() => {
      try {
        const other = NodeFs.statSync(registered)
        return other.dev === stat.dev && other.ino === stat.ino
      } catch {
        return false
      }
    })()
    if (same) return registered
    // A name left by a file that is gone (its inode since reused): replace it.
    NodeFs.rmSync(entry, { force: true })
  }
  throw new Error(`cannot register the name of ${real} in ${directory}`)
}

/**
 * Opens `path` for writing, by its canonical name, in WAL mode with `synchronous = FULL` (every
 * commit is on disk before it returns, which `record` promises). Other writers of the same file
 * wait their turn for each transaction (up to 30 s) rather than fail.
 */
export const openWriter = (path: string): Effect.Effect<SqliteClient.SqliteClient, JournalError, Scope.Scope> =>
  Effect.gen(function* () {
    const canonical = yield* canonicalPath(path)
    const sql = yield* open({ filename: canonical })
    const failed = (cause: unknown) =>
      new JournalError({
        operation: "open",
        message: `cannot open the SQLite journal ${canonical}: ${Database.explain(cause)}`,
        cause
      })
    yield* Effect.all(
      [
        sql`PRAGMA synchronous = FULL`,
        sql`PRAGMA busy_timeout = 30000`,
        sql`PRAGMA wal_autocheckpoint = 64`,
        sql`PRAGMA journal_size_limit = 262144`
      ],
      { discard: true }
    ).pipe(Effect.mapError(failed))
    // Folds the log into the database when this writer closes, so what is left beside it is small
    // even when another process keeps the file open (the last one to close removes the log).
    yield* Effect.addFinalizer(() => sql`PRAGMA wal_checkpoint(TRUNCATE)`.pipe(Effect.ignore))
    return sql
  })

/** Opens `path` read-only. The journal must exist and be migrated. */
export const openReader = (path: string): Effect.Effect<SqliteClient.SqliteClient, JournalError, Scope.Scope> =>
  Effect.gen(function* () {
    if (!NodeFs.existsSync(path)) {
      return yield* new JournalError({ operation: "open", message: `there is no journal at ${path}` })
    }
    const canonical = yield* canonicalPath(path)
    const sql = yield* open({ filename: canonical, readonly: true, disableWAL: true })
    const rows = yield* sql<{
      readonly latest: number | null
    }>`SELECT MAX(migration_id) AS latest FROM ${sql(Migrations.table)}`.pipe(
      Effect.mapError(
        (cause) =>
          new JournalError({
            operation: "open",
            message: `${path} is not a reelay journal: ${Database.explain(cause)}`,
            cause
          })
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
