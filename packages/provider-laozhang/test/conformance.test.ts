import { Conformance } from "@reelay/testkit"
import * as Laozhang from "../src/Laozhang.js"

Conformance.run({
  name: "laozhang (veo-3.1 async)",
  host: "laozhang",
  protocol: "async",
  provider: ({ baseUrl, apiKey }) => Laozhang.make({ baseUrl, apiKey }),
  textModel: "veo-3.1-fast",
  imageModel: "veo-3.1-fast-fl"
})
