/**
 * Exit codes: one per error class, so a script can tell "the budget stopped it" from "the key is
 * wrong" without parsing text. The `reelay` command exits with them, and `@reelay/client`'s errors
 * carry them (`error.exitCode`). The numbers are part of the contract (README, tests): never
 * renumber one, only add. The error classes' codes and meanings live in `@reelay/core/ErrorTraits`;
 * the README's table is checked against `table` by a test.
 *
 * @since 0.1.0
 */
import * as ErrorTraits from "@reelay/core/ErrorTraits"
import * as VideoError from "@reelay/core/VideoError"

/** Everything worked. */
export const ok = 0
/** A bug: an unexpected defect. The message is printed with its cause. */
export const internal = 1
/** The command line, the configuration file or the batch file is wrong (unknown flag, malformed line, ...). */
export const usage = 2
/** A batch ran to its end, and some of its items failed (each failure is reported). */
export const batchFailed = 3
/** The journal could not be opened, read or written (a full disk, a lost database): the run stopped. */
export const journal = 4
/** Interrupted (Ctrl-C / SIGINT). The journal is consistent; the resume command is printed. */
export const interrupted = 130
/** Terminated (SIGTERM), handled like an interruption. */
export const terminated = 143

/** The code of each error class, from `ErrorTraits`: `InvalidRequest` 10 ... `BudgetExceeded` 23. */
export const byTag: Readonly<Record<VideoError.VideoError["_tag"], number>> = Object.fromEntries(
  VideoError.tags.map((tag) => [tag, ErrorTraits.table[tag].exitCode])
) as Record<VideoError.VideoError["_tag"], number>

/** The code for an error class. */
export const forError = (error: { readonly _tag: string }): number => {
  switch (error._tag) {
    case "UsageError":
    case "BatchFileError":
    case "ConfigFileError":
    case "ValidationError":
    case "StateFileError":
      return usage
    case "JournalError":
    case "JobStoreError":
      return journal
    case "Interrupted":
    case "Aborted":
      return interrupted
    default:
      return (byTag as Record<string, number | undefined>)[error._tag] ?? internal
  }
}

/** The table, for `--help` texts, the README and tests. */
export const table: ReadonlyArray<{ readonly code: number; readonly meaning: string }> = [
  { code: ok, meaning: "success" },
  { code: internal, meaning: "internal error (a bug; please report it)" },
  {
    code: usage,
    meaning:
      "usage: a bad flag, configuration file, batch file line that is not a request (not JSON, a missing or mistyped field) or unwritable output (nothing was sent); a line whose request its model refuses exits 10"
  },
  { code: batchFailed, meaning: "the batch finished and some items failed (each is listed)" },
  {
    code: journal,
    meaning: "the journal cannot be opened, read or written (a full disk: the cause is printed; the run stops)"
  },
  ...VideoError.tags.map((tag) => ({ code: byTag[tag], meaning: `${tag}: ${ErrorTraits.table[tag].meaning}` })),
  { code: interrupted, meaning: "interrupted (Ctrl-C); the resume command is printed" },
  { code: terminated, meaning: "terminated (SIGTERM); the resume command is printed" }
]
