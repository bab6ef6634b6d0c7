/**
 * The crash test's batch runner, a child process (`tsx test/crash/runner.ts`): the real engine,
 * the real journal (SQLite) and the real laozhang provider pointed at the simulator. It kills
 * itself with SIGKILL at the injected point, so nothing gets a chance to clean up: what survives is
 * only what was on disk.
 *
 * Environment: CRASH_JOURNAL, CRASH_OUTPUT, CRASH_BATCH, CRASH_ROUND, CRASH_ITEMS, CRASH_BASE_URL,
 * CRASH_KILL (a kill point or `none`), CRASH_KILL_AT (the occurrence to kill at, from 1),
 * CRASH_RECREATE (`1`: re-create items whose create is uncertain), CRASH_SUBMIT_CONCURRENCY (default:
 * the engine's, 10).
 *
 * Prints `OPENED <json>` (how many items resume how) once the batch is opened. Exits 0 when every
 * item is saved or reported uncertain, 3 when some item failed otherwise; its last line on stdout is
 * `REPORT <json>`.
 */
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Budget from "@reelay/core/Budget"
import * as Engine from "@reelay/core/Engine"
import * as JobStore from "@reelay/core/JobStore"
import * as ProviderRegistry from "@reelay/core/ProviderRegistry"
import type * as VideoProvider from "@reelay/core/VideoProvider"
import * as Journal from "@reelay/journal/Journal"
import { Laozhang } from "@reelay/provider-laozhang"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { items, KillPoint, type Report, timeScale } from "./batch.js"

const env = (name: string) => {
  const value = process.env[name]
  if (value === undefined || value === "") throw new Error(`the crash runner needs ${name}`)
  return value
}

const kill = process.env.CRASH_KILL ?? "none"
const killAt = Number(process.env.CRASH_KILL_AT ?? "1")
if (kill !== "none" && !(KillPoint as ReadonlyArray<string>).includes(kill))
  throw new Error(`unknown kill point ${kill}`)

let reached = 0
/** Counts an arrival at `point`; the `killAt`-th one ends the process on the spot. */
const arrive = (point: KillPoint) => {
  if (point !== kill) return
  reached++
  if (reached === killAt) process.kill(process.pid, "SIGKILL")
}

const wrapProvider = (provider: VideoProvider.AsyncVideoProvider): VideoProvider.AsyncVideoProvider => ({
  ...provider,
  submit: (input) =>
    Effect.suspend(() => {
      arrive("before-submit")
      return provider.submit(input).pipe(Effect.tap(() => Effect.sync(() => arrive("after-create"))))
    })
})

/** Bytes of `key`'s video already in its `.part` file (0 when there is none). */
const partBytes = (key: string) => {
  try {
    return NodeFs.statSync(NodePath.join(env("CRASH_OUTPUT"), `${key}.mp4.part`)).size
  } catch {
    return 0
  }
}

const wrapStore = (store: JobStore.Service): JobStore.Service => ({
  ...store,
  // How the journal says each item resumes; printed at once (stdout is a pipe: synchronous on
  // Linux), so a run killed later still tells the test what it resumed.
  open: (batch, items) =>
    Effect.tap(store.open(batch, items), (plans) =>
      Effect.sync(() => {
        const counts: Record<string, number> = {}
        for (const plan of plans) counts[plan.resumption._tag] = (counts[plan.resumption._tag] ?? 0) + 1
        process.stdout.write(`OPENED ${JSON.stringify(counts)}\n`)
      })
    ),
  record: (batch, key, event) =>
    Effect.tap(store.record(batch, key, event), () =>
      Effect.sync(() => {
        if (event._tag === "Submitted") arrive("after-commit")
        // A download in progress: a progress report with some of the bytes, or a transfer that was
        // cut and is about to be resumed. Counted only when part of the video is really on disk.
        const downloading =
          (event._tag === "Downloading" &&
            event.receivedBytes > 0 &&
            (event.totalBytes === undefined || event.receivedBytes < event.totalBytes)) ||
          (event._tag === "Retrying" && event.operation === "download")
        if (downloading && partBytes(key) > 0) arrive("mid-download")
      })
    )
})

const batch = env("CRASH_BATCH")

const program = Effect.gen(function* () {
  const journal = yield* Journal.Journal
  const store = yield* JobStore.JobStore
  // What earlier runs of this batch spent, so a budget would count it (no limit here).
  const costs = yield* journal.batchCosts(batch)
  const budget = yield* Budget.make({ spent: costs.budget.spent, uncertain: costs.budget.uncertain })
  const laozhang = yield* Laozhang.make({
    apiKey: Redacted.make("sk-crash-test"),
    baseUrl: env("CRASH_BASE_URL")
  })
  const registry = yield* ProviderRegistry.make([wrapProvider(laozhang)]).pipe(Effect.orDie)
  const engine = yield* Engine.make({
    polling: { timeScale },
    download: { retry: { baseDelay: "400 millis" } }
  }).pipe(
    Effect.provideService(ProviderRegistry.ProviderRegistry, registry),
    Effect.provideService(Budget.Budget, budget),
    Effect.provideService(JobStore.JobStore, wrapStore(store))
  )
  const report = yield* engine.runMany(items(Number(env("CRASH_ROUND")), Number(env("CRASH_ITEMS"))), {
    batch,
    outputDir: env("CRASH_OUTPUT"),
    recreateUncertain: process.env.CRASH_RECREATE === "1",
    ...(process.env.CRASH_SUBMIT_CONCURRENCY === undefined
      ? {}
      : { concurrency: { submit: Number(process.env.CRASH_SUBMIT_CONCURRENCY) } })
  })
  const failed = [...report.failed.entries()]
  return {
    saved: [...report.saved.keys()].sort(),
    uncertain: failed.flatMap(([key, error]) => (error._tag === "UncertainSubmission" ? [key] : [])).sort(),
    failed: failed.flatMap(([key, error]) =>
      error._tag === "UncertainSubmission" ? [] : [{ key, tag: error._tag, message: error.message }]
    ),
    duplicates: [...report.duplicates.keys()]
  } satisfies Report
})

program
  .pipe(
    Effect.provide(Journal.layerSqlite({ path: env("CRASH_JOURNAL") })),
    Effect.provide(Layer.mergeAll(NodeHttpClient.layerUndici, NodeFileSystem.layer)),
    Effect.runPromise
  )
  .then(
    (report) => {
      process.stdout.write(`REPORT ${JSON.stringify(report)}\n`)
      process.exit(report.failed.length === 0 ? 0 : 3)
    },
    (error: unknown) => {
      process.stderr.write(`crash runner failed: ${String(error)}\n`)
      process.exit(4)
    }
  )
