/**
 * `reelay simulate`: the simulator of the provider APIs as a standalone server, and how to point
 * reelay (or any client) at it. Runs until Ctrl-C.
 *
 * @since 0.1.0
 */

import { randomBytes } from "node:crypto"
import * as Layers from "@reelay/config/Layers"
import * as Settings from "@reelay/config/Settings"
import * as Setup from "@reelay/config/Setup"
import { Simulator } from "@reelay/simulator"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Output from "../Output.js"
import * as Signals from "../Signals.js"
import type { Args as SimulateArgs } from "../specs/Simulate.js"

const { opt } = Setup

/** Runs the command. */
export const run = (args: SimulateArgs) =>
  Effect.scoped(
    Effect.gen(function* () {
      const scaleText = opt(args.timeScale)
      const timeScale =
        scaleText === undefined
          ? Settings.simulatorTimeScale
          : yield* Either.match(Settings.parseScale(scaleText, "--time-scale"), {
              onLeft: Effect.fail,
              onRight: Effect.succeed
            })
      const seed = opt(args.seed) ?? randomBytes(4).toString("hex")
      const directory = Layers.simulatorVideos()
      const stop = yield* Deferred.make<void>()
      yield* Signals.handle(() => Deferred.unsafeDone(stop, Exit.void))
      const simulator = yield* Simulator.make({
        timeScale,
        seed,
        ...(opt(args.port) === undefined ? {} : { port: opt(args.port)! }),
        ...(opt(args.cdnPort) === undefined ? {} : { cdnPort: opt(args.cdnPort)! }),
        ...(opt(args.host) === undefined ? {} : { hostname: opt(args.host)! }),
        ...(directory === undefined ? {} : { videosDirectory: directory })
      })
      const { urls } = simulator
      const scale = scaleText ?? "1/30"
      // One line per simulated host, and how to point each provider it serves at it, from the descriptors.
      const hosts = [...new Set(Settings.builtins.flatMap((builtin) => builtin.simulatorHost ?? []))]
      const width = Math.max(...hosts.map((host) => host.length), "control".length) + 2
      const exports = Settings.builtins.flatMap((builtin) =>
        builtin.simulatorHost === undefined ||
        Settings.builtins.find((other) => other.simulatorHost === builtin.simulatorHost) !== builtin
          ? []
          : [`  export ${builtin.env.baseUrl[0]}=${urls[builtin.simulatorHost]} ${builtin.env.apiKey[0]}=sk-test`]
      )
      if (args.json) {
        yield* Output.stdout(JSON.stringify({ ...urls, timeScale, seed }))
      } else {
        yield* Output.stdout(
          [
            "reelay simulator listening",
            ...hosts.map((host) => `  ${host.padEnd(width)}${urls[host]}`),
            `  ${"cdn".padEnd(width)}${urls.cdn}`,
            `  ${"control".padEnd(width)}${urls.control}`,
            `  time scale ${scale}, seed "${seed}"; Ctrl-C to stop`,
            "",
            "Point reelay at it (any key works; keys starting with sk-invalid are refused, sk-nofunds have no balance):",
            ...exports,
            `  export REELAY_TIME_SCALE=${scale}`,
            ""
          ].join("\n")
        )
      }
      yield* Deferred.await(stop)
    })
  )
