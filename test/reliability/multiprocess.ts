/**
 * The multi-process stress test's machinery (`multiprocess.test.ts`): one batch, several `reelay`
 * processes on one journal, SIGKILLs at random instants, and the check of what is left.
 *
 * - **The batch**: `count` items, every prompt unique, a seeded share of them carrying a fault
 *   directive for the simulator (a connection reset before or after the create is processed, a 503
 *   answered to the create, a CDN download cut once or twice mid-transfer), over four laozhang
 *   models of two prices and two frame sizes.
 * - **The fleet**: `reelay batch` / `reelay resume` processes, each started through one of the
 *   journal's names (SQLite: the path, a symlink, a hard link; PostgreSQL: the URL) with a random
 *   submit concurrency, killed with SIGKILL and replaced round after round.
 * - **The check** (`check`): pure, over what the simulator, the journal, the output directory and
 *   the CLI say once every process has ended. It returns every violation found, not the first, so
 *   a failure shows all the evidence at once, and the run's figures.
 *
 * Nothing here asserts on time: the real clock only spaces the kills.
 *
 * @since 0.2.0
 */
import type { ChildProcess } from "node:child_process"
import { createHash } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import * as Harness from "../cli/harness.js"

export { random } from "../crash/harness.js"

/** The simulator and the CLI run 60× faster than the vendors: a fast model takes 0.5–1 s. */
export const timeScale = 1 / 60

/** What the simulator is asked to do to an item (a `@sim:` directive in its prompt). */
export type Fault = "none" | "reset-before-create" | "reset-after-create" | "503" | "truncate" | "truncate-twice"

const directive: Readonly<Record<Fault, string>> = {
  none: "",
  "reset-before-create": " @sim:reset-before-create",
  "reset-after-create": " @sim:reset-after-create",
  "503": " @sim:503",
  truncate: " @sim:truncate",
  "truncate-twice": " @sim:truncate(times=2)"
}

/**
 * The share of a batch's items given each fault; the rest get none. Fixed shares (not a draw per
 * item), so every fault is armed in every run; which items get them is drawn.
 */
const shares: ReadonlyArray<readonly [Fault, number]> = [
  ["reset-before-create", 0.1],
  ["reset-after-create", 0.1],
  ["503", 0.1],
  ["truncate", 0.25],
  ["truncate-twice", 0.1]
]

/** laozhang's `/v1/videos` models (on-success billing): two prices, two frame sizes. */
export const models = ["veo-3.1-fast", "veo-3.1", "veo-3.1-landscape-fast", "veo-3.1-landscape"] as const

const subjects = [
  "a paper boat drifting on a pond at dawn",
  "a lighthouse in a storm",
  "a fox crossing a snowy field",
  "rain on a neon street",
  "a hot-air balloon over hills",
  "a train through a pine forest"
]

export interface PlannedItem {
  readonly key: string
  readonly prompt: string
  readonly model: (typeof models)[number]
  readonly fault: Fault
}

/** Item keys, zero-padded so they sort. */
export const keyOf = (index: number) => `shot-${String(index + 1).padStart(3, "0")}`

/** The batch: `count` items with unique prompts, the faults spread over them by `draw`. */
export const planItems = (draw: () => number, count: number, tag: string): ReadonlyArray<PlannedItem> => {
  const faults: Array<Fault> = []
  for (const [fault, share] of shares) {
    for (let n = Math.max(1, Math.round(share * count)); n > 0 && faults.length < count; n--) faults.push(fault)
  }
  while (faults.length < count) faults.push("none")
  // Fisher–Yates with the seeded draw.
  for (let i = faults.length - 1; i > 0; i--) {
    const j = Math.floor(draw() * (i + 1))
    ;[faults[i], faults[j]] = [faults[j]!, faults[i]!]
  }
  return faults.map((fault, index) => ({
    key: keyOf(index),
    prompt: `${tag}, shot ${index + 1}: ${subjects[index % subjects.length]}${directive[fault]}`,
    model: models[Math.floor(draw() * models.length)]!,
    fault
  }))
}

/** The batch file: one JSON line per item. */
export const batchFile = (items: ReadonlyArray<PlannedItem>) =>
  `${items.map((item) => JSON.stringify({ key: item.key, prompt: item.prompt, model: item.model })).join("\n")}\n`

/** One of a journal's names, as processes are given it. */
export interface JournalName {
  readonly label: string
  readonly value: string
}

/**
 * A SQLite journal's three names: the path, a symlink to it and a hard link to it (in other
 * directories). The hard link needs the file: call after the journal was created.
 */
export const sqliteNames = (dir: string, path: string): ReadonlyArray<JournalName> => {
  const symlink = NodePath.join(dir, "by-symlink", "journal.db")
  const hardLink = NodePath.join(dir, "by-hard-link", "journal.db")
  NodeFs.mkdirSync(NodePath.dirname(symlink), { recursive: true })
  NodeFs.mkdirSync(NodePath.dirname(hardLink), { recursive: true })
  NodeFs.symlinkSync(path, symlink)
  NodeFs.linkSync(path, hardLink)
  return [
    { label: "path", value: path },
    { label: "symlink", value: symlink },
    { label: "hard link", value: hardLink }
  ]
}

/** How a process ended: on its own (code or signal), or not within the bound (it was killed then). */
export type Ending =
  | { readonly _tag: "Exited"; readonly result: Harness.Result }
  | { readonly _tag: "Hung"; readonly message: string }

/** One `reelay` process of the fleet. */
export interface Process {
  readonly id: number
  readonly command: "batch" | "resume"
  readonly journal: string
  readonly concurrency: number
  readonly child: ChildProcess
  readonly ending: Promise<Ending>
  /** Set when the process has exited, by whatever cause. */
  exited: boolean
  /** Set when this test SIGKILLed it. */
  killed: boolean
}

export interface FleetOptions {
  readonly cwd: string
  readonly env: Readonly<Record<string, string>>
  readonly file: string
  readonly batch: string
  readonly outDir: string
  readonly baseUrl: string
  /** How long a process may run before it is reported hung (and killed). */
  readonly hangMillis: number
}

/** Starts and tracks the processes of one run. */
export const fleet = (options: FleetOptions) => {
  const processes: Array<Process> = []
  const start = (command: "batch" | "resume", journal: JournalName, concurrency: number): Process => {
    const args =
      command === "batch"
        ? [
            "batch",
            options.file,
            "--provider",
            "laozhang",
            "--base-url",
            options.baseUrl,
            "--batch",
            options.batch,
            "--out-dir",
            options.outDir
          ]
        : ["resume", options.batch]
    const child = Harness.start(
      [...args, "--journal", journal.value, "--concurrency-submit", String(concurrency), "--json"],
      { cwd: options.cwd, env: options.env }
    )
    const ending = Harness.finish(child, options.hangMillis).then(
      (result): Ending => ({ _tag: "Exited", result }),
      (error: unknown): Ending => ({ _tag: "Hung", message: String(error).slice(-4000) })
    )
    const member: Process = {
      id: processes.length + 1,
      command,
      journal: journal.label,
      concurrency,
      child,
      ending,
      exited: false,
      killed: false
    }
    child.on("exit", () => {
      member.exited = true
    })
    processes.push(member)
    return member
  }
  /** SIGKILLs a process; it counts as killed unless it had ended by itself first (then it is judged). */
  const kill = async (member: Process) => {
    member.child.kill("SIGKILL")
    const ending = await member.ending
    member.killed = ending._tag === "Exited" && ending.result.signal === "SIGKILL"
  }
  return {
    processes,
    start,
    kill,
    running: () => processes.filter((member) => !member.exited),
    /** SIGKILLs every process still running (when the test ends early). */
    stop: () => {
      for (const member of processes) if (!member.exited) member.child.kill("SIGKILL")
    },
    /** Waits for every process to end. */
    settle: () => Promise.all(processes.map((member) => member.ending))
  }
}

/** The `report` a `--json` batch or resume prints last, if it printed one. */
export interface RunReport {
  readonly total: number
  readonly saved: number
  readonly failed: number
  readonly items: ReadonlyArray<{ readonly key: string; readonly state: string; readonly error?: { _tag: string } }>
}

export const reportOf = (result: Harness.Result): RunReport | undefined => {
  for (const line of [...result.lines].reverse()) {
    try {
      const parsed = JSON.parse(line) as { report?: RunReport }
      if (parsed.report !== undefined) return parsed.report
    } catch {
      // Not JSON: a stray line; the exit code says whether the run went wrong.
    }
  }
  return undefined
}

/** Exact money in millionths of a dollar, from `"0.15"`, `"$1.20"`, `"0.125"`. */
export const micros = (text: string): bigint => {
  const match = /^\$?(\d+)(?:\.(\d{1,6}))?$/.exec(text.trim())
  if (match === null) throw new Error(`not an amount: ${JSON.stringify(text)}`)
  return BigInt(match[1]!) * 1_000_000n + BigInt((match[2] ?? "").padEnd(6, "0"))
}

export const dollars = (amount: bigint) => {
  const cents = amount / 10_000n
  const rest = amount % 10_000n
  return `$${cents / 100n}.${String(cents % 100n).padStart(2, "0")}${rest === 0n ? "" : String(rest).padStart(4, "0").replace(/0+$/, "")}`
}

const sumOf = (amounts: Iterable<bigint>) => {
  let total = 0n
  for (const amount of amounts) total += amount
  return total
}

export const sha256 = (bytes: Buffer | string) =>
  createHash("sha256")
    .update(typeof bytes === "string" ? NodeFs.readFileSync(bytes) : bytes)
    .digest("hex")

/** Every file under `dir`, relative to it, sorted. */
export const filesUnder = (dir: string): ReadonlyArray<string> =>
  NodeFs.existsSync(dir)
    ? (NodeFs.readdirSync(dir, { recursive: true, withFileTypes: true }) as Array<NodeFs.Dirent>)
        .filter((entry) => !entry.isDirectory())
        .map((entry) => NodePath.relative(dir, NodePath.join(entry.parentPath ?? entry.path, entry.name)))
        .sort()
    : []

// ---------------------------------------------------------------------------------------------
// The check

/** A task at the simulator, made with the run's key. */
export interface SimTask {
  readonly id: string
  readonly prompt: string
  readonly status: string
  readonly idempotencyKey: string | null
  /** The sha256 and size of the video it delivers. */
  readonly sha256: string
  readonly bytes: number
}

/** A create the simulator received with the run's key. */
export interface SimCreate {
  readonly taskId: string | null
  readonly idempotencyKey: string | null
  readonly status: number | null
  readonly outcome: string
  readonly faults: ReadonlyArray<string>
}

/** A CDN request for one of the run's tasks. */
export interface SimDownload {
  /** Arrival order at the CDN. */
  readonly seq: number
  readonly taskId: string | null
  readonly range: string | null
  readonly truncated: boolean
}

/** An item as the journal ends. */
export interface JournalItem {
  readonly key: string
  readonly state: string
  readonly prompt: string
  readonly taskId: string | undefined
  readonly path: string | undefined
  readonly sha256: string | undefined
  readonly bytes: number | undefined
  readonly output: string
  readonly error: { readonly _tag: string; readonly message: string } | undefined
}

/** A charge as the journal ends: `charged` is certain, `unknown` possible. */
export interface JournalCharge {
  readonly key: string
  readonly taskId: string | undefined
  readonly amount: bigint
  readonly billing: "charged" | "unknown"
}

/** `Saved` events, per item: the files the journal recorded saving. */
export interface SavedEvent {
  readonly key: string
  readonly path: string
  readonly sha256: string
}

/** What `reelay status ID --json` and `reelay cost --batch ID --json` said (the figures this test reads). */
export interface CliMoney {
  readonly status: {
    readonly charged: string
    readonly uncertain: string
    readonly items: ReadonlyArray<{ readonly key: string; readonly state: string; readonly uncertain: string }>
  }
  readonly cost: {
    readonly total: { readonly charged: string; readonly uncertain: string }
    readonly simulator?: { readonly charged: string; readonly uncertain: string } | undefined
  }
}

/** How a process of the fleet (or the final resume) ended. */
export interface Ended {
  readonly label: string
  readonly killed: boolean
  readonly ending: Ending
}

export interface Observed {
  readonly planned: ReadonlyArray<PlannedItem>
  readonly tasks: ReadonlyArray<SimTask>
  readonly creates: ReadonlyArray<SimCreate>
  readonly downloads: ReadonlyArray<SimDownload>
  readonly ledger: ReadonlyArray<{ readonly taskId: string; readonly amount: bigint }>
  readonly items: ReadonlyArray<JournalItem>
  readonly charges: ReadonlyArray<JournalCharge>
  readonly saved: ReadonlyArray<SavedEvent>
  /** Items the journal found mid-create, their process gone (`Interrupted` entries): creates a kill stranded. */
  readonly interrupted: ReadonlyArray<string>
  /** Each item's journal entries, oldest first (`Submitting`, `Submitted`, ..., `Interrupted`), for evidence. */
  readonly events: ReadonlyMap<string, ReadonlyArray<string>>
  readonly outDir: string
  readonly files: ReadonlyArray<string>
  readonly cli: CliMoney
  /** Every process of the fleet. */
  readonly processes: ReadonlyArray<Ended>
  /** The last `reelay resume`, which must end the batch. */
  readonly final: Ended
}

export interface Figures {
  readonly promptsCreatedTwice: number
  readonly tasks: number
  readonly creates: number
  readonly resetsBefore: number
  readonly resetsAfter: number
  readonly retried503: number
  readonly cuts: number
  /** Cut transfers whose next transfer asked for the rest (`Range`), or started again from byte 0. */
  readonly resumedWithRange: number
  readonly restartedFromZero: number
  readonly saved: number
  readonly reported: number
  readonly uncertain: number
  /** Creates a kill stranded (`Interrupted`), distinct items. */
  readonly stranded: number
  /** Per fault: items saved / reported. */
  readonly byFault: Readonly<Record<string, { saved: number; reported: number }>>
  readonly errors: Readonly<Record<string, number>>
  readonly ledger: bigint
  readonly charged: bigint
  readonly possible: bigint
  readonly exits: Readonly<Record<string, number>>
}

/** States an item may end in once the batch is over: saved, or reported with its error. */
const reportedStates: ReadonlySet<string> = new Set(["uncertain", "failed", "expired"])

const describeEnding = (ended: Ended) =>
  ended.ending._tag === "Hung"
    ? `hung: ${ended.ending.message}`
    : ended.ending.result.signal !== null
      ? `signal ${ended.ending.result.signal}`
      : `exit ${ended.ending.result.code}`

/**
 * Every rule the run must keep, checked against what everyone says once it is over. Returns the
 * violations (empty when the run is correct) and the figures.
 */
export const check = (
  observed: Observed
): { readonly violations: ReadonlyArray<string>; readonly figures: Figures } => {
  const violations: Array<string> = []
  const fail = (message: string) => violations.push(message)
  const byPrompt = new Map<string, Array<SimTask>>()
  for (const task of observed.tasks) byPrompt.set(task.prompt, [...(byPrompt.get(task.prompt) ?? []), task])
  const tasksById = new Map(observed.tasks.map((task) => [task.id, task]))
  const promptToKey = new Map(observed.planned.map((item) => [item.prompt, item.key]))

  // 1. No prompt has two tasks at the simulator; every task is one of the batch's prompts.
  let promptsCreatedTwice = 0
  for (const [prompt, tasks] of byPrompt) {
    if (!promptToKey.has(prompt))
      fail(`task(s) ${tasks.map((t) => t.id).join(", ")} for a prompt not in the batch: ${prompt}`)
    if (tasks.length > 1) {
      promptsCreatedTwice++
      fail(
        `${promptToKey.get(prompt)}: created ${tasks.length} times at the simulator (tasks ${tasks.map((t) => `${t.id} key ${t.idempotencyKey}`).join(", ")})`
      )
    }
  }

  // 2. Every item saved exactly once, or reported with its error; nothing left in between.
  const items = new Map(observed.items.map((item) => [item.key, item]))
  if (observed.items.length !== observed.planned.length) {
    fail(`the journal holds ${observed.items.length} items, the batch has ${observed.planned.length}`)
  }
  const expectedFiles: Array<string> = []
  const errors: Record<string, number> = {}
  let saved = 0
  let reported = 0
  let uncertain = 0
  for (const plan of observed.planned) {
    const item = items.get(plan.key)
    if (item === undefined) {
      fail(`${plan.key}: not in the journal`)
      continue
    }
    if (item.prompt !== plan.prompt) fail(`${plan.key}: the journal's prompt differs from the batch file's`)
    const tasks = byPrompt.get(plan.prompt) ?? []
    if (item.state === "downloaded") {
      saved++
      const file = item.path ?? ""
      const rel = NodePath.relative(observed.outDir, file)
      expectedFiles.push(rel)
      if (file !== item.output) fail(`${plan.key}: saved at ${file}, asked for ${item.output}`)
      if (!NodeFs.existsSync(file)) {
        fail(`${plan.key}: downloaded per the journal, but ${file} does not exist`)
        continue
      }
      const onDisk = sha256(file)
      if (onDisk !== item.sha256) fail(`${plan.key}: ${file} has sha256 ${onDisk}, the journal says ${item.sha256}`)
      if (NodeFs.statSync(file).size !== item.bytes) fail(`${plan.key}: ${file} size differs from the journal's`)
      const task = item.taskId === undefined ? undefined : tasksById.get(item.taskId)
      if (task === undefined) fail(`${plan.key}: saved from task ${item.taskId}, which the simulator never made`)
      else {
        if (task.prompt !== plan.prompt) fail(`${plan.key}: saved from task ${task.id}, made for another prompt`)
        if (task.sha256 !== onDisk) fail(`${plan.key}: ${file} is not the video of task ${task.id} (sha256 differs)`)
      }
      const savedEvents = observed.saved.filter((event) => event.key === plan.key)
      const distinct = new Set(savedEvents.map((event) => `${event.path} ${event.sha256}`))
      if (distinct.size !== 1) {
        fail(`${plan.key}: the journal recorded saving ${distinct.size} different files: ${[...distinct].join("; ")}`)
      }
      if (plan.fault === "reset-before-create" || plan.fault === "reset-after-create") {
        fail(`${plan.key}: saved, though every create of its prompt is cut by ${plan.fault}`)
      }
    } else if (reportedStates.has(item.state) && item.error !== undefined) {
      reported++
      errors[item.error._tag] = (errors[item.error._tag] ?? 0) + 1
      if (item.state === "uncertain") {
        uncertain++
        if (item.error._tag !== "UncertainSubmission") {
          fail(`${plan.key}: uncertain with a ${item.error._tag} (${item.error.message})`)
        }
      }
    } else {
      fail(
        `${plan.key}: left ${item.state}${item.error === undefined ? " without an error" : ` (${item.error._tag}: ${item.error.message})`} after the final resume`
      )
    }
    // A reset before the create is processed: the simulator never has a task for it.
    if (plan.fault === "reset-before-create" && tasks.length > 0) {
      fail(`${plan.key}: reset before its create was processed, yet tasks ${tasks.map((t) => t.id).join(", ")} exist`)
    }
    // A prompt whose create was never answered (reset after it was processed) cannot be saved.
    if (item.state !== "downloaded" && item.taskId !== undefined && !tasksById.has(item.taskId)) {
      fail(`${plan.key}: the journal names task ${item.taskId}, which the simulator never made`)
    }
  }
  // The CDN cuts happened as armed: a saved video whose prompt asks for `truncate(times=n)` was cut
  // exactly n times, no other video was. What followed each cut is counted, not asserted: the
  // process that was cut resumes with `Range` from what it received, but one killed before its
  // received bytes reached the disk (`.part` is written in batches) leaves nothing to resume from,
  // and the next one rightly starts from byte 0; the file is checked above either way.
  let resumedWithRange = 0
  let restartedFromZero = 0
  for (const plan of observed.planned) {
    const item = items.get(plan.key)
    const task = item?.taskId === undefined ? undefined : tasksById.get(item.taskId)
    if (item?.state !== "downloaded" || task === undefined) continue
    const transfers = observed.downloads.filter((download) => download.taskId === task.id)
    const cuts = transfers.filter((download) => download.truncated)
    const armed = plan.fault === "truncate" ? 1 : plan.fault === "truncate-twice" ? 2 : 0
    if (cuts.length !== armed) fail(`${plan.key}: its download was cut ${cuts.length} time(s), ${armed} armed`)
    for (const cut of cuts) {
      const next = transfers.find((download) => download.seq > cut.seq)
      if (next?.range === null) restartedFromZero++
      else if (next !== undefined) resumedWithRange++
    }
  }

  const files = [...observed.files].sort()
  const wanted = [...expectedFiles].sort()
  const extra = files.filter((file) => !wanted.includes(file))
  const missing = wanted.filter((file) => !files.includes(file))
  /** What each process printed about an item (its NDJSON events' tags), for evidence. */
  const workedOn = (key: string) =>
    [...observed.processes, observed.final]
      .flatMap((ended) => {
        if (ended.ending._tag !== "Exited") return []
        const tags = ended.ending.result.lines.flatMap((line) => {
          try {
            const event = JSON.parse(line) as { readonly key?: string; readonly _tag?: string; readonly code?: string }
            return event.key === key ? [event._tag === "Warning" ? `Warning(${event.code})` : String(event._tag)] : []
          } catch {
            return []
          }
        })
        const compact = tags.filter((tag, index) => tag !== "Progress" || tags[index - 1] !== "Progress")
        return compact.length === 0 ? [] : [`${ended.label}${ended.killed ? " [killed]" : ""}: ${compact.join(" ")}`]
      })
      .join("; ")
  for (const file of extra) {
    // The evidence for a stray file: whose it is, how big, and what the journal and the CDN saw.
    const key = NodePath.basename(file).replace(/\.mp4(\..*)?$/, "")
    const item = items.get(key)
    const task = item?.taskId === undefined ? undefined : tasksById.get(item.taskId)
    const size = NodeFs.statSync(NodePath.join(observed.outDir, file)).size
    const transfers = observed.downloads
      .filter((download) => task !== undefined && download.taskId === task.id)
      .map((download) => `#${download.seq} ${download.range ?? "whole"}${download.truncated ? " cut" : ""}`)
    fail(
      `${file} (${size} bytes) left in the output directory: item ${key} is ${item?.state ?? "unknown"}` +
        `${item?.taskId === undefined ? "" : ` (task ${item.taskId}, ${task?.bytes} bytes)`}; ` +
        `CDN transfers: ${transfers.join(", ") || "none"}; journal: ${(observed.events.get(key) ?? []).join(" ")}; ` +
        `events per process: ${workedOn(key)}`
    )
  }
  if (missing.length > 0) fail(`saved videos missing from the output directory: ${missing.join(", ")}`)

  // 3. Money. reelay's certain charges never exceed the ledger and equal it for every item that
  // is not uncertain (task by task); in total, the ledger is covered by charged + uncertain.
  const ledgerByTask = new Map<string, bigint>()
  for (const entry of observed.ledger)
    ledgerByTask.set(entry.taskId, (ledgerByTask.get(entry.taskId) ?? 0n) + entry.amount)
  const ledgerTotal = sumOf(observed.ledger.map((entry) => entry.amount))
  const certain = observed.charges.filter((charge) => charge.billing === "charged")
  const possible = observed.charges.filter((charge) => charge.billing === "unknown")
  const charged = sumOf(certain.map((charge) => charge.amount))
  const possibly = sumOf(possible.map((charge) => charge.amount))
  for (const charge of certain) {
    if (charge.taskId === undefined) {
      fail(`${charge.key}: a certain charge of ${dollars(charge.amount)} names no task`)
      continue
    }
    const billed = ledgerByTask.get(charge.taskId)
    if (billed !== charge.amount) {
      fail(
        `${charge.key}: reelay counts ${dollars(charge.amount)} charged for task ${charge.taskId}, the ledger ${billed === undefined ? "nothing" : dollars(billed)}`
      )
    }
  }
  if (charged > ledgerTotal)
    fail(`reelay counts ${dollars(charged)} charged, more than the ledger's ${dollars(ledgerTotal)}`)
  if (ledgerTotal > charged + possibly) {
    fail(
      `the ledger's ${dollars(ledgerTotal)} exceeds what reelay counts charged (${dollars(charged)}) plus uncertain (${dollars(possibly)})`
    )
  }
  for (const plan of observed.planned) {
    const item = items.get(plan.key)
    if (item === undefined) continue
    const ledgerOfItem = sumOf((byPrompt.get(plan.prompt) ?? []).map((task) => ledgerByTask.get(task.id) ?? 0n))
    const certainOfItem = sumOf(certain.filter((charge) => charge.key === plan.key).map((charge) => charge.amount))
    const possibleOfItem = sumOf(possible.filter((charge) => charge.key === plan.key).map((charge) => charge.amount))
    if (item.state === "uncertain") {
      if (ledgerOfItem > certainOfItem + possibleOfItem) {
        fail(
          `${plan.key} (uncertain): the ledger charged ${dollars(ledgerOfItem)}, reelay counts ${dollars(certainOfItem)} + ${dollars(possibleOfItem)} uncertain`
        )
      }
      if (possibleOfItem === 0n && ledgerOfItem === 0n && certainOfItem === 0n) {
        fail(`${plan.key}: uncertain, yet its possible charge (exposure) is $0`)
      }
    } else if (ledgerOfItem !== certainOfItem) {
      fail(
        `${plan.key} (${item.state}): the ledger charged ${dollars(ledgerOfItem)} for its prompt, reelay counts ${dollars(certainOfItem)} charged`
      )
    }
  }
  if (uncertain > 0 && possibly === 0n) fail(`${uncertain} item(s) uncertain, yet the batch's uncertain money is $0`)

  // 4. Processes: each one killed, or ended on its own with 0 (all saved) or 3 (some reported),
  // having reported every item of the batch. None hung.
  const exits: Record<string, number> = {}
  for (const ended of [...observed.processes, observed.final]) {
    const text = ended.killed ? "killed" : describeEnding(ended)
    exits[text.startsWith("hung") ? "hung" : text] = (exits[text.startsWith("hung") ? "hung" : text] ?? 0) + 1
    if (ended.killed) continue
    if (ended.ending._tag === "Hung") {
      fail(`${ended.label}: ${text}`)
      continue
    }
    const result = ended.ending.result
    if (result.code !== 0 && result.code !== 3) {
      fail(`${ended.label}: ${text}, expected 0 or 3\n${result.stderr.slice(-3000)}`)
      continue
    }
    const report = reportOf(result)
    if (report === undefined) {
      fail(`${ended.label}: ${text} without a report\n${result.stderr.slice(-2000)}`)
      continue
    }
    if (report.saved + report.failed !== observed.planned.length) {
      fail(`${ended.label}: reported ${report.saved} saved and ${report.failed} failed of ${observed.planned.length}`)
    }
    if (result.code !== (report.failed > 0 ? 3 : 0)) fail(`${ended.label}: ${text} with ${report.failed} failed`)
  }
  // The final resume ends the batch: it reports what the journal holds.
  if (observed.final.ending._tag === "Exited") {
    const report = reportOf(observed.final.ending.result)
    if (report !== undefined && (report.saved !== saved || report.failed !== reported)) {
      fail(
        `the final resume reported ${report.saved} saved / ${report.failed} failed, the journal ${saved} / ${reported}`
      )
    }
  }

  const byFault: Record<string, { saved: number; reported: number }> = {}
  for (const plan of observed.planned) {
    const state = items.get(plan.key)?.state
    const counts = byFault[plan.fault] ?? { saved: 0, reported: 0 }
    if (state === "downloaded") counts.saved++
    else counts.reported++
    byFault[plan.fault] = counts
  }
  const creates = observed.creates
  const keysWithTask = new Map<string, number>()
  for (const create of creates) {
    if (create.idempotencyKey !== null)
      keysWithTask.set(create.idempotencyKey, (keysWithTask.get(create.idempotencyKey) ?? 0) + 1)
  }
  const figuresOf = (): Figures => ({
    promptsCreatedTwice,
    tasks: observed.tasks.length,
    creates: creates.length,
    resetsBefore: creates.filter((create) => create.faults.some((f) => f.includes("reset-before-create"))).length,
    resetsAfter: creates.filter((create) => create.faults.some((f) => f.includes("reset-after-create"))).length,
    retried503: creates.filter(
      (create) =>
        create.faults.some((f) => f.includes("503")) &&
        create.idempotencyKey !== null &&
        (keysWithTask.get(create.idempotencyKey) ?? 0) > 1
    ).length,
    cuts: observed.downloads.filter((download) => download.truncated).length,
    resumedWithRange,
    restartedFromZero,
    saved,
    reported,
    uncertain,
    stranded: new Set(observed.interrupted).size,
    byFault,
    errors,
    ledger: ledgerTotal,
    charged,
    possible: possibly,
    exits
  })

  // The CLI says what the journal says (its JSON read as `CliMoney` describes it).
  const { status, cost } = observed.cli
  const shape = (what: string, json: unknown, ok: boolean) => {
    if (!ok) fail(`${what} --json does not have the shape this test reads: ${JSON.stringify(json).slice(0, 600)}`)
    return ok
  }
  const amount = (value: unknown) => typeof value === "string" && /^\$?\d+(\.\d+)?$/.test(value)
  if (
    !shape(
      "reelay status",
      status,
      amount(status?.charged) && amount(status?.uncertain) && Array.isArray(status?.items)
    ) ||
    !shape("reelay cost", cost, amount(cost?.total?.charged) && amount(cost?.total?.uncertain))
  ) {
    return { violations, figures: figuresOf() }
  }
  if (micros(status.charged) !== charged || micros(status.uncertain) !== possibly) {
    fail(
      `reelay status says ${status.charged} charged and ${status.uncertain} uncertain, the journal's charges ${dollars(charged)} and ${dollars(possibly)}`
    )
  }
  if (micros(cost.total.charged) !== charged || micros(cost.total.uncertain) !== possibly) {
    fail(
      `reelay cost says ${cost.total.charged} charged and ${cost.total.uncertain} uncertain, the journal's charges ${dollars(charged)} and ${dollars(possibly)}`
    )
  }
  if (
    cost.simulator !== undefined &&
    (micros(cost.simulator.charged) !== 0n || micros(cost.simulator.uncertain) !== 0n)
  ) {
    fail(
      `reelay cost counts this batch (a provider at an external base URL) as the built-in simulator's: ${JSON.stringify(cost.simulator)}`
    )
  }
  for (const entry of status.items) {
    if (entry.state === "uncertain" && micros(entry.uncertain) === 0n) {
      fail(`reelay status shows ${entry.key} uncertain with $0 possibly charged`)
    }
  }

  return { violations, figures: figuresOf() }
}

/** One line of figures for a run. */
export const summary = (
  label: string,
  run: {
    readonly seed: string
    readonly rounds: number
    readonly roundsDone: number
    readonly kills: number
    /** When each kill round happened, in milliseconds since the first processes started. */
    readonly killedAt: ReadonlyArray<number>
    /** When the last process of the fleet ended, in milliseconds since the first ones started. */
    readonly settledAt: number
    readonly started: { readonly batch: number; readonly resume: number }
    readonly seconds: number
  },
  figures: Figures
) =>
  `[multiprocess] ${label} seed ${run.seed}: ${run.roundsDone}/${run.rounds} kill rounds ` +
  `(at ${run.killedAt.map((ms) => `${(ms / 1000).toFixed(1)}s`).join(", ") || "-"}; fleet done at ${(run.settledAt / 1000).toFixed(1)}s), ` +
  `${run.kills} kills, ` +
  `${run.started.batch + run.started.resume} processes started (${run.started.batch} batch, ${run.started.resume} resume; ` +
  `ends: ${Object.entries(figures.exits)
    .map(([how, n]) => `${how} ${n}`)
    .join(", ")}); ` +
  `prompts created twice ${figures.promptsCreatedTwice}; items saved ${figures.saved} / reported ${figures.reported} ` +
  `(uncertain ${figures.uncertain}${
    Object.keys(figures.errors).length === 0
      ? ""
      : `: ${Object.entries(figures.errors)
          .map(([tag, n]) => `${tag} ${n}`)
          .join(", ")}`
  }); ` +
  `creates ${figures.creates} (reset before ${figures.resetsBefore}, after ${figures.resetsAfter}, 503 then retried with the same key ${figures.retried503}), tasks ${figures.tasks}; ` +
  `CDN cuts ${figures.cuts} (then resumed with Range ${figures.resumedWithRange}, from byte 0 ${figures.restartedFromZero}); ` +
  `creates stranded by kills ${figures.stranded}; ` +
  `per fault saved/reported: ${Object.entries(figures.byFault)
    .map(([fault, n]) => `${fault} ${n.saved}/${n.reported}`)
    .join(", ")}; ` +
  `ledger ${dollars(figures.ledger)} vs charged ${dollars(figures.charged)} + uncertain ${dollars(figures.possible)}; ` +
  `${run.seconds.toFixed(1)} s`
