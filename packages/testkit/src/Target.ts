/**
 * What the conformance kit runs against: a server speaking the provider's protocol, started fresh for
 * each scenario — a provider author's own fake, or the built-in simulator. A target says where the
 * provider is pointed, which origins its answers' links lead to (all of them are put behind the
 * fault proxy), what each request does (so faults can aim at creates, status calls, content calls
 * or downloads), and, when it can, what it created and charged.
 *
 * The fake-server contract is one endpoint, `GET <baseUrl>/__fake/ledger` (no key), answering
 * `{ "creates": [{ "id": "..." }], "charges": [{ "id": "...", "usd": "1.20" }] }`: every request the
 * fake created, and every charge it made, in dollars as a decimal string (`"$1.20"` is read too). A
 * target without a ledger is still tested: the kit counts the creates that reached it from the
 * proxy's log, and checks no charge.
 *
 * @since 0.1.0
 */
import * as Money from "@reelay/core/Money"
import type * as SimModels from "@reelay/simulator/Models"
import * as Simulator from "@reelay/simulator/Simulator"
import * as Redacted from "effect/Redacted"
import type * as FaultProxy from "./FaultProxy.js"

/** What a target created and charged. */
export interface Ledger {
  /** The requests it created (tasks, queue requests), when it knows them. */
  readonly creates?: ReadonlyArray<{ readonly id: string }> | undefined
  /** What it charged; absent when the target does not say. */
  readonly charges?: ReadonlyArray<{ readonly id: string; readonly usd: string }> | undefined
}

/** A started target. */
export interface Running {
  /** The provider's base URL on the target (before the proxy stands in front of it). */
  readonly baseUrl: string
  /** Every origin the provider or its video links reach; each is put behind the proxy. */
  readonly origins: ReadonlyArray<string>
  readonly classify: FaultProxy.Options["classify"]
  /** A key the target accepts. */
  readonly apiKey: Redacted.Redacted<string>
  readonly ledger?: (() => Promise<Ledger>) | undefined
  readonly close: () => Promise<void>
}

export interface Target {
  readonly name: string
  readonly start: () => Promise<Running>
}

/** The sum of a ledger's charges, in dollars. */
export const charged = (ledger: Ledger): Money.Usd =>
  Money.sum((ledger.charges ?? []).map((charge) => Money.usd(charge.usd.replace(/^\$/, ""))))

/**
 * A provider author's fake server implementing the ledger contract (`GET /__fake/ledger`).
 * `start` starts one and gives its base URL; `classify` says what each request does.
 */
export const fake = (options: {
  readonly name: string
  readonly start: () => Promise<{ readonly baseUrl: string; readonly close: () => Promise<void> }>
  readonly classify: FaultProxy.Options["classify"]
  /** A key the fake accepts (default `fake-key`). */
  readonly apiKey?: string | undefined
  /** Origins besides the base URL's that its answers lead to (a CDN of its own), put behind the proxy too. */
  readonly origins?: ReadonlyArray<string> | undefined
}): Target => ({
  name: options.name,
  start: async () => {
    const server = await options.start()
    const origin = new URL(server.baseUrl).origin
    return {
      baseUrl: server.baseUrl,
      origins: [origin, ...(options.origins ?? [])],
      classify: options.classify,
      apiKey: Redacted.make(options.apiKey ?? "fake-key"),
      ledger: async () => {
        const answer = await fetch(`${origin}/__fake/ledger`)
        if (!answer.ok) throw new Error(`${options.name}: GET /__fake/ledger answered ${answer.status}`)
        return (await answer.json()) as Ledger
      },
      close: server.close
    }
  }
})

/** What a request to the simulator does, by its path (`/v1/videos`, its Sora chat, the CDN). */
export const classifySimulator =
  (cdn: string): FaultProxy.Options["classify"] =>
  ({ method, path, origin }) => {
    if (origin === cdn) return "download"
    const route = path.split("?")[0]!
    if (method === "POST" && /\/(videos|chat\/completions)$/.test(route)) return "create"
    if (method === "GET" && /\/(videos|video\/generations)\/[^/]+\/content$/.test(route)) return "content"
    if (method === "GET" && /\/(videos|video\/generations)\/[^/]+$/.test(route)) return "status"
    return "other"
  }

/** The built-in simulator, one host of it, at `timeScale`; its ledger gives the charges. */
export const simulator = (host: SimModels.Host, timeScale: number): Target => ({
  name: `simulator (${host})`,
  start: async () => {
    const sim = await Simulator.start({ timeScale })
    const cdn = new URL(sim.urls.cdn).origin
    return {
      baseUrl: sim.urls[host],
      origins: [new URL(sim.urls[host]).origin, cdn],
      classify: classifySimulator(cdn),
      apiKey: Redacted.make("sk-kit"),
      ledger: async () => ({
        charges: sim.ledger().map((entry) => ({ id: entry.taskId, usd: entry.amount }))
      }),
      close: sim.stop
    }
  }
})
