/**
 * What this package tells the tools that load it (`@reelay/core/ProviderDescriptor`): the `reelay`
 * command, `@reelay/client` and `reelay.config.json`'s plugins build the provider from it.
 *
 * @since 0.1.0
 */
import * as ProviderDescriptor from "@reelay/core/ProviderDescriptor"
import * as Apiyi from "./Apiyi.js"

export const descriptor: ProviderDescriptor.ProviderDescriptor = ProviderDescriptor.make({
  id: Apiyi.providerId,
  mode: "async",
  env: { apiKey: [Apiyi.env.apiKey], baseUrl: [Apiyi.env.baseUrl] },
  defaultBaseUrl: Apiyi.defaultBaseUrl,
  models: Apiyi.models,
  build: (options) => Apiyi.make(options),
  simulatorHost: "apiyi"
})
