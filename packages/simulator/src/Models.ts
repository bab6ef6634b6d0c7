/**
 * The models each simulated host accepts, with the price and charge rule of the reference pages.
 * The simulator keeps its own catalog (it must not import `@reelay/core`): it plays the vendor.
 *
 * @since 0.1.0
 */

/** The two vendors, each under its own path prefix. */
export type Host = "laozhang" | "apiyi"

/**
 * The wire protocol a model is served by:
 * - `async`: the veo-3.1 family, JSON create, polling, `/content` returning a CDN URL.
 * - `official`: laozhang's official forward, multipart create, `/content` returning MP4 bytes.
 * - `sora`: laozhang's chat completions, synchronous, optionally streamed as SSE.
 */
export type Protocol = "async" | "official" | "sora"

/** When the vendor charges (ARCHITECTURE.md, "Billing semantics"). */
export type ChargeRule = "on-success" | "per-request" | "on-response"

/** The default generation-time class of a model. */
export type SpeedClass = "fast" | "standard" | "sora"

/** One model as a host serves it. */
export interface Model {
  readonly id: string
  readonly protocol: Protocol
  /** Price per charge, exact decimal US dollars. */
  readonly price: string
  readonly rule: ChargeRule
  readonly speed: SpeedClass
  /** Fixed by the model name for `async` and `sora`; the request decides for `official`. */
  readonly orientation: "portrait" | "landscape" | undefined
  /** `-fl` models: first (and last) frame input. */
  readonly frames: boolean
}

/** The charge rule of each protocol. */
export const chargeRule: Record<Protocol, ChargeRule> = {
  async: "on-success",
  official: "per-request",
  sora: "on-response"
}

const veoFamily = (): ReadonlyArray<Model> => {
  const models: Array<Model> = []
  for (const landscape of [false, true]) {
    for (const fast of [false, true]) {
      for (const frames of [false, true]) {
        const id = ["veo-3.1", landscape ? "-landscape" : "", fast ? "-fast" : "", frames ? "-fl" : ""].join("")
        models.push({
          id,
          protocol: "async",
          price: fast ? "0.15" : "0.25",
          rule: "on-success",
          speed: fast ? "fast" : "standard",
          orientation: landscape ? "landscape" : "portrait",
          frames
        })
      }
    }
  }
  return models
}

const official: ReadonlyArray<Model> = [
  {
    id: "veo-3.1-fast-generate-preview",
    protocol: "official",
    price: "0.30",
    rule: "per-request",
    speed: "fast",
    orientation: undefined,
    frames: false
  },
  {
    id: "veo-3.1-generate-preview",
    protocol: "official",
    price: "1.20",
    rule: "per-request",
    speed: "standard",
    orientation: undefined,
    frames: false
  }
]

const sora: ReadonlyArray<Model> = [
  {
    id: "sora_video2",
    protocol: "sora",
    price: "0.15",
    rule: "on-response",
    speed: "sora",
    orientation: "portrait",
    frames: false
  },
  {
    id: "sora_video2-landscape",
    protocol: "sora",
    price: "0.15",
    rule: "on-response",
    speed: "sora",
    orientation: "landscape",
    frames: false
  }
]

const index = (models: ReadonlyArray<Model>): ReadonlyMap<string, Model> => new Map(models.map((m) => [m.id, m]))

/** Every model of each host, by id. */
export const catalog: Record<Host, ReadonlyMap<string, Model>> = {
  laozhang: index([...veoFamily(), ...official, ...sora]),
  apiyi: index(veoFamily())
}

/** The model `id` on `host`, if the host serves it. */
export const find = (host: Host, id: string): Model | undefined => catalog[host].get(id)
