/**
 * A gateway for a test: `Gateway.layer` built in its own scope with `env` as its whole environment
 * (read through Effect's `Config`, never `process.env`). Its base URL, and how to stop it as
 * SIGTERM does (jobs drained, journal closed).
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import type OpenAI from "openai"
import * as Gateway from "../../src/Gateway.js"

export const start = async (
  options: Omit<Gateway.Options, "port" | "host">,
  env: Readonly<Record<string, string>>
): Promise<{ readonly baseURL: string; readonly stop: () => Promise<void> }> => {
  const scope = Effect.runSync(Scope.make())
  const built = await Effect.runPromise(
    Layer.buildWithScope(Gateway.layer({ ...options, port: 0, host: "127.0.0.1" }), scope).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
    )
  ).catch(async (error: unknown) => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    throw error
  })
  const address = Context.get(built, HttpServer.HttpServer).address
  if (address._tag !== "TcpAddress") throw new Error("expected a TCP address")
  return {
    baseURL: `http://127.0.0.1:${address.port}/v1`,
    stop: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/**
 * Polls a video as a client does, honouring `openai-poll-after-ms` (which every unfinished answer
 * must carry), until it is completed or failed.
 */
export const settle = async (openai: OpenAI, id: string, limitMs = 30_000) => {
  const until = Date.now() + limitMs
  for (;;) {
    const { data, response } = await openai.videos.retrieve(id).withResponse()
    if (data.status === "completed" || data.status === "failed") return data
    const after = Number(response.headers.get("openai-poll-after-ms"))
    if (!(after > 0)) throw new Error(`video ${id} is ${data.status} and its answer has no openai-poll-after-ms`)
    if (Date.now() > until) throw new Error(`video ${id} still ${data.status}`)
    await new Promise((resolve) => setTimeout(resolve, Math.min(after, 200)))
  }
}

/** Polls a video until it leaves `queued` (its task id is journaled): its status then. */
export const started = async (openai: OpenAI, id: string) => {
  for (let tries = 0; tries < 250; tries++) {
    const { status } = await openai.videos.retrieve(id)
    if (status !== "queued") return status
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return "queued"
}

/** The error an SDK call failed with (a call that succeeds fails the test). */
export const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected the call to fail")
    },
    (error: unknown) => error as InstanceType<typeof OpenAI.APIError>
  )
