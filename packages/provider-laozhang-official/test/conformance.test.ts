import { Conformance } from "@reelay/testkit"
import * as LaozhangOfficial from "../src/LaozhangOfficial.js"

Conformance.run({
  name: "laozhang-official (veo-3.1 official forward)",
  host: "laozhang",
  protocol: "official",
  provider: ({ baseUrl, apiKey }) => LaozhangOfficial.make({ baseUrl, apiKey }),
  textModel: "veo-3.1-fast-generate-preview",
  imageModel: "veo-3.1-fast-generate-preview"
})
