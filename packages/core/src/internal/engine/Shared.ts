/**
 * What every stage of one engine shares: its services, its options resolved once, and the status
 * slots of each provider (one set for everything the engine runs).
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Budget from "../../Budget.js"
import type { EngineOptions } from "../../Engine.js"
import type * as Gate from "../../Gate.js"
import type * as JobStore from "../../JobStore.js"
import type * as OutputPath from "../../OutputPath.js"
import type * as ProviderRegistry from "../../ProviderRegistry.js"
import type * as ResponseBody from "../../ResponseBody.js"
import type * as RetryPolicy from "../../RetryPolicy.js"

export interface Shared {
  readonly registry: ProviderRegistry.Service
  readonly budget: Budget.Service
  readonly store: JobStore.Service
  readonly platform: Context.Context<HttpClient.HttpClient | FileSystem.FileSystem>
  readonly fs: FileSystem.FileSystem
  readonly retry: Partial<RetryPolicy.RetryOptions> | undefined
  readonly regeneration: RetryPolicy.RegenerationOptions
  /** Limit on one status or content call. */
  readonly requestTimeout: Duration.Duration
  /** Limit on one create call. */
  readonly submitTimeout: Duration.Duration
  readonly answerPace: ResponseBody.Pace
  readonly download: NonNullable<EngineOptions["download"]>
  /** Status slots per provider id, across everything the engine runs. */
  readonly statusGates: ReadonlyMap<string, Gate.Gate>
  /** Output directories proven lately to take new files, shared by the checks of every item. */
  readonly provenDirectories: OutputPath.ProvenDirectories
}
