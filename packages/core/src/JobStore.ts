/**
 * Where a batch keeps its state. The engine records every event of every item here *before* it
 * moves on, so a durable store (the journal) can tell after a crash exactly how far each item got:
 * the `Submitting` intent is committed before the billable call, the task id (`Submitted`) the
 * moment it returns, and `Saved` once the file is on disk.
 *
 * Without a store in the context, `generateMany` keeps its state in memory (`memory`).
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { AssetSource } from "./AssetSource.js"
import type { BillingOutcome } from "./Billing.js"
import { GenerateRequest } from "./GenerateRequest.js"
import type { GenerationEvent } from "./GenerationEvent.js"
import type { SavedVideo } from "./SavedVideo.js"
import type { TaskHandle } from "./TaskHandle.js"
import { InvalidRequest, type VideoError } from "./VideoError.js"

/** One item of a batch. */
export interface JobItem {
  /** Unique within the batch; the same key is generated once however often it is submitted. */
  readonly key: string
  /** `fingerprint(request)`: equal requests in one batch are generated once. */
  readonly fingerprint: string
  readonly request: GenerateRequest
  /** Where the video goes. */
  readonly output: string
}

/** Where an item stands when a batch is opened, and so what the engine does with it. */
export type Resumption =
  /**
   * Nothing billable happened: validate, reserve, submit. `idempotencyKey`, when set, is sent on the
   * first create instead of a new one (an uncertain item re-created: the same logical submission).
   */
  | {
      readonly _tag: "Fresh"
      readonly idempotencyKey?: string | undefined
      /** The route an uncertain create went to: sent again with the same key, it goes there and only there. */
      readonly route?: { readonly provider: string; readonly model: string } | undefined
    }
  /**
   * A task exists: poll it, never create another. `billed` is how its charge was counted so far
   * (`charged` for a per-request create, `unknown` for a task that may still be billed); when
   * absent, the charge policy decides.
   */
  | { readonly _tag: "Poll"; readonly handle: TaskHandle; readonly billed?: BillingOutcome | undefined }
  /** The video is ready: fetch it (from `asset` if still valid, else ask the provider again). */
  | { readonly _tag: "Fetch"; readonly handle: TaskHandle; readonly asset?: AssetSource | undefined }
  /**
   * The video was saved: check the file's sha256, and fetch again (from `asset` while it is valid)
   * only if the file is gone or damaged.
   */
  | {
      readonly _tag: "Verify"
      readonly video: SavedVideo
      readonly handle?: TaskHandle | undefined
      readonly asset?: AssetSource | undefined
    }
  /** A create was sent and its answer never recorded: a task may exist. Reported, not re-created. */
  | {
      readonly _tag: "Uncertain"
      readonly idempotencyKey: string
      /** Where the create went, when the store knows: a request with routes is re-created there only. */
      readonly route?: { readonly provider: string; readonly model: string } | undefined
    }
  /** The item already ended without a video. Reported again, not retried. */
  | { readonly _tag: "Ended"; readonly error: VideoError }
  /** Another item of the batch has the same key or request; this one is not generated again. */
  | { readonly _tag: "Duplicate"; readonly of: string }

/**
 * The store could not record or read (a full disk, a database gone). The run stops: nothing
 * billable may go on unrecorded, so the engine ends the whole batch with this error.
 */
export class JobStoreError extends Schema.TaggedError<JobStoreError>()("JobStoreError", {
  operation: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * Another process took this item over (this one's claim expired, say after the machine slept):
 * this process stops working it at once, without reporting it failed; the new owner reports it.
 */
export class ClaimLost extends Schema.TaggedError<ClaimLost>()("ClaimLost", {
  batch: Schema.String,
  key: Schema.String,
  message: Schema.String
}) {}

/** Where one item of an opened batch stands. */
export interface Plan {
  readonly key: string
  readonly resumption: Resumption
  /**
   * `false` for an item that does not own its record (its key was used earlier for another request,
   * or earlier in the same call): it is reported, never claimed. Default `true`.
   */
  readonly claimable?: boolean | undefined
}

/** Whether this process may work an item now. */
export type Claim =
  /** It is this process's until it gives it back: `resumption` says where it stands now. */
  | { readonly _tag: "Claimed"; readonly resumption: Resumption }
  /** A live process works it (`holder` names it: pid and host); ask again later. */
  | { readonly _tag: "Held"; readonly holder: string }

/**
 * Items shared by several processes: each item is worked by at most one live process at a time,
 * through a lease the store keeps (owner, expiry, heartbeat). A process works only what it has
 * claimed; an item is taken over only when its owner's lease has expired (or the owner is known to
 * be dead), so a create in flight in a live process is never called uncertain by another.
 */
export interface Claims {
  /**
   * Takes `key` for this process, or says who holds it. Taking over an item whose owner died while
   * creating it marks it uncertain (its create may have reached the provider).
   */
  readonly claim: (batch: string, key: string) => Effect.Effect<Claim, JobStoreError>
  /** Gives an item back (it ended here, or this run stops). */
  readonly unclaim: (batch: string, key: string) => Effect.Effect<void, JobStoreError>
  /**
   * Fails once this process can no longer keep its leases (the store stayed unreachable until they
   * expired): everything it holds may be taken over, so it must stop. Never succeeds.
   */
  readonly lost: Effect.Effect<never, JobStoreError>
  /** How long to wait before asking again for an item another process holds. */
  readonly recheck: Duration.DurationInput
}

export interface Service {
  /**
   * Opens a batch: records items not seen before and says for every item where it stands.
   * Items are answered in the order given. With `claims`, where an item stands is only final once
   * it is claimed (another process may be moving it).
   */
  readonly open: (batch: string, items: ReadonlyArray<JobItem>) => Effect.Effect<ReadonlyArray<Plan>, JobStoreError>
  /**
   * Records one event of one item, durably, before returning. The engine waits for it: a billable
   * call is never made before its intent is recorded. Fails with `ClaimLost` when another process
   * holds the item now.
   *
   * Besides the events the engine reports, the store hears every settlement: a `Charged` event with
   * billing `not-charged` (never emitted to the engine's stream) says an attempt cost nothing.
   */
  readonly record: (
    batch: string,
    key: string,
    event: GenerationEvent
  ) => Effect.Effect<void, JobStoreError | ClaimLost>
  /**
   * Allows re-creating an `Uncertain` item: the caller accepts it may be billed twice. The store
   * marks it so; the engine then treats it as fresh.
   */
  readonly release?: ((batch: string, key: string) => Effect.Effect<void, JobStoreError | ClaimLost>) | undefined
  /** Present when several processes may share a batch (a durable journal). */
  readonly claims?: Claims | undefined
}

export class JobStore extends Context.Tag("@reelay/core/JobStore")<JobStore, Service>() {}

const canonical = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(canonical)
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])])
    )
  }
  return value
}

const encodeRequest = Schema.encodeSync(GenerateRequest)

/**
 * A stable hash of what a request asks for (keys sorted, images by content or path), so the same
 * request in one batch is recognised however its fields were ordered.
 */
export const fingerprint = (request: GenerateRequest): string =>
  createHash("sha256")
    .update(JSON.stringify(canonical(encodeRequest(request))))
    .digest("hex")

/**
 * What the items of one batch mean for each other: a later item with the key of an earlier one and
 * the same request repeats it, with another request it is refused (a key names one video); a later
 * item with another key but the same request repeats it too. Returns the resumption of every such
 * later item, by index.
 */
export const withinBatch = (items: ReadonlyArray<JobItem>): ReadonlyMap<number, Resumption> => {
  const byKey = new Map<string, JobItem>()
  const byFingerprint = new Map<string, string>()
  const plans = new Map<number, Resumption>()
  items.forEach((item, index) => {
    const sameKey = byKey.get(item.key)
    if (sameKey !== undefined) {
      plans.set(
        index,
        sameKey.fingerprint === item.fingerprint
          ? { _tag: "Duplicate", of: item.key }
          : {
              _tag: "Ended",
              error: new InvalidRequest({
                field: "key",
                billing: "not-charged",
                message: `item key ${JSON.stringify(item.key)} is used twice in this batch for different requests; a key names one video, give each request its own`
              })
            }
      )
      return
    }
    const sameRequest = byFingerprint.get(item.fingerprint)
    if (sameRequest !== undefined) {
      plans.set(index, { _tag: "Duplicate", of: sameRequest })
      return
    }
    byKey.set(item.key, item)
    byFingerprint.set(item.fingerprint, item.key)
  })
  return plans
}

/** State in memory: every item is fresh except duplicates within the call. Nothing survives a crash. */
export const memory: Service = {
  open: (_batch, items) => {
    const plans = withinBatch(items)
    return Effect.succeed(
      items.map((item, index) => ({ key: item.key, resumption: plans.get(index) ?? { _tag: "Fresh" as const } }))
    )
  },
  record: () => Effect.void
}

export const layerMemory: Layer.Layer<JobStore> = Layer.succeed(JobStore, memory)
