/**
 * Billing semantics: who charges when, and what a given failure costs.
 *
 * The vendors' pages define three rules (ARCHITECTURE.md, "Billing semantics"). Providers only
 * declare which rule a model follows; every decision about whether money was spent is made here,
 * so the providers cannot diverge.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * - `on-success`: charged only when the task completes (laozhang async, apiyi).
 * - `per-request`: charged for every accepted create, whatever happens next (laozhang official forward).
 * - `on-response`: charged for every HTTP 200, even when generation then fails (laozhang sora, sync).
 */
export const ChargePolicy = Schema.Literal("on-success", "per-request", "on-response")
export type ChargePolicy = typeof ChargePolicy.Type

/** Whether a failed or finished attempt cost money. */
export const BillingOutcome = Schema.Literal("charged", "not-charged", "unknown")
export type BillingOutcome = typeof BillingOutcome.Type

/**
 * How far a submission got before it ended. Together with the charge policy this decides the
 * billing outcome.
 *
 * - `refused`: the provider answered the create with an error, or it was never sent; nothing exists.
 * - `ambiguous`: the create may or may not have reached the provider (a cut connection, an
 *   unreadable answer): a task may exist.
 * - `accepted`: the provider accepted the create (a task id or an HTTP 200 stream), and the work
 *   ended without a video (failed, rejected, expired, still running at the deadline).
 * - `completed`: the provider produced the video (even if the download then failed).
 */
export type Stage = "refused" | "ambiguous" | "accepted" | "completed"

/**
 * The billing outcome of a submission that ended at `stage` under `policy`.
 *
 * `accepted` under `on-success` is `not-charged` for failures, but a task still running when we stop
 * waiting may yet complete and be charged: callers pass `stillRunning` for that case.
 */
export const outcome = (
  policy: ChargePolicy,
  stage: Stage,
  options?: { readonly stillRunning?: boolean }
): BillingOutcome => {
  switch (stage) {
    case "refused":
      return "not-charged"
    case "ambiguous":
      return "unknown"
    case "completed":
      return "charged"
    case "accepted":
      if (policy !== "on-success") return "charged"
      return options?.stillRunning === true ? "unknown" : "not-charged"
  }
}

/** Whether asking the provider for a new video after a failed one costs money under `policy`. */
export const regenerationIsFree = (policy: ChargePolicy): boolean => policy === "on-success"

/** The moment the provider's charge becomes certain, for `Charged` events and budget settlement. */
export const chargedAt = (policy: ChargePolicy): "accepted" | "completed" =>
  policy === "on-success" ? "completed" : "accepted"
