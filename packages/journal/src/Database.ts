/**
 * What the journal needs of its database beyond plain statements: write transactions that several
 * processes can run against one file, and failures explained in words a user can act on.
 *
 * @since 0.2.0
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

/** Runs an effect as one write transaction. */
export type Transaction = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError, R>

/**
 * One write transaction. On SQLite it starts with `BEGIN IMMEDIATE`: the write lock is taken
 * first, so two processes never both read and then fail to upgrade to a write (a plain `BEGIN`
 * would, at once, whatever the busy timeout); the second one waits its turn instead. Elsewhere it is
 * the client's own transaction (PostgreSQL locks rows as statements reach them).
 *
 * A failure to commit (a full disk, say) fails the effect like any other statement.
 */
export const transaction = (sql: SqlClient.SqlClient): Transaction =>
  sql.onDialectOrElse({
    sqlite: () => immediate(sql),
    orElse: () => (effect) => sql.withTransaction(effect)
  })

const immediate =
  (sql: SqlClient.SqlClient): Transaction =>
  (effect) =>
    Effect.scoped(
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          // The client's one connection, held for the transaction (its other users wait).
          const connection = yield* sql.reserve
          yield* connection.executeUnprepared("BEGIN IMMEDIATE", [], undefined)
          const exit = yield* Effect.exit(
            restore(Effect.provideService(effect, SqlClient.TransactionConnection, [connection, 0]))
          )
          if (Exit.isSuccess(exit)) {
            const committed = yield* Effect.exit(connection.executeUnprepared("COMMIT", [], undefined))
            if (Exit.isSuccess(committed)) return exit.value
            yield* Effect.ignore(connection.executeUnprepared("ROLLBACK", [], undefined))
            return yield* Effect.failCause(committed.cause)
          }
          yield* Effect.ignore(connection.executeUnprepared("ROLLBACK", [], undefined))
          return yield* Effect.failCause(exit.cause)
        })
      )
    )

/** SQLite result codes and PostgreSQL SQLSTATEs worth saying in words. */
const meanings: ReadonlyArray<readonly [RegExp, string]> = [
  [/^SQLITE_FULL$|^53100$/, "no space left on the device (ENOSPC)"],
  [/^SQLITE_READONLY/, "the file or its directory is read-only"],
  [/^SQLITE_IOERR/, "an I/O error from the disk"],
  [/^SQLITE_BUSY|^SQLITE_LOCKED/, "another process kept the database locked too long"],
  [/^SQLITE_CANTOPEN/, "the file cannot be opened"],
  [/^SQLITE_CORRUPT|^SQLITE_NOTADB/, "the file is damaged or not a database"],
  [/^08/, "the connection to the database was lost"],
  [/^57P0/, "the database server is shutting down"]
]

const codeOf = (value: unknown): string | undefined => {
  for (let current = value, depth = 0; current !== null && typeof current === "object" && depth < 4; depth++) {
    const code = (current as { readonly code?: unknown }).code
    if (typeof code === "string") return code
    current = (current as { readonly cause?: unknown }).cause
  }
  return undefined
}

const innermostMessage = (value: unknown): string | undefined => {
  let message: string | undefined
  for (let current = value, depth = 0; current !== null && typeof current === "object" && depth < 4; depth++) {
    const text = (current as { readonly message?: unknown }).message
    if (typeof text === "string" && text !== "") message = text
    current = (current as { readonly cause?: unknown }).cause
  }
  return message
}

/**
 * Why a statement failed, in words first, then the driver's code and message:
 * `no space left on the device (ENOSPC) (SQLITE_FULL: database or disk is full)`.
 * Takes a failure or a whole `Cause` (a failed commit can arrive as a defect).
 */
export const explain = (failure: unknown): string => {
  const value = Cause.isCause(failure) ? Cause.squash(failure) : failure
  const code = codeOf(value)
  const message = innermostMessage(value) ?? String(value)
  const meaning = code === undefined ? undefined : meanings.find(([pattern]) => pattern.test(code))?.[1]
  const detail = code === undefined ? message : `${code}: ${message}`
  return meaning === undefined ? detail : `${meaning} (${detail})`
}
