/**
 * A request with routes: the next route is tried only when a create failed proving nothing was
 * charged (unreachable, refused before accepting, no balance, an unknown model), never after an
 * uncertain create, a charged failure or a refusal of the request itself; a route whose model cannot
 * serve the request is skipped with a warning; the events say which route served the item.
 */
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Engine from "../src/Engine.js"
import { GenerateRequest, Route } from "../src/GenerateRequest.js"
import type { GenerationEvent } from "../src/GenerationEvent.js"
import * as JobStore from "../src/JobStore.js"
import * as TaskStatus from "../src/TaskStatus.js"
import * as VideoError from "../src/VideoError.js"
import { portrait } from "./helpers/catalog.js"
import { advancing } from "./helpers/clock.js"
import { collect, engineLayer, tempDir } from "./helpers/engine.js"
import { scripted } from "./helpers/ScriptedProvider.js"

const routed = GenerateRequest.make({
  prompt: "a heron at dawn",
  routes: [
    new Route({ provider: "first", model: "first-portrait" }),
    new Route({ provider: "second", model: "second-portrait" })
  ]
})

const ofTag = <T extends GenerationEvent["_tag"]>(events: ReadonlyArray<GenerationEvent>, tag: T) =>
  events.filter((event): event is Extract<GenerationEvent, { _tag: T }> => event._tag === tag)

/** Two providers: `first` fails its creates as given, `second` works. */
const world = (firstFailures: ReadonlyArray<VideoError.VideoError>, firstTimeline?: TaskStatus.TaskStatus) => {
  const first = scripted({
    id: "first",
    models: [portrait("on-success", "first-portrait")],
    submitFailures: firstFailures,
    ...(firstTimeline === undefined ? {} : { timeline: () => firstTimeline })
  })
  const second = scripted({ id: "second", models: [portrait("on-success", "second-portrait")] })
  return { first: first.recorder, second: second.recorder, layer: engineLayer([first.provider, second.provider]) }
}

/** A store that answers `open` with `resumption` for every item and records nothing. */
const storeWith = (resumption: JobStore.Resumption) =>
  Layer.succeed(JobStore.JobStore, {
    open: (_batch, items) => Effect.succeed(items.map((item) => ({ key: item.key, resumption }))),
    record: () => Effect.void
  })

const run = (w: ReturnType<typeof world>, request: GenerateRequest = routed) =>
  collect(Engine.generate(request, { output: path.join(tempDir(), "heron.mp4"), key: "heron" })).pipe(
    Effect.provide(w.layer),
    advancing
  )

describe("Engine: routes", () => {
  const movesOn: ReadonlyArray<readonly [string, VideoError.VideoError]> = [
    ["the key refused", new VideoError.AuthenticationFailed({ provider: "first", message: "HTTP 401" })],
    ["no balance", new VideoError.InsufficientBalance({ provider: "first", message: "HTTP 402" })],
    [
      "a model the provider does not know",
      new VideoError.InvalidRequest({ provider: "first", field: "model", message: "model retired" })
    ],
    ["a 404 on the create", new VideoError.InvalidRequest({ provider: "first", httpStatus: 404, message: "no route" })],
    [
      "no connection",
      new VideoError.ProviderUnavailable({ provider: "first", stage: "connect", message: "ECONNREFUSED" })
    ]
  ]
  for (const [what, failure] of movesOn) {
    it.effect(`moves to the next route after ${what}, and says so`, () => {
      // Failing every time: a failure the engine retries (no connection) is retried first.
      const w = world(Array.from({ length: 20 }, () => failure))
      return Effect.gen(function* () {
        const { events, exit } = yield* run(w)
        assert.isTrue(Exit.isSuccess(exit), String(exit))
        assert.isAtLeast(w.first.submits.length, 1)
        assert.strictEqual(w.second.submits.length, 1)
        assert.deepStrictEqual(
          ofTag(events, "Validated").map((event) => [event.provider, event.route]),
          [
            ["first", 1],
            ["second", 2]
          ]
        )
        const warning = ofTag(events, "Warning").find((event) => event.code === "route-failed")
        assert.include(warning?.message, "route 1 (first first-portrait) failed at no cost")
        assert.include(warning?.message, "trying route 2 (second second-portrait)")
        assert.deepStrictEqual(
          ofTag(events, "Charged")
            .filter((event) => event.billing !== "not-charged")
            .map((event) => event.provider),
          ["second"]
        )
        assert.strictEqual(ofTag(events, "Saved")[0]?.video.provider, "second")
      })
    })
  }

  it.effect("moves on after an outage that outlasts the retries", () => {
    const outage = Array.from(
      { length: 20 },
      () =>
        new VideoError.ProviderUnavailable({ provider: "first", stage: "response", httpStatus: 503, message: "busy" })
    )
    const w = world(outage)
    return Effect.gen(function* () {
      const { exit } = yield* run(w)
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      assert.isAbove(w.first.submits.length, 1, "the first route was retried first")
      assert.strictEqual(w.second.submits.length, 1)
    })
  })

  const staysPut: ReadonlyArray<readonly [string, VideoError.VideoError, string]> = [
    [
      "an uncertain create (a gateway's 502)",
      new VideoError.ProviderUnavailable({ provider: "first", stage: "exchange", httpStatus: 502, message: "bad gw" }),
      "UncertainSubmission"
    ],
    [
      "a content refusal of the request itself",
      new VideoError.ContentRejected({ provider: "first", message: "unsafe" }),
      "ContentRejected"
    ],
    [
      "a parameter the provider refuses",
      new VideoError.InvalidRequest({ provider: "first", field: "seconds", message: "bad seconds" }),
      "InvalidRequest"
    ]
  ]
  for (const [what, failure, tag] of staysPut) {
    it.effect(`never moves on after ${what}`, () => {
      const w = world([failure])
      return Effect.gen(function* () {
        const { exit } = yield* run(w)
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) assert.include(String(exit.cause), tag)
        assert.strictEqual(w.second.submits.length, 0, "nothing sent to the second route")
      })
    })
  }

  it.effect("never moves on when an earlier attempt of the create may have reached the first route", () => {
    // A provider that drops repeated creates is asked again after a lost answer; its later refusals
    // prove nothing about the first attempt.
    const first = scripted({
      id: "first",
      models: [portrait("on-success", "first-portrait")],
      idempotentCreates: true,
      submitFailures: [
        new VideoError.ProviderUnavailable({ provider: "first", stage: "exchange", message: "answer lost" }),
        ...Array.from(
          { length: 20 },
          () =>
            new VideoError.ProviderUnavailable({
              provider: "first",
              stage: "response",
              httpStatus: 503,
              message: "busy"
            })
        )
      ]
    })
    const second = scripted({ id: "second", models: [portrait("on-success", "second-portrait")] })
    return Effect.gen(function* () {
      const { exit } = yield* collect(
        Engine.generate(routed, { output: path.join(tempDir(), "heron.mp4"), key: "heron" })
      )
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        assert.include(String(exit.cause), "UncertainSubmission")
        assert.include(String(exit.cause), "an earlier attempt of this create may have reached the provider")
      }
      assert.isAbove(first.recorder.submits.length, 1, "the first route was asked again")
      assert.strictEqual(second.recorder.submits.length, 0, "nothing sent to the second route")
    }).pipe(Effect.provide(engineLayer([first.provider, second.provider])), advancing)
  })

  it.effect("never moves on once a task was created, even when its generation failed at no cost", () => {
    const failed = new TaskStatus.Failed({
      error: new VideoError.GenerationFailed({ provider: "first", message: "the model gave up" })
    })
    const w = world([], failed)
    return Effect.gen(function* () {
      const { exit } = yield* run(w)
      assert.isTrue(Exit.isFailure(exit))
      assert.isAtLeast(w.first.submits.length, 1)
      assert.strictEqual(w.second.submits.length, 0)
    })
  })

  it.effect("skips a route whose model cannot serve the request, with a warning", () => {
    const w = world([])
    const request = GenerateRequest.make({
      prompt: "a heron at dawn",
      routes: [
        new Route({ provider: "first", model: "no-such-model" }),
        new Route({ provider: "elsewhere", model: "x" }),
        new Route({ provider: "second", model: "second-portrait" })
      ]
    })
    return Effect.gen(function* () {
      const { events, exit } = yield* run(w, request)
      assert.isTrue(Exit.isSuccess(exit), String(exit))
      assert.strictEqual(w.first.submits.length, 0)
      const skipped = ofTag(events, "Warning").filter((event) => event.code === "route-skipped")
      assert.deepStrictEqual(
        skipped.map((event) => event.message.split(" cannot serve")[0]),
        ["route 1 (first no-such-model)", "route 2 (elsewhere x)"]
      )
      assert.deepStrictEqual(
        ofTag(events, "Validated").map((event) => event.route),
        [3]
      )
    })
  })

  it.effect("the last route's failure is the item's", () => {
    const w = world([])
    const request = GenerateRequest.make({
      prompt: "a heron at dawn",
      routes: [new Route({ provider: "first", model: "no-such-model" })]
    })
    return Effect.gen(function* () {
      const { exit } = yield* run(w, request)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(String(exit.cause), "no-such-model")
    })
  })

  it.effect("refuses a request naming routes and a provider", () => {
    const w = world([])
    const request = GenerateRequest.make({ ...routed, provider: "first" })
    return Effect.gen(function* () {
      const { exit } = yield* run(w, request)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) assert.include(String(exit.cause), "either routes or a provider")
      assert.strictEqual(w.first.submits.length + w.second.submits.length, 0)
    })
  })

  it.effect("an uncertain create re-created with consent goes to its own route only, with its key", () => {
    const w = world([])
    // The journal says the create went to the second route, and its answer was lost.
    const store = storeWith({
      _tag: "Uncertain",
      idempotencyKey: "key-from-the-journal",
      route: { provider: "second", model: "second-portrait" }
    })
    const output = path.join(tempDir(), "heron.mp4")
    return Effect.gen(function* () {
      const report = yield* Engine.runMany([{ key: "heron", request: routed, output }], {
        batch: "b",
        recreateUncertain: true
      })
      assert.strictEqual(report.saved.size, 1)
      assert.strictEqual(w.first.submits.length, 0, "never sent to another route")
      assert.deepStrictEqual(
        w.second.submits.map((submit) => submit.idempotencyKey),
        ["key-from-the-journal"]
      )
    }).pipe(Effect.provide(w.layer), Effect.provide(store), advancing)
  })

  it.effect("an uncertain create whose route the store does not know is created again nowhere", () => {
    const w = world([])
    const store = storeWith({ _tag: "Uncertain", idempotencyKey: "key-from-the-journal" })
    const output = path.join(tempDir(), "heron.mp4")
    return Effect.gen(function* () {
      const report = yield* Engine.runMany([{ key: "heron", request: routed, output }], {
        batch: "b",
        recreateUncertain: true
      })
      assert.strictEqual(report.failed.get("heron")?._tag, "UncertainSubmission")
      assert.strictEqual(w.first.submits.length + w.second.submits.length, 0)
    }).pipe(Effect.provide(w.layer), Effect.provide(store), advancing)
  })
})
