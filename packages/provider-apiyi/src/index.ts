/**
 * @reelay/provider-apiyi — apiyi.com's Veo 3.1 async API.
 *
 * @since 0.1.0
 */

/** The provider: `make`, `layer`, `makeConfig`, `layerConfig`. */
export * as Apiyi from "./Apiyi.js"
/** What the tools that load this package build it from. */
export { descriptor, descriptor as default } from "./Apiyi.js"
/** The eight veo-3.1 models with prices, capabilities and generation times. */
export * as ApiyiCatalog from "./ApiyiCatalog.js"
