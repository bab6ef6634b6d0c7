/**
 * What a provider package tells the tools that load it (the `reelay` command, `@reelay/client`,
 * `reelay models`, `reelay config`, the built-in simulator's wiring) without their knowing the
 * package: its id and mode, the environment variables holding its key and base URL, its default
 * base URL, its catalog, how to build it from settings, and which simulated host speaks its protocol,
 * if any. Each provider package exports one as `descriptor`; the tools derive everything from the
 * list of descriptors, so none of them names a provider.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Effect from "effect/Effect"
import type * as Redacted from "effect/Redacted"
import type { ModelSpec } from "./ModelSpec.js"
import type * as VideoProvider from "./VideoProvider.js"

/** The version of this contract a descriptor declares, so a loader can tell another version's. */
export const contractVersion = 1 as const

/** How a tool builds the provider: its registry id, base URL and key, as the settings resolved them. */
export interface BuildOptions {
  readonly id: string
  readonly baseUrl: string
  /** Absent when no variable holds a key: the provider is built, and every call fails before sending. */
  readonly apiKey: Redacted.Redacted<string> | undefined
}

export interface ProviderDescriptor {
  readonly contract: typeof contractVersion
  /** The registry id (`--provider`, `REELAY_PROVIDER`). */
  readonly id: string
  readonly mode: VideoProvider.Service["mode"]
  /** The variables holding its key and its base URL, the first one set winning. */
  readonly env: { readonly apiKey: ReadonlyArray<string>; readonly baseUrl: ReadonlyArray<string> }
  readonly defaultBaseUrl: string
  readonly models: ReadonlyArray<ModelSpec>
  readonly build: (options: BuildOptions) => Effect.Effect<VideoProvider.Service, never, HttpClient.HttpClient>
  /** The built-in simulator's host that speaks its protocol, when it has one (`simulator:<id>`). */
  readonly simulatorHost?: "laozhang" | "apiyi" | undefined
}

/** A descriptor of this contract's version. */
export const make = (descriptor: Omit<ProviderDescriptor, "contract">): ProviderDescriptor => ({
  contract: contractVersion,
  ...descriptor
})
