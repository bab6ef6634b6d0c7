/** `reelay resume [batch]`: its arguments and flags. */
import * as Shared from "../SharedFlags.js"
import * as Spec from "../Spec.js"

export const spec = Spec.command({
  name: "resume",
  description: "Continue an interrupted batch or generation: poll, fetch, never re-create.",
  args: {
    batch: Spec.optionalArgument("batch", "The batch to resume (default: the most recent one with unfinished items).")
  },
  flags: {
    recreateUncertain: Spec.boolean(
      "recreate-uncertain",
      "Create again the items whose earlier create may or may not have reached the provider (they may be billed twice)."
    ),
    retryFailed: Spec.boolean(
      "retry-failed",
      "Generate again the items that failed at no cost, within the budget; items whose failure was or may have been charged stay failed."
    ),
    outDir: Spec.text("out-dir", "Save the videos not saved yet into this directory instead."),
    out: Spec.text("out", "Save the video of a one-item batch (a generate) to this path instead."),
    overwrite: Spec.boolean(
      "overwrite",
      "Let items not started yet (and videos saved elsewhere with --out / --out-dir) replace files at their outputs."
    ),
    ...Shared.batchRun
  }
})

export type Args = Spec.Parsed<typeof spec>
