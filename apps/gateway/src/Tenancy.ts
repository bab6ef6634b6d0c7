/**
 * What the gateway runs for each tenant: its settings (from its profile, never the operator's
 * shell), its providers, its budget (seeded from what its videos already cost, held by the engine's
 * reservations) and one engine. Each video is its own journal batch, so a tenant may ask for the
 * same prompt twice and get two videos, and a gateway started again goes on with every video not
 * finished (`Videos.unfinished`): tasks already created are polled, never created again.
 *
 * Stopping (SIGTERM) starts no new billable call, waits for creates in flight to return their task
 * id and for paid streams to deliver (`Stopping`), then leaves the rest to the next start.
 *
 * @since 0.3.0
 */
import * as NodePath from "node:path"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Run from "@reelay/client/Run"
import * as Stopping from "@reelay/client/Stopping"
import type * as ConfigFile from "@reelay/config/ConfigFile"
import * as Layers from "@reelay/config/Layers"
import * as Providers from "@reelay/config/Providers"
import * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import * as Budget from "@reelay/core/Budget"
import type * as Engine from "@reelay/core/Engine"
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import * as JobStore from "@reelay/core/JobStore"
import * as Polling from "@reelay/core/Polling"
import type * as ProviderRegistry from "@reelay/core/ProviderRegistry"
import type { InvalidRequest } from "@reelay/core/VideoError"
import type { Journal, Videos } from "@reelay/journal"
import type { JournalError } from "@reelay/journal/JournalError"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberMap from "effect/FiberMap"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Api from "./Api.js"
import * as Telemetry from "./Telemetry.js"

/** One tenant's runtime. */
export interface Tenant {
  readonly info: Api.TenantInfo
  readonly settings: Settings.Settings
  readonly registry: ProviderRegistry.Service
  readonly engine: Engine.Service
  readonly polling: Polling.PollingOptions
  /** Its graceful stop, and the budget as the engine holds it (`stopping.budget.snapshot`). */
  readonly stopping: Stopping.Stopping
  readonly videos: Videos.Service
  /** Slots for jobs validating, reserving and creating (`concurrency.submit`, default 10). */
  readonly submits: Effect.Semaphore
}

/**
 * A tenant's settings: its profile's (else the file's default profile), never the operator's
 * shell: REELAY_PROVIDER and the like would reroute and bill every tenant alike.
 */
export const settingsOf = (file: ConfigFile.Loaded, tenant: Api.TenantInfo, journal: string | undefined) =>
  Setup.settings(
    { config: file.path, profile: tenant.profile ?? file.defaultProfile, journal },
    {
      ignore: [
        Settings.env.provider,
        Settings.env.model,
        Settings.env.profile,
        Settings.env.maxCost,
        Settings.env.timeout
      ]
    }
  )

/** The providers a tenant's requests can reach (for starting the built-in simulator when one is its). */
export const providersUsed = (settings: Settings.Settings): ReadonlyArray<string> =>
  settings.routes?.value.map((route) => route.provider) ?? [settings.provider.value]

/** Builds a tenant's runtime over the shared journal (`journal`) and simulator. */
export const make = (options: {
  readonly info: Api.TenantInfo
  readonly settings: Settings.Settings
  readonly simulator: Providers.SimulatorUrls | undefined
  readonly journal: Context.Context<JobStore.JobStore | Journal.Journal | Videos.Videos>
  readonly videos: Videos.Service
  readonly downloads: Context.Context<HttpClient.HttpClient>
}): Effect.Effect<Tenant, InvalidRequest | JournalError, HttpClient.HttpClient | FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const { settings } = options
    const registry = yield* Providers.registry(settings, options.simulator)
    const costs = yield* options.videos.costs(options.info.id)
    const stopping = Stopping.make(
      yield* Budget.make({
        ...(options.info.budget === undefined ? {} : { limit: options.info.budget }),
        spent: costs.spent,
        uncertain: costs.uncertain
      })
    )
    const engine = yield* Run.engineOf(settings, {
      registry,
      budget: stopping.budget,
      journal: Context.make(JobStore.JobStore, guarded(options.info.id, options.journal, options.videos)),
      downloads: options.downloads
    })
    return {
      info: options.info,
      settings,
      registry,
      engine,
      polling: { ...Polling.defaultPollingOptions, ...Layers.pollingOf(settings) },
      stopping,
      videos: options.videos,
      submits: yield* Effect.makeSemaphore(settings.concurrency.submit?.value ?? 10)
    }
  })

/**
 * The journal's `JobStore`, made to keep a video's end final:
 * - the end (`Saved`, `Failed`) is recorded on the video too (`Videos.end`), in the same call and so
 *   before the engine gives its claim back;
 * - the intent of a create (`Submitting`) is refused for a video that has ended or was deleted. A
 *   failure that cost nothing is otherwise created afresh by whichever gateway claims the job next,
 *   after the tenant was told it failed. Refused as a lost claim, the engine stops the item quietly,
 *   before anything is sent.
 */
export const guarded = (
  tenant: string,
  journal: Context.Context<JobStore.JobStore>,
  videos: Pick<Videos.Service, "get" | "end">
): JobStore.Service => {
  const store = Context.get(journal, JobStore.JobStore)
  const failed = (operation: string) => (error: { readonly message: string }) =>
    new JobStore.JobStoreError({ operation, message: error.message })
  return {
    ...store,
    record: (batch, key, event) => {
      if (event._tag === "Saved" || event._tag === "Failed") {
        return Effect.zipRight(
          store.record(batch, key, event),
          Effect.mapError(videos.end(tenant, key), failed("record a video's end"))
        )
      }
      if (event._tag !== "Submitting") return store.record(batch, key, event)
      return Effect.flatMap(Effect.mapError(videos.get(tenant, key), failed("read a video")), (video) =>
        Option.isSome(video) && (video.value.endedAt !== undefined || video.value.deletedAt !== undefined)
          ? Effect.fail(
              new JobStore.ClaimLost({
                batch,
                key,
                message: `video ${key} has already ended (or was deleted); it is not created again`
              })
            )
          : store.record(batch, key, event)
      )
    }
  }
}

/** Where a tenant's video is saved: `<outDir>/<tenant>/<id>.mp4`. */
export const outputOf = (outDir: string, tenant: string, id: string): string =>
  NodePath.resolve(outDir, tenant, `${id}.mp4`)

/**
 * Whether an event says a job no longer needs its submit slot: it is past its create, or another
 * process works it (then this job only waits, and must not keep others from creating).
 */
const pastCreate = (event: GenerationEvent): boolean =>
  (event._tag === "Warning" && event.code === "claimed-elsewhere") ||
  ["Submitted", "Queued", "Progress", "Succeeded", "Downloading", "Saved", "Failed"].includes(event._tag)

/** The jobs running in this process, one fiber per video, keyed by video id. */
export interface Jobs {
  /** Runs `video`'s job on `tenant`'s engine, unless it already runs here. */
  readonly start: (tenant: Tenant, video: Videos.Video) => Effect.Effect<void>
  /** How many jobs run here now. */
  readonly running: Effect.Effect<number>
}

/**
 * The jobs of this process. A job is one video's batch on its tenant's engine; it ends when the
 * video is saved or has failed (both journaled). A job whose journal write fails stops (nothing
 * billable goes on unrecorded) and is taken up again at the next start. Closing the scope
 * interrupts what still runs: stop the tenants first (`Stopping`), so no create is cut mid-call.
 */
export const jobs = (
  /** Runs after each job's stream ends: the video ended, or its job stopped on a journal failure. */
  onEnd: (video: Videos.Video) => Effect.Effect<void>
) =>
  Effect.gen(function* () {
    const fibers = yield* FiberMap.make<string>()
    const start: Jobs["start"] = (tenant, video) => {
      const observe = Telemetry.observer(tenant.info.id)
      // A job holds one of its tenant's submit slots until its create is answered (or it is past its
      // create already): at most `concurrency.submit` videos validate, reserve and create at once.
      let holding = true
      const release = Effect.suspend(() => {
        if (!holding) return Effect.void
        holding = false
        return tenant.submits.release(1)
      })
      const job = tenant.engine
        .generateMany([{ key: video.key, request: video.request, output: video.output }], {
          batch: video.batch,
          concurrency: {
            status: tenant.settings.concurrency.status?.value,
            download: tenant.settings.concurrency.download?.value
          }
        })
        .pipe(
          Stream.runForEach((event) =>
            Effect.all(
              [
                pastCreate(event) ? release : Effect.void,
                Effect.sync(() => tenant.stopping.track(event)),
                Effect.flatMap(Clock.currentTimeMillis, (now) => observe(event, now))
              ],
              { discard: true }
            )
          ),
          Effect.catchAll((error) =>
            Effect.logWarning(
              `reelay gateway: video ${video.id} stopped: ${error.message}; a gateway's sweep takes it up again`
            )
          ),
          Effect.zipRight(onEnd(video)),
          // Its own trace: the create request that started it ended long before.
          Effect.withSpan("Gateway.video", {
            root: true,
            attributes: { "reelay.tenant": tenant.info.id, "reelay.video": video.id }
          })
        )
      return FiberMap.run(
        fibers,
        video.id, // The slot taken and its release set up as one step: an interruption cannot fall between.
        Effect.uninterruptibleMask((restore) =>
          Effect.zipRight(restore(tenant.submits.take(1)), Effect.ensuring(restore(job), release))
        ),
        {
          onlyIfMissing: true
        }
      ).pipe(Effect.asVoid)
    }
    return { start, running: FiberMap.size(fibers) } satisfies Jobs
  })
