/**
 * `reelay worker`: a runner of the reelay cluster (`@reelay/cluster`). It joins through the
 * PostgreSQL journal, runs the video workflows of the shards it holds with its own engine and
 * concurrency limits, drives stalled items again, and serves until SIGTERM, when it lets the
 * stages in flight finish and gives its shards back.
 *
 * @since 0.1.0
 */
import * as NodeOs from "node:os"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as ExitCode from "@reelay/client/ExitCode"
import * as Session from "@reelay/client/Run"
import type * as ClusterSettings from "@reelay/cluster/ClusterSettings"
import * as Worker from "@reelay/cluster/Worker"
import { UsageError } from "@reelay/config/ConfigError"
import * as Layers from "@reelay/config/Layers"
import * as Providers from "@reelay/config/Providers"
import * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import * as Budget from "@reelay/core/Budget"
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import * as JobStore from "@reelay/core/JobStore"
import * as Money from "@reelay/core/Money"
import { Database, Journal } from "@reelay/journal"
import { JournalError } from "@reelay/journal/JournalError"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Redacted from "effect/Redacted"
import * as CommandSettings from "../CommandSettings.js"
import * as Output from "../Output.js"
import * as Render from "../Render.js"
import * as Signals from "../Signals.js"
import type { Args as WorkerArgs } from "../specs/Worker.js"

const { opt } = Setup

/** The port a worker listens on when `--address` names none. */
export const defaultPort = 34431

/** `host:port` (`[v6]:port` for IPv6), or a usage error naming the flag. */
export const parseAddress = (
  text: string,
  flag: string,
  defaultPortNumber?: number
): Either.Either<ClusterSettings.Address, UsageError> => {
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(text.trim())
  const host = match?.[1] ?? match?.[2]
  const port = match?.[3] === undefined ? defaultPortNumber : Number(match[3])
  if (host === undefined || port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
    return Either.left(
      new UsageError({
        message: `${flag} must be host:port with a port from 1 to 65535 (such as 10.0.0.5:${defaultPort}), got "${text}"`
      })
    )
  }
  return Either.right({ host, port })
}

const durationOf = (text: string | undefined, flag: string, fallback: string) =>
  Effect.map(Settings.parseTimeout(text ?? fallback, flag), (millis) => `${millis} millis` as const)

/** A PostgreSQL URL as it may be shown: host, port and database, never the user or password. */
export const databaseName = (url: Redacted.Redacted<string>): string => {
  try {
    const parsed = new URL(Redacted.value(url))
    return `${parsed.hostname}${parsed.port === "" ? "" : `:${parsed.port}`}${parsed.pathname}`
  } catch {
    return "the PostgreSQL journal"
  }
}

/** The events an operator of a worker follows, of thousands of videos: creates, ends, warnings. */
const followed: ReadonlySet<GenerationEvent["_tag"]> = new Set(["Submitted", "Saved", "Failed", "Warning"])

/** Runs the command. */
export const run = (args: WorkerArgs) =>
  Effect.scoped(
    Effect.gen(function* () {
      const { settings } = yield* CommandSettings.CommandSettings
      if (!Layers.isPostgres(settings.journal.value)) {
        return yield* new UsageError({
          message: `reelay worker needs a PostgreSQL journal (--journal postgres://...), where the workers of a cluster meet; got ${settings.journal.source === "default" ? "the default SQLite journal" : `a SQLite path (${settings.journal.source})`}`
        })
      }
      const address = yield* parseAddress(opt(args.address) ?? `${NodeOs.hostname()}:${defaultPort}`, "--address")
      const listen = yield* parseAddress(opt(args.listen) ?? `0.0.0.0:${address.port}`, "--listen", address.port)
      const timings: ClusterSettings.Timings = {
        pollInterval: yield* durationOf(opt(args.pollInterval), "--poll-interval", "1s"),
        lockExpiration: yield* durationOf(opt(args.lockExpiration), "--lock-expiration", "35s"),
        stopTimeout: yield* durationOf(opt(args.stopTimeout), "--stop-timeout", "2m"),
        stallAfter: yield* durationOf(opt(args.stallAfter), "--stall-after", "10m")
      }
      const watchdog = yield* durationOf(opt(args.watchdog), "--watchdog", "1m")

      const stop = yield* Deferred.make<void>()
      // The first signal stops gracefully (stages in flight finish); a second stops at once.
      yield* Signals.handle((_signal, count) => {
        if (count === 1) Deferred.unsafeDone(stop, Exit.void)
        else process.exit(ExitCode.interrupted)
      })

      const journal = yield* Layer.build(Layers.journalLayer(settings))
      const reader = Context.get(journal, Journal.Journal)
      // Workers reach providers over the network: the built-in simulator lives inside one process,
      // so a cluster uses a simulator server (`reelay simulate`) like any provider.
      const registry = yield* Providers.registry(settings, undefined)
      const engine = yield* Session.engineOf(settings, {
        registry,
        budget: yield* Budget.make(),
        journal,
        downloads: yield* Layer.build(Layers.downloadClient)
      })
      const limit = settings.budget?.value
      const stepper = yield* engine.stepper({
        concurrency: {
          submit: settings.concurrency.submit?.value,
          status: settings.concurrency.status?.value,
          download: settings.concurrency.download?.value
        },
        // Each worker holds only its own reservations: a batch's budget (the smaller of the one it
        // was enqueued with and this worker's --max-cost) is held to what the journal says every
        // worker spent, and possibly spent, on it so far. Read only by stages that may reserve.
        budgetOf: (batch) =>
          Effect.gen(function* () {
            const recorded = (yield* reader.settingsOf(batch)).budget
            const limits = [limit, recorded === undefined ? undefined : Money.usd(recorded)].filter(
              (value): value is Money.Usd => value !== undefined
            )
            if (limits.length === 0) return yield* Budget.make()
            const costs = yield* reader.batchCosts(batch)
            return yield* Budget.make({
              limit: limits.reduce((least, value) => (Money.greaterThan(least, value) ? value : least)),
              spent: costs.budget.spent,
              uncertain: costs.budget.uncertain
            })
          }).pipe(
            Effect.mapError(
              (error) => new JobStore.JobStoreError({ operation: "read the batch's budget", message: error.message })
            )
          ),
        onEvent: (batch, event) => {
          const line = followed.has(event._tag) ? Render.eventLine(event) : undefined
          return line === undefined ? Effect.void : Output.stderr(`reelay worker: ${batch}/${line}`)
        }
      })
      yield* Layer.build(
        Worker.layer({ address, listen, timings, stepper, watchdog: { interval: watchdog } }).pipe(
          Layer.provide(PgClient.layer({ url: settings.journal.value })),
          Layer.provide(Layer.succeedContext(journal))
        )
      ).pipe(
        Effect.catchTags({
          SocketServerError: (error) =>
            Effect.fail(
              new UsageError({
                message: `cannot listen on ${listen.host}:${listen.port} (${error.reason}); choose another --listen or --address port`
              })
            ),
          SqlError: (error) =>
            Effect.fail(
              new JournalError({
                operation: "join the cluster",
                message: `the cluster's tables in ${databaseName(settings.journal.value)} could not be prepared: ${Database.explain(error)}`
              })
            )
        })
      )
      yield* Output.stdout(`${address.host}:${address.port}`)
      yield* Output.stderr(
        `reelay: worker ${address.host}:${address.port} joined the cluster of ${databaseName(settings.journal.value)}; SIGTERM to stop`
      )
      // A worker that can no longer keep its claims (the journal unreachable until they expired)
      // must stop: every item it holds may be taken over by another.
      const lost = Context.get(journal, JobStore.JobStore).claims?.lost ?? Effect.never
      yield* Effect.raceFirst(Deferred.await(stop), lost)
      yield* Output.stderr("reelay: worker stopping: stages in flight finish, then the shards go to other workers")
    })
  ).pipe(
    Effect.provide(NodeHttpClient.layerUndici),
    // The cluster's log lines (shards taken, runners seen) and the watchdog's go to stderr with the
    // rest of what the worker says; stdout holds only its address.
    Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)))
  )
