/**
 * The catalog and the plain path: the provider registers (its catalog is coherent), and a text-to-
 * video request is made once, saved, verified and reported as the target charged it.
 *
 * @internal
 */
import { assert } from "@effect/vitest"
import * as Money from "@reelay/core/Money"
import * as ProviderRegistry from "@reelay/core/ProviderRegistry"
import * as Effect from "effect/Effect"
import * as Target from "../Target.js"
import { saved, scenario } from "./Scenario.js"

export const scenarios = [
  scenario({
    name: "catalog",
    description: "the provider registers: a catalog with the text model, prices and generation times that hold",
    run: (world) =>
      Effect.gen(function* () {
        const provider = yield* world.provider
        yield* Effect.orDie(ProviderRegistry.verify(provider))
        assert.isTrue(
          provider.models.some((model) => model.id === world.options.textModel),
          `the catalog lists ${world.options.textModel}`
        )
        for (const model of provider.models) {
          const time = model.generationTime
          assert.isTrue(time.minSeconds <= time.typicalSeconds && time.typicalSeconds <= time.maxSeconds, model.id)
          assert.isFalse(Money.greaterThan(Money.zero, model.price), `${model.id} has a price of at least zero`)
        }
      })
  }),
  scenario({
    name: "text-to-video",
    description: "one create, a saved and verified video, the cost reported as the target charged it",
    run: (world) =>
      Effect.gen(function* () {
        const video = saved(yield* world.generate())
        assert.strictEqual(yield* world.creates, 1, "one create reached the target")
        const ledger = yield* world.ledger
        if (ledger?.charges !== undefined) {
          assert.strictEqual(Money.format(Target.charged(ledger)), Money.format(video.cost ?? Money.zero))
        }
      })
  })
] as const
