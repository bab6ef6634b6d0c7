import { Conformance } from "@reelay/testkit"
import * as Apiyi from "../src/Apiyi.js"

Conformance.run({
  name: "apiyi (veo-3.1 async, raw key)",
  host: "apiyi",
  protocol: "async",
  provider: ({ baseUrl, apiKey }) => Apiyi.make({ baseUrl, apiKey }),
  textModel: "veo-3.1-landscape-fast",
  imageModel: "veo-3.1-landscape-fast-fl"
})
