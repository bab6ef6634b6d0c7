/**
 * reelay on many machines: a durable workflow per video on `@effect/cluster` and `@effect/workflow`,
 * over PostgreSQL, with the journal deciding money and files.
 *
 * @since 0.1.0
 */
export * as ClusterSettings from "./ClusterSettings.js"
export * as Enqueue from "./Enqueue.js"
export * as Stages from "./Stages.js"
export * as Storage from "./Storage.js"
export * as VideoWorkflow from "./VideoWorkflow.js"
export * as Watchdog from "./Watchdog.js"
export * as Worker from "./Worker.js"
