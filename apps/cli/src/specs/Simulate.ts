/** `reelay simulate`: its flags. */
import * as Spec from "../Spec.js"

export const spec = Spec.command({
  name: "simulate",
  description: "Run the built-in simulator of the provider APIs and print its base URLs.",
  args: {},
  flags: {
    port: Spec.integer("port", "API port, both hosts and /_sim.", { default: "a free port" }),
    cdnPort: Spec.integer("cdn-port", "CDN port.", { default: "a free port" }),
    host: Spec.text("host", "Interface to listen on.", { default: "127.0.0.1" }),
    timeScale: Spec.text("time-scale", "Multiplies the vendors' generation times (1 = real time).", {
      default: "1/30"
    }),
    seed: Spec.text("seed", "Seed of durations, ids and fault draws.", { default: "random, printed" }),
    json: Spec.boolean("json", "Print the URLs as one JSON line.")
  }
})

export type Args = Spec.Parsed<typeof spec>
