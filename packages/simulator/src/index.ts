/**
 * @reelay/simulator — a local HTTP server that speaks the laozhang and apiyi video APIs (Veo 3.1
 * async, the official forward, Sora 2 chat completions), with a CDN, a billing ledger, a request log
 * and injectable faults. See the package README for every route, directive and control endpoint.
 *
 * @since 0.1.0
 */

/** The `@sim:` fault directive grammar. */
export * as Directive from "./Directive.js"
/** The billing ledger and its exact money formatting. */
export * as Ledger from "./Ledger.js"
/** The models each host serves, with prices and charge rules. */
export * as Models from "./Models.js"
/** Request records and key fingerprints. */
export * as RequestLog from "./RequestLog.js"
/** Injectable clocks for deterministic tests. */
export * as SimClock from "./SimClock.js"
/** Starting, stopping and inspecting a simulator. */
export * as Simulator from "./Simulator.js"
/** Task timelines: durations, phases and progress. */
export * as Timeline from "./Timeline.js"
/** The committed MP4 files and their padding. */
export * as Videos from "./Videos.js"
