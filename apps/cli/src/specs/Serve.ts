/** `reelay serve`: its flags. */
import * as Shared from "../SharedFlags.js"
import * as Spec from "../Spec.js"

export const spec = Spec.command({
  name: "serve",
  description: "Run the gateway: an OpenAI-compatible API for the tenants of reelay.config.json.",
  args: {},
  flags: {
    port: Spec.integer("port", "The port to listen on; 0 picks a free one.", { default: "8787" }),
    host: Spec.text("host", "The interface to listen on.", { default: "127.0.0.1" }),
    config: Shared.config,
    journal: Shared.journal,
    outDir: Spec.text(
      "out-dir",
      "Where videos are saved, as <tenant>/<id>.mp4; shared by every gateway of one journal.",
      {
        default: ".reelay/videos/"
      }
    )
  }
})

export type Args = Spec.Parsed<typeof spec>
