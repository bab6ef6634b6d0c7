/**
 * `reelay worker` and `reelay batch --enqueue` as a cluster runs them: PostgreSQL and the
 * simulator on this machine, workers on test hosts of their own (network namespaces on a virtual
 * bridge, where the machine allows), one killed outright midway. The simulator's ledger and task
 * list are the truth about what was created and charged.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { Simulator } from "@reelay/simulator"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Postgres from "../../packages/journal/test/helpers/postgres.js"
import * as Harness from "../cli/harness.js"
import * as Hosts from "./hosts.js"

const run = Postgres.available() ? describe : describe.skip

run("reelay workers on several hosts", () => {
  let hosts: Hosts.Hosts
  let pg: Postgres.PgServer
  let sim: Awaited<ReturnType<typeof Simulator.start>>
  let databases = 0
  const children = new Set<ChildProcess>()

  beforeAll(async () => {
    await Harness.ensureBundle()
    hosts = Hosts.make()
    if (!hosts.isolated)
      process.stderr.write("[cluster tests] no network namespaces here: every worker runs on 127.0.0.1\n")
    pg = await Postgres.start({ also: hosts.isolated ? [hosts.machine] : [] })
    sim = await Simulator.start({
      hostname: hosts.machine,
      timeScale: Harness.timeScale,
      seed: `cluster-${process.pid}`
    })
  }, 120_000)

  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL")
    await sim?.stop()
    pg?.stop()
    hosts?.remove()
    Harness.cleanup()
  })

  /** A fresh database of the server, as the workers reach it (one cluster per database). */
  const database = () => {
    const name = `cluster_${++databases}`
    pg.createDatabase(name)
    return `postgres://reelay@${hosts.machine}:${pg.port}/${name}`
  }

  /** One value from the database (the cluster's own tables, which the journal does not read). */
  const query = (url: string, statement: string): string => pg.query(new URL(url).pathname.slice(1), statement)

  const env = (key: string, journal: string, timeScale = `1/${Math.round(1 / Harness.timeScale)}`) => ({
    ...Harness.baseEnv(),
    REELAY_TIME_SCALE: timeScale,
    REELAY_JOURNAL: journal,
    LAOZHANG_BASE_URL: sim.urls.laozhang,
    LAOZHANG_API_KEY: key
  })

  /** `reelay worker` on `host`, its address printed once it has joined; `user`: run as that user. */
  const worker = async (
    host: Hosts.Host,
    environment: Record<string, string>,
    extra: ReadonlyArray<string> = [],
    user?: string
  ) => {
    const port = host.port
    const reelay = [
      Harness.bundle,
      "worker",
      "--address",
      `${host.address}:${port}`,
      "--poll-interval",
      "250ms",
      "--lock-expiration",
      "4s",
      "--watchdog",
      "2s",
      "--stop-timeout",
      "3s",
      ...extra
    ]
    const [command, args] =
      user === undefined
        ? host.wrap(process.execPath, reelay)
        : // setpriv execs the worker in its place (runuser would stand between it and its signals).
          host.wrap("setpriv", [
            `--reuid=${user}`,
            `--regid=${user === "nobody" ? "nogroup" : user}`,
            "--clear-groups",
            process.execPath,
            ...reelay
          ])
    const child = spawn(command, args, {
      // Another user cannot enter this process's private working directories.
      cwd: user === undefined ? Harness.workdir("worker") : "/tmp",
      env: environment,
      stdio: ["ignore", "pipe", "pipe"]
    })
    children.add(child)
    // Listened for from the start: several workers stopped together may close in any order.
    const exited = new Promise<number | null>((resolve) =>
      child.on("close", (code) => {
        children.delete(child)
        resolve(code)
      })
    )
    let stderr = ""
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
    })
    await Harness.waitFor(child, (stdout) => stdout.includes(`${host.address}:${port}`), 60_000).catch((error) => {
      throw new Error(`${String(error)}\nstderr:\n${stderr}`)
    })
    return { child, exited, stderr: () => stderr }
  }

  const cli = (args: ReadonlyArray<string>, environment: Record<string, string>, cwd: string) => {
    const child = spawn(process.execPath, [Harness.bundle, ...args], {
      cwd,
      env: environment,
      stdio: ["ignore", "pipe", "pipe"]
    })
    return Harness.finish(child, 120_000)
  }

  /** `reelay batch FILE --enqueue` of the fast model's items into `outDir`, as batch `batch`; it must succeed. */
  const enqueue = async (
    file: string,
    batch: string,
    outDir: string,
    environment: Record<string, string>,
    cwd: string
  ) => {
    const result = await cli(
      [
        "batch",
        file,
        "--enqueue",
        "--provider",
        "laozhang",
        "--model",
        "veo-3.1-fast",
        "--out-dir",
        outDir,
        "--batch",
        batch,
        "--json"
      ],
      environment,
      cwd
    )
    expect(result.code, result.stderr).toBe(0)
    return JSON.parse(result.stdout) as { readonly type: string; readonly batch: string; readonly items: number }
  }

  const status = async (batch: string, environment: Record<string, string>, cwd: string) => {
    const result = await cli(["status", batch, "--json"], environment, cwd)
    expect(result.code, result.stderr).toBe(0)
    return JSON.parse(result.stdout) as {
      readonly items: ReadonlyArray<{
        readonly key: string
        readonly state: string
        readonly path: string | null
        readonly sha256: string | null
      }>
    }
  }

  /** Polls `reelay status` until `done` holds (a real cluster runs on the wall clock). */
  const until = async <A>(
    read: () => Promise<A>,
    done: (value: A) => boolean,
    timeoutMs: number,
    everyMs = 500
  ): Promise<A> => {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const value = await read()
      if (done(value)) return value
      if (Date.now() > deadline)
        throw new Error(`not done within ${timeoutMs} ms: ${JSON.stringify(value).slice(0, 2000)}`)
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  }

  const tasksOf = (key: string) =>
    [...sim.state.tasks.all()].filter((task) => task.account.fingerprint === Simulator.fingerprint(key))

  it("runs 60 items on three workers, one killed midway and a new one started: each saved once, created once, cost as the ledger says", async () => {
    const journal = database()
    const key = `sk-cluster-${process.pid}-a`
    const environment = env(key, journal)
    const cwd = Harness.workdir("cluster")
    const outDir = NodePath.join(cwd, "videos")
    // Every twentieth item is a Sora video: one streamed answer, run in one stage on one worker.
    // The others take 3 to 12 s, so the kill comes while most are being followed.
    const streamed = (index: number) => index % 20 === 19
    const prompts = Array.from(
      { length: 60 },
      (_, index) =>
        `Clip ${index + 1} of a lighthouse at dusk @sim:timing(queue=0,run=${streamed(index) ? 1 : 3 + (index % 4) * 3})`
    )
    NodeFs.writeFileSync(
      NodePath.join(cwd, "batch.jsonl"),
      prompts
        .map((prompt, index) =>
          JSON.stringify({
            key: `clip-${index + 1}`,
            prompt,
            ...(streamed(index) ? { provider: "laozhang-sora" } : {})
          })
        )
        .join("\n")
    )
    const workers = [
      await worker(hosts.add(), environment),
      await worker(hosts.add(), environment),
      await worker(hosts.add(), environment)
    ]

    const enqueued = await enqueue("batch.jsonl", "dusk", outDir, environment, cwd)
    expect(enqueued).toMatchObject({ type: "enqueued", batch: "dusk", items: 60 })
    // Enqueuing again hands nothing new to the cluster: each item's workflow is found by its key.
    expect(await enqueue("batch.jsonl", "dusk", outDir, environment, cwd)).toMatchObject({ items: 60 })

    // Midway: a sixth of the videos saved, the rest created and followed by the three workers.
    // Read straight from the database, so the kill comes close after it.
    const saved = () => Number(query(journal, "SELECT COUNT(*) FROM reelay_jobs WHERE state = 'downloaded'"))
    await until(
      async () => saved(),
      (count) => count >= 10,
      120_000,
      100
    )
    const killed = workers[1]!
    killed.child.kill("SIGKILL")
    await killed.exited
    const savedAtKill = (await status("dusk", environment, cwd)).items.filter(
      (item) => item.state === "downloaded"
    ).length
    expect(savedAtKill).toBeLessThan(60)
    workers.push(await worker(hosts.add(), environment))

    const report = await until(
      () => status("dusk", environment, cwd),
      (value) => value.items.every((item) => item.state === "downloaded"),
      180_000
    )
    expect(report.items).toHaveLength(60)
    for (const item of report.items) {
      expect(item.path).toBe(NodePath.join(outDir, `${item.key}.mp4`))
      expect(createHash("sha256").update(NodeFs.readFileSync(item.path!)).digest("hex")).toBe(item.sha256)
    }
    expect(NodeFs.readdirSync(outDir).sort()).toEqual(report.items.map((item) => `${item.key}.mp4`).sort())

    // Each prompt created once at the simulator, every task charged once.
    const tasks = tasksOf(key)
    const created = new Map<string, number>()
    for (const task of tasks) created.set(task.prompt, (created.get(task.prompt) ?? 0) + 1)
    expect(created.size).toBe(60)
    expect(tasks.filter((task) => task.model.protocol === "sora")).toHaveLength(3)
    expect([...created.values()].every((count) => count === 1)).toBe(true)
    const ledger = sim.ledger().filter((entry) => entry.key === Simulator.fingerprint(key))
    expect(ledger).toHaveLength(60)
    const billed = ledger.reduce((sum, entry) => sum + Math.round(Number(entry.amount) * 100), 0)

    // `reelay cost`, from another host's point of view (only the journal's URL): the ledger's sum.
    const cost = await cli(["cost", "--batch", "dusk", "--json"], environment, cwd)
    expect(cost.code, cost.stderr).toBe(0)
    const total = (JSON.parse(cost.stdout) as { total: { charged: string; uncertain: string } }).total
    expect(Math.round(Number(total.charged) * 100)).toBe(billed)
    expect(total.uncertain).toBe("0.00")

    process.stdout.write(
      `[cluster] ${hosts.isolated ? "4 hosts in network namespaces" : "4 workers on 127.0.0.1"}; 1 killed with SIGKILL at ${savedAtKill}/60 saved; ${report.items.length} saved, ${tasks.length} created, ledger ${ledger.length} charges = $${(billed / 100).toFixed(2)}, reelay cost $${total.charged}\n`
    )
    for (const { child } of workers.filter((entry) => entry !== killed)) child.kill("SIGTERM")
    for (const { exited, stderr } of workers.filter((entry) => entry !== killed)) {
      expect(await exited, stderr()).toBe(0)
      expect(stderr()).not.toContain(key)
    }
  }, 400_000)

  it("a worker restarted during a durable wait resumes the wait: the first poll comes at the wake-up planned before the restart", async () => {
    const journal = database()
    const key = `sk-cluster-${process.pid}-b`
    // Polling planned at 1/5 of real time: the first look waits most of a fast video's 45 s, ~5 s,
    // while the simulated video takes 12 s (directive times are real seconds).
    const environment = env(key, journal, "1/5")
    const cwd = Harness.workdir("cluster-wait")
    NodeFs.writeFileSync(
      NodePath.join(cwd, "one.jsonl"),
      `${JSON.stringify({ key: "tide", prompt: "A slow tide @sim:timing(queue=0,run=12)" })}\n`
    )
    const host = hosts.add()
    const first = await worker(host, environment)
    await enqueue("one.jsonl", "tide", NodePath.join(cwd, "out"), environment, cwd)
    // Created, and the workflow asleep on its durable clock.
    const wakeUp = await until(
      async () =>
        query(
          journal,
          "SELECT COALESCE(MAX(deliver_at), 0) FROM cluster_messages WHERE entity_type = 'Workflow/-/DurableClock'"
        ),
      (value) => Number(value) > 0,
      60_000
    ).then(Number)
    expect(tasksOf(key)).toHaveLength(1)
    first.child.kill("SIGKILL")
    await first.exited
    const restartedAt = Date.now()
    expect(restartedAt).toBeLessThan(wakeUp)
    const second = await worker(host, environment)

    const report = await until(
      () => status("tide", environment, cwd),
      (value) => value.items.every((item) => item.state === "downloaded"),
      120_000
    )
    expect(report.items).toHaveLength(1)
    const statusCalls = sim.state.requests
      .list()
      .filter(
        (request) => request.authorization.fingerprint === Simulator.fingerprint(key) && request.route === "status"
      )
    expect(statusCalls.length).toBeGreaterThan(0)
    // Not polled when the new worker took over, but when the wait planned before the kill ended.
    const firstPoll = Date.parse(statusCalls[0]!.at)
    expect(firstPoll).toBeGreaterThanOrEqual(wakeUp)
    expect(tasksOf(key)).toHaveLength(1)
    second.child.kill("SIGTERM")
    expect(await second.exited, second.stderr()).toBe(0)
  }, 240_000)

  it("the watchdog drives again an item whose workflow the engine lost, without creating it again", async () => {
    const journal = database()
    const key = `sk-cluster-${process.pid}-c`
    const environment = env(key, journal, "1/5")
    const cwd = Harness.workdir("cluster-watchdog")
    NodeFs.writeFileSync(
      NodePath.join(cwd, "one.jsonl"),
      `${JSON.stringify({ key: "gull", prompt: "A gull over the pier @sim:timing(queue=0,run=12)" })}\n`
    )
    const host = hosts.add()
    const watchful = ["--stall-after", "2s"]
    const first = await worker(host, environment, watchful)
    await enqueue("one.jsonl", "gull", NodePath.join(cwd, "out"), environment, cwd)
    await until(
      async () => query(journal, "SELECT COUNT(*) FROM cluster_messages WHERE entity_type = 'Workflow/-/DurableClock'"),
      (value) => Number(value) > 0,
      60_000
    )
    // The engine loses the workflow (as when its messages stop being consumed): its worker gone,
    // and everything not yet processed dropped.
    first.child.kill("SIGKILL")
    await first.exited
    query(journal, "DELETE FROM cluster_messages WHERE NOT processed")
    const second = await worker(host, environment, watchful)

    const report = await until(
      () => status("gull", environment, cwd),
      (value) => value.items.every((item) => item.state === "downloaded"),
      120_000
    )
    expect(report.items).toHaveLength(1)
    expect(tasksOf(key)).toHaveLength(1)
    expect(Number(query(journal, "SELECT generation FROM reelay_drives WHERE item_key = 'gull'"))).toBeGreaterThan(1)
    expect(second.stderr()).toMatch(
      /item gull of batch gull has not moved since .*; driving it again \(generation \d+\)/
    )
    second.child.kill("SIGTERM")
    expect(await second.exited, second.stderr()).toBe(0)
  }, 240_000)

  // As another user, a worker that cannot write where the batch's videos go (as a host whose
  // shared file system is missing or read-only would be): root only.
  const asAnotherUser = typeof process.getuid === "function" && process.getuid() === 0 ? it : it.skip

  asAnotherUser(
    "a worker that cannot write the outputs hands the items on, creating nothing; one that can saves them",
    async () => {
      const journal = database()
      const key = `sk-cluster-${process.pid}-d`
      const environment = env(key, journal)
      const cwd = Harness.workdir("cluster-unwritable")
      NodeFs.writeFileSync(
        NodePath.join(cwd, "two.jsonl"),
        ["reef", "kelp"]
          .map((name) => JSON.stringify({ key: name, prompt: `A ${name} in the current @sim:timing(queue=0,run=3)` }))
          .join("\n")
      )
      const host = hosts.add()
      const blind = await worker(host, environment, [], "nobody")
      await enqueue("two.jsonl", "reef", NodePath.join(cwd, "out"), environment, cwd)
      // Each item handed on to a later generation (after 30 s), nothing created or charged meanwhile.
      await until(
        async () => query(journal, "SELECT COALESCE(MIN(generation), 0) FROM reelay_drives"),
        (value) => Number(value) >= 2,
        120_000
      )
      expect(tasksOf(key)).toHaveLength(0)
      blind.child.kill("SIGTERM")
      expect(await blind.exited, blind.stderr()).toBe(0)

      const able = await worker(host, environment)
      const report = await until(
        () => status("reef", environment, cwd),
        (value) => value.items.every((item) => item.state === "downloaded"),
        120_000
      )
      expect(report.items.map((item) => item.key).sort()).toEqual(["kelp", "reef"])
      expect(tasksOf(key)).toHaveLength(2)
      expect(blind.stderr()).not.toMatch(/: submitted: task /)
      able.child.kill("SIGTERM")
      expect(await able.exited, able.stderr()).toBe(0)
    },
    300_000
  )
})
