/**
 * The settings of the command being run, resolved once from its flags (`Setup.settings`: flags over
 * the environment over the profile over defaults) and provided as a service, so no command repeats
 * the setup. Which parsed values are settings is read from the command's spec: the shared flags
 * (`SharedFlags`) are; a command's own flags of the same name (`cost --provider`, a filter) are not.
 *
 * @since 0.1.0
 */
import type { ConfigFileError, UsageError as UsageErrorType } from "@reelay/config/ConfigError"
import { UsageError } from "@reelay/config/ConfigError"
import type * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import type { InvalidRequest } from "@reelay/core/VideoError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Shared from "./SharedFlags.js"
import type * as Spec from "./Spec.js"

export interface Service {
  /** The flags that take part in resolution, as given (a resume resolves them again under a batch's profile). */
  readonly flags: Setup.Flags
  readonly settings: Settings.Settings
}

export class CommandSettings extends Context.Tag("@reelay/cli/CommandSettings")<CommandSettings, Service>() {}

/** Which `Setup.Flags` field each shared flag sets. */
const fields = new Map<Spec.Flag<unknown>, keyof Setup.Flags>([
  [Shared.provider, "provider"],
  [Shared.model, "model"],
  [Shared.baseUrl, "baseUrl"],
  [Shared.maxCost, "maxCost"],
  [Shared.timeout, "timeout"],
  [Shared.profile, "profile"],
  [Shared.config, "config"],
  [Shared.journal, "journal"]
])

const stages = [
  [Shared.concurrency.concurrencySubmit, "submit", "--concurrency-submit"],
  [Shared.concurrency.concurrencyStatus, "status", "--concurrency-status"],
  [Shared.concurrency.concurrencyDownload, "download", "--concurrency-download"]
] as const

const given = (value: unknown): unknown => (Option.isOption(value) ? Option.getOrUndefined(value) : value)

/** The resolution flags among `args`, checked (a concurrency below 1 is refused). */
export const flagsOf = (
  spec: Spec.AnySpec,
  args: Record<string, unknown>
): Effect.Effect<Setup.Flags, UsageErrorType> =>
  Effect.gen(function* () {
    const flags: Record<string, unknown> = {}
    const concurrency: Record<string, number | undefined> = {}
    for (const [key, flag] of Object.entries(spec.flags)) {
      const field = fields.get(flag)
      if (field !== undefined) flags[field] = given(args[key])
      const stage = stages.find(([shared]) => shared === flag)
      if (stage !== undefined) {
        const value = given(args[key]) as number | undefined
        if (value !== undefined && value < 1) {
          return yield* new UsageError({ message: `${stage[2]} must be at least 1, got ${value}` })
        }
        concurrency[stage[1]] = value
      }
    }
    return { ...flags, ...(Object.keys(concurrency).length === 0 ? {} : { concurrency }) } as Setup.Flags
  })

/** The service for a command of `spec` run with `args`. */
export const layer = (
  spec: Spec.AnySpec,
  args: Record<string, unknown>
): Layer.Layer<CommandSettings, UsageErrorType | ConfigFileError | InvalidRequest> =>
  Layer.effect(
    CommandSettings,
    Effect.gen(function* () {
      const flags = yield* flagsOf(spec, args)
      return { flags, settings: yield* Setup.settings(flags) }
    })
  )
