/**
 * What the tools that load this package need to know: `reelay.config.json`'s `"plugins"`, the
 * `reelay` command and `@reelay/client` build the provider from it without knowing the package.
 *
 * @since 0.1.0
 */
import * as ProviderDescriptor from "@reelay/core/ProviderDescriptor"
import * as FalQueue from "./FalQueue.js"

export const descriptor: ProviderDescriptor.ProviderDescriptor = ProviderDescriptor.make({
  id: FalQueue.providerId,
  mode: "async",
  env: { apiKey: [FalQueue.env.apiKey], baseUrl: [FalQueue.env.baseUrl] },
  defaultBaseUrl: FalQueue.defaultBaseUrl,
  models: FalQueue.models,
  build: (options) => FalQueue.make(options)
})
