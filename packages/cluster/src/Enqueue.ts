/**
 * Handing a journaled batch to the cluster: each item recorded as driven (`Drives`), then its
 * workflow started, without waiting for it. A process that only enqueues joins no shard and needs
 * no route to the workers: the work goes through PostgreSQL, where the worker owning each
 * workflow's shard finds it on its next look.
 *
 * @since 0.1.0
 */
import * as ClusterWorkflowEngine from "@effect/cluster/ClusterWorkflowEngine"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import * as Sharding from "@effect/cluster/Sharding"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import { Drives } from "@reelay/journal"
import type { JournalError } from "@reelay/journal/JournalError"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ClusterSettings from "./ClusterSettings.js"
import * as Storage from "./Storage.js"
import { type Payload, VideoWorkflow } from "./VideoWorkflow.js"

/** The workflow engine of a process that only hands work to the cluster, over the database in the context. */
export const clientLayer: Layer.Layer<WorkflowEngine.WorkflowEngine, SqlError, SqlClient.SqlClient> =
  ClusterWorkflowEngine.layer.pipe(
    Layer.provide(
      Sharding.layer.pipe(
        Layer.provideMerge(Runners.layerNoop),
        Layer.provideMerge(Layer.orDie(SqlMessageStorage.layer)),
        Layer.provide([Layer.orDie(SqlRunnerStorage.layer), RunnerHealth.layerNoop]),
        Layer.provide(ClusterSettings.sharding(undefined))
      )
    ),
    Layer.provide(Storage.layer)
  )

/** Starts the workflow of `payload`, or finds it started: the same item and generation run once. */
export const drive = (payload: Payload): Effect.Effect<void, never, WorkflowEngine.WorkflowEngine> =>
  Effect.asVoid(VideoWorkflow.execute(payload, { discard: true }))

/**
 * Hands `items` of the journaled `batch` to the cluster: each recorded as driven, then its workflow
 * (of its current generation) started. Enqueuing again starts nothing new: each item's workflow
 * is found by its idempotency key.
 */
export const enqueue = (
  batch: string,
  items: ReadonlyArray<{ readonly key: string; readonly overwrite: boolean }>,
  timings?: ClusterSettings.Timings | undefined
): Effect.Effect<number, JournalError, WorkflowEngine.WorkflowEngine | Drives.Drives> =>
  Effect.gen(function* () {
    const drives = yield* Drives.Drives
    const now = yield* Clock.currentTimeMillis
    const enlisted = yield* drives.enlist(batch, items, now + ClusterSettings.stallMillis(timings))
    yield* Effect.forEach(
      enlisted,
      (entry) => drive({ batch, key: entry.key, generation: entry.generation, overwrite: entry.overwrite }),
      { concurrency: 16, discard: true }
    )
    return enlisted.length
  }).pipe(Effect.withSpan("Cluster.enqueue", { attributes: { "reelay.batch": batch, "reelay.items": items.length } }))
