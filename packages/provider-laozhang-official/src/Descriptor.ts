/**
 * What this package tells the tools that load it (`@reelay/core/ProviderDescriptor`): the `reelay`
 * command, `@reelay/client` and `reelay.config.json`'s plugins build the provider from it.
 *
 * @since 0.1.0
 */
import * as ProviderDescriptor from "@reelay/core/ProviderDescriptor"
import * as LaozhangOfficial from "./LaozhangOfficial.js"

export const descriptor: ProviderDescriptor.ProviderDescriptor = ProviderDescriptor.make({
  id: LaozhangOfficial.providerId,
  mode: "async",
  env: {
    apiKey: [LaozhangOfficial.env.apiKey, LaozhangOfficial.env.fallbackApiKey],
    baseUrl: [LaozhangOfficial.env.baseUrl]
  },
  defaultBaseUrl: LaozhangOfficial.defaultBaseUrl,
  models: LaozhangOfficial.models,
  build: (options) => LaozhangOfficial.make(options),
  simulatorHost: "laozhang"
})
