/**
 * What this package tells the tools that load it (`@reelay/core/ProviderDescriptor`): the `reelay`
 * command, `@reelay/client` and `reelay.config.json`'s plugins build the provider from it.
 *
 * @since 0.1.0
 */
import * as ProviderDescriptor from "@reelay/core/ProviderDescriptor"
import * as LaozhangSora from "./LaozhangSora.js"
import * as SoraModels from "./Models.js"

export const descriptor: ProviderDescriptor.ProviderDescriptor = ProviderDescriptor.make({
  id: LaozhangSora.defaultId,
  mode: "streaming",
  env: { apiKey: [LaozhangSora.apiKeyVariable], baseUrl: [LaozhangSora.baseUrlVariable] },
  defaultBaseUrl: LaozhangSora.defaultBaseUrl,
  models: SoraModels.models,
  build: (options) => LaozhangSora.make(options),
  simulatorHost: "laozhang"
})
