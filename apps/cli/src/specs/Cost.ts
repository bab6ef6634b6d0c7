/** `reelay cost`: its flags. */
import * as Shared from "../SharedFlags.js"
import * as Spec from "../Spec.js"

export const spec = Spec.command({
  name: "cost",
  description: "Charges from the journal per provider, model and day: estimated against charged.",
  args: {},
  flags: {
    batch: Spec.text("batch", "Only this batch."),
    provider: Spec.text("provider", "Only this provider."),
    model: Spec.text("model", "Only this model."),
    since: Spec.text("since", "From this day on (YYYY-MM-DD, UTC)."),
    until: Spec.text("until", "Before this day (YYYY-MM-DD, UTC)."),
    json: Shared.jsonOutput,
    ...Shared.sources
  }
})

export type Args = Spec.Parsed<typeof spec>
