/** `reelay batch <file.jsonl>`: its arguments and flags. */
import * as Shared from "../SharedFlags.js"
import * as Spec from "../Spec.js"

export const spec = Spec.command({
  name: "batch",
  description: "Generate every request of a JSON Lines file, journaled and resumable.",
  args: {
    file: Spec.argument(
      "file.jsonl",
      'JSON Lines: one request per line, e.g. {"key": "fox", "prompt": "A red fox..."}.'
    )
  },
  flags: {
    outDir: Spec.text("out-dir", "Where the videos go, as <key>.mp4.", { default: "out/<batch>/" }),
    overwrite: Spec.boolean(
      "overwrite",
      'Let items replace files already at their outputs (a line\'s "overwrite" decides for it); files this batch saved itself never count.'
    ),
    enqueue: Spec.boolean(
      "enqueue",
      "Journal the batch and hand its items to the workers of the PostgreSQL journal (reelay worker), then return."
    ),
    batch: Spec.text("batch", "The batch id.", {
      default: "the file's name and a hash of its content: the same file again resumes it"
    }),
    provider: Shared.provider,
    model: Shared.model,
    baseUrl: Shared.baseUrl,
    ...Shared.batchRun
  }
})

export type Args = Spec.Parsed<typeof spec>
