/**
 * Exit codes: one per error class, so a script can tell "the budget stopped it" from "the key is
 * wrong" without parsing text. The numbers are part of the CLI's contract (README, tests): never
 * renumber one, only add.
 *
 * @since 0.1.0
 */
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

/** The first code of the error classes; each `VideoError` tag gets `errorBase + its index in VideoError.tags`. */
export const errorBase = 10

/** The code of each error class, in `VideoError.tags` order: `InvalidRequest` 10 ... `BudgetExceeded` 23. */
export const byTag: Readonly<Record<VideoError.VideoError["_tag"], number>> = Object.fromEntries(
  VideoError.tags.map((tag, index) => [tag, errorBase + index])
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
    default:
      return (byTag as Record<string, number | undefined>)[error._tag] ?? internal
  }
}

/** The table, for `--help` texts, the README and tests. */
export const table: ReadonlyArray<{ readonly code: number; readonly meaning: string }> = [
  { code: ok, meaning: "success" },
  { code: internal, meaning: "internal error (a bug; please report it)" },
  { code: usage, meaning: "usage: bad flag, configuration file or batch file (nothing was sent)" },
  { code: batchFailed, meaning: "the batch finished and some items failed" },
  { code: journal, meaning: "the journal cannot be opened, read or written (the run stopped; the cause is printed)" },
  ...VideoError.tags.map((tag) => ({ code: byTag[tag], meaning: tag })),
  { code: interrupted, meaning: "interrupted (Ctrl-C); the resume command is printed" },
  { code: terminated, meaning: "terminated (SIGTERM); the resume command is printed" }
]
