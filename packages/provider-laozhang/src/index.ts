/**
 * @reelay/provider-laozhang — laozhang.ai's async Veo 3.1 API.
 *
 * @since 0.1.0
 */

/** The provider: `make`, `layer`, `makeConfig`, `layerConfig`. */
export * as Laozhang from "./Laozhang.js"
/** What the tools that load this package build it from. */
export { descriptor, descriptor as default } from "./Laozhang.js"
/** The eight veo-3.1 models with prices, capabilities and generation times. */
export * as LaozhangCatalog from "./LaozhangCatalog.js"
