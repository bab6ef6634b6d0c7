/** `reelay status [batch | task]`: its arguments and flags. */
import * as Shared from "../SharedFlags.js"
import * as Spec from "../Spec.js"

export const spec = Spec.command({
  name: "status",
  description: "Show batches, a batch's items, or a task, from the journal.",
  args: { target: Spec.optionalArgument("batch | task", "A batch id, or a task id (default: every batch).") },
  flags: { json: Shared.jsonOutput, ...Shared.sources }
})

export type Args = Spec.Parsed<typeof spec>
