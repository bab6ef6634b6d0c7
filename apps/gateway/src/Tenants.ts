/**
 * The tenants of `reelay.config.json`'s `gateway` section, each with its key read from the variable
 * it names. A request's bearer key is compared with each in constant time (over their SHA-256
 * digests, so neither the keys' contents nor their lengths show in the timing); keys are never
 * logged or quoted.
 *
 * @since 0.1.0
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { UsageError } from "@reelay/config/ConfigError"
import type * as ConfigFile from "@reelay/config/ConfigFile"
import * as Settings from "@reelay/config/Settings"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { TenantInfo } from "./Api.js"

export interface Tenants {
  /** The tenant holding `key`, if any. */
  readonly find: (key: Redacted.Redacted<string>) => TenantInfo | undefined
  readonly all: ReadonlyArray<TenantInfo>
}

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest()

/** The secret in variable `name` (read through Effect's `Config`), trimmed; `""` when unset. */
export const secretIn = (name: string): Effect.Effect<string> =>
  Config.option(Config.redacted(name)).pipe(
    Effect.map(Option.match({ onNone: () => "", onSome: (value) => Redacted.value(value).trim() })),
    Effect.orElseSucceed(() => "")
  )

/**
 * The tenants of `file`, their keys read through Effect's `Config`. A tenant whose variable is unset
 * or blank is refused: a gateway must not start with a tenant nobody can reach, nor with an empty key.
 */
export const load = (file: ConfigFile.Loaded): Effect.Effect<Tenants, UsageError> =>
  Effect.gen(function* () {
    const tenants = file.gateway?.tenants ?? []
    if (tenants.length === 0) {
      return yield* new UsageError({
        message: `${file.path} names no gateway tenants; add "gateway": { "tenants": [{ "id": "team-a", "keyEnv": "TEAM_A_KEY" }] }`
      })
    }
    const entries: Array<{ readonly info: TenantInfo; readonly key: Buffer }> = []
    // A provider's key is the vendor's: as a tenant's bearer key it would let a team spend as the gateway.
    const providerKeys = new Set(Settings.variableNames(file).secret)
    for (const tenant of tenants) {
      if (providerKeys.has(tenant.keyEnv)) {
        return yield* new UsageError({
          message: `gateway tenant "${tenant.id}": ${tenant.keyEnv} holds a provider's key; give the tenant a key of its own`
        })
      }
      const value = yield* secretIn(tenant.keyEnv)
      if (value === "") {
        return yield* new UsageError({
          message: `gateway tenant "${tenant.id}" has no key: set ${tenant.keyEnv}`
        })
      }
      const key32 = digest(value)
      const twin = entries.find((entry) => timingSafeEqual(entry.key, key32))
      if (twin !== undefined) {
        // One key for two tenants would let each see the other's videos.
        return yield* new UsageError({
          message: `gateway tenants "${twin.info.id}" and "${tenant.id}" have the same key; give each its own`
        })
      }
      const budget =
        tenant.budget === undefined
          ? undefined
          : yield* Either.match(Settings.parseDollars(String(tenant.budget), `gateway tenant "${tenant.id}" budget`), {
              onLeft: Effect.fail,
              onRight: Effect.succeed
            })
      entries.push({ info: { id: tenant.id, profile: tenant.profile, budget }, key: key32 })
    }
    return {
      all: entries.map((entry) => entry.info),
      find: (key) => {
        const presented = digest(Redacted.value(key).trim())
        // Every tenant is compared, whatever matches: the time does not tell which one did.
        let found: TenantInfo | undefined
        for (const entry of entries) {
          if (timingSafeEqual(entry.key, presented) && found === undefined) found = entry.info
        }
        return found
      }
    }
  })
