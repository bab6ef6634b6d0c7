/**
 * `pnpm bench`: every benchmark, side by side, then `docs/benchmarks.md`. Run on demand; never part
 * of the test gate. One benchmark alone prints its table and leaves the document as it is:
 *
 *   pnpm bench                                  everything (an hour or more), writes docs/benchmarks.md
 *   pnpm bench polling --tasks 1000             one polling scenario (--tasks 100,1000 for several)
 *   pnpm bench polling --tasks 1000 --workload nonlinear      stalls, jumps, late queues
 *   pnpm bench polling --tasks 100 --only reelay,central --rounds 1
 *   pnpm bench inflight --inflight 10000        N tasks all in flight at once: memory, CPU, event loop
 *   pnpm bench download --runs 3 --size 1g
 *   pnpm bench cli --runs 10
 *   pnpm bench gateway --jobs 1000 --clients 200   the gateway and its polling clients against the engine alone
 *   pnpm bench cluster --jobs 10000 --workers 1,2,3   reelay worker processes on a PostgreSQL journal
 *   pnpm bench report                           docs/benchmarks.md again from the saved figures
 *   pnpm bench inflight --inflight 100000 --save   one part, merged into the saved figures, and the
 *                                               document written from them (a full set, part by part)
 *
 * Options: --scale 1/30 (the polling simulator's time scale, the same for every contestant),
 * --rounds 3 (paired rounds: every contestant once per round, the order reversed every other round),
 * --time-limit SECONDS (a polling contestant still running then is stopped and reported so; default
 * 240), --nonlinear-tasks 1000 (the non-linear scenario of a full run), --inflight 10000,100000,
 * --hold SECONDS (how long after the last submit the in-flight figures are taken; default 30),
 * --inflight-scale 1 (vendor time), --inflight-limit SECONDS (default 1200), --save (merge a part's
 * figures into bench/.results.json and write the document), --results PATH and --doc PATH (other
 * files than bench/.results.json and docs/benchmarks.md).
 */
import { execFileSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { parseArgs } from "node:util"
import { benchDir, bundle } from "./lib/bundle.js"
import { type CliResult, runCli } from "./lib/cli.js"
import { type ClusterScenario, runCluster } from "./lib/cluster.js"
import { type DownloadRow, runDownload } from "./lib/download.js"
import { type GatewayScenario, runGateway } from "./lib/gateway.js"
import { type InflightRow, type InflightScenario, runInflight } from "./lib/inflight.js"
import { type Row, runPolling, type Scenario, type Stat } from "./lib/polling.js"
import { log, machine } from "./lib/proc.js"
import type { Workload } from "./lib/workload.js"

const { values, positionals } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== "--"),
  allowPositionals: true,
  options: {
    tasks: { type: "string" },
    workload: { type: "string" },
    "nonlinear-tasks": { type: "string" },
    scale: { type: "string" },
    rounds: { type: "string" },
    runs: { type: "string" },
    size: { type: "string" },
    only: { type: "string" },
    "time-limit": { type: "string" },
    inflight: { type: "string" },
    hold: { type: "string" },
    "inflight-scale": { type: "string" },
    "inflight-limit": { type: "string" },
    jobs: { type: "string" },
    clients: { type: "string" },
    workers: { type: "string" },
    save: { type: "boolean" },
    results: { type: "string" },
    doc: { type: "string" }
  }
})

const fraction = (text: string): number => {
  const match = /^\s*([\d.]+)\s*\/\s*([\d.]+)\s*$/.exec(text)
  const value = match === null ? Number(text) : Number(match[1]) / Number(match[2])
  if (!Number.isFinite(value) || value <= 0) throw new Error(`not a positive number: ${text}`)
  return value
}
const counts = (text: string) => text.split(",").map((n) => Number(n.replace(/_/g, "")))

const scaleText = values.scale ?? "1/30"
const timeScale = fraction(scaleText)
const which = positionals[0] ?? "all"
if (!["all", "polling", "inflight", "download", "cli", "gateway", "cluster", "report"].includes(which)) {
  process.stderr.write(
    `unknown benchmark "${which}": polling, inflight, download, cli, gateway, cluster, report, or nothing for all\n`
  )
  process.exit(2)
}
const all = which === "all"
const taskCounts = counts(values.tasks ?? "100,1000,10000")
const workloads = (values.workload ?? "linear").split(",") as Array<Workload>
for (const w of workloads) if (w !== "linear" && w !== "nonlinear") throw new Error(`unknown workload ${w}`)
const nonlinearCounts = counts(values["nonlinear-tasks"] ?? "1000")
const rounds = Number(values.rounds ?? 3)
const downloadRuns = Number(values.runs ?? rounds)
const cliRuns = Number(values.runs ?? 10)
const size = values.size ?? "1g"
const timeLimitMs = Number(values["time-limit"] ?? 240) * 1000
const inflightCounts = counts(values.inflight ?? "10000,100000")
const holdMs = Number(values.hold ?? 30) * 1000
const inflightScaleText = values["inflight-scale"] ?? "1"
const inflightScale = fraction(inflightScaleText)
const inflightLimitMs = Number(values["inflight-limit"] ?? 1200) * 1000
const gatewayJobs = Number(values.jobs ?? 1000)
const gatewayClients = Number(values.clients ?? 200)
const clusterJobs = Number(values.jobs ?? 10000)
const clusterWorkers = counts(values.workers ?? "1,2,3")

// ---------------------------------------------------------------------------------------------------
// Formatting

const fixed = (value: number | undefined, digits = 2) =>
  value === undefined || Number.isNaN(value) ? "—" : value.toFixed(digits)
const ms = (value: number | undefined) => (value === undefined ? "—" : `${Math.round(value)}`)
const vendorSeconds = (value: number | undefined, scale: number) =>
  value === undefined ? "—" : `${(value / 1000 / scale).toFixed(1)}`
/** `min / median`, or the one figure when they agree at this precision (one round, say). */
const both = (s: Stat | undefined, digits = 2) => {
  if (s === undefined) return "—"
  const [a, b] = [fixed(s.min, digits), fixed(s.median, digits)]
  return a === b ? a : `${a} / ${b}`
}
const count = (n: number) => n.toLocaleString("en")
/** A time scale as written: `1/30`, `1`. */
const scaleName = (scale: number) =>
  scale >= 1 || !Number.isInteger(Math.round((1 / scale) * 1000) / 1000) ? `${scale}` : `1/${Math.round(1 / scale)}`
/** A Markdown table; a `|` inside a cell (a shell pipeline) is escaped. */
const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`
  return [line(header), `| ${header.map(() => "---").join(" | ")} |`, ...rows.map(line)].join("\n")
}

const scenarioTitle = (s: Scenario) =>
  `${count(s.tasks)} tasks, ${s.workload === "linear" ? "linear progress" : "non-linear progress (stalls, jumps, late queues)"}`

const scenarioHead = (s: Scenario) =>
  `Common ideal ${fixed(s.idealSeconds)} s: the longest task (${fixed(s.longestSeconds)} s) created at the start and detected at once, plus its
video downloaded alone (${fixed(s.downloadSeconds, 3)} s). \`Polling.plan\` with zero latency: detection p50 ${ms(s.plan.p50)} ms
(${vendorSeconds(s.plan.p50, s.timeScale)} vendor s), p95 ${ms(s.plan.p95)} ms, max ${ms(s.plan.max)} ms (${vendorSeconds(s.plan.max, s.timeScale)} vendor s), ${fixed(s.plan.statusPerVideo)} status requests per video. ${s.rounds} paired round${s.rounds === 1 ? "" : "s"}; figures are min / median.`

const pollingTable = (s: Scenario) =>
  table(
    [
      "contestant",
      "saved",
      "all created s",
      "wall s",
      "wall / ideal",
      "status req / video",
      "API req / video",
      "detection p50 ms",
      "detection p95 ms",
      "CPU ms / video",
      "peak RSS MB",
      "event-loop p99 ms"
    ],
    s.rows.map((r) => [
      r.label,
      `${r.saved}/${r.tasks}${r.timedOut ? " (did not finish¹)" : ""}${r.failed > 0 ? `, ${r.failed} failed` : ""}`,
      fixed(r.created?.median),
      both(r.wall),
      both(r.ratio, 3),
      fixed(r.statusPerVideo?.median),
      fixed(r.requestsPerVideo?.median),
      `${both(r.p50, 0)} (${vendorSeconds(r.p50?.median, s.timeScale)} vendor s)`,
      both(r.p95, 0),
      both(r.cpuMsPerVideo, 1),
      both(r.peakRssMB, 0),
      both(r.eventLoopP99, 0)
    ])
  )

/** The reasons behind "did not finish" and failures, under a polling table. */
const pollingNotes = (rows: ReadonlyArray<Row>) =>
  rows
    .filter((r) => r.firstError !== undefined)
    .map((r) => `${r.timedOut ? "¹ " : ""}${r.label}: ${r.firstError}`)
    .join("  \n")

const inflightTable = (s: InflightScenario) =>
  table(
    [
      "contestant",
      "in flight",
      "creating all s",
      "live heap / task, bytes (slope; over start)",
      "heap after GC MB",
      "RSS after GC MB",
      "peak RSS MB",
      "CPU ms / task",
      "event-loop p99 ms"
    ],
    s.rows.map((r) => [
      r.label,
      r.measured === r.rounds
        ? count(r.tasks)
        : `${r.inflight === undefined ? "none measured" : `${count(r.inflight)} of ${count(r.tasks)}`} (${r.measured}/${r.rounds} rounds measured¹)`,
      both(r.submitSeconds, 1),
      `${both(r.heapPerTask, 0)}; ${both(r.heapOverBaseline, 0)}`,
      both(r.heapMB, 0),
      both(r.rssMB, 0),
      both(r.peakRssMB, 0),
      both(r.cpuMsPerTask, 2),
      both(r.eventLoopP99, 0)
    ])
  )

const inflightNotes = (s: InflightScenario) =>
  [
    `${s.rounds} paired round${s.rounds === 1 ? "" : "s"}; figures are min / median.`,
    `Simulator, holding one contestant's ${count(s.sim.tasks)} tasks and ${count(s.sim.requests)} logged requests: ${fixed(s.sim.rssMB, 0)} MB RSS, ${fixed(s.sim.heapMB, 0)} MB heap after GC.`,
    ...s.rows.filter((r) => r.firstError !== undefined).map((r) => `¹ ${r.label}: ${r.firstError}`)
  ].join("  \n")

const downloadTable = (rows: ReadonlyArray<DownloadRow>) =>
  table(
    [
      "contestant",
      "source",
      "seconds (min / median)",
      "MiB/s",
      "× curl (same source)",
      "peak RSS MB",
      "CPU s",
      "CPU s / GiB"
    ],
    rows.map((r) => [
      r.label,
      r.source === "cdn" ? "CDN link" : "API `/content` (key)",
      `${fixed(r.minSeconds, 3)} / ${fixed(r.seconds, 3)}`,
      fixed(r.mibPerSecond, 0),
      fixed(r.ratio),
      fixed(r.peakRssMB, 0),
      fixed(r.cpuSeconds),
      fixed(r.cpuPerGiB)
    ])
  )

// ---------------------------------------------------------------------------------------------------
// Targets

interface Results {
  readonly polling: ReadonlyArray<Scenario>
  readonly inflight: ReadonlyArray<InflightScenario>
  readonly download: ReadonlyArray<DownloadRow> | undefined
  readonly cli: CliResult | undefined
  readonly gateway?: GatewayScenario | undefined
  readonly cluster?: ClusterScenario | undefined
}

/** One line of the issue's table: a figure for reelay today and for the central poller. */
interface Target {
  readonly target: string
  readonly reelay: Verdict | undefined
  readonly central: Verdict | undefined
}

interface Verdict {
  readonly figure: string
  readonly met: boolean
}

const targets = (results: Results): Array<Target> => {
  const scenario = (workload: Workload, n: number) =>
    results.polling.find((s) => s.workload === workload && s.tasks === n)
  const holding = (n: number) => results.inflight.find((s) => s.tasks === n)
  const atMost = (
    value: number | undefined,
    limit: number,
    text: (v: number) => string,
    failed = false
  ): Verdict | undefined => (value === undefined ? undefined : { figure: text(value), met: !failed && value <= limit })
  const both = (f: (id: "reelay" | "central") => Verdict | undefined, target: string): Target => ({
    target,
    reelay: f("reelay"),
    central: f("central")
  })
  const inflightRow = (n: number, id: string): InflightRow | undefined => holding(n)?.rows.find((r) => r.id === id)
  const notAll = (r: InflightRow | undefined) => r !== undefined && r.measured < r.rounds
  const unmeasured = (r: InflightRow | undefined): Verdict | undefined =>
    r !== undefined && r.measured === 0 ? { figure: `not measured: ${r.firstError ?? "?"}`, met: false } : undefined
  const out: Array<Target> = []
  for (const n of [10_000, 100_000]) {
    if (holding(n) === undefined) continue
    out.push(
      both(
        (id) => {
          const r = inflightRow(n, id)
          return unmeasured(r) ?? atMost(r?.heapPerTask?.median, 1024, (v) => `${fixed(v, 0)} B`, notAll(r))
        },
        `live heap per in-flight task ≤ 1 KB (${count(n)} in flight, after a full GC)`
      )
    )
  }
  for (const [n, limit] of [
    [10_000, 150],
    [100_000, 300]
  ] as const) {
    if (holding(n) === undefined) continue
    out.push(
      both(
        (id) => {
          const r = inflightRow(n, id)
          return (
            unmeasured(r) ??
            atMost(
              r?.peakRssMB?.median,
              limit,
              (v) => `${fixed(v, 0)} MB peak (${fixed(r?.rssMB?.median, 0)} after GC)`,
              notAll(r)
            )
          )
        },
        `RSS ${count(n)} in flight ≤ ${limit} MB (peak)`
      )
    )
  }
  const linear1000 = scenario("linear", 1000)
  const pollingRow = (s: Scenario | undefined, id: string) => s?.rows.find((r) => r.id === id)
  if (linear1000 !== undefined) {
    out.push(
      both((id) => {
        const r = pollingRow(linear1000, id)
        return atMost(r?.cpuMsPerVideo?.median, 4, (v) => `${fixed(v, 1)} ms`, r?.timedOut)
      }, "CPU per video ≤ 4 ms (1,000 tasks, create to file on disk)")
    )
    out.push(
      both(
        (id) => {
          const r = pollingRow(linear1000, id)
          return atMost(
            r?.ratio?.median,
            1.1,
            (v) => `${fixed(r?.wall?.median)} s / ${fixed(linear1000.idealSeconds)} s = ${fixed(v, 3)}×`,
            r?.timedOut
          )
        },
        `wall vs the common ideal ≤ 1.10× (1,000 tasks, scale ${scaleName(linear1000.timeScale)})`
      )
    )
  }
  for (const s of results.polling) {
    if (s.tasks !== 1000) continue
    out.push(
      both(
        (id) => {
          const r = pollingRow(s, id)
          return atMost(
            r?.p50?.median,
            1.2 * s.plan.p50,
            (v) => `${ms(v)} ms vs ${ms(s.plan.p50)} ms = ${fixed(v / s.plan.p50)}×`,
            r?.timedOut
          )
        },
        `p50 detection ≤ 1.2 × the plan's zero-latency figure (${scenarioTitle(s)})`
      )
    )
  }
  if (holding(10_000) !== undefined) {
    out.push(
      both((id) => {
        const r = inflightRow(10_000, id)
        return unmeasured(r) ?? atMost(r?.submitSeconds?.median, 5, (v) => `${fixed(v, 1)} s`, notAll(r))
      }, "creating 10,000 tasks ≤ 5 s (in-flight scenario, submit 10)")
    )
  }
  if (linear1000 !== undefined) {
    out.push(
      both((id) => {
        const r = pollingRow(linear1000, id)
        return atMost(r?.eventLoopP99?.median, 25, (v) => `${fixed(v, 0)} ms`, r?.timedOut)
      }, "event-loop delay p99 ≤ 25 ms (polling 1,000 tasks)")
    )
  }
  return out
}

/** The earlier targets that still stand: status requests against a fixed loop, download, CLI. */
interface OldVerdict {
  readonly target: string
  readonly figure: string
  readonly met: boolean | undefined
}

const earlierTargets = (results: Results): Array<OldVerdict> => {
  const out: Array<OldVerdict> = []
  for (const s of results.polling) {
    if (s.workload !== "linear") continue
    const reelay = s.rows.find((r) => r.id === "reelay")
    const p50 = reelay?.p50?.median
    const status = reelay?.statusPerVideo?.median
    if (reelay === undefined || reelay.timedOut || p50 === undefined || status === undefined) continue
    for (const peerId of ["fixed", "openai-scaled", "openai-pooled"]) {
      const peer = s.rows.find((r) => r.id === peerId)
      const peerP50 = peer?.p50?.median
      const peerStatus = peer?.statusPerVideo?.median
      // A peer that saved nothing has no detection worth comparing with.
      if (peer === undefined || peer.saved < peer.tasks || peerP50 === undefined || peerStatus === undefined) continue
      out.push({
        target: `≤ ⅓ of a fixed-5-s loop's status requests, p50 detection ≤ its own: ${count(s.tasks)} tasks, vs ${peer.label}`,
        figure: `${fixed(peerStatus)} status/video, p50 ${ms(peerP50)} ms; reelay ${fixed(status)} (${fixed(status / peerStatus)}×), p50 ${ms(p50)} ms`,
        met: status <= peerStatus / 3 && p50 <= peerP50
      })
    }
  }
  const dl = results.download?.find((r) => r.id === "reelay-cdn")
  if (dl !== undefined) {
    out.push({
      target: "download ≥ 90 % of curl's throughput (1 GiB, CDN)",
      figure: `${fixed(dl.ratio * 100, 0)} % (${fixed(dl.mibPerSecond, 0)} MiB/s)`,
      met: dl.ratio >= 0.9
    })
    out.push({
      target: "download peak RSS under 100 MB for 1 GiB",
      figure: `${fixed(dl.peakRssMB, 0)} MB`,
      met: dl.peakRssMB < 100
    })
  }
  const cli = results.cli
  const help = cli?.medians["reelay --help (bundle)"]
  if (cli !== undefined)
    out.push({
      target: "`reelay --help` under 0.5 s",
      figure: help === undefined ? "not measured (see the CLI section)" : `${help} ms (median)`,
      met: help === undefined ? undefined : help < 500
    })
  return out
}

const mark = (met: boolean | undefined) => (met === undefined ? "—" : met ? "**met**" : "**not met**")
const verdictCell = (v: Verdict | undefined) => (v === undefined ? "—" : `${v.figure} ${mark(v.met)}`)

const targetsTable = (results: Results) =>
  table(
    ["target (issue 12, item 7)", "reelay today", "central poller running `Polling.plan`"],
    targets(results).map((t) => [t.target, verdictCell(t.reelay), verdictCell(t.central)])
  )

// ---------------------------------------------------------------------------------------------------
// The document

const render = (startedAt: Date, seconds: number, results: Results): string => {
  const m = machine()
  const sections: Array<string> = []
  const { polling, inflight, download, cli } = results
  // The scales the figures were taken at, not this command's options (\`report\` renders saved figures).
  const timeScale = polling[0]?.timeScale ?? 1 / 30
  const scaleText = scaleName(timeScale)
  const inflightScaleText = scaleName(inflight[0]?.timeScale ?? 1)
  sections.push(`# Benchmarks

Where reelay stands against the vendors' own algorithm, the \`openai\` npm client, and the design it is
moving to (one central poller running reelay's own \`Polling.plan\`), measured side by side by
\`pnpm bench\` (${Math.round(seconds / 60)} minutes of running). Benchmarks print figures; they are not part of the
test gate. This file is written by \`pnpm bench\`; do not edit it by hand.

- **Date**: ${startedAt.toISOString()}
- **Machine**: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}; disk ${m.disk}
- **Node**: ${m.node}; openai ${openaiVersion()}; effect ${effectVersion()}
- **Time scale**: ${scaleText} for the polling simulator and every polling contestant (a vendor minute lasts ${fixed(60 * timeScale)} s); ${inflightScaleText} for the in-flight scenarios
- **Rounds**: every scenario in paired rounds (each contestant once per round, the order reversed every other round; each scenario says how many); figures are min / median over the rounds
- **Commands**: \`pnpm bench\` (= \`tsx bench/run.ts\`); alone: \`pnpm bench polling --tasks 1000\`,
  \`pnpm bench polling --tasks 1000 --workload nonlinear\`, \`pnpm bench inflight --inflight 10000\`,
  \`pnpm bench download --runs 3 --size 1g\`, \`pnpm bench cli --runs 10\`,
  \`pnpm bench gateway --jobs 1000 --clients 200\`; a part alone with \`--save\` merges its figures into the saved ones and rewrites this page

## Targets

${targets(results).length === 0 ? "No scenario of the issue's targets in these figures." : targetsTable(results)}

The central poller is a benchmark contestant (\`bench/contestants/central-polling.ts\`), not a product:
it shows what the shape costs, with reelay's policy and without its journal, budget, events and checks.

Earlier targets:

${table(
  ["target", "figure", "verdict"],
  earlierTargets(results).map((c) => [c.target, c.figure, mark(c.met)])
)}`)

  if (polling.length > 0) {
    sections.push(`## Polling

Each scenario starts one simulator process (${scaleText}) and runs the contestants one after another
against it, each in its own process; the simulator forgets everything between two contestants. The
workload is the same for all: N tasks, a third each with the reference pages' fast (30–60 s),
standard (60–120 s) and Sora (120–300 s) generation times, uniformly drawn with a fixed seed, scaled
by the time scale and pinned per task with \`@sim:timing\` (so every contestant gets exactly the same
tasks in whatever order it creates them). Two workloads:

- **linear**: 10–30 % of each task spent queued, then progress rising evenly (the simulator's default);
- **non-linear**: the same durations, but a third of the tasks **stall** (half way in the first 30 %
  of the run, no movement until 70 %, then the rest: \`@sim:timing(progress=stall)\`), a third
  **jump** (15 % over the first 60 % of the run, then 85 at once: \`progress=jump\`), and a third sit
  in a queue that **moves late** (50–80 % of the time queued, then a short linear run).

Models: \`veo-3.1-fast\`, \`veo-3.1\` and, for the Sora-length third, \`veo-3.1-landscape\` (Sora itself
is not served on \`/v1/videos\`, and reelay's catalog says 90 s for that model: its estimator has to
find out). Every contestant creates, polls, and downloads every video to disk.

Contestants:

- **reelay**: \`Engine.runMany\` over \`@reelay/provider-laozhang\` pointed at the simulator,
  \`polling.timeScale\` = ${scaleText}; each video streamed to disk, SHA-256, fsync, rename, probed
  as MP4. Twice: with its defaults (submit 10, status 10, download 5), and with every gate at least
  the batch size and an undici Agent of at most 256 connections per origin, so requests queue in
  undici's FIFO rather than in reelay's gates.
- **central poller**: one timer armed for the earliest due poll, a binary min-heap of due times, a
  table of task rows; \`Polling.plan\` from \`@reelay/core\` (same options and scale) for every wait;
  undici's \`request\` (the dispatcher API under reelay's platform client; Node's \`fetch\` took about
  three times its CPU per call); the same limits as reelay's defaults; each video streamed to \`.part\` with SHA-256,
  fsync'ed and renamed (no MP4 probe, journal, budget or events).
- **reference loop**: laozhang's Python example ported to Node: \`batch_generate_videos\` (a pool
  of 5 workers creates every task, then the same pool runs \`wait_for_video\` for each: status at once,
  then every 5 s × scale) followed, in the same worker, by \`get_video_content\` and \`download_video\`.
- **openai**: the \`openai\` package's \`videos\` client (\`create\`, \`retrieve\`, \`downloadContent\`),
  every item at once (the SDK has no concurrency control). The SDK has no polling helper for videos;
  its helpers for other resources wait \`openai-poll-after-ms\` or else **5000 ms**, the convention
  used here, once scaled by the time scale (the same vendor-time interval as the reference loop) and
  once as is (its literal default: at ${scaleText} that is ${fixed(5 / timeScale / 60, 1)} vendor minutes between polls).
  On laozhang's wire \`/content\` answers JSON with a CDN link (not bytes) and the running status is
  \`processing\` (not \`in_progress\`), so the client reads the link from \`downloadContent\`'s response,
  fetches it, and treats every status but \`completed\` / \`failed\` as running. At 10,000 tasks
  "all at once" opens more sockets and files than the 20,000 descriptors a process may hold here
  (\`EMFILE\`), so a third row caps Node's fetch at 256 connections per origin (an undici Agent as
  the global dispatcher), the same cap as the tuned reelay row.`)
    for (const s of polling) {
      sections.push(
        `### ${scenarioTitle(s)}

${scenarioHead(s)}

${pollingTable(s)}

${pollingNotes(s.rows)}`.trimEnd()
      )
    }
    sections.push(`How each figure is taken:

- **wall**: from just before the contestant's first create to its last file written, on its own
  clock (the machine's, which the simulator uses too). Process start-up is not counted here.
- **ideal**: common to every contestant of a scenario: the longest task of the workload, as if
  created the instant the run starts and detected the instant it completes, plus its video fetched
  alone by curl (\`time_total\`, median of 3). No client can beat it; creating N tasks takes time, and
  that time counts against the contestant.
- **requests per video**: what the simulator logged for the contestant's API key (each contestant
  has its own): status and \`/content\` requests about its tasks, divided by the number of tasks.
  Creates (one per video) and CDN downloads (one per video) are not included.
- **detection delay**: per task, the arrival time of the first status request whose answer said
  \`completed\` (the request log's \`phase\` field records exactly what each answer described) minus
  the task's completion time, both on the simulator's clock, to the millisecond; p50 and p95 over
  all tasks. In brackets, the median p50 in vendor seconds (divided by the time scale). The plan's
  zero-latency figure replays \`Polling.plan\` and \`Polling.jitter\` (seeded) against each task's
  timeline with every answer arriving the instant it is asked: the policy's own delay, which no
  client running that policy can beat.
- **CPU ms / video** and **peak RSS**: the contestant process's own \`getrusage\` (user + system;
  \`ru_maxrss\`), start-up included, CPU divided by the videos saved; each contestant is bundled with
  esbuild (as the CLI ships) and run with plain \`node\`, so no TypeScript loader is measured. A
  contestant stopped at the time limit is read from \`/proc\` at that moment.
- **event-loop p99**: \`perf_hooks.monitorEventLoopDelay\` (10 ms resolution) from just before the
  first create to the report: how late a timer (a poll) fires behind the work queued on the loop.`)
  }

  if (inflight.length > 0) {
    const first = inflight[0]!
    sections.push(`## In flight

N tasks created with a generation time far longer than creating them all takes
(\`@sim:timing(queue=0,run=${first.runSeconds})\`: ${fixed(first.runSeconds / 60, 0)} minutes, linear progress), at time scale
${inflightScaleText} (vendor time: the plan's waits, and so the status traffic, are what a real client's would
be). ${fmtSeconds(first.holdSeconds)} after the last task is submitted the contestant forces a full GC (\`--expose-gc\`) and measures
itself, then exits, leaving its tasks to the simulator. Each task is then waiting: for the plan's
first look (60 % of the model's typical time, 27 or 54 s after its create), or, once two looks have
measured its rate, for the next, most of an hour away. What is measured is the cost of holding a
task, not of polling it hard. Both contestants run with their default limits (submit 10, status 10)
and a polling deadline longer than the run.

- **live heap / task**: heap used after a full GC with every task in flight, minus the same once
  half the tasks were submitted, over the tasks between: what one more task costs, free of what the
  process allocates once (the HTTP client's modules loaded on first use, sockets, compiled code). After
  the semicolon, the same over the heap just before the first create (inputs parsed, nothing sent),
  over all tasks: one-off costs included. The target is judged on the first.
- **RSS after GC** and **peak RSS** (\`ru_maxrss\` up to the measure, creation included).
- **CPU ms / task**: user + system CPU up to the measure (start-up, creates, the polls so far) over N.
- **event-loop p99**: from the first create to the measure.`)
    for (const s of inflight) {
      sections.push(`### ${count(s.tasks)} in flight

${inflightTable(s)}

${inflightNotes(s)}`)
    }
  }

  if (download !== undefined) {
    const bytes = download[0]?.bytes ?? 0
    const sizeText = bytes === 2 ** 30 ? "1 GiB" : `${fixed(bytes / 2 ** 20, 0)} MiB`
    sections.push(`## Download

One ${sizeText} video (\`@sim:pad(bytes=…)\`), ${download[0]?.runs ?? 0} paired rounds of every contestant (the order
reversed every other round); min and median. Throughput is bytes over the contestant's own transfer time
(curl's \`time_total\`; the shell pipelines' wall time; for the others, from just before the request to
the file complete), so Node's start-up is not counted; peak RSS and CPU are the whole process's (GNU
\`time\` for curl and the pipelines, whose CPU is summed over their processes). CPU s / GiB is the
client's own cost per GiB received; the simulator serving the bytes from the same two cores is not
counted. \`sync\` runs between two runs, so no run pays for the previous one's dirty pages.

${downloadTable(download)}

- The CDN link is what reelay and curl download for laozhang's Veo models. \`openai\`'s
  \`downloadContent\` expects the bytes from \`/videos/{id}/content\`, which laozhang's async models do
  not serve (JSON with a link): it is measured on the official-forward model, whose \`/content\` is
  the MP4 behind the key, and compared with curl and reelay on that same source; once read whole
  with \`arrayBuffer()\` (the SDK's examples), once as a stream (\`for await\` over \`response.body\`,
  each chunk written as it comes).
- reelay's download is \`Download.download\`, the engine's path: \`.part\` file, SHA-256 computed on
  the way, fsync, rename, Range resume, size checks, credentials only to the provider's origin.
- "curl -o, then sync" gives curl the same durability (wall time of \`curl … && sync file\`);
  "curl | tee file | sha256sum && sync" every guarantee of reelay's that costs time.
- The lean Node reader is not a product: \`node:http\`, SHA-256 inline, \`writev\` batches, fsync,
  rename, without Effect, resume, redirects or checks. It shows what plain Node does here.
- SHA-256 alone runs at about 1.8 GiB/s on one core of this CPU (SHA-NI): 0.55 CPU s per GiB.`)
  }

  if (results.gateway !== undefined) sections.push(gatewaySection(results.gateway))
  if (results.cluster !== undefined) sections.push(clusterSection(results.cluster, engineAloneCpu(results.gateway)))

  if (cli !== undefined) {
    sections.push(`## CLI cold start

\`${cli.command}\` (\`bench/cli.ts\`): each run a fresh Node process; the bundle is built first if stale.
${cli.ok ? "" : "\n**The CLI benchmark did not complete**; its output:\n"}
\`\`\`
${cli.output}
\`\`\``)
  }

  sections.push(notes(results))
  return `${sections.join("\n\n")}\n`
}

const fmtSeconds = (seconds: number) => `${fixed(seconds, 0)} s`

const gatewaySection = (g: GatewayScenario) => `## Gateway

${count(g.jobs)} videos through the gateway (\`reelay serve\`, one tenant, a SQLite journal) asked for by
${count(g.clients)} polling clients, against the engine alone running the same videos as one batch on
the same kind of journal (\`pnpm bench gateway --jobs ${g.jobs} --clients ${g.clients}\`, \`bench/lib/gateway.ts\`).
The polling workload (linear, pinned durations) at ${scaleName(g.timeScale)}, ${g.rounds} paired round(s), min / median.
The common ideal is the longest task's own duration, ${fixed(g.idealSeconds, 1)} s: every create
answered at once, every finish seen the instant it happens.

${table(
  [
    "contestant",
    "done",
    "wall, s",
    "wall / ideal",
    "CPU ms / video",
    "peak RSS, MB",
    "upstream status / video",
    "API requests / video",
    "create p50 / p99, ms",
    "retrieve p50 / p99, ms"
  ],
  g.rows.map((r) => [
    r.label,
    `${r.completed}/${g.jobs}${r.firstError === undefined ? "" : ` (${r.firstError.slice(0, 60)})`}`,
    both(r.wallSeconds),
    both(r.wallOverIdeal),
    both(r.cpuMsPerVideo, 1),
    both(r.peakRssMB, 0),
    both(r.upstreamStatusPerVideo),
    both(r.apiRequestsPerVideo),
    r.createP50 === undefined ? "—" : `${fixed(r.createP50.median, 1)} / ${fixed(r.createP99?.median, 1)}`,
    r.retrieveP50 === undefined ? "—" : `${fixed(r.retrieveP50.median, 1)} / ${fixed(r.retrieveP99?.median, 1)}`
  ])
)}

- Each side's CPU and peak RSS are its own process's (getrusage), start-up included; the gateway's
  clients run in the benchmark's process and are not counted, the engine has no clients.
- The gateway's wall time ends when its clients see the last video done, so it includes their
  polling: a client asks again when \`openai-poll-after-ms\` says, one request at a time per client.
  The engine's ends when it has saved the last video. Both start at the first create the simulator saw.
- Upstream status requests are the engine's own polling, the same policy on both sides: the clients'
  polling of the gateway never reaches the provider.
- What flatters whom: the gateway pays for HTTP, JSON, one journal batch per video and two journal
  reads per retrieve; the engine alone batches its journal writes per run and answers nobody. The
  clients share the machine's two cores with both processes and the simulator.`

/** The engine alone's CPU per video (the gateway scenario's last row), to set the cluster's against. */
const engineAloneCpu = (g: GatewayScenario | undefined) =>
  g?.rows.find((row) => row.id === "engine")?.cpuMsPerVideo?.median

const clusterSection = (c: ClusterScenario, engineCpu: number | undefined) => `## Cluster

${count(c.jobs)} videos handed to \`reelay worker\` processes on one PostgreSQL journal with
\`reelay batch --enqueue\`, one durable workflow per video (\`pnpm bench cluster --jobs ${c.jobs}\`,
\`bench/lib/cluster.ts\`). The polling workload (linear, pinned durations) at ${scaleName(c.timeScale)},
${c.rounds} paired round(s) (the order rotated each round), min / median. Every worker on this machine,
\`--poll-interval ${c.pollInterval}\`, default concurrency (10 creates, 10 status calls, 5 downloads each).
The common ideal is the longest task's own duration, ${fixed(c.idealSeconds, 1)} s.

${table(
  [
    "workers",
    "saved",
    "wall, s",
    "wall / ideal",
    "status / video",
    "peak RSS per worker, MB",
    "CPU ms / video (all workers)",
    "DB transactions / video",
    "enqueue, s"
  ],
  c.rows.map((r) => [
    String(r.workers),
    `${r.completed}/${c.jobs}${r.firstError === undefined ? "" : ` (${r.firstError.slice(0, 60)})`}`,
    both(r.wallSeconds),
    both(r.wallOverIdeal),
    both(r.statusPerVideo),
    both(r.rssPerWorkerMB, 0),
    both(r.cpuMsPerVideo, 1),
    both(r.transactionsPerVideo, 1),
    both(r.enqueueSeconds, 1)
  ])
)}

- Wall time runs from the first create the simulator saw to the last video the journal records
  saved. CPU and peak RSS are each worker's own process (from /proc, start-up included); the
  database server's and the simulator's are not counted.
- DB transactions are PostgreSQL's commits and rollbacks in the batch's database over the run
  (\`pg_stat_database\`): each is at least one round trip. They include what a worker does while it
  has nothing to do (looking for messages every poll interval, renewing its locks and heartbeat).
- What it costs: each stage is an activity (a message and a reply written by the cluster, the
  journal's claim, records and unclaim, the item's due time), each wait a durable clock (a message,
  a deferred, a resume), and each wake-up replays the workflow's earlier stages from their records.${
    engineCpu === undefined || c.rows[0]?.cpuMsPerVideo === undefined
      ? ""
      : `
  Against the engine alone running the same kind of work as one batch (${fixed(engineCpu, 1)} CPU ms per video,
  the gateway section), one worker spends ${fixed(c.rows[0].cpuMsPerVideo.median / engineCpu, 1)} times the CPU per video.`
  }
- What limits scaling on this machine: one worker is one Node thread, busy for nearly the whole run;
  more workers on the same two cores share them with PostgreSQL and the simulator, so they add
  coordination (more runners reading the database, shard moves, contention) without adding CPU, and
  the CPU per video rises with each. On separate hosts each worker brings its own cores; the
  database is then the shared cost, about ${fixed(c.rows[0]?.transactionsPerVideo?.median, 0)} transactions per video.
- Memory: every workflow handed to a worker is alive in it until it ends. With all ${count(c.jobs)} enqueued
  at once, that is the peak RSS above (divide by the videos each worker holds); an admission window
  (a worker starting only as many workflows as it can run) would bound it, and is not built yet.
- Status calls per video: the durable waits place each poll just after the planned finish, at the
  clock's resolution (the poll interval), so nearly every video is seen done at its first look.`

/** reelay's CPU per video against the others', from this run's 1,000-task linear rows. */
const costNote = (s: Scenario | undefined): string => {
  if (s === undefined) return ""
  const perVideo = (ids: ReadonlyArray<string>) => {
    const values = s.rows
      .filter((r) => ids.includes(r.id))
      .flatMap((r) => (r.cpuMsPerVideo === undefined ? [] : [r.cpuMsPerVideo.median]))
    if (values.length === 0) return "—"
    const low = Math.min(...values)
    const high = Math.max(...values)
    return low === high ? fixed(low, 1) : `${fixed(low, 1)}–${fixed(high, 1)}`
  }
  return `**reelay's cost per video.** In this run at 1,000 tasks reelay spent ${perVideo(["reelay", "reelay-wide"])} CPU ms
per video (create, ~3 polls, content, download, SHA-256, fsync, MP4 probe, events), against
${perVideo(["central"])} for the central poller (the same policy and the same calls, without the probe, the
journal's bookkeeping and the events), ${perVideo(["fixed"])} for the reference loop and
${perVideo(["openai-scaled", "openai"])} for the \`openai\` client (which makes up to five times the requests).
A profile of reelay at 1,000 videos puts a fifth in garbage collection, a quarter in Effect's fiber
runtime, 7 % in Schema decoding and construction, and the rest spread over undici, the file system
and the probe. At 10,000 tasks on two cores (one of them serving the simulator) that is the
bottleneck: wall time and detection delays there are CPU-bound, and RSS grows with the garbage.

`
}

/** The download note, from this run's rows when there are some. */
const downloadNote = (rows: ReadonlyArray<DownloadRow> | undefined): string => {
  const find = (id: string) => rows?.find((r) => r.id === id)
  const lean = find("lean-cdn")
  const reelay = find("reelay-cdn")
  const hashed = find("curl-hash-sync-cdn")
  const figures =
    lean === undefined || reelay === undefined
      ? ""
      : ` In this run the lean reader reached ${fixed(lean.ratio)} × curl's throughput${hashed === undefined ? "" : ` and ${fixed(lean.mibPerSecond / hashed.mibPerSecond)} × that of \`curl | tee | sha256sum && sync\``}
at ${fixed(lean.cpuPerGiB)} CPU s per GiB; reelay's \`Download.download\` ${fixed(reelay.ratio)} × curl at ${fixed(reelay.cpuPerGiB)} CPU s per GiB${
          lean.ratio >= 0.9
            ? ": plain Node keeps up with curl here, so the gap is reelay's own receive path, not Node's"
            : ""
        }.`
  return `**Download.** The two guarantees that cost time on this machine are the inline SHA-256 (0.55 CPU s
per GiB) and the fsync before the rename (curl with the same durability: "curl -o, then sync"; with the
hash as well: "curl | tee file | sha256sum && sync"). An earlier version of this page called the lean
Node reader a floor, "the best a leaner receive path could do here", and so read reelay's distance from
curl as the cost of Node itself. That was wrong: the lean reader is one way to write the receive path,
not a bound on it, and plain Node can come close to curl on this machine.${figures} Peak RSS does not
grow with the file: a 64 MiB download peaks at the same ~133 MB as 1 GiB; the process peaks at 67 MB
having loaded reelay (Effect, the platform, core) before any byte arrives, and the rest is received
chunks waiting for the garbage collector. Turning off the background fdatasync every 64 MiB changed
nothing measurable, so it stays: it keeps a multi-GiB download from piling up dirty pages.`
}

const notes = (results: Results) => `## Notes

**Effect's semaphore under contention (found here, fixed).** reelay's batch runs every item as its
own fiber, and its gates (submit 10, status 10 per batch and per provider, download 5) were
\`Effect.Semaphore\`s. In effect 3.22, a released permit wakes _every_ waiting fiber; all but one find
it taken again and wait anew, each time nesting one more continuation. Work and memory therefore
grow with waiters × releases: 1,000 fibers through a 10-permit semaphore take 4.3 s and 1.1 GB; 3,000
exhaust a 4 GB heap (measured in isolation with \`Effect.forEach(…, { concurrency: "unbounded" })\`
over \`withPermits(1)(Effect.sleep("1 millis"))\`). The same 10,000 fibers through a FIFO gate made
of \`Queue.bounded(10)\` (offer to enter, take to leave) finish in 1.9 s and 291 MB. The first full
run of this benchmark measured the defaults at 1,000 tasks at 1.144 × ideal, 35 CPU s and 2.2 GB, and
at 10,000 tasks a crash at 4.4 GB. reelay now gates first-come-first-served (\`Gate.ts\`: a line of
waiters, each released permit handed to the first; not the queue, which can lose a permit to an
interrupt that races the handoff), admits a batch's items only as submit slots free (an item holds
its slot until its task is submitted), and keeps the budget's reservations as running totals; the
tables above are after that change. The "tuned" row (every gate at least the batch size, requests
queued in undici) stays as a comparison.

**The status-request target.** "A fixed 5-s loop" is read two ways here. The reference pages' loop
runs a pool of 5 workers, so with more than a handful of tasks it cannot look at each one every 5 s:
its few requests per video come with detection delays of minutes (vendor time). The \`openai\`
row scaled to 5 s of vendor time does poll every task every 5 s. The target compares reelay with
both; against the loop that truly polls every 5 s, reelay's requests are a fraction of its, and
whether its p50 detection is as low depends on the scale: at 1,000 and 10,000 tasks reelay's ten
status calls at a time per provider (\`statusConcurrency\`) and its CPU on a shared core queue the
polls that land together, which is where its extra delay comes from.

**In flight, before and after the scheduler (2026-12-03, one round each, same harness).** reelay used
to run every item as its own fiber: a heap snapshot of a 2,000-task run showed per in-flight item
about 43 Effect primitives, 66 closures and 78 closure contexts (the suspended fiber, its
continuation stack, its poller and retry state). Measured with this harness at 10,000 in flight, that
engine (commit d30bad8) held 29.6 KB of live heap per task and 1,195 MB RSS after GC. The engine now
keeps a followed task as a record in one table per run (\`packages/core/src/internal/engine/Follow.ts\`:
polling state, progress, settlement, what comes next) under one timer, and runs a fiber only for a
call being made: 1.4–1.5 KB per task and 234–274 MB RSS after GC in the same scenario, a twentieth.
What is left per task is the item record, its \`TaskHandle\` (two dates), the budget's reservation, the
continuation closures and the batch's own input; the central poller's row is 0.3 KB. Creating the
tasks did not get faster (27.4 s before, 20.5–26.4 s after, against 2.0 s): the create path (the
output check's file-system probes, Schema-validated construction of handles and events, Effect's
runtime per step) is where reelay's time goes now, and at 1,000 tasks it is most of the wall time
(8.3–8.6 s of creates before the last task exists, before and after alike).

**The hot path, trimmed (2026-12-03, later).** Three pieces of waste came out of the create and
download path: every response header of every request was scrubbed for the key on Effect's own
tracer, whose spans leave no process (now scrubbed only for a tracer that exports them); the
\`.part\` record store was proven (\`mkdir\`, \`lstat\`, \`os.tmpdir()\`, all synchronous) three times
per download (now at most once every 5 s); and every item's output check stat'ed and probed its directory
(a batch admits its items together, so 10,000 checks raced past any cache; now one engine proves a
directory once a second, and checks arriving meanwhile share that proof). Creating 10,000 in flight
went from 20.5–26.8 s to 18.1–19.7 s, CPU per video at 1,000 tasks from 25.5 to 18.3–21.2 ms, wall
from 2.1× to 1.64–1.79×. What remains is Effect's cost per step: counted with a supervisor, one video
(create, ~3 polls, content, download) starts 46 fibers. Most are races: every timeout
(\`Effect.timeout*\`, \`raceFirst\`) forks two fibers and a timer, and one status call runs three of
them (the request limit, the polling deadline, the body's pace watchdog) besides the HTTP client's own
fork; every JSON answer is read through a \`Stream\` pipeline. The next steps: one deadline per call
instead of nested timeouts, an answer reader on the socket's own listeners (as the download already
has), and no fiber per step of an item.

**The plan on non-linear progress.** With zero latency, \`Polling.plan\` itself detects the
non-linear workload's tasks far later than the linear ones (see each scenario's "zero latency" line,
its p95 and max). A task that jumps after a slow start has had its rate measured on the slow part; a
stalled task's rate, measured from its last reading below the stall, falls with every look at the
stall and pushes the estimated finish out; either way the plan's look "on the way, at 80 % of the
remaining time" comes long after the task has finished. That is the policy's cost, the same for every
client that runs it (the wall times of that scenario follow from it); the targets measure each
client against the plan's own figure.

${costNote(results.polling.find((s) => s.workload === "linear" && s.tasks === 1000))}**Polling change (figures from when it was made).** \`Polling.plan\` no longer clamps the first wait and the wait
toward a measured finish to the 30 s ceiling (the first poll of a 90-s model came at 30 s instead of
the documented 54 s, and a Sora-length task was polled every 30 s): a long task now gets one look
on the way, at 80 % of the remaining time. On the same 100-task workload, before → after: 4.5 →
3.2 status requests per video (Sora-length tasks 7.4 → 4.0, fast ones 2.6 → 2.6), p50 detection
58–67 → 58–65 ms, p95 128–138 → 141–172 ms (several runs).

${downloadNote(results.download)}`

const openaiVersion = () => versionOf("openai")
const effectVersion = () => versionOf("effect")
const versionOf = (name: string) => {
  try {
    return (
      JSON.parse(NodeFs.readFileSync(NodePath.join(benchDir, "node_modules", name, "package.json"), "utf8")) as {
        version: string
      }
    ).version
  } catch {
    return "?"
  }
}

// ---------------------------------------------------------------------------------------------------

/** Every figure of the last full run, so the document can be rendered again (`pnpm bench report`). */
const resultsPath = values.results ?? NodePath.join(benchDir, ".results.json")
const docPath = values.doc ?? NodePath.join(benchDir, "..", "docs", "benchmarks.md")

interface Saved extends Results {
  readonly startedAt: string
  readonly seconds: number
}

/**
 * This part's figures over the saved ones (`--save`): a scenario run again replaces its earlier
 * figures, the others stay, so a full set can be gathered one part at a time.
 */
const merge = (earlier: Saved | undefined, part: Saved): Saved => {
  if (earlier === undefined) return part
  const polling = [
    ...earlier.polling.filter((e) => !part.polling.some((p) => p.workload === e.workload && p.tasks === e.tasks)),
    ...part.polling
  ].sort((a, b) => a.workload.localeCompare(b.workload) || a.tasks - b.tasks)
  const inflight = [
    ...earlier.inflight.filter((e) => !part.inflight.some((p) => p.tasks === e.tasks)),
    ...part.inflight
  ].sort((a, b) => a.tasks - b.tasks)
  return {
    startedAt: [earlier.startedAt, part.startedAt].sort()[0]!,
    seconds: earlier.seconds + part.seconds,
    polling,
    inflight,
    download: part.download ?? earlier.download,
    cli: part.cli ?? earlier.cli,
    gateway: part.gateway ?? earlier.gateway,
    cluster: part.cluster ?? earlier.cluster
  }
}

const readSaved = (): Saved | undefined => {
  try {
    const saved = JSON.parse(NodeFs.readFileSync(resultsPath, "utf8")) as Saved
    // Figures saved before the in-flight scenarios existed have another shape: start afresh.
    return Array.isArray(saved.inflight) ? saved : undefined
  } catch {
    return undefined
  }
}

const write = (saved: Saved) => {
  const path = docPath
  NodeFs.writeFileSync(path, render(new Date(saved.startedAt), saved.seconds, saved))
  // The document is linted like every other file: leave it as the formatter would.
  const biome = NodePath.join(benchDir, "..", "node_modules", ".bin", "biome")
  try {
    execFileSync(biome, ["check", "--write", path], { stdio: "ignore" })
  } catch {
    log(`biome could not format ${path} (outside the repository?): written as rendered`)
  }
  log(`wrote ${NodePath.relative(process.cwd(), path)}`)
}

const main = async () => {
  if (which === "report") {
    const saved = readSaved()
    if (saved === undefined) throw new Error(`no figures to render in ${resultsPath}: run \`pnpm bench\` first`)
    return write(saved)
  }
  const startedAt = new Date()
  log("bundling the contestants…")
  await bundle()
  const polling: Array<Scenario> = []
  const inflight: Array<InflightScenario> = []
  let download: ReadonlyArray<DownloadRow> | undefined
  let cli: CliResult | undefined
  let gateway: GatewayScenario | undefined
  let cluster: ClusterScenario | undefined
  const only = values.only?.split(",")
  if (all || which === "polling") {
    const plan: Array<[Workload, number]> = all
      ? [
          ...taskCounts.map((n): [Workload, number] => ["linear", n]),
          ...nonlinearCounts.map((n): [Workload, number] => ["nonlinear", n])
        ]
      : workloads.flatMap((w) => taskCounts.map((n): [Workload, number] => [w, n]))
    for (const [workload, tasks] of plan) {
      const s = await runPolling({ tasks, timeScale, workload, rounds, only, timeLimitMs })
      polling.push(s)
      process.stdout.write(
        `\n### polling, ${scenarioTitle(s)}\n\n${scenarioHead(s)}\n\n${pollingTable(s)}\n\n${pollingNotes(s.rows)}\n\n`
      )
    }
  }
  if (all || which === "inflight") {
    for (const tasks of inflightCounts) {
      const s = await runInflight({
        tasks,
        rounds,
        timeScale: inflightScale,
        holdMs,
        only,
        timeLimitMs: inflightLimitMs
      })
      inflight.push(s)
      process.stdout.write(`\n### ${count(tasks)} in flight\n\n${inflightTable(s)}\n\n${inflightNotes(s)}\n\n`)
    }
  }
  if (all || which === "download") {
    log(`download: ${downloadRuns} rounds of every contestant, ${size}…`)
    download = await runDownload({ runs: downloadRuns, size })
    process.stdout.write(`\n### download\n\n${downloadTable(download)}\n\n`)
  }
  if (all || which === "cli") {
    log("cli: cold start (bench/cli.ts)…")
    cli = await runCli(cliRuns)
    process.stdout.write(`\n### cli\n\n${cli.output}\n\n`)
  }
  if (all || which === "gateway") {
    gateway = await runGateway({ jobs: gatewayJobs, clients: gatewayClients, rounds, timeScale })
    process.stdout.write(`\n${gatewaySection(gateway)}\n\n`)
  }
  if (all || which === "cluster") {
    cluster = await runCluster({ jobs: clusterJobs, rounds, timeScale, workerCounts: clusterWorkers })
    process.stdout.write(`\n${clusterSection(cluster, undefined)}\n\n`)
  }
  const results: Results = { polling, inflight, download, cli, gateway, cluster }
  if (targets(results).length > 0) process.stdout.write(`### targets\n\n${targetsTable(results)}\n\n`)
  const earlier = earlierTargets(results)
  if (earlier.length > 0) {
    process.stdout.write(
      `${table(
        ["earlier target", "figure", "verdict"],
        earlier.map((c) => [c.target, c.figure, c.met === undefined ? "—" : c.met ? "met" : "NOT met"])
      )}\n`
    )
  }
  if (all || values.save === true) {
    const part: Saved = {
      startedAt: startedAt.toISOString(),
      seconds: (Date.now() - startedAt.getTime()) / 1000,
      ...results
    }
    const saved = all ? part : merge(readSaved(), part)
    NodeFs.writeFileSync(resultsPath, JSON.stringify(saved, null, 1))
    write(saved)
  }
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
