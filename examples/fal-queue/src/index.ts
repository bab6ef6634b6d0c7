/**
 * @reelay/example-fal-queue — a reelay provider plugin for a fal-style queue API. Name it in
 * `reelay.config.json` (`"plugins": ["@reelay/example-fal-queue"]`) or build it in code.
 *
 * @since 0.1.0
 */
import { descriptor } from "./Descriptor.js"

/** The models and the queue paths they are posted to. */
export * as Catalog from "./Catalog.js"
/** The provider: `make`, `layer`, `makeConfig`, `layerConfig`. */
export * as FalQueue from "./FalQueue.js"

/** What `"plugins"` loads: the package's descriptor. */
export { descriptor }
export default descriptor
