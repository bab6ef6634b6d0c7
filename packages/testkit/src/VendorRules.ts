/**
 * What the vendors charge, written out from their reference pages (ARCHITECTURE.md, "Billing
 * semantics"), independently of reelay's own `Billing` module: the conformance suite derives every
 * expected charge from these rules, so a mistake in reelay's billing code shows up as a failure
 * instead of being copied into the expectation.
 *
 * - laozhang async and apiyi (`async`): "Only charge when video successfully generates"; failure,
 *   timeout and content-safety rejections are free.
 * - laozhang official forward (`official`): Pay-per-request, every accepted create.
 * - laozhang Sora (`sora`): "charges as long as request succeeds (HTTP 200), even if generation fails".
 *
 * @since 0.1.0
 */

/** The wire protocols of the reference pages. */
export type Protocol = "async" | "official" | "sora"

/** The vendors' three charge rules. */
export type Rule = "on-success" | "per-request" | "on-response"

/** The rule each protocol's page states. */
export const ruleOf: Readonly<Record<Protocol, Rule>> = {
  async: "on-success",
  official: "per-request",
  sora: "on-response"
}

/** Whether the vendor charges a request it accepted whose generation then failed or was rejected. */
export const chargesFailedGeneration = (rule: Rule): boolean => rule !== "on-success"

/** Whether the vendor charges a request it accepted, before knowing the outcome (at the create / the 200). */
export const chargesOnAcceptance = (rule: Rule): boolean => rule !== "on-success"

/**
 * Whether asking again after a failed generation costs nothing: only then does reelay regenerate
 * without the caller's consent, which the suite's engine is configured to do once.
 */
export const freeRegeneration = (rule: Rule): boolean => rule === "on-success"
