import { Conformance } from "@reelay/testkit"
import * as Laozhang from "../src/Laozhang.js"

Conformance.run({
  name: "laozhang (veo-3.1 async)",
  host: "laozhang",
  protocol: "async",
  provider: ({ baseUrl, apiKey }) => Laozhang.make({ baseUrl, apiKey }),
  textModel: "veo-3.1-fast",
  imageModel: "veo-3.1-fast-fl",
  skip: {
    // The suite's image link is on a host no test can reach; laozhang's URL images are downloaded by
    // reelay and uploaded, which Laozhang.test.ts checks against a local image server.
    "image-url": "reelay downloads laozhang's image URLs itself: covered in Laozhang.test.ts with a local image host"
  }
})
