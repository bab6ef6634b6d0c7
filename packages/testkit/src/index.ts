/**
 * @reelay/testkit — the provider conformance suite and the helpers it is built from.
 *
 * @since 0.1.0
 */

/** The conformance suite: `Conformance.run(options)` in a provider's `test/conformance.test.ts`. */
export * as Conformance from "./Conformance.js"
/** A vendor-neutral fault-injecting proxy in front of any server. */
export * as FaultProxy from "./FaultProxy.js"
/** The conformance kit for any protocol: scenarios by concern, against a target behind the fault proxy. */
export * as Kit from "./Kit.js"
/** What the kit runs against: a provider author's fake server (its ledger contract) or the simulator. */
export * as Target from "./Target.js"
/** Test helpers: the simulator in a test, an engine tuned to it, collecting events, stub servers. */
export * as Testkit from "./Testkit.js"
/** The vendors' charge rules, from their reference pages. */
export * as VendorRules from "./VendorRules.js"
