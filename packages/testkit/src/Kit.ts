/**
 * The conformance kit for any protocol: the same scenarios, run through the engine over real sockets
 * against a target of the provider author's choosing — their own fake server (`Target.fake`, which
 * reports what it created and charged at `GET /__fake/ledger`) or the built-in simulator
 * (`Target.simulator`) — with a vendor-neutral fault proxy (`FaultProxy`) in front of it. Scenarios
 * are grouped by concern, one module each: catalog, retries, billing, downloads, resume; the list of
 * names is derived from them.
 *
 * @example
 * ```ts
 * import { Kit, Target } from "@reelay/testkit"
 * import * as FakeServer from "../fake/FakeServer.js"
 * import * as Acme from "../src/Acme.js"
 *
 * Kit.run({
 *   name: "acme",
 *   target: Target.fake({ name: "acme fake", start: () => FakeServer.start(), classify: Acme.classify }),
 *   provider: ({ baseUrl, apiKey }) => Acme.make({ baseUrl, apiKey }),
 *   textModel: "acme-fast"
 * })
 * ```
 *
 * @since 0.1.0
 */
import { describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Billing from "./kit/Billing.js"
import * as Catalog from "./kit/Catalog.js"
import * as Downloads from "./kit/Downloads.js"
import * as Resume from "./kit/Resume.js"
import * as Retries from "./kit/Retries.js"
import * as World from "./kit/World.js"

/** Every scenario, by concern. */
export const concerns = {
  catalog: Catalog.scenarios,
  retries: Retries.scenarios,
  billing: Billing.scenarios,
  downloads: Downloads.scenarios,
  resume: Resume.scenarios
} as const

const all = [
  ...Catalog.scenarios,
  ...Retries.scenarios,
  ...Billing.scenarios,
  ...Downloads.scenarios,
  ...Resume.scenarios
] as const

/** The name of one scenario. */
export type ScenarioName = (typeof all)[number]["name"]

/** Every scenario's name, in the order they run. */
export const scenarioNames: ReadonlyArray<ScenarioName> = all.map((each) => each.name)

export interface Options extends World.Options {
  /** Scenarios not to run, each with the reason, shown as skipped tests. */
  readonly skip?: Partial<Record<ScenarioName, string>> | undefined
}

/** One scenario as a plain Effect, for use outside vitest. */
export interface Scenario {
  readonly name: ScenarioName
  readonly concern: keyof typeof concerns
  readonly description: string
  readonly skip?: string | undefined
  readonly run: Effect.Effect<void>
}

/** The scenarios for `options`, each in a world of its own. */
export const scenarios = (options: Options): ReadonlyArray<Scenario> =>
  (Object.keys(concerns) as Array<keyof typeof concerns>).flatMap((concern) =>
    concerns[concern].map((each) => ({
      name: each.name,
      concern,
      description: each.description,
      skip: options.skip?.[each.name],
      run: Effect.scoped(Effect.flatMap(World.make(options, each.name, "engine" in each ? each.engine : {}), each.run))
    }))
  )

/** Registers the kit with vitest: a `describe` per concern, one test per scenario. */
export const run = (options: Options): void => {
  describe(`conformance kit: ${options.name}`, () => {
    for (const concern of Object.keys(concerns)) {
      describe(concern, () => {
        for (const each of scenarios(options).filter((scenario) => scenario.concern === concern)) {
          const title = `${each.name}: ${each.description}`
          if (each.skip !== undefined) it.live.skip(`${title} (skipped: ${each.skip})`, () => Effect.void)
          else it.live(title, () => each.run, options.timeout ?? 30_000)
        }
      })
    }
  })
}
