/** `reelay generate <prompt>`: its arguments and flags. */
import * as Shared from "../SharedFlags.js"
import * as Spec from "../Spec.js"

export const spec = Spec.command({
  name: "generate",
  description: "Generate one video and save it (journaled, so it can be resumed).",
  args: { prompt: Spec.argument("prompt", "What the video shows.") },
  flags: {
    provider: Shared.provider,
    model: Shared.model,
    image: Spec.list(
      "image",
      "An image file or http(s) URL: the first is the first frame, a second the last frame (models that take them)."
    ),
    seconds: Spec.integer("seconds", "The duration, among those the model supports.", { default: "the model's first" }),
    resolution: Spec.text("resolution", "720p, 1080p, 4k, among those the model supports."),
    aspectRatio: Spec.text("aspect-ratio", "16:9, 9:16, among those the model supports."),
    size: Spec.text("size", "A frame size such as 1280x720, among those the model supports."),
    negativePrompt: Spec.text("negative-prompt", "What the video should not show (models that take one)."),
    seed: Spec.integer("seed", "A seed (models that take one)."),
    baseUrl: Shared.baseUrl,
    out: Spec.text("out", "Where to save the video: a file, or a directory.", {
      default: "out/<prompt words>-<id>.mp4"
    }),
    overwrite: Spec.boolean(
      "overwrite",
      "Replace a file already at --out (else it is refused before anything is sent)."
    ),
    timeout: Shared.timeout,
    maxCost: Shared.maxCost,
    json: Shared.json,
    ...Shared.sources
  }
})

export type Args = Spec.Parsed<typeof spec>
