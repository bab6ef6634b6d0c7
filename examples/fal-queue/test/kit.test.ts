/**
 * The example passes the conformance kit: every scenario, against its own fake queue behind the
 * kit's fault proxy, the fake reporting what it created and charged.
 */
import { Kit, Target } from "@reelay/testkit"
import * as FakeServer from "../fake/FakeServer.js"
import * as FalQueue from "../src/FalQueue.js"

Kit.run({
  name: "fal-queue",
  target: Target.fake({
    name: "the fake queue",
    start: () => FakeServer.start({ queueMillis: 30, runMillis: 60 }),
    classify: FakeServer.classify
  }),
  provider: ({ baseUrl, apiKey }) => FalQueue.make({ baseUrl, apiKey }),
  textModel: "fal-veo-fast",
  // The fake makes a video in 90 ms where the catalog says 60 s.
  timeScale: 1 / 600
})
