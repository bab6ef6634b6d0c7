/** `reelay worker`: its flags. */
import * as Shared from "../SharedFlags.js"
import * as Spec from "../Spec.js"

export const spec = Spec.command({
  name: "worker",
  description:
    "Join the cluster of a PostgreSQL journal and run the batches enqueued there (reelay batch --enqueue), until SIGTERM.",
  args: {},
  flags: {
    address: Spec.text("address", "Where the other workers reach this one, as host:port.", {
      default: "this machine's name, port 34431"
    }),
    listen: Spec.text("listen", "Where this worker listens, as host:port.", {
      default: "0.0.0.0 and the port of --address"
    }),
    pollInterval: Spec.text("poll-interval", "How often to look for work sent to this worker: 500ms, 1s.", {
      default: "1s"
    }),
    lockExpiration: Spec.text(
      "lock-expiration",
      "How long the shards of a worker killed outright stay locked before others take them: 10s, 35s.",
      { default: "35s" }
    ),
    stopTimeout: Spec.text("stop-timeout", "How long stages in flight may finish after SIGTERM: 30s, 2m.", {
      default: "2m"
    }),
    stallAfter: Spec.text(
      "stall-after",
      "How long an item may go unmoved past its planned wait before it is driven again: 2m, 10m.",
      { default: "10m" }
    ),
    watchdog: Spec.text("watchdog", "How often to look for stalled items and drive them again: 30s, 1m.", {
      default: "1m"
    }),
    maxCost: Shared.maxCost,
    timeout: Shared.timeout,
    ...Shared.concurrency,
    ...Shared.sources
  }
})

export type Args = Spec.Parsed<typeof spec>
