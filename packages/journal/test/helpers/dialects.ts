/**
 * The databases the journal suite runs against: the same tests, once per dialect. Each test gets
 * a fresh, empty journal (a new SQLite file; a new PostgreSQL database on the throwaway server).
 */
import * as path from "node:path"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { afterAll, beforeAll } from "@effect/vitest"
import type * as JobStore from "@reelay/core/JobStore"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Journal from "../../src/Journal.js"
import type { JournalError } from "../../src/JournalError.js"
import type * as Outbox from "../../src/Outbox.js"
import type * as Videos from "../../src/Videos.js"
import { tempDir } from "./engine.js"
import * as Postgres from "./postgres.js"

export interface Database {
  /** The journal for writing: `JobStore`, `Journal`, and the gateway's `Videos` and `Outbox`. */
  readonly writer: Layer.Layer<JobStore.JobStore | Journal.Journal | Videos.Videos | Outbox.Outbox, JournalError>
  /** Another connection to the same journal, for reading. */
  readonly reader: Layer.Layer<Journal.Journal, JournalError>
  /** A plain `SqlClient` on the same database. */
  readonly client: Layer.Layer<SqlClient.SqlClient, unknown>
  /** Where it is, for a child process: the SQLite file, or the PostgreSQL URL. */
  readonly location: string
}

export interface Dialect {
  readonly name: "sqlite" | "postgres"
  readonly fresh: Effect.Effect<Database>
}

export const sqlite: Dialect = {
  name: "sqlite",
  fresh: Effect.sync(() => {
    const file = path.join(tempDir(), "journal.db")
    return {
      writer: Journal.layerSqlite({ path: file }),
      reader: Journal.layerSqliteReader({ path: file }),
      client: SqliteClient.layer({ filename: file }),
      location: file
    }
  })
}

let server: Postgres.PgServer | undefined
let databases = 0

/** Starts the shared throwaway server (in `beforeAll`). */
export const startPostgres = async () => {
  server ??= await Postgres.start()
}

/** Stops it and deletes its files (in `afterAll`). */
export const stopPostgres = () => {
  server?.stop()
  server = undefined
}

export const postgres: Dialect = {
  name: "postgres",
  fresh: Effect.gen(function* () {
    if (server === undefined) return yield* Effect.dieMessage("the PostgreSQL server is not started")
    const name = `journal_${process.pid}_${++databases}`
    const admin = server.url("postgres")
    yield* Effect.scoped(
      Effect.gen(function* () {
        const context = yield* Layer.build(PgClient.layer({ url: Redacted.make(admin) }))
        const sql = Context.get(context, PgClient.PgClient)
        yield* sql`CREATE DATABASE ${sql(name)}`
      })
    ).pipe(Effect.orDie)
    const url = Redacted.make(server.url(name))
    return {
      writer: Journal.layerPg({ url }),
      reader: Journal.layerPg({ url }),
      client: PgClient.layer({ url }),
      location: Redacted.value(url)
    }
  })
}

/** A URL of the throwaway server (for connection failure tests). */
export const postgresUrl = (database: string) => server?.url(database)

/**
 * The dialects a test file runs, with the throwaway PostgreSQL server started before its tests and
 * stopped after them when PostgreSQL is among them. Call at the top level of the file.
 */
export const forTests = (): ReadonlyArray<Dialect> => {
  const dialects = all()
  beforeAll(async () => {
    if (dialects.some((dialect) => dialect.name === "postgres")) await startPostgres()
  }, 60_000)
  afterAll(() => stopPostgres())
  return dialects
}

/** The dialects to run: SQLite always, PostgreSQL when its binaries are installed (or required). */
export const all = (): ReadonlyArray<Dialect> => (Postgres.available() ? [sqlite, postgres] : [sqlite])
