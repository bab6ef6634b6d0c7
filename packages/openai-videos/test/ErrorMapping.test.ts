import * as Headers from "@effect/platform/Headers"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it } from "@effect/vitest"
import type { VideoError } from "@reelay/core/VideoError"
import * as Redacted from "effect/Redacted"
import * as ErrorMapping from "../src/ErrorMapping.js"

const key = Redacted.make("sk-live-0123456789abcdef")
const context = (operation: ErrorMapping.Operation): ErrorMapping.Context => ({
  provider: "acme",
  operation,
  ...(operation === "create" ? {} : { taskId: "video_1" }),
  secrets: [key],
  keyHint: "set ACME_API_KEY",
  now: 0
})

const answer = (status: number, error?: Record<string, unknown>, headers: Record<string, string> = {}) =>
  ({
    _tag: "Answer",
    status,
    headers: Headers.fromInput(headers),
    body: error === undefined ? "<html>bad gateway</html>" : JSON.stringify({ error })
  }) as const

const map = (operation: ErrorMapping.Operation, failure: ErrorMapping.WireFailure): VideoError =>
  ErrorMapping.toVideoError(context(operation), failure)

describe("ErrorMapping.toVideoError", () => {
  it("maps every documented status and code", () => {
    const table: ReadonlyArray<readonly [ErrorMapping.Operation, ErrorMapping.WireFailure, VideoError["_tag"]]> = [
      [
        "create",
        answer(401, { code: "invalid_api_key", message: "Invalid API key provided", type: "authentication_error" }),
        "AuthenticationFailed"
      ],
      ["status", answer(403, {}), "AuthenticationFailed"],
      ["create", answer(400, { code: "invalid_api_key" }), "AuthenticationFailed"],
      ["create", answer(402, { code: "insufficient_balance", message: "Insufficient balance" }), "InsufficientBalance"],
      ["create", answer(400, { code: "quota_exceeded", message: "Quota exceeded" }), "InsufficientBalance"],
      ["create", answer(429, { code: "insufficient_quota", type: "insufficient_quota" }), "InsufficientBalance"],
      ["create", answer(400, { code: "content_policy_violation", message: "rejected" }), "ContentRejected"],
      ["create", answer(400, { code: "moderation_blocked" }), "ContentRejected"],
      [
        "create",
        answer(400, { code: "invalid_prompt", message: "flagged by the content safety system" }),
        "ContentRejected"
      ],
      ["create", answer(429, { code: "rate_limit_exceeded" }, { "retry-after": "3" }), "RateLimited"],
      ["status", answer(404, { code: "video_not_found" }), "TaskNotFound"],
      ["content", answer(404, {}), "TaskNotFound"],
      ["content", answer(400, { code: "video_not_found" }), "TaskNotFound"],
      ["create", answer(404, { code: "not_found" }), "InvalidRequest"],
      ["content", answer(400, { code: "video_not_ready", message: "Video is not ready yet" }), "ProviderUnavailable"],
      ["create", answer(400, { code: "video_not_ready" }), "InvalidRequest"],
      ["create", answer(500, { code: "internal_error" }), "ProviderUnavailable"],
      ["create", answer(503, { code: "service_unavailable" }), "ProviderUnavailable"],
      ["create", answer(502), "ProviderUnavailable"],
      ["status", answer(408), "ProviderUnavailable"],
      ["create", answer(400, { code: "invalid_model", message: "Model not found" }), "InvalidRequest"],
      ["create", answer(413, { code: "request_too_large" }), "InvalidRequest"],
      ["create", answer(422), "InvalidRequest"],
      ["create", answer(200, { code: "something_new" }), "MalformedResponse"],
      ["status", { _tag: "Undecodable", status: 200, body: '{"id":', problem: "not JSON" }, "MalformedResponse"]
    ]
    for (const [operation, failure, tag] of table) {
      const error = map(operation, failure)
      assert.strictEqual(error._tag, tag, `${operation} ${JSON.stringify(failure)}`)
      assert.strictEqual(error.provider, "acme")
    }
  })

  it("keeps the vendor's code and the server's pacing hints", () => {
    const limited = map(
      "create",
      answer(429, { code: "rate_limit_exceeded" }, { "retry-after": "2", "retry-after-ms": "1500" })
    )
    assert.strictEqual(limited._tag, "RateLimited")
    if (limited._tag === "RateLimited") assert.strictEqual(limited.retryAfterMillis, 1500)
    const busy = map("status", answer(503, { code: "service_unavailable" }, { "retry-after": "4" }))
    assert.strictEqual(busy._tag, "ProviderUnavailable")
    if (busy._tag === "ProviderUnavailable") {
      assert.strictEqual(busy.stage, "response")
      assert.strictEqual(busy.retryAfterMillis, 4000)
      assert.strictEqual(busy.httpStatus, 503)
      assert.strictEqual(busy.taskId, "video_1")
    }
    const broke = map("create", answer(402, { code: "quota_exceeded" }))
    if (broke._tag === "InsufficientBalance") assert.strictEqual(broke.vendorCode, "quota_exceeded")
    const model = map("create", answer(400, { code: "invalid_model", message: "Model veo-9 not found" }))
    assert.strictEqual(model._tag, "InvalidRequest")
    if (model._tag === "InvalidRequest") assert.strictEqual(model.field, "model")
    assert.include(model.message, "Model veo-9 not found")
  })

  it("treats a gateway error on a create as ambiguous, and on a read as a plain outage", () => {
    for (const status of [502, 504]) {
      const create = map("create", answer(status))
      const read = map("status", answer(status))
      assert.isTrue(create._tag === "ProviderUnavailable" && create.stage === "exchange")
      assert.isTrue(read._tag === "ProviderUnavailable" && read.stage === "response")
    }
    const plain = map("create", answer(500))
    assert.isTrue(plain._tag === "ProviderUnavailable" && plain.stage === "response")
  })

  it("names the key's variable on authentication failures", () => {
    const error = map("create", answer(401, { code: "invalid_api_key", message: "Invalid API key provided" }))
    assert.include(error.message, "set ACME_API_KEY")
    assert.include(error.message, "invalid_api_key")
  })

  it("classifies transport failures by how far the exchange got", () => {
    const request = HttpClientRequest.post("http://127.0.0.1:1/v1/videos")
    const refused = map("create", {
      _tag: "Transport",
      error: new HttpClientError.RequestError({
        request,
        reason: "Transport",
        cause: Object.assign(new Error("fetch failed"), { cause: { code: "ECONNREFUSED" } })
      })
    })
    assert.isTrue(refused._tag === "ProviderUnavailable" && refused.stage === "connect")
    const reset = map("create", {
      _tag: "Transport",
      error: new HttpClientError.RequestError({
        request,
        reason: "Transport",
        cause: Object.assign(new Error("other side closed"), { code: "ECONNRESET" })
      })
    })
    assert.isTrue(reset._tag === "ProviderUnavailable" && reset.stage === "exchange")
    const cut = map("status", { _tag: "Unreadable", status: 200, cause: { code: "UND_ERR_SOCKET" } })
    assert.isTrue(cut._tag === "ProviderUnavailable" && cut.stage === "exchange")
    const invalidUrl = map("create", {
      _tag: "Transport",
      error: new HttpClientError.RequestError({ request, reason: "InvalidUrl" })
    })
    assert.strictEqual(invalidUrl._tag, "InvalidRequest")
  })

  it("never quotes a key, an Authorization value or a full URL", () => {
    const leaky = {
      code: "invalid_api_key",
      message:
        "Incorrect API key sk-live-0123456789abcdef (Authorization: Bearer sk-live-0123456789abcdef); see https://cdn.example/v/abc.mp4?token=s3cr3t"
    }
    const error = map("create", answer(401, leaky))
    assert.notInclude(error.message, "0123456789abcdef")
    assert.notInclude(error.message, "s3cr3t")
    assert.notInclude(error.message, "abc.mp4")
    assert.include(error.message, "https://cdn.example/…")
    const garbled = map("content", {
      _tag: "Undecodable",
      status: 200,
      body: `{"url":"https://cdn.example/assets/flow/7f3a.mp4?sig=abc","key":"sk-live-0123456789abcdef"`,
      problem: "not JSON"
    })
    assert.strictEqual(garbled._tag, "MalformedResponse")
    if (garbled._tag === "MalformedResponse") {
      assert.isDefined(garbled.excerpt)
      assert.notInclude(garbled.excerpt ?? "", "7f3a")
      assert.notInclude(garbled.excerpt ?? "", "0123456789abcdef")
      assert.isAtMost((garbled.excerpt ?? "").length, 161)
    }
  })
})

describe("ErrorMapping.failedTask", () => {
  it("tells a content rejection from a generation failure", () => {
    const rejected = ErrorMapping.failedTask(context("status"), {
      code: "content_policy_violation",
      message: "The request was rejected by the content safety system"
    })
    assert.strictEqual(rejected._tag, "ContentRejected")
    assert.strictEqual(rejected.vendorCode, "content_policy_violation")
    const failed = ErrorMapping.failedTask(context("status"), {
      code: "generation_failed",
      message: "Video generation failed"
    })
    assert.strictEqual(failed._tag, "GenerationFailed")
    if (failed._tag === "GenerationFailed") {
      assert.strictEqual(failed.vendorCode, "generation_failed")
      assert.strictEqual(failed.vendorMessage, "Video generation failed")
      assert.strictEqual(failed.taskId, "video_1")
    }
    assert.strictEqual(ErrorMapping.failedTask(context("status"), undefined)._tag, "GenerationFailed")
    assert.strictEqual(ErrorMapping.failedTask(context("status"), "blocked by moderation")._tag, "ContentRejected")
  })
})
