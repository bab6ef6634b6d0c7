import { describe, expect, it } from "@effect/vitest"
import { GenerateRequest } from "@reelay/core/GenerateRequest"
import * as Money from "@reelay/core/Money"
import type { Journal } from "@reelay/journal"
import * as Status from "../src/commands/Status.js"
import * as Render from "../src/Render.js"

const at = new Date("2025-01-31T12:00:00Z")

const item = (key: string, fields: Partial<Journal.Item> = {}): Journal.Item => ({
  batch: "jobs",
  key,
  position: 0,
  fingerprint: key,
  request: new GenerateRequest({ prompt: `A ${key}` }),
  output: `/nowhere/${key}.mp4`,
  state: "downloaded",
  provider: "laozhang",
  model: "veo-3.1-fast",
  estimatedCost: Money.usd("0.15"),
  chargePolicy: "on-success",
  idempotencyKey: undefined,
  attempts: 1,
  taskId: `task-${key}`,
  handle: undefined,
  asset: undefined,
  progress: undefined,
  video: undefined,
  path: undefined,
  sha256: undefined,
  bytes: undefined,
  error: undefined,
  billing: undefined,
  duplicateOf: undefined,
  releasedAt: undefined,
  releases: 0,
  claimedBy: undefined,
  baseUrl: undefined,
  createdAt: at,
  updatedAt: at,
  ...fields
})

const charge = (of: Journal.Item, amount: string, billing: "charged" | "unknown"): Journal.Charge => ({
  batch: of.batch,
  key: of.key,
  provider: of.provider!,
  model: of.model!,
  taskId: of.taskId,
  amount: Money.usd(amount),
  chargePolicy: "on-success",
  billing,
  at
})

const fox = item("fox")
const owl = item("owl", { state: "submitting", taskId: undefined, claimedBy: "build-7:4242:a1b2c3" })
const sim = item("sim", { provider: "simulator", estimatedCost: Money.usd("0.40") })
const charges = [charge(fox, "0.15", "charged"), charge(owl, "0.15", "unknown"), charge(sim, "0.40", "charged")]

describe("reelay status", () => {
  it("keeps a batch's real money apart from the simulator's", () => {
    const money = Status.batchMoney(charges, [fox, owl, sim])
    expect(money.simulated).toBe(true)
    expect(Money.format(money.real.charged)).toBe("$0.15")
    expect(Money.format(money.real.uncertain)).toBe("$0.15")
    expect(Money.format(money.real.estimated)).toBe("$0.30")
    expect(Money.format(money.simulator.charged)).toBe("$0.40")
    expect(Money.format(money.simulator.estimated)).toBe("$0.40")
    expect(Status.batchHeader("jobs", [fox, owl, sim], money, Render.plain)).toEqual([
      "batch jobs: 3 item(s); 1 submitting, 2 downloaded; $0.15 charged, $0.15 uncertain (possibly charged); estimated $0.30",
      "simulator (not money): $0.40 charged; estimated $0.40"
    ])
  })

  it("says a batch of the simulator alone spent no real money", () => {
    const money = Status.batchMoney([charge(sim, "0.40", "charged")], [sim])
    expect(Status.batchHeader("jobs", [sim], money, Render.plain)).toEqual([
      "batch jobs: 1 item(s); 1 downloaded; $0.00 of real money (only the built-in simulator)",
      "simulator (not money): $0.40 charged; estimated $0.40"
    ])
  })

  it("shows an item's possible charge and the process working it, with the legend", () => {
    const lines = Status.itemsTable([fox, owl], charges, Render.plain)
    expect(lines[0]).toMatch(/^KEY +STATE +PROGRESS +UNCERTAIN +TASK +MODEL +WORKING +OUTPUT \/ ERROR$/)
    expect(lines[2]).toMatch(
      /^owl +submitting +\$0\.15 +laozhang\/veo-3\.1-fast +pid 4242 on build-7 +\/nowhere\/owl\.mp4$/
    )
    expect(lines.at(-1)).toBe(Render.uncertainLegend)
    // Nothing uncertain, nobody working: the table as it always was.
    expect(Status.itemsTable([fox], charges, Render.plain)[0]).toMatch(/^KEY +STATE +PROGRESS +TASK +MODEL +OUTPUT/)
    expect(Status.itemsTable([fox], charges, Render.plain)).toHaveLength(2)
  })

  it("lists batches with real money, the simulator's in its own column", () => {
    const lines = Status.batchesTable(
      [
        {
          batch: "jobs",
          createdAt: at,
          updatedAt: at,
          items: 3,
          states: { downloaded: 2, submitting: 1 },
          settings: {},
          money: Status.batchMoney(charges)
        }
      ],
      Render.plain
    )
    expect(lines).toEqual([
      "BATCH  UPDATED (UTC)        ITEMS  CHARGED  UNCERTAIN  SIMULATOR (NOT MONEY)  STATES",
      "jobs   2025-01-31 12:00:00      3    $0.15      $0.15  $0.40                  1 submitting, 2 downloaded",
      Render.uncertainLegend
    ])
  })

  it("details an item and gives its money in JSON", () => {
    const money = Status.itemSpend(owl, charges)
    const detail = Status.itemDetail(owl, money)
    expect(detail).toContain("working     pid 4242 on build-7")
    expect(detail).toContain(`uncertain   $0.15 (${Render.uncertainMeaning})`)
    expect(Status.itemDetail(sim, Status.itemSpend(sim, charges))).toContain(
      "charged     $0.40 (built-in simulator: not money)"
    )
    expect(Status.itemJson(owl, money)).toMatchObject({
      state: "submitting",
      simulator: false,
      charged: "0.00",
      uncertain: "0.15",
      claimedBy: "build-7:4242:a1b2c3",
      baseUrl: null
    })
    expect(Status.itemJson(sim, Status.itemSpend(sim, charges))).toMatchObject({ simulator: true, charged: "0.40" })
    expect(Status.itemJson(item("key", { baseUrl: "https://me:secret@proxy.example/v1" })).baseUrl).toBe(
      "https://me:redacted@proxy.example/v1"
    )
  })

  it("names the process of a claim: host, then pid, then a random part", () => {
    expect(Render.workerText("build-7:4242:a1b2c3")).toBe("pid 4242 on build-7")
    expect(Render.workerText("fe80::1:77:zz")).toBe("pid 77 on fe80::1")
    expect(Render.workerText("odd")).toBe("odd")
  })
})
