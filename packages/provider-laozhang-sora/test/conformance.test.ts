import { Conformance } from "@reelay/testkit"
import * as LaozhangSora from "../src/LaozhangSora.js"

Conformance.run({
  name: "laozhang-sora (chat completions, SSE)",
  host: "laozhang",
  protocol: "sora",
  provider: ({ baseUrl, apiKey }) => LaozhangSora.make({ baseUrl, apiKey }),
  textModel: "sora_video2",
  imageModel: "sora_video2-landscape"
})
