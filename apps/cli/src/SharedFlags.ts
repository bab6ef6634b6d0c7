/**
 * Flags several commands take, each one value reused by every command that takes it: where the
 * settings come from (`--profile`, `--config`, `--journal`), which provider and model, the budget,
 * the deadline, the concurrency of a batch, and `--json`.
 *
 * @since 0.1.0
 */
import * as Settings from "@reelay/config/Settings"
import * as Spec from "./Spec.js"

export const profile = Spec.text("profile", "A profile of reelay.config.json.", {
  env: Settings.env.profile,
  default: "the file's defaultProfile"
})
export const config = Spec.text("config", "The configuration file.", {
  env: Settings.env.config,
  default: "./reelay.config.json if present"
})
export const journal = Spec.text("journal", "The journal: a SQLite path or a postgres:// URL.", {
  env: Settings.env.journal,
  default: ".reelay/journal.db"
})
export const json = Spec.boolean("json", "Print NDJSON on stdout: every event, then the result or the error.")
export const jsonOutput = Spec.boolean("json", "Print JSON.")

export const provider = Spec.text(
  "provider",
  "The provider: a built-in, simulator[:<provider>], a plugin or a reseller of the configuration file (reelay models lists them).",
  { env: Settings.env.provider, default: "the profile's, else the one whose key is set, else the simulator" }
)
export const model = Spec.text("model", "A model of the provider.", {
  env: Settings.env.model,
  default: "the profile's, else the provider's default"
})
export const baseUrl = Spec.text(
  "base-url",
  "The provider's API base URL, with /v1 (else the variable its package names; reelay config shows it)."
)
export const maxCost = Spec.text("max-cost", "The most this run may commit, in dollars, e.g. 2.50.", {
  env: Settings.env.maxCost,
  default: "no limit"
})
export const timeout = Spec.text(
  "timeout",
  "How long to wait for a video before stopping with a resumable PollTimeout: 90s, 10m, 1h.",
  { env: Settings.env.timeout, default: "10m" }
)

/** Where settings come from, for every command that reads them. */
export const sources = { profile, config, journal }

/** The concurrency of a batch's three stages. */
export const concurrency = {
  concurrencySubmit: Spec.integer("concurrency-submit", "Items submitting at once.", { default: "10" }),
  concurrencyStatus: Spec.integer("concurrency-status", "Status calls in flight.", { default: "10" }),
  concurrencyDownload: Spec.integer("concurrency-download", "Downloads at once.", { default: "5" })
}

/** What every command that runs a batch takes besides its own flags: deadline, budget, concurrency, output, sources. */
export const batchRun = { timeout, maxCost, ...concurrency, json, ...sources }
