/**
 * The cluster's tables in PostgreSQL, made once whoever starts first. `@effect/cluster` makes them
 * when a process starts (`CREATE TABLE IF NOT EXISTS`), and two processes doing that at the same
 * instant collide in PostgreSQL's catalog (a duplicate key on `pg_type`): workers started together
 * would fail at random. Here the first process makes them under a lock the others wait for.
 *
 * @since 0.1.0
 */
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ClusterSettings from "./ClusterSettings.js"

/**
 * Makes the tables if they are missing, holding an advisory lock meanwhile on a connection of its
 * own (not a transaction: the cluster's own set-up expects some statements to fail, which would
 * abort one). The lock is of the two-key form, which never meets the shard locks (single keys).
 */
export const prepare: Effect.Effect<void, SqlError, SqlClient.SqlClient> = Effect.scoped(
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const connection = yield* sql.reserve
    const lock = "1919247724, 16"
    yield* Effect.acquireRelease(connection.executeRaw(`SELECT pg_advisory_lock(${lock})`, []), () =>
      Effect.ignore(connection.executeRaw(`SELECT pg_advisory_unlock(${lock})`, []))
    )
    yield* Effect.scoped(
      Layer.build(
        Layer.mergeAll(SqlMessageStorage.layer, SqlRunnerStorage.layer).pipe(
          Layer.provide(ClusterSettings.sharding(undefined))
        )
      )
    )
  })
)

/** `prepare` as a layer to build before the cluster's own. */
export const layer: Layer.Layer<never, SqlError, SqlClient.SqlClient> = Layer.effectDiscard(prepare)
