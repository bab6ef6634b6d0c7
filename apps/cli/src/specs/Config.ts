/** `reelay config`: its flags. */
import * as Shared from "../SharedFlags.js"
import * as Spec from "../Spec.js"

export const spec = Spec.command({
  name: "config",
  description: "The effective configuration and where each value comes from (keys redacted).",
  args: {},
  flags: {
    provider: Shared.provider,
    model: Shared.model,
    baseUrl: Shared.baseUrl,
    maxCost: Shared.maxCost,
    timeout: Shared.timeout,
    json: Shared.jsonOutput,
    ...Shared.sources
  }
})

export type Args = Spec.Parsed<typeof spec>
