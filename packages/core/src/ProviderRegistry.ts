/**
 * The providers an application can use, by id. Choosing one is configuration (a request's
 * `provider` field, `REELAY_PROVIDER`, a profile), never code.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { InvalidRequest } from "./VideoError.js"
import * as VideoProvider from "./VideoProvider.js"

export interface Service {
  readonly providers: ReadonlyArray<VideoProvider.Service>
  /** The provider used when a request names none. */
  readonly defaultProvider: string | undefined
  /** The provider registered under `id`, or the default one when `id` is absent. */
  readonly get: (id?: string | undefined) => Effect.Effect<VideoProvider.Service, InvalidRequest>
}

export class ProviderRegistry extends Context.Tag("@reelay/core/ProviderRegistry")<ProviderRegistry, Service>() {}

export interface Options {
  /** Defaults to the first provider. */
  readonly defaultProvider?: string | undefined
}

/**
 * Checks a provider before it is registered: contract version, a non-empty catalog, a default
 * model that exists. A provider that fails here would fail later, in the middle of a batch.
 */
export const verify = (provider: VideoProvider.Service): Effect.Effect<VideoProvider.Service, InvalidRequest> => {
  const problem =
    provider.specificationVersion !== VideoProvider.specificationVersion
      ? `implements provider contract ${JSON.stringify(provider.specificationVersion)}, but this engine speaks ${JSON.stringify(VideoProvider.specificationVersion)}`
      : provider.models.length === 0
        ? "has no models"
        : VideoProvider.findModel(provider, provider.defaultModel) === undefined
          ? `has default model ${JSON.stringify(provider.defaultModel)}, which is not in its catalog`
          : new Set(provider.models.map((model) => model.id)).size !== provider.models.length
            ? "lists a model twice"
            : undefined
  return problem === undefined
    ? Effect.succeed(provider)
    : Effect.fail(
        new InvalidRequest({
          provider: provider.id,
          billing: "not-charged",
          message: `provider ${JSON.stringify(provider.id)} ${problem}`
        })
      )
}

/** A registry of `providers`. Ids must be unique. */
export const make = (
  providers: ReadonlyArray<VideoProvider.Service>,
  options: Options = {}
): Effect.Effect<Service, InvalidRequest> =>
  Effect.gen(function* () {
    const byId = new Map<string, VideoProvider.Service>()
    for (const provider of providers) {
      yield* verify(provider)
      if (byId.has(provider.id)) {
        return yield* new InvalidRequest({
          provider: provider.id,
          billing: "not-charged",
          message: `two providers are registered as ${JSON.stringify(provider.id)}; give one another id`
        })
      }
      byId.set(provider.id, provider)
    }
    const known = () => (byId.size === 0 ? "none are registered" : `registered: ${[...byId.keys()].join(", ")}`)
    const defaultProvider = options.defaultProvider ?? providers[0]?.id
    if (options.defaultProvider !== undefined && !byId.has(options.defaultProvider)) {
      return yield* new InvalidRequest({
        field: "provider",
        supported: [...byId.keys()],
        billing: "not-charged",
        message: `the default provider ${JSON.stringify(options.defaultProvider)} is not registered (${known()})`
      })
    }
    return {
      providers,
      defaultProvider,
      get: (id) => {
        const wanted = id ?? defaultProvider
        const provider = wanted === undefined ? undefined : byId.get(wanted)
        return provider !== undefined
          ? Effect.succeed(provider)
          : Effect.fail(
              new InvalidRequest({
                field: "provider",
                supported: [...byId.keys()],
                billing: "not-charged",
                message:
                  wanted === undefined
                    ? `no provider was chosen and none is registered`
                    : `unknown provider ${JSON.stringify(wanted)} (${known()})`
              })
            )
      }
    }
  })

/** A registry layer built from provider effects (each provider package's `make`). */
export const layer = <E, R>(
  providers: ReadonlyArray<Effect.Effect<VideoProvider.Service, E, R>>,
  options: Options = {}
): Layer.Layer<ProviderRegistry, E | InvalidRequest, R> =>
  Layer.effect(
    ProviderRegistry,
    Effect.flatMap(Effect.all(providers), (built) => make(built, options))
  )

/** A registry holding the one provider in the context (`VideoProvider` tag). */
export const fromVideoProvider: Layer.Layer<ProviderRegistry, InvalidRequest, VideoProvider.VideoProvider> =
  Layer.effect(
    ProviderRegistry,
    Effect.flatMap(VideoProvider.VideoProvider, (provider) => make([provider]))
  )

/** `provider` registered under another id (two profiles of one vendor, say). */
export const withId = <P extends VideoProvider.Service>(provider: P, id: string): P => ({ ...provider, id })
