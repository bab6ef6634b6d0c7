/**
 * @reelay/provider-laozhang-sora — Sora 2 through laozhang's chat completions API, streamed.
 *
 * @since 0.1.0
 */

/** Reading the streamed answer: queue, progress, the video link, or the vendor's failure text. */
export * as SoraAnswer from "./Answer.js"
/** What the tools that load this package build it from. */
export { descriptor, descriptor as default } from "./Descriptor.js"
/** The provider: `make`, `layer`, `layerConfig`. */
export * as LaozhangSora from "./LaozhangSora.js"
/** The catalog: `sora_video2`, `sora_video2-landscape`. */
export * as SoraModels from "./Models.js"
/** A Server-Sent Events decoder with bounded memory. */
export * as Sse from "./Sse.js"
