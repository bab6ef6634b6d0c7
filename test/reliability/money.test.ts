/**
 * Issue 10's money cases, end to end through the real `reelay` CLI (`test/cli/harness.ts`: the built
 * bundle, spawned, against a simulator started here on 127.0.0.1, port 0), each checked against the
 * simulator's request log and billing ledger:
 *
 * 1. **Exposure**: creates stranded by a SIGKILL are shown as uncertain at their worst case
 *    (`reelay cost`, `reelay status`), and a resume's budget counts them: `--recreate-uncertain`
 *    with a budget covering only that exposure creates nothing; with room for the new creates too,
 *    it proceeds. After such a refusal the items stay uncertain: created again only when allowed,
 *    and then with their first create's `Idempotency-Key`.
 * 2. **Sora graceful stop**: one Ctrl-C once the stream was answered lets the paid video be saved
 *    (exit 130); a second one stops at once, saying the charge is certain and the video lost; a
 *    stream cut after its 200 is reported charged. `reelay cost` equals the ledger each time.
 * 3. **Unwritable outputs**: refused up front (exit 2, one line naming the path, nothing sent or
 *    charged, no hang); a paid video whose output became unwritable fails `DownloadFailed` (charged,
 *    exit 21) and `reelay resume --out` saves it elsewhere, with one create and one charge.
 * 4. **Resume keeps the base URL** a batch was created at, and without the key fails before sending.
 * 5. **A full disk under the journal** (a 300 KiB or 600 KiB tmpfs in a mount namespace, where
 *    `unshare` can make one): exit 4 naming ENOSPC and the journal, and no create without its
 *    intent journaled.
 *    Also the journal's size per item and the write-ahead log left after a normal batch.
 * 6. **A refused link** (403, 404, 410 from the CDN, through a refusing CDN in front of the
 *    simulator's): `generate` asks for a fresh link and saves the video.
 * 7. **Zero configuration**: the built-in simulator, Ctrl-C mid-batch, `reelay resume`, and
 *    `reelay cost` keeping the simulator's pretend money apart from real money.
 *
 * No assertion depends on time: a process is signalled or killed once what proves the moment has
 * come was seen (an NDJSON event, a line on stderr, a request in the simulator's log).
 */
import { spawn, spawnSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Simulator } from "@reelay/simulator"
import * as Directive from "@reelay/simulator/Directive"
import * as Harness from "../cli/harness.js"
import * as Money from "./money.js"
import { dollars, micros, sha256 } from "./multiprocess.js"

const harness = Harness.forFile()

/** `reelay cost --json`'s totals (apps/cli/src/commands/Cost.ts). */
interface Totals {
  readonly estimated: string
  readonly charged: string
  readonly chargedCount: number
  readonly uncertain: string
  readonly uncertainCount: number
}

/** `reelay cost --json`: `total` is real money only, the built-in simulator's apart. */
interface CostJson {
  readonly rows: ReadonlyArray<{ readonly provider: string; readonly simulator: boolean }>
  readonly total: Totals
  readonly simulator: Totals
}

/** An item of `reelay status <batch> --json` (the fields read here). */
interface ItemJson {
  readonly key: string
  readonly state: string
  readonly path: string | null
  readonly sha256: string | null
  readonly charged: string
  readonly uncertain: string
}

/** `reelay status <batch> --json`. */
interface StatusJson {
  readonly charged: string
  readonly uncertain: string
  readonly items: ReadonlyArray<ItemJson>
}

/** The JSON a command that must succeed printed. */
const jsonOf = async <A>(args: ReadonlyArray<string>, options: Harness.RunOptions): Promise<A> => {
  const result = await Harness.run(args, options)
  assert.strictEqual(result.code, 0, `reelay ${args.join(" ")}: ${result.stderr}`)
  return JSON.parse(result.stdout) as A
}

const costOf = (batch: string | undefined, options: Harness.RunOptions) =>
  jsonOf<CostJson>(["cost", ...(batch === undefined ? [] : ["--batch", batch]), "--json"], options)

const statusOf = (batch: string, options: Harness.RunOptions) =>
  jsonOf<StatusJson>(["status", batch, "--json"], options)

/** The file of a saved item, checked: a video, the one whose sha256 the journal recorded. */
const verified = (item: ItemJson) => {
  assert.strictEqual(item.state, "downloaded", JSON.stringify(item))
  assert.isTrue(item.path !== null && Harness.isMp4(item.path), `${item.key}: ${item.path} is a video`)
  assert.strictEqual(item.sha256, sha256(item.path!), `${item.key}: ${item.path} is the file the journal verified`)
}

/** The requests the simulator received with `key`, of `route`. */
const routed = (key: string, route: string) => harness.requestsOf(key).filter((request) => request.route === route)

/** The ledger's total for `key`, in micro-dollars. */
const ledgerOf = (key: string) => harness.chargesOf(key).reduce((sum, entry) => sum + micros(entry.amount), 0n)

const jsonl = (objects: ReadonlyArray<Record<string, unknown>>) =>
  `${objects.map((object) => JSON.stringify(object)).join("\n")}\n`

/** The one batch of a journal (a `generate`'s `gen-<id>`). */
const onlyBatch = async (options: Harness.RunOptions) => {
  const { batches } = await jsonOf<{ readonly batches: ReadonlyArray<{ readonly batch: string }> }>(
    ["status", "--json"],
    options
  )
  assert.lengthOf(batches, 1, JSON.stringify(batches))
  return batches[0]!.batch
}

describe("money (CLI): exposure", () => {
  it("creates a SIGKILL stranded are uncertain at their worst case, and a resume's budget counts them", async () => {
    const cwd = Harness.workdir("money-exposure")
    const key = harness.freshKey("sk-money-exposure")
    // A model no other test of this file uses: the slow rule below holds its first three creates alone.
    const model = "veo-3.1-landscape-fast"
    const price = micros("0.15")
    const slow = Directive.parseOne("slow(ms=120000)")
    if (typeof slow === "string") throw new Error(slow)
    const rule = harness.sim.state.faults.add(slow, { model }, 3, 1)
    try {
      NodeFs.writeFileSync(
        NodePath.join(cwd, "jobs.jsonl"),
        jsonl(
          [1, 2, 3].map((n) => ({
            key: `shot-${n}`,
            prompt: `exposure shot ${n}: a hot-air balloon over hills @sim:timing(queue=0,run=0.3)`,
            model
          }))
        )
      )
      const journal = NodePath.join(cwd, "journal.db")
      const env = { LAOZHANG_API_KEY: key, REELAY_JOURNAL: journal }
      const batch = "exposure"
      const run = Money.watch(
        Harness.start(
          ["batch", "jobs.jsonl", "--provider", "laozhang", "--base-url", harness.sim.urls.laozhang, "--batch", batch],
          { cwd, env }
        )
      )
      // The three creates are at the simulator, held by the slow rule (noted once their body was
      // read): each one's intent was journaled before it was sent. Then the process dies.
      await Money.eventually("three held creates at the simulator", () => {
        const held = routed(key, "create").filter((request) => request.faults.includes(slow.text))
        return held.length === 3
      })
      run.child.kill("SIGKILL")
      const killed = await run.ended
      assert.strictEqual(killed.signal, "SIGKILL", killed.stderr)
      // The cut creates made nothing: this money is exposure only, never charged.
      assert.deepStrictEqual(harness.chargesOf(key), [])
      assert.isFalse(
        [...harness.sim.state.tasks.all()].some((task) => task.account.fingerprint === Simulator.fingerprint(key)),
        "no task was made"
      )

      const cost = await costOf(batch, { cwd, env })
      assert.strictEqual(micros(cost.total.charged), 0n, JSON.stringify(cost))
      assert.strictEqual(micros(cost.total.uncertain), 3n * price, `cost: ${JSON.stringify(cost.total)}`)
      assert.strictEqual(cost.total.uncertainCount, 3, JSON.stringify(cost.total))
      const status = await statusOf(batch, { cwd, env })
      assert.strictEqual(micros(status.uncertain), 3n * price, `status: ${status.uncertain}`)
      assert.lengthOf(status.items, 3)
      for (const item of status.items) {
        assert.strictEqual(micros(item.uncertain), price, `${item.key} (${item.state}): uncertain ${item.uncertain}`)
        assert.strictEqual(micros(item.charged), 0n, `${item.key}: charged ${item.charged}`)
      }

      // A budget covering only the stranded exposure leaves no room for a new create.
      const refused = await Harness.run(
        ["resume", batch, "--recreate-uncertain", "--max-cost", dollars(3n * price).slice(1), "--json"],
        { cwd, env }
      )
      assert.strictEqual(refused.code, 3, `exit ${refused.code}: ${refused.stderr}`)
      const failures = Money.events(refused.stdout, "Failed")
      assert.deepStrictEqual(
        failures.map((failure) => [failure.key, (failure.error as { _tag: string })._tag]).sort(),
        [
          ["shot-1", "BudgetExceeded"],
          ["shot-2", "BudgetExceeded"],
          ["shot-3", "BudgetExceeded"]
        ],
        refused.stdout
      )
      assert.strictEqual(routed(key, "create").length, 3, "no new create was sent")
      const still = await costOf(batch, { cwd, env })
      assert.strictEqual(micros(still.total.uncertain), 3n * price, "the stranded exposure is still shown")

      // Room for the stranded exposure and three new creates: it proceeds.
      const allowed = await Harness.run(
        ["resume", batch, "--recreate-uncertain", "--max-cost", dollars(6n * price).slice(1), "--json"],
        { cwd, env }
      )
      assert.strictEqual(allowed.code, 0, `exit ${allowed.code}: ${allowed.stderr}`)
      assert.strictEqual(routed(key, "create").length, 6, "three new creates")
      assert.strictEqual(ledgerOf(key), 3n * price)
      const after = await statusOf(batch, { cwd, env })
      for (const item of after.items) verified(item)
      const settled = await costOf(batch, { cwd, env })
      assert.strictEqual(micros(settled.total.charged), ledgerOf(key), "charged = the ledger")
      // The stranded creates stay possible charges: reelay cannot know the vendor made nothing.
      assert.strictEqual(micros(settled.total.uncertain), 3n * price)
    } finally {
      harness.sim.state.faults.remove(rule.id)
    }
  }, 60_000)

  // The rule: an item whose create may have reached the provider is created again only with the
  // user's consent (`--recreate-uncertain`), and then with the same Idempotency-Key (a vendor that
  // honours it answers with the task that may exist). A recreate the budget refused changes neither.
  it("a recreate the budget refused leaves the items uncertain: a plain resume creates nothing; a later recreate keeps each Idempotency-Key", async () => {
    const cwd = Harness.workdir("money-exposure-refused")
    const key = harness.freshKey("sk-money-exposure-refused")
    const model = "veo-3.1-landscape"
    const price = micros("0.25")
    const slow = Directive.parseOne("slow(ms=120000)")
    if (typeof slow === "string") throw new Error(slow)
    const rule = harness.sim.state.faults.add(slow, { model }, 2, 1)
    try {
      NodeFs.writeFileSync(
        NodePath.join(cwd, "jobs.jsonl"),
        jsonl(
          [1, 2].map((n) => ({
            key: `shot-${n}`,
            prompt: `refused recreate shot ${n}: rain on a neon street @sim:timing(queue=0,run=0.3)`,
            model
          }))
        )
      )
      const env = { LAOZHANG_API_KEY: key, REELAY_JOURNAL: NodePath.join(cwd, "journal.db") }
      const batch = "exposure-refused"
      const run = Money.watch(
        Harness.start(
          ["batch", "jobs.jsonl", "--provider", "laozhang", "--base-url", harness.sim.urls.laozhang, "--batch", batch],
          { cwd, env }
        )
      )
      await Money.eventually("two held creates at the simulator", () => {
        const held = routed(key, "create").filter((request) => request.faults.includes(slow.text))
        return held.length === 2
      })
      run.child.kill("SIGKILL")
      await run.ended
      const stranded = routed(key, "create").map((request) => request.idempotencyKey)

      const refused = await Harness.run(
        ["resume", batch, "--recreate-uncertain", "--max-cost", dollars(2n * price).slice(1)],
        { cwd, env }
      )
      assert.strictEqual(refused.code, 3, refused.stderr)
      assert.lengthOf(routed(key, "create"), 2, "the refused recreate sent nothing")

      const plain = await Harness.run(["resume", batch, "--json"], { cwd, env })
      assert.lengthOf(
        routed(key, "create"),
        2,
        `a resume without --recreate-uncertain created uncertain items again (exit ${plain.code}):\n${plain.stderr}`
      )
      assert.strictEqual(plain.code, 3, plain.stderr)
      for (const failure of Money.events(plain.stdout, "Failed")) {
        assert.strictEqual((failure.error as { _tag: string })._tag, "UncertainSubmission", JSON.stringify(failure))
      }

      const allowed = await Harness.run(["resume", batch, "--recreate-uncertain"], { cwd, env })
      assert.strictEqual(allowed.code, 0, allowed.stderr)
      const creates = routed(key, "create")
      assert.lengthOf(creates, 4)
      assert.deepStrictEqual(
        creates
          .slice(2)
          .map((request) => request.idempotencyKey)
          .sort(),
        [...stranded].sort(),
        "each item created again with its first create's Idempotency-Key"
      )
    } finally {
      harness.sim.state.faults.remove(rule.id)
    }
  }, 60_000)
})

describe("money (CLI): Sora, Ctrl-C and cut streams", () => {
  /** A Sora `generate --json` of `prompt` (its `timing` directive sets how long the stream runs). */
  const soraGenerate = (cwd: string, key: string, prompt: string) =>
    Money.watch(
      Harness.start(["generate", prompt, "--provider", "laozhang-sora", "--out", "video.mp4", "--json"], {
        cwd,
        env: { ...harness.env(key), REELAY_JOURNAL: NodePath.join(cwd, "journal.db") }
      })
    )
  const answered = (output: { readonly stdout: string }) => Money.events(output.stdout, "Submitted").length > 0

  it("one Ctrl-C after the stream was answered: reads on, saves the paid video, exits 130", async () => {
    const cwd = Harness.workdir("money-sora-once")
    const key = harness.freshKey("sk-money-sora-once")
    const env = { ...harness.env(key), REELAY_JOURNAL: NodePath.join(cwd, "journal.db") }
    const run = soraGenerate(cwd, key, "A cat on a windowsill at dusk @sim:timing(queue=0,run=4)")
    await run.until("the Submitted event (the stream answered)", answered)
    run.child.kill("SIGINT")
    const result = await run.ended
    assert.strictEqual(result.code, 130, result.stderr)
    assert.match(result.stderr, /stopping; waiting for .*1 paid stream\(s\) to deliver their video/, result.stderr)
    assert.match(result.stderr, /reelay: interrupted; the journal is consistent/, result.stderr)
    assert.lengthOf(Money.events(result.stdout, "Saved"), 1, "the video was saved")
    const file = NodePath.join(cwd, "video.mp4")
    assert.isTrue(Harness.isMp4(file), "the video file exists")
    const batch = await onlyBatch({ cwd, env })
    const [item] = (await statusOf(batch, { cwd, env })).items
    verified(item!)
    assert.strictEqual(item!.path, file)
    const cost = await costOf(batch, { cwd, env })
    assert.strictEqual(harness.chargesOf(key).length, 1)
    assert.strictEqual(micros(cost.total.charged), ledgerOf(key), "charged = the ledger")
    assert.strictEqual(micros(cost.total.uncertain), 0n)
  }, 60_000)

  it("a second Ctrl-C while it waits for the paid stream: stops at once, the charge certain, the video lost", async () => {
    const cwd = Harness.workdir("money-sora-twice")
    const key = harness.freshKey("sk-money-sora-twice")
    const env = { ...harness.env(key), REELAY_JOURNAL: NodePath.join(cwd, "journal.db") }
    const run = soraGenerate(cwd, key, "A cat on a windowsill at night @sim:timing(queue=0,run=4)")
    await run.until("the Submitted event (the stream answered)", answered)
    run.child.kill("SIGINT")
    await run.until("the note that it waits for the paid stream", (output) => /paid stream/.test(output.stderr))
    run.child.kill("SIGINT")
    const result = await run.ended
    assert.strictEqual(result.code, 130, result.stderr)
    assert.match(result.stderr, /charge is certain/, result.stderr)
    assert.match(result.stderr, /video is lost/, result.stderr)
    assert.lengthOf(Money.events(result.stdout, "Saved"), 0)
    assert.isFalse(NodeFs.existsSync(NodePath.join(cwd, "video.mp4")))
    const batch = await onlyBatch({ cwd, env })
    const cost = await costOf(batch, { cwd, env })
    assert.strictEqual(harness.chargesOf(key).length, 1)
    assert.strictEqual(micros(cost.total.charged), ledgerOf(key), "charged = the ledger")
    assert.strictEqual(micros(cost.total.uncertain), 0n, "not uncertain: the 200 was received")
  }, 60_000)

  it("a stream cut after its 200 is reported charged, and charged = the ledger", async () => {
    const cwd = Harness.workdir("money-sora-cut")
    const key = harness.freshKey("sk-money-sora-cut")
    const env = { ...harness.env(key), REELAY_JOURNAL: NodePath.join(cwd, "journal.db") }
    const run = soraGenerate(cwd, key, "A dog in the rain @sim:timing(queue=0,run=0.5) @sim:sse-cut(at=50)")
    const result = await run.ended
    assert.notStrictEqual(result.code, 0, result.stderr)
    const error = Money.objects(result.stdout).at(-1)?.error as { billing?: string; _tag?: string } | undefined
    assert.strictEqual(error?.billing, "charged", result.stdout)
    assert.match(result.stderr, /\(charged\)/, result.stderr)
    const batch = await onlyBatch({ cwd, env })
    const cost = await costOf(batch, { cwd, env })
    assert.strictEqual(harness.chargesOf(key).length, 1)
    assert.strictEqual(micros(cost.total.charged), ledgerOf(key), "charged = the ledger")
    assert.strictEqual(micros(cost.total.uncertain), 0n)
  }, 60_000)
})

describe("money (CLI): outputs that cannot be written", () => {
  const unwritable: ReadonlyArray<{ readonly name: string; readonly path: string; readonly args: Array<string> }> = [
    { name: "generate --out /proc/x.mp4", path: "/proc/x.mp4", args: ["generate", "A fox", "--out", "/proc/x.mp4"] },
    {
      name: "generate --out /proc/nope/x.mp4",
      path: "/proc/nope/x.mp4",
      args: ["generate", "A fox", "--out", "/proc/nope/x.mp4"]
    },
    { name: "batch --out-dir /dev/null", path: "/dev/null", args: ["batch", "jobs.jsonl", "--out-dir", "/dev/null"] }
  ]
  for (const each of unwritable) {
    it(`${each.name}: exit 2, one line naming it, nothing sent, nothing charged, no hang`, async () => {
      const cwd = Harness.workdir("money-unwritable")
      NodeFs.writeFileSync(NodePath.join(cwd, "jobs.jsonl"), jsonl([{ key: "fox", prompt: "A fox" }]))
      const key = harness.freshKey("sk-money-unwritable")
      const journal = NodePath.join(cwd, "journal.db")
      // A hang fails the test (the bound), it does not block the suite.
      const result = await Harness.run([...each.args, "--provider", "laozhang"], {
        cwd,
        env: { ...harness.env(key), REELAY_JOURNAL: journal },
        timeoutMs: 30_000
      })
      assert.strictEqual(result.code, 2, result.stderr)
      const lines = Money.linesOf(result.stderr)
      assert.lengthOf(lines, 1, result.stderr)
      assert.include(lines[0], each.path, "the line names the path")
      assert.deepStrictEqual(harness.requestsOf(key), [], "nothing sent")
      assert.deepStrictEqual(harness.chargesOf(key), [], "nothing charged")
      assert.deepStrictEqual(await Money.allCharges(journal), [], "nothing journaled as charged")
    })
  }

  it("a paid video whose output became unwritable: DownloadFailed (charged, 21), then saved elsewhere by resume", async () => {
    const cwd = Harness.workdir("money-save-elsewhere")
    const key = harness.freshKey("sk-money-elsewhere")
    const env = { ...harness.env(key), REELAY_JOURNAL: NodePath.join(cwd, "journal.db") }
    const directory = NodePath.join(cwd, "videos")
    const run = Money.watch(
      Harness.start(
        [
          "generate",
          "A lighthouse in a storm @sim:timing(queue=0,run=1.5)",
          "--provider",
          "laozhang",
          "--out",
          NodePath.join(directory, "lighthouse.mp4"),
          "--json"
        ],
        { cwd, env }
      )
    )
    await run.until("the Submitted event", (output) => Money.events(output.stdout, "Submitted").length > 0)
    // The task runs; its output directory becomes a regular file. (Not chmod: a root process writes anyway.)
    NodeFs.rmSync(directory, { recursive: true, force: true })
    NodeFs.writeFileSync(directory, "not a directory\n")
    const result = await run.ended
    assert.strictEqual(result.code, 21, result.stderr)
    const error = Money.objects(result.stdout).at(-1)?.error as { _tag?: string; billing?: string } | undefined
    assert.strictEqual(error?._tag, "DownloadFailed", result.stdout)
    assert.strictEqual(error?.billing, "charged", result.stdout)
    const hint = /reelay resume (gen-[0-9a-f]+)/.exec(result.stderr)
    assert.isNotNull(hint, `a hint naming reelay resume:\n${result.stderr}`)
    const batch = hint![1]!

    const elsewhere = NodePath.join(cwd, "elsewhere", "lighthouse.mp4")
    const resumed = await Harness.run(["resume", batch, "--out", elsewhere], { cwd, env })
    assert.strictEqual(resumed.code, 0, resumed.stderr)
    assert.isTrue(Harness.isMp4(elsewhere), `${elsewhere} is a video`)
    const [item] = (await statusOf(batch, { cwd, env })).items
    verified(item!)
    assert.strictEqual(item!.path, elsewhere)
    assert.lengthOf(routed(key, "create"), 1, "one create")
    assert.lengthOf(harness.chargesOf(key), 1, "one charge")
    const cost = await costOf(batch, { cwd, env })
    assert.strictEqual(micros(cost.total.charged), ledgerOf(key))
  }, 60_000)
})

describe("money (CLI): resume keeps the base URL", () => {
  it("a batch created at --base-url X resumes at X without being told, and without the key sends nothing", async () => {
    const cwd = Harness.workdir("money-base-url")
    const key = harness.freshKey("sk-money-base-url")
    const journal = NodePath.join(cwd, "journal.db")
    // No LAOZHANG_BASE_URL anywhere: only the flag of the first run says where the simulator is.
    const env = { LAOZHANG_API_KEY: key, REELAY_JOURNAL: journal }
    const at = harness.sim.urls.laozhang
    NodeFs.writeFileSync(
      NodePath.join(cwd, "jobs.jsonl"),
      jsonl(
        [1, 2, 3].map((n) => ({
          key: `shot-${n}`,
          prompt: `base URL shot ${n}: a train through a pine forest @sim:timing(queue=0,run=2)`,
          model: "veo-3.1-fast"
        }))
      )
    )
    const batch = "base-url"
    const run = Money.watch(
      Harness.start(["batch", "jobs.jsonl", "--provider", "laozhang", "--base-url", at, "--batch", batch, "--json"], {
        cwd,
        env
      })
    )
    await run.until("three Submitted events", (output) => Money.events(output.stdout, "Submitted").length === 3)
    run.child.kill("SIGKILL")
    assert.strictEqual((await run.ended).signal, "SIGKILL")
    const killedAt = harness.requestsOf(key).length

    const everything = () => harness.sim.state.requests.list().length
    const before = everything()
    const keyless = await Harness.run(["resume", batch], { cwd, env: { REELAY_JOURNAL: journal }, timeoutMs: 30_000 })
    assert.notStrictEqual(keyless.code, 0, keyless.stderr)
    assert.include(keyless.stderr, "LAOZHANG_API_KEY", keyless.stderr)
    assert.strictEqual(everything(), before, "nothing was sent")

    const resumed = await Harness.run(["resume", batch], { cwd, env })
    assert.strictEqual(resumed.code, 0, resumed.stderr)
    assert.include(resumed.stderr, `resuming at ${at}`, resumed.stderr)
    const polled = harness.requestsOf(key).slice(killedAt)
    const tasks = new Set(polled.filter((request) => request.route === "status").map((request) => request.taskId))
    assert.strictEqual(tasks.size, 3, "each task was polled at X")
    assert.lengthOf(routed(key, "create"), 3, "nothing created again")
    for (const item of (await statusOf(batch, { cwd, env })).items) verified(item)
  }, 60_000)
})

/** Whether this machine can give a process a private mount namespace with a tmpfs in it. */
const namespaces = (() => {
  const probe = NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "reelay-unshare-probe-"))
  try {
    const reasons: Array<string> = []
    // As root, a mount namespace; otherwise one in a user namespace of our own (mapped to root).
    for (const prefix of [["-m"], ["-r", "-m"]]) {
      const result = spawnSync(
        "unshare",
        [...prefix, "sh", "-c", 'mount -t tmpfs -o size=64k none "$1" && touch "$1/x"', "sh", probe],
        { encoding: "utf8", timeout: 10_000 }
      )
      if (result.error !== undefined) return { prefix: undefined, reason: `no unshare (${result.error.message})` }
      if (result.status === 0) return { prefix, reason: "" }
      reasons.push(`unshare ${prefix.join(" ")}: ${(result.stderr ?? "").trim() || `exit ${result.status}`}`)
    }
    return { prefix: undefined, reason: `cannot mount a tmpfs in a private namespace (${reasons.join("; ")})` }
  } finally {
    NodeFs.rmSync(probe, { recursive: true, force: true })
  }
})()
if (namespaces.prefix === undefined) {
  process.stdout.write(`[money] the full-disk test is skipped: ${namespaces.reason}\n`)
}

const subjects = ["a paper boat on a pond at dawn", "rain on a neon street", "a fox crossing a snowy field"]

/** A batch of `count` items, each prompt padded to about `length` characters. */
const bigBatch = (count: number, length: number, tag: string) =>
  jsonl(
    Array.from({ length: count }, (_, index) => {
      const head = `${tag} shot ${index + 1}: ${subjects[index % subjects.length]} @sim:timing(queue=0,run=0.3) `
      return {
        key: `item-${String(index + 1).padStart(2, "0")}`,
        prompt: head + "slow pan, soft light, film grain. ".repeat(Math.ceil(length / 34)).slice(0, length),
        model: "veo-3.1-fast"
      }
    })
  )

describe("money (CLI): a full disk under the journal", () => {
  /**
   * Runs `reelay batch` in a private mount namespace whose `mount` holds the journal on a tmpfs of
   * `size`, then copies the journal out (the tmpfs goes with the namespace).
   */
  const onFullDisk = async (size: string, count: number, length: number) => {
    const cwd = Harness.workdir("money-enospc")
    const key = harness.freshKey("sk-money-enospc")
    const mount = NodePath.join(cwd, "small")
    const copy = NodePath.join(cwd, "copy")
    NodeFs.mkdirSync(mount)
    NodeFs.mkdirSync(copy)
    NodeFs.writeFileSync(NodePath.join(cwd, "big.jsonl"), bigBatch(count, length, `enospc ${size}`))
    const journal = NodePath.join(mount, "j.db")
    const script = [
      `mount -t tmpfs -o size=${size} none "$1" || exit 97`,
      'mounted="$1"; copy="$2"; shift 2',
      '"$@"',
      "code=$?",
      'for f in j.db j.db-wal; do [ -f "$mounted/$f" ] && cp "$mounted/$f" "$copy/"; done',
      "exit $code"
    ].join("\n")
    const child = spawn(
      "unshare",
      [
        ...namespaces.prefix!,
        "sh",
        "-c",
        script,
        "sh",
        mount,
        copy,
        process.execPath,
        Harness.bundle,
        "batch",
        "big.jsonl",
        "--provider",
        "laozhang",
        "--base-url",
        harness.sim.urls.laozhang,
        "--journal",
        journal,
        "--batch",
        "big",
        "--out-dir",
        NodePath.join(cwd, "out")
      ],
      { cwd, env: { ...Harness.baseEnv(), LAOZHANG_API_KEY: key }, stdio: ["ignore", "pipe", "pipe"] }
    )
    const result = await Money.watch(child, 60_000).ended
    return { result, key, journal, copied: NodePath.join(copy, "j.db") }
  }

  /** Every create the simulator logged for `key` carries the idempotency key of a journaled intent. */
  const intentsCover = async (key: string, copied: string) => {
    const creates = routed(key, "create")
    const journal = await Money.readJournal(copied, "big")
    const intents = new Set(
      (journal?.events ?? []).flatMap((entry) =>
        entry.event?._tag === "Submitting" ? [entry.event.idempotencyKey] : []
      )
    )
    const unjournaled = creates.filter(
      (create) => create.idempotencyKey === null || !intents.has(create.idempotencyKey)
    )
    return { creates: creates.length, intents: intents.size, unjournaled }
  }

  // Two disks the journal must outgrow: 30 long prompts (their rows alone nearly fill 300 KiB, so
  // the disk is full before any create), and 150 short ones on 600 KiB (their journal alone is
  // larger, about 4 KiB an item, but the first tens of items fit: creates go out, then the disk fills).
  for (const { size, count, length } of [
    { size: "300k", count: 30, length: 4000 },
    { size: "600k", count: 150, length: 100 }
  ]) {
    it.skipIf(namespaces.prefix === undefined)(
      `${count} items, ${length}-character prompts, the journal on a ${size} tmpfs: exit 4 naming ENOSPC and the journal; no create without its intent journaled`,
      async () => {
        const { result, key, journal, copied } = await onFullDisk(size, count, length)
        const covered = await intentsCover(key, copied)
        process.stdout.write(
          `[money] full disk (${size}, ${count} items, ${length}-character prompts): exit ${result.code}, ${covered.creates} creates sent, ${covered.intents} intents journaled\n`
        )
        assert.notStrictEqual(result.code, 97, `the tmpfs could not be mounted: ${result.stderr}`)
        assert.strictEqual(result.code, 4, `exit ${result.code}, stderr:\n${result.stderr}`)
        assert.match(result.stderr, /ENOSPC|no space left/i, result.stderr)
        assert.include(result.stderr, journal, "the journal is named")
        assert.deepStrictEqual(covered.unjournaled, [], "creates sent without their intent in the journal")
      },
      60_000
    )
  }

  it("journal bytes per item of a normal 30-item batch, and the write-ahead log left after it", async () => {
    const cwd = Harness.workdir("money-journal-size")
    const key = harness.freshKey("sk-money-journal-size")
    NodeFs.writeFileSync(NodePath.join(cwd, "jobs.jsonl"), bigBatch(30, 0, "journal size"))
    const journal = NodePath.join(cwd, "j.db")
    const result = await Harness.run(
      ["batch", "jobs.jsonl", "--provider", "laozhang", "--base-url", harness.sim.urls.laozhang, "--journal", journal],
      { cwd, env: { LAOZHANG_API_KEY: key } }
    )
    assert.strictEqual(result.code, 0, result.stderr)
    const size = (path: string) => (NodeFs.existsSync(path) ? NodeFs.statSync(path).size : 0)
    const wal = size(`${journal}-wal`)
    const total = size(journal) + wal
    process.stdout.write(
      `[money] journal bytes per item: ${Math.round(total / 30)} (${size(journal)} B database + ${wal} B write-ahead log, 30 items)\n`
    )
    assert.isBelow(wal, 1024 * 1024, "the write-ahead log left beside the journal is small")
  }, 60_000)
})

describe("money (CLI): a refused link", () => {
  for (const refusal of [403, 404, 410]) {
    it(`the CDN answers ${refusal} to the first link: generate asks for a fresh one and saves the video`, async () => {
      // A simulator of its own, whose links point at a CDN refusing each link's first transfer.
      const sim = await Simulator.start({ timeScale: Harness.timeScale, seed: `money-refused-${refusal}` })
      const cdn = await Money.refusingCdn(sim.urls.cdn, () => refusal)
      sim.state.urls = { ...sim.state.urls, cdn: cdn.origin }
      try {
        const cwd = Harness.workdir("money-refused")
        const key = `sk-money-refused-${refusal}`
        const result = await Harness.run(
          [
            "generate",
            "A paper boat on a pond @sim:timing(queue=0,run=0.3)",
            "--provider",
            "laozhang",
            "--base-url",
            sim.urls.laozhang,
            "--out",
            "boat.mp4",
            "--json"
          ],
          { cwd, env: { LAOZHANG_API_KEY: key, REELAY_JOURNAL: NodePath.join(cwd, "journal.db") } }
        )
        assert.strictEqual(result.code, 0, result.stderr)
        assert.isTrue(Harness.isMp4(NodePath.join(cwd, "boat.mp4")))
        const mine = sim.state.requests
          .list()
          .filter((request) => request.authorization.fingerprint === Simulator.fingerprint(key))
        assert.lengthOf(
          mine.filter((request) => request.route === "create"),
          1
        )
        assert.lengthOf(
          mine.filter((request) => request.route === "content"),
          2,
          "the link was asked for twice"
        )
        assert.deepStrictEqual(
          cdn.seen.map((seen) => seen.status),
          [refusal, 200],
          "refused once, then served"
        )
        assert.lengthOf(sim.ledger(), 1, "one charge")
      } finally {
        await cdn.stop()
        await sim.stop()
      }
    }, 60_000)
  }
})

describe("money (CLI): zero configuration", () => {
  it("the built-in simulator: Ctrl-C mid-batch, resume saves every item, cost keeps pretend money apart", async () => {
    const cwd = Harness.workdir("money-zero-config")
    NodeFs.writeFileSync(
      NodePath.join(cwd, "jobs.jsonl"),
      jsonl(
        Array.from({ length: 10 }, (_, index) => ({
          key: `k${index + 1}`,
          prompt: `zero configuration shot ${index + 1}: ${subjects[index % subjects.length]}`
        }))
      )
    )
    // Nothing configured: no key, no base URL, no time scale (the built-in simulator's own).
    const env = { REELAY_TIME_SCALE: undefined }
    const run = Money.watch(
      Harness.start(["batch", "jobs.jsonl", "--batch", "zero", "--concurrency-submit", "2"], { cwd, env })
    )
    await run.until("two items submitted", (output) => (output.stderr.match(/: submitted: task /g) ?? []).length >= 2)
    run.child.kill("SIGINT")
    const interrupted = await run.ended
    assert.strictEqual(interrupted.code, 130, interrupted.stderr)
    assert.include(interrupted.stderr, "using the built-in simulator")
    assert.isTrue(NodeFs.existsSync(NodePath.join(cwd, ".reelay", "journal.db")), "the default journal")

    const resumed = await Harness.run(["resume"], { cwd, env })
    assert.strictEqual(resumed.code, 0, resumed.stderr)
    assert.notInclude(resumed.stderr + resumed.stdout, "TaskNotFound")
    const { items } = await statusOf("zero", { cwd, env })
    assert.lengthOf(items, 10)
    for (const item of items) verified(item)
    const cost = await costOf(undefined, { cwd, env })
    assert.deepStrictEqual(
      [cost.total.estimated, cost.total.charged, cost.total.uncertain].map((amount) => micros(amount)),
      [0n, 0n, 0n],
      `the total is real money only: ${JSON.stringify(cost.total)}`
    )
    assert.isAbove(Number(micros(cost.simulator.charged)), 0, JSON.stringify(cost.simulator))
    assert.isTrue(
      cost.rows.every((row) => row.simulator),
      JSON.stringify(cost.rows)
    )
  }, 60_000)
})
