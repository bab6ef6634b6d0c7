/**
 * @reelay/testkit — the provider conformance suite and the helpers it is built from.
 *
 * @since 0.1.0
 */

/** The conformance suite: `Conformance.run(options)` in a provider's `test/conformance.test.ts`. */
export * as Conformance from "./Conformance.js"
/** Test helpers: the simulator in a test, an engine tuned to it, collecting events, stub servers. */
export * as Testkit from "./Testkit.js"
/** The vendors' charge rules, from their reference pages. */
export * as VendorRules from "./VendorRules.js"
