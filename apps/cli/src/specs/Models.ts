/** `reelay models`: its flags. */
import * as Shared from "../SharedFlags.js"
import * as Spec from "../Spec.js"

export const spec = Spec.command({
  name: "models",
  description: "The models of each provider: capabilities, prices and charge rules.",
  args: {},
  flags: {
    provider: Spec.text("provider", "Only this provider's models."),
    json: Shared.jsonOutput,
    config: Shared.config,
    profile: Shared.profile
  }
})

export type Args = Spec.Parsed<typeof spec>
