/**
 * The fault matrix's expectations: every fault the simulator offers (its `@sim:` directives, on every
 * stage they act on) against the three vendor protocols, written out by hand from the vendors'
 * charge rules (`VendorRules`: `async` → on-success, `official` → per-request, `sora` →
 * on-response) and the simulator's documented behaviour — never computed from reelay's own
 * `Billing` or `RetryPolicy`, so a mistake there fails a cell instead of being copied into it.
 *
 * Each cell says how the generation ends (`saved`, or the error's `_tag` and `billing`), how many
 * creates the vendor received for it (all with one `Idempotency-Key` when a create was retried, a
 * new one per regenerated task), which call was retried, and how many charges the vendor's ledger
 * shows once every task has ended on its side. Where `billing` is `unknown` the ledger is given as
 * the range reelay cannot narrow down (and the test also checks the exact count the simulator's
 * documentation implies, `ledger`).
 *
 * The engine under test runs with the testkit's settings (3 retries per call, one free
 * regeneration, never a paid one) and small timeouts: 2 s per create and per read, a 1.5 s idle
 * timeout on downloads.
 */
import type * as VendorRules from "@reelay/testkit/VendorRules"

/** Short, fixed phases (simulator seconds, unscaled): a task ends 0.14 s after its create. */
export const quick = "@sim:timing(queue=0.02,run=0.12)"

/** Longer than every timeout of the engine under test (`slowMillis` > 2 s create/read, 1.5 s idle). */
export const slowMillis = 4000
/** Well within every timeout. */
export const briefMillis = 200

export type ErrorTag =
  | "RateLimited"
  | "ProviderUnavailable"
  | "UncertainSubmission"
  | "ContentRejected"
  | "InsufficientBalance"
  | "GenerationFailed"
  | "TaskExpired"
  | "TaskNotFound"
  | "DownloadFailed"

/** A call the engine repeats. */
export type Retried = "submit" | "status" | "content" | "download" | "generate"

/** The video is saved, byte for byte what the vendor made (of `bytes` bytes when the vendor padded it). */
export interface Saved {
  readonly _tag: "Saved"
  readonly creates: number
  /** A call that must have been retried (a `Retrying` event): the fault happened and was survived. */
  readonly retried?: Retried | undefined
  readonly bytes?: number | undefined
  readonly ledger: 1
}

/** The generation fails. */
export interface Fails {
  readonly _tag: "Fails"
  /** Any of these tags (the vendor's 404 for an expired task may arrive as either). */
  readonly error: ReadonlyArray<ErrorTag>
  readonly billing: "charged" | "not-charged" | "unknown"
  readonly creates: number
  /** `same`: one logical create, retried; `distinct`: a new task per attempt (regeneration). */
  readonly keys?: "same" | "distinct" | undefined
  /** Charges the vendor's ledger shows once every task ended, as the simulator documents them. */
  readonly ledger: number
  /**
   * For `unknown`: what reelay cannot rule out, [least, most] charges. The ledger must lie in it
   * (and the budget's certain / uncertain amounts must bracket it).
   */
  readonly possible?: readonly [number, number] | undefined
}

/** The fault cannot happen on this protocol. */
export interface NotApplicable {
  readonly _tag: "NotApplicable"
  readonly why: string
}

export type Cell = Saved | Fails | NotApplicable

export interface Row {
  /** The fault, in words. */
  readonly name: string
  /** What the prompt carries. */
  readonly directives: string
  /** The stage the fault acts on, for the report. */
  readonly stage: "create" | "task" | "status" | "content" | "download"
  /** Overrides the engine's 60 s polling / stream deadline for this row. */
  readonly deadlineMillis?: number | undefined
  readonly cells: Readonly<Record<VendorRules.Protocol, Cell>>
}

const saved = (creates = 1, more: Partial<Omit<Saved, "_tag" | "creates" | "ledger">> = {}): Saved => ({
  _tag: "Saved",
  creates,
  ledger: 1,
  ...more
})
const fails = (fields: Omit<Fails, "_tag">): Fails => ({ _tag: "Fails", ...fields })
const na = (why: string): NotApplicable => ({ _tag: "NotApplicable", why })
const same = <A extends Cell>(cell: A): Readonly<Record<VendorRules.Protocol, A>> => ({
  async: cell,
  official: cell,
  sora: cell
})

const noStatusCalls = na("Sora is one streamed answer: there are no status calls")
const noContentCall = na("Sora's answer carries the video link: there is no content call")
const noSse = na("a /v1/videos protocol: no SSE stream to cut")

/** Four attempts: the first and the testkit engine's three retries. */
const attempts = 4

export const rows: ReadonlyArray<Row> = [
  // ---------------------------------------------------------------- the create
  {
    name: "429 on the create, once",
    directives: `${quick} @sim:429(retry-after=0.01)`,
    stage: "create",
    cells: same(saved(2, { retried: "submit" }))
  },
  {
    name: "429 on the create, always",
    directives: "@sim:429(times=always,retry-after=0.01)",
    stage: "create",
    // A 429 creates nothing under any rule: retried with the same key until the retries run out.
    cells: same(fails({ error: ["RateLimited"], billing: "not-charged", creates: attempts, keys: "same", ledger: 0 }))
  },
  {
    name: "500 on the create",
    directives: `${quick} @sim:500`,
    stage: "create",
    cells: same(saved(2, { retried: "submit" }))
  },
  {
    name: "503 burst on the create (2)",
    directives: `${quick} @sim:503(times=2)`,
    stage: "create",
    cells: same(saved(3, { retried: "submit" }))
  },
  {
    name: "503 on the create, always",
    directives: "@sim:503(times=always)",
    stage: "create",
    cells: same(
      fails({ error: ["ProviderUnavailable"], billing: "not-charged", creates: attempts, keys: "same", ledger: 0 })
    )
  },
  {
    name: "connection reset before the create is processed",
    directives: "@sim:reset-before-create",
    stage: "create",
    // The vendor created nothing, but a reset after sending looks the same as a lost answer: reelay
    // cannot tell, so it must not retry and must say `unknown`.
    cells: same(fails({ error: ["UncertainSubmission"], billing: "unknown", creates: 1, ledger: 0, possible: [0, 1] }))
  },
  {
    name: "connection reset after the create (answer lost)",
    directives: `${quick} @sim:reset-after-create`,
    stage: "create",
    // The task exists: charged at once (per-request, on-response) or when it completes (on-success).
    cells: same(fails({ error: ["UncertainSubmission"], billing: "unknown", creates: 1, ledger: 1, possible: [0, 1] }))
  },
  {
    name: "slow create, within the create timeout",
    directives: `${quick} @sim:slow(ms=${briefMillis})`,
    stage: "create",
    cells: same(saved(1))
  },
  {
    name: "slow create, past the create timeout",
    directives: `${quick} @sim:slow(ms=${slowMillis})`,
    stage: "create",
    // The stream's only limit before its first byte is the deadline (see the README): 3 s here.
    deadlineMillis: 3000,
    // The simulator waits before processing and gives up when the client leaves: nothing is created.
    // reelay gave up on a create it had sent: `unknown`, never repeated.
    cells: same(fails({ error: ["UncertainSubmission"], billing: "unknown", creates: 1, ledger: 0, possible: [0, 1] }))
  },
  {
    name: "502 on the create, from the gateway after forwarding it",
    directives: `${quick} @sim:502`,
    stage: "create",
    // The service behind the gateway created the task; only its answer was lost. Charged by the rule
    // as if the answer had arrived: at completion (on-success), at acceptance (per-request), for the
    // 200 the gateway did not pass on (on-response). reelay cannot tell this 502 from one sent before
    // forwarding, so `unknown`, never a second create.
    cells: same(fails({ error: ["UncertainSubmission"], billing: "unknown", creates: 1, ledger: 1, possible: [0, 1] }))
  },
  {
    name: "504 on the create, from the gateway after forwarding it",
    directives: `${quick} @sim:504`,
    stage: "create",
    // As the 502: the gateway stopped waiting for an answer to a create the service had accepted.
    cells: same(fails({ error: ["UncertainSubmission"], billing: "unknown", creates: 1, ledger: 1, possible: [0, 1] }))
  },
  {
    name: "create answered after the create timeout (the task exists)",
    directives: `${quick} @sim:slow-after-create(ms=${slowMillis})`,
    stage: "create",
    // The task is created at once and charged by the rule; the answer comes after reelay gave up.
    cells: same(fails({ error: ["UncertainSubmission"], billing: "unknown", creates: 1, ledger: 1, possible: [0, 1] }))
  },
  {
    name: "malformed create answer",
    directives: `${quick} @sim:malformed(on=create)`,
    stage: "create",
    cells: {
      // The task exists and the answer cannot be read: as a lost answer.
      async: fails({ error: ["UncertainSubmission"], billing: "unknown", creates: 1, ledger: 1, possible: [0, 1] }),
      official: fails({
        error: ["UncertainSubmission"],
        billing: "unknown",
        creates: 1,
        ledger: 1,
        possible: [0, 1]
      }),
      // One garbled `data:` line of the stream: skipped, the video still arrives.
      sora: saved(1)
    }
  },
  {
    name: "content policy at the create (400)",
    directives: "@sim:content-policy(on=create)",
    stage: "create",
    cells: same(fails({ error: ["ContentRejected"], billing: "not-charged", creates: 1, ledger: 0 }))
  },
  {
    name: "insufficient balance (402)",
    directives: "@sim:insufficient-balance",
    stage: "create",
    cells: same(fails({ error: ["InsufficientBalance"], billing: "not-charged", creates: 1, ledger: 0 }))
  },
  // ---------------------------------------------------------------- the task
  {
    name: "generation fails",
    directives: `${quick} @sim:fail`,
    stage: "task",
    cells: {
      // Free under on-success, so asked for once more (a new task, a new key); fails again.
      async: fails({ error: ["GenerationFailed"], billing: "not-charged", creates: 2, keys: "distinct", ledger: 0 }),
      // Charged at acceptance: never regenerated without consent.
      official: fails({ error: ["GenerationFailed"], billing: "charged", creates: 1, ledger: 1 }),
      sora: fails({ error: ["GenerationFailed"], billing: "charged", creates: 1, ledger: 1 })
    }
  },
  {
    name: "content policy during the task",
    directives: `${quick} @sim:content-policy`,
    stage: "task",
    cells: {
      async: fails({ error: ["ContentRejected"], billing: "not-charged", creates: 1, ledger: 0 }),
      official: fails({ error: ["ContentRejected"], billing: "charged", creates: 1, ledger: 1 }),
      sora: fails({ error: ["ContentRejected"], billing: "charged", creates: 1, ledger: 1 })
    }
  },
  {
    name: "task expires before it completes",
    directives: "@sim:timing(queue=0,run=2) @sim:expire(after=0.15)",
    stage: "task",
    cells: {
      // The vendor charges nothing (never completed). Its 404 comes long before the task's stated
      // 24 h expiry, and a 404 then may as well mean a wrong key (the task running on, to be charged):
      // reelay cannot tell, so `unknown`.
      async: fails({ error: ["TaskNotFound"], billing: "unknown", creates: 1, ledger: 0, possible: [0, 1] }),
      official: fails({ error: ["TaskNotFound"], billing: "charged", creates: 1, ledger: 1 }),
      // The stream is not polled: it delivers the link, whose video expired with the task (CDN 404).
      sora: fails({ error: ["DownloadFailed"], billing: "charged", creates: 1, ledger: 1 })
    }
  },
  {
    name: "video padded to 3 MiB",
    directives: `${quick} @sim:pad(bytes=3m)`,
    stage: "task",
    cells: same(saved(1, { bytes: 3 * 1024 * 1024 }))
  },
  {
    name: "unknown status value",
    directives: `${quick} @sim:unknown-status`,
    stage: "status",
    cells: { async: saved(1), official: saved(1), sora: noStatusCalls }
  },
  {
    name: "malformed status answer",
    directives: `${quick} @sim:malformed`,
    stage: "status",
    cells: { async: saved(1), official: saved(1), sora: noStatusCalls }
  },
  {
    name: "SSE stream cut at 50 %",
    directives: `${quick} @sim:sse-cut(at=50)`,
    stage: "create",
    cells: {
      async: noSse,
      official: noSse,
      // The 200 was sent, and laozhang's Sora bills every HTTP 200: a stream cut after it is charged.
      sora: fails({ error: ["ProviderUnavailable"], billing: "charged", creates: 1, ledger: 1 })
    }
  },
  // ---------------------------------------------------------------- status polls
  {
    name: "429 on a status poll",
    directives: `${quick} @sim:429(on=status,retry-after=0.01)`,
    stage: "status",
    cells: { async: saved(1, { retried: "status" }), official: saved(1, { retried: "status" }), sora: noStatusCalls }
  },
  {
    name: "500 on a status poll",
    directives: `${quick} @sim:500(on=status)`,
    stage: "status",
    cells: { async: saved(1, { retried: "status" }), official: saved(1, { retried: "status" }), sora: noStatusCalls }
  },
  {
    name: "502 on a status poll",
    directives: `${quick} @sim:502(on=status)`,
    stage: "status",
    // A read costs nothing: a gateway's error on it is an outage like any other.
    cells: { async: saved(1, { retried: "status" }), official: saved(1, { retried: "status" }), sora: noStatusCalls }
  },
  {
    name: "503 burst on status polls (2)",
    directives: `${quick} @sim:503(on=status,times=2)`,
    stage: "status",
    cells: { async: saved(1, { retried: "status" }), official: saved(1, { retried: "status" }), sora: noStatusCalls }
  },
  {
    name: "503 on every status poll",
    directives: `${quick} @sim:503(on=status,times=always)`,
    stage: "status",
    cells: {
      // We stop asking; the task completes at the vendor anyway and is charged then.
      async: fails({ error: ["ProviderUnavailable"], billing: "unknown", creates: 1, ledger: 1, possible: [0, 1] }),
      official: fails({ error: ["ProviderUnavailable"], billing: "charged", creates: 1, ledger: 1 }),
      sora: noStatusCalls
    }
  },
  {
    name: "slow status poll, past the read timeout",
    directives: `${quick} @sim:slow(on=status,ms=${slowMillis})`,
    stage: "status",
    cells: { async: saved(1, { retried: "status" }), official: saved(1, { retried: "status" }), sora: noStatusCalls }
  },
  // ---------------------------------------------------------------- the content call
  // The official forward's /content answers the video bytes: its content faults act on the download.
  {
    name: "429 on the content call",
    directives: `${quick} @sim:429(on=content,retry-after=0.01)`,
    stage: "content",
    cells: {
      async: saved(1, { retried: "content" }),
      official: saved(1, { retried: "download" }),
      sora: noContentCall
    }
  },
  {
    name: "500 on the content call",
    directives: `${quick} @sim:500(on=content)`,
    stage: "content",
    cells: {
      async: saved(1, { retried: "content" }),
      official: saved(1, { retried: "download" }),
      sora: noContentCall
    }
  },
  {
    name: "504 on the content call",
    directives: `${quick} @sim:504(on=content)`,
    stage: "content",
    cells: {
      async: saved(1, { retried: "content" }),
      official: saved(1, { retried: "download" }),
      sora: noContentCall
    }
  },
  {
    name: "503 burst on the content call (2)",
    directives: `${quick} @sim:503(on=content,times=2)`,
    stage: "content",
    cells: {
      async: saved(1, { retried: "content" }),
      official: saved(1, { retried: "download" }),
      sora: noContentCall
    }
  },
  {
    name: "503 on every content call",
    directives: `${quick} @sim:503(on=content,times=always)`,
    stage: "content",
    cells: {
      // The video exists: charged, whatever happens to the link.
      async: fails({ error: ["ProviderUnavailable"], billing: "charged", creates: 1, ledger: 1 }),
      official: fails({ error: ["DownloadFailed"], billing: "charged", creates: 1, ledger: 1 }),
      sora: noContentCall
    }
  },
  {
    name: "malformed content answer",
    directives: `${quick} @sim:malformed(on=content)`,
    stage: "content",
    cells: {
      async: saved(1, { retried: "content" }),
      official: na("the official forward's content is the MP4 itself: there is no JSON answer to garble"),
      sora: noContentCall
    }
  },
  {
    name: "slow content call, past the read timeout",
    directives: `${quick} @sim:slow(on=content,ms=${slowMillis})`,
    stage: "content",
    cells: {
      async: saved(1, { retried: "content" }),
      official: saved(1, { retried: "download" }),
      sora: noContentCall
    }
  },
  // ---------------------------------------------------------------- the download
  {
    name: "429 on the download",
    directives: `${quick} @sim:429(on=download,retry-after=0.01)`,
    stage: "download",
    cells: same(saved(1, { retried: "download" }))
  },
  {
    name: "500 on the download",
    directives: `${quick} @sim:500(on=download)`,
    stage: "download",
    cells: same(saved(1, { retried: "download" }))
  },
  {
    name: "502 on the download",
    directives: `${quick} @sim:502(on=download)`,
    stage: "download",
    cells: same(saved(1, { retried: "download" }))
  },
  {
    name: "503 burst on the download (2)",
    directives: `${quick} @sim:503(on=download,times=2)`,
    stage: "download",
    cells: same(saved(1, { retried: "download" }))
  },
  {
    name: "503 on every download",
    directives: `${quick} @sim:503(on=download,times=always)`,
    stage: "download",
    cells: same(fails({ error: ["DownloadFailed"], billing: "charged", creates: 1, ledger: 1 }))
  },
  {
    name: "download cut halfway, once",
    directives: `${quick} @sim:truncate`,
    stage: "download",
    cells: same(saved(1, { retried: "download" }))
  },
  {
    name: "download cut on every transfer",
    directives: `${quick} @sim:truncate(times=always)`,
    stage: "download",
    cells: same(fails({ error: ["DownloadFailed"], billing: "charged", creates: 1, ledger: 1 }))
  },
  {
    name: "slow download, past the idle timeout",
    directives: `${quick} @sim:slow(on=download,ms=${slowMillis})`,
    stage: "download",
    cells: same(saved(1, { retried: "download" }))
  }
]
