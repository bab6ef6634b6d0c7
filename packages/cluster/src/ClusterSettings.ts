/**
 * How every process of one reelay cluster is set up: the settings that must be the same on every
 * worker and every enqueuer (the shard count decides which worker owns which workflow: a process
 * that counted shards differently would file work where nobody looks), and the timings a worker
 * may tune. They are passed explicitly, never read from the environment: `@effect/cluster`'s own
 * environment reading takes `HOST` and `PORT`, which a machine may set for something else.
 *
 * @since 0.1.0
 */
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as Duration from "effect/Duration"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/** Shards per group: the same on every process of a cluster. */
export const shardsPerGroup = 300

/** Where a worker is reached by the others, and where it listens. */
export interface Address {
  readonly host: string
  readonly port: number
}

export interface Timings {
  /**
   * How often a worker looks in the database for work sent to its shards, and so how late a
   * durable wait may wake (default 1 s; Effect's default is 10 s).
   */
  readonly pollInterval?: Duration.DurationInput | undefined
  /**
   * How long a worker that stopped renewing its shard locks keeps them: a worker killed outright
   * is replaced after this (default 35 s).
   */
  readonly lockExpiration?: Duration.DurationInput | undefined
  /**
   * How long a worker asked to stop lets the stages it runs finish before it lets them go to
   * another worker (default 2 minutes: a create is never cut off before its answer is recorded).
   */
  readonly stopTimeout?: Duration.DurationInput | undefined
  /** See `defaultStallAfter`. */
  readonly stallAfter?: Duration.DurationInput | undefined
}

/** `stallAfter` in milliseconds. */
export const stallMillis = (timings: Timings | undefined): number =>
  Duration.toMillis(timings?.stallAfter ?? defaultStallAfter)

/** The sharding configuration of a worker at `address` (listening on `listen`), or of an enqueuer (`address` absent). */
export const sharding = (
  role: { readonly address: Address; readonly listen?: Address | undefined } | undefined,
  timings: Timings = {}
): Layer.Layer<ShardingConfig.ShardingConfig> => {
  const lockExpiration = Duration.decode(timings.lockExpiration ?? "35 seconds")
  const pollInterval = Duration.decode(timings.pollInterval ?? "1 second")
  return ShardingConfig.layer({
    runnerAddress:
      role === undefined ? Option.none() : Option.some(RunnerAddress.make(role.address.host, role.address.port)),
    runnerListenAddress:
      role?.listen === undefined ? Option.none() : Option.some(RunnerAddress.make(role.listen.host, role.listen.port)),
    shardsPerGroup,
    entityMessagePollInterval: pollInterval,
    refreshAssignmentsInterval: Duration.min(pollInterval, Duration.seconds(3)),
    // The locks are renewed every third of this (the cluster takes the smaller of that and its own
    // refresh interval), so nothing else needs setting.
    shardLockExpiration: lockExpiration,
    runnerHealthCheckInterval: Duration.min(lockExpiration, Duration.minutes(1)),
    entityTerminationTimeout: timings.stopTimeout ?? "2 minutes"
  })
}

/**
 * How long an item may go unmoved past the wait its workflow planned before the watchdog drives it
 * again (default 10 minutes). An item a live process holds (a stage running, however long) is
 * never driven again.
 */
export const defaultStallAfter = Duration.minutes(10)
