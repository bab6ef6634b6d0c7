/**
 * What this package tells the tools that load it (`@reelay/core/ProviderDescriptor`): the `reelay`
 * command, `@reelay/client` and `reelay.config.json`'s plugins build the provider from it.
 *
 * @since 0.1.0
 */
import * as ProviderDescriptor from "@reelay/core/ProviderDescriptor"
import * as Laozhang from "./Laozhang.js"

export const descriptor: ProviderDescriptor.ProviderDescriptor = ProviderDescriptor.make({
  id: Laozhang.providerId,
  mode: "async",
  env: { apiKey: [Laozhang.env.apiKey], baseUrl: [Laozhang.env.baseUrl] },
  defaultBaseUrl: Laozhang.defaultBaseUrl,
  models: Laozhang.models,
  build: (options) => Laozhang.make(options),
  simulatorHost: "laozhang"
})
