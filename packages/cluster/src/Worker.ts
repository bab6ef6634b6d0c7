/**
 * A worker: a runner of the reelay cluster. It joins through the PostgreSQL database in the context
 * (which is also where the journal lives), takes its share of the shards, runs the video workflows
 * on them with its own engine and concurrency limits, and watches for stalled items. Any number of
 * workers, on any number of hosts, may share one database; each is reached by the others at its
 * own address.
 *
 * Stopping (its scope closed, on SIGTERM) it gives its shards back: stages in flight get
 * `stopTimeout` to finish, so a create is never cut off before its answer is recorded; the rest
 * of each workflow goes on at the worker that takes the shard.
 *
 * @since 0.1.0
 */
import * as ClusterWorkflowEngine from "@effect/cluster/ClusterWorkflowEngine"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import * as SocketRunner from "@effect/cluster/SocketRunner"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import type * as SocketServer from "@effect/platform/SocketServer"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type * as Stepper from "@reelay/core/Stepper"
import type { Drives, Journal } from "@reelay/journal"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ClusterSettings from "./ClusterSettings.js"
import * as Stages from "./Stages.js"
import * as Storage from "./Storage.js"
import * as VideoWorkflow from "./VideoWorkflow.js"
import * as Watchdog from "./Watchdog.js"

export interface Options {
  /** Where the other workers reach this one. */
  readonly address: ClusterSettings.Address
  /** Where it listens (default: `address`). */
  readonly listen?: ClusterSettings.Address | undefined
  readonly timings?: ClusterSettings.Timings | undefined
  /** The engine's stages, with this worker's concurrency limits (`Engine.stepper`). */
  readonly stepper: Stepper.Stepper
  readonly watchdog?: Watchdog.Options | undefined
}

/** The runner: sockets to the other workers, shards and messages in the database. */
const runner = (options: Options) =>
  SocketRunner.layer.pipe(
    Layer.provide([NodeClusterSocket.layerSocketServer, NodeClusterSocket.layerClientProtocol]),
    Layer.provide(
      RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(NodeClusterSocket.layerClientProtocol))
    ),
    Layer.provideMerge(Layer.orDie(SqlMessageStorage.layer)),
    Layer.provide(Layer.orDie(SqlRunnerStorage.layer)),
    Layer.provide(ClusterSettings.sharding({ address: options.address, listen: options.listen }, options.timings)),
    Layer.provide(RpcSerialization.layerMsgPack)
  )

/** A worker, serving until its scope closes. */
export const layer = (
  options: Options
): Layer.Layer<
  never,
  SocketServer.SocketServerError | SqlError,
  SqlClient.SqlClient | Journal.Journal | Drives.Drives
> => {
  const engine = ClusterWorkflowEngine.layer.pipe(Layer.provide(runner(options)), Layer.provide(Storage.layer))
  const work = VideoWorkflow.layer.pipe(
    Layer.provide(Stages.layer(options.stepper, options.timings)),
    Layer.provideMerge(
      Layer.scopedDiscard(
        Effect.forkScoped(Watchdog.run({ stallAfter: options.timings?.stallAfter, ...options.watchdog }))
      )
    )
  )
  return work.pipe(Layer.provide(engine))
}
