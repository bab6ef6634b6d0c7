/**
 * The protocol-neutral conformance kit with the simulator as its target: the same scenarios a
 * plugin's own fake server passes, here through the fault proxy in front of the simulator's API and
 * CDN, its ledger giving the charges.
 */
import { Kit, Target, Testkit } from "@reelay/testkit"
import * as Laozhang from "../src/Laozhang.js"

Kit.run({
  name: "laozhang on the simulator",
  target: Target.simulator("laozhang", Testkit.defaultTimeScale),
  provider: ({ baseUrl, apiKey }) => Laozhang.make({ baseUrl, apiKey }),
  textModel: "veo-3.1-fast"
})
