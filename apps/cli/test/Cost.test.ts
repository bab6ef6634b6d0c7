import { describe, expect, it } from "@effect/vitest"
import * as Money from "@reelay/core/Money"
import type { Journal } from "@reelay/journal"
import * as Cost from "../src/commands/Cost.js"
import * as Render from "../src/Render.js"

const row = (
  provider: string,
  fields: { readonly estimated: string; readonly charged: string; readonly unknown?: string; readonly items?: number }
): Journal.CostSummary => ({
  day: "2025-01-31",
  provider,
  model: "veo-3.1-fast",
  estimated: Money.usd(fields.estimated),
  estimatedItems: fields.items ?? 1,
  charged: Money.usd(fields.charged),
  chargedCount: Money.greaterThan(Money.usd(fields.charged), Money.zero) ? 1 : 0,
  unknown: Money.usd(fields.unknown ?? "0"),
  unknownCount: fields.unknown === undefined ? 0 : 1
})

const real = row("laozhang", { estimated: "0.30", charged: "0.15", unknown: "0.15", items: 2 })
const simulated = row("simulator", { estimated: "0.15", charged: "0.15" })
const simulatedApiyi = row("simulator:apiyi", { estimated: "0.25", charged: "0", unknown: "0.25" })

describe("reelay cost", () => {
  it("totals real providers only and the built-in simulator on a line of its own", () => {
    expect(Cost.costTable([real, simulated, simulatedApiyi], Render.plain)).toEqual([
      "DAY (UTC)              PROVIDER         MODEL         ITEMS  ESTIMATED    CHARGED  UNCERTAIN",
      "2025-01-31             laozhang         veo-3.1-fast      2      $0.30  $0.15 (1)  $0.15 (1)",
      "2025-01-31             simulator        veo-3.1-fast      1      $0.15  $0.15 (1)      $0.00",
      "2025-01-31             simulator:apiyi  veo-3.1-fast      1      $0.25      $0.00  $0.25 (1)",
      "total                                                     2      $0.30      $0.15      $0.15",
      "simulator (not money)                                     2      $0.40      $0.15      $0.25",
      "the total counts real providers only; the built-in simulator's prices are pretend, totalled apart",
      `UNCERTAIN = ${Render.uncertainMeaning}`
    ])
  })

  it("keeps the table as it was without the simulator, and the legend only for uncertain money", () => {
    const certain = row("apiyi", { estimated: "0.15", charged: "0.15" })
    expect(Cost.costTable([certain], Render.plain)).toEqual([
      "DAY (UTC)   PROVIDER  MODEL         ITEMS  ESTIMATED    CHARGED  UNCERTAIN",
      "2025-01-31  apiyi     veo-3.1-fast      1      $0.15  $0.15 (1)      $0.00",
      "total                                   1      $0.15      $0.15      $0.00"
    ])
    expect(Cost.costTable([real], Render.plain).at(-1)).toBe(
      "UNCERTAIN = possibly charged: creates that may have reached the provider and whose outcome is not known, at their worst-case price"
    )
  })

  it("says plainly when only the simulator is in the selection: $0.00 of real money", () => {
    const lines = Cost.costTable([simulated], Render.plain)
    expect(lines.find((line) => line.startsWith("total"))).toMatch(/^total +0 +\$0\.00 +\$0\.00 +\$0\.00$/)
    expect(lines.find((line) => line.startsWith("simulator (not money)"))).toMatch(/ 1 +\$0\.15 +\$0\.15 +\$0\.00$/)
    expect(lines.at(-1)).toBe(
      "only the built-in simulator in this selection: its prices are pretend; the total is $0.00 of real money"
    )
  })

  it("gives real money in `total` and the simulator's figures in `simulator`", () => {
    const json = Cost.costJson([real, simulated, simulatedApiyi])
    expect(json.total).toEqual({
      estimated: "0.30",
      estimatedItems: 2,
      charged: "0.15",
      chargedCount: 1,
      uncertain: "0.15",
      uncertainCount: 1
    })
    expect(json.simulator).toEqual({
      estimated: "0.40",
      estimatedItems: 2,
      charged: "0.15",
      chargedCount: 1,
      uncertain: "0.25",
      uncertainCount: 1
    })
    expect(json.rows.map((r) => [r.provider, r.simulator])).toEqual([
      ["laozhang", false],
      ["simulator", true],
      ["simulator:apiyi", true]
    ])
    expect(json.rows[0]).toEqual({
      day: "2025-01-31",
      provider: "laozhang",
      model: "veo-3.1-fast",
      simulator: false,
      estimated: "0.30",
      estimatedItems: 2,
      charged: "0.15",
      chargedCount: 1,
      uncertain: "0.15",
      uncertainCount: 1
    })
    const zero = {
      estimated: "0.00",
      estimatedItems: 0,
      charged: "0.00",
      chargedCount: 0,
      uncertain: "0.00",
      uncertainCount: 0
    }
    expect(Cost.costJson([])).toEqual({ rows: [], total: zero, simulator: zero })
    expect(Cost.costJson([simulated]).total).toEqual(zero)
  })
})
