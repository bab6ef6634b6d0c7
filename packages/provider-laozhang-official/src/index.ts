/**
 * @reelay/provider-laozhang-official — laozhang.ai's Veo 3.1 official forward.
 *
 * @since 0.1.0
 */

/** What the tools that load this package build it from. */
export { descriptor, descriptor as default } from "./Descriptor.js"
/** The provider: `make`, `layer`, `makeConfig`, `layerConfig`, and the page's rules (`check`). */
export * as LaozhangOfficial from "./LaozhangOfficial.js"
/** The two preview models with prices, capabilities and generation times. */
export * as LaozhangOfficialCatalog from "./LaozhangOfficialCatalog.js"
