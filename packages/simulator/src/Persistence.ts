/**
 * Keeping a simulator's world in a state file, so a later process continues it: every task (its
 * timeline, outcome, expiry, video and CDN path, its own fault directives and their hit counts), the
 * ledger and the balances, the idempotency records, the task sequence and the clock. Request logs,
 * global fault rules and the per-request fault counters of prompt directives are not kept.
 *
 * Saving is a group commit: a change marks the state dirty and one save, started after the current
 * burst of requests, writes everything changed so far. A create is answered only once its task is on
 * disk (`State.Persist.durable`); charges, balances and clock pushes are written by the next save.
 *
 * Several processes may share one file. Each save re-reads the file when someone else wrote it since
 * this process's last save and merges it in before writing: tasks by id (ours win), charges by task id,
 * balances by the later `setBalance`, idempotency records by the earlier task, the sequence and the
 * clock by the larger. The merged tasks are adopted in memory too, so every later save writes them
 * again. Two saves that overlap still race (the last rename wins), but each process writes its own
 * tasks at every save and at stop, so a task is missing from the file only between a racing save and
 * its own process's next one.
 *
 * @since 0.1.0
 */
import * as BigDecimal from "effect/BigDecimal"
import * as Directive from "./Directive.js"
import * as Ledger from "./Ledger.js"
import * as Models from "./Models.js"
import * as Pipeline from "./Pipeline.js"
import type { State } from "./State.js"
import * as StateFile from "./StateFile.js"
import type { Task } from "./Tasks.js"
import * as Videos from "./Videos.js"

/** Where a simulator listened, as the state file records it. */
export type Listen = StateFile.Contents["listen"]

/**
 * The clock offset a resumed simulator starts with. Time between runs counts as it passed on the base
 * clock: with the system clock (the default outside tests) the vendors "kept working" while nothing
 * ran, so a task due meanwhile reads as completed, and a lead given with `advance` is kept. A base
 * clock behind the saved instant (a fresh `TestClock` or manual clock) resumes from that instant
 * instead: simulated time never runs backwards.
 */
export const resumeOffset = (clock: StateFile.Contents["clock"], baseNow: number): number =>
  Math.max(clock.offsetMs, clock.now - baseNow)

const toRecord = (task: Task): StateFile.TaskRecord => ({
  id: task.id,
  seq: task.seq,
  host: task.host,
  model: task.model.id,
  prompt: task.prompt,
  key: task.account.fingerprint,
  initialBalance: Ledger.formatUsd(task.account.initial),
  createdAt: task.timeline.createdAt,
  queueMs: task.timeline.queueMs,
  runMs: task.timeline.runMs,
  ...(task.timeline.curve === undefined ? {} : { curve: task.timeline.curve }),
  outcome: task.outcome,
  expiresAt: task.expiresAt,
  urlExpiresAt: task.urlExpiresAt,
  video: task.asset.fixture.name,
  bytes: task.asset.size,
  cdnPath: task.cdnPath,
  size: task.size,
  seconds: task.seconds,
  resolution: task.resolution ?? null,
  aspectRatio: task.aspectRatio ?? null,
  images: task.images,
  directives: task.directives.map((d) => d.text),
  hits: [...task.hits],
  idempotencyKey: task.idempotencyKey,
  createResponse: task.createResponse
})

const fromRecord = (state: State, path: string, r: StateFile.TaskRecord): Task => {
  const incompatible = (detail: string) => StateFile.error(path, "incompatible", `task ${r.id}: ${detail}`)
  const model = Models.find(r.host, r.model)
  if (model === undefined) throw incompatible(`${r.host} has no model ${r.model}`)
  const fixture = state.fixtures.get(r.video)
  if (fixture === undefined) throw incompatible(`no video file ${r.video}.mp4 in the videos directory`)
  const directives = r.directives.map((text) => {
    const d = Directive.parseOne(text)
    if (typeof d === "string") throw incompatible(d)
    return d
  })
  return {
    id: r.id,
    seq: r.seq,
    host: r.host,
    model,
    prompt: r.prompt,
    account: { host: r.host, fingerprint: r.key, initial: BigDecimal.unsafeFromString(r.initialBalance) },
    timeline: {
      createdAt: r.createdAt,
      queueMs: r.queueMs,
      runMs: r.runMs,
      ...(r.curve === undefined ? {} : { curve: r.curve })
    },
    outcome: r.outcome,
    expiresAt: r.expiresAt,
    urlExpiresAt: r.urlExpiresAt,
    asset: Videos.asset(fixture, r.bytes),
    cdnPath: r.cdnPath,
    size: r.size,
    seconds: r.seconds,
    resolution: r.resolution ?? undefined,
    aspectRatio: r.aspectRatio ?? undefined,
    images: r.images,
    directives,
    hits: new Map(r.hits),
    idempotencyKey: r.idempotencyKey,
    createResponse: r.createResponse
  }
}

/** Whether a task and a record with its id are different tasks (two simulators drew the same id). */
const clashes = (task: Task, r: StateFile.TaskRecord): boolean =>
  task.timeline.createdAt !== r.createdAt || task.account.fingerprint !== r.key || task.prompt !== r.prompt

/**
 * Adds a state file's world to `state`: the sequence, the ledger, the tasks it does not have (their
 * pending `on-success` charges scheduled; tasks already expired only settle their charge) and the
 * idempotency records. Throws a `StateFileError` for a task this simulator cannot serve.
 */
export const absorb = (state: State, path: string, contents: StateFile.Contents): void => {
  state.raiseSeq(contents.seq)
  state.ledger.merge(contents.ledger)
  const now = state.clock.now()
  for (const record of contents.tasks) {
    const mine = state.tasks.find(record.id)
    if (mine !== undefined) {
      if (clashes(mine, record)) {
        console.error(
          `[reelay simulator] ${path}: task ${record.id} exists here and in the file as two different tasks ` +
            "(two simulators sharing the file with the same seed); keeping this one"
        )
      }
      continue
    }
    const task = fromRecord(state, path, record)
    Pipeline.scheduleOnSuccess(state, task)
    if (task.expiresAt > now) state.tasks.add(task)
  }
  for (const { scope, taskId } of contents.idempotency) {
    const task = state.tasks.find(taskId)
    if (task === undefined) continue
    const mine = state.tasks.byIdempotencyKey(scope)
    // The first create under a key is the one replayed.
    if (mine === undefined || task.timeline.createdAt < mine.timeline.createdAt) {
      state.tasks.rememberIdempotencyKey(scope, task)
    }
  }
}

/**
 * The state as the file keeps it, after settling the charges that became due. Tasks past their
 * expiry (whose URL has expired too) are left out: they answer 404 anyway.
 */
export const capture = (state: State, listen: Listen, floor?: StateFile.Contents["clock"]): StateFile.Contents => {
  const now = state.now()
  const tasks = [...state.tasks.all()].filter((t) => t.expiresAt > now || t.urlExpiresAt > now)
  const kept = new Set(tasks.map((t) => t.id))
  return {
    format: StateFile.formatName,
    version: StateFile.currentVersion,
    savedAt: new Date().toISOString(),
    clock: {
      now: Math.max(now, floor?.now ?? now),
      offsetMs: Math.max(state.clock.offsetMs(), floor?.offsetMs ?? 0)
    },
    seq: state.lastSeq(),
    listen,
    tasks: tasks.map(toRecord),
    idempotency: [...state.tasks.idempotencyRecords()]
      .filter(([, task]) => kept.has(task.id))
      .map(([scope, task]) => ({ scope, taskId: task.id })),
    ledger: state.ledger.save()
  }
}

/** The saving side of a simulator with a state file. */
export interface Saver {
  /** Saves now (merging first), after any save under way; rejects with a `StateFileError`. */
  readonly save: () => Promise<void>
  /** The last save, at stop; later changes are no longer saved. Rejects with a `StateFileError`. */
  readonly close: () => Promise<void>
}

/**
 * Installs a `State.Persist` on `state` that saves it to `path`; `listen` tells where the simulator
 * listens now. Nothing is written until the first change or `save`.
 */
export const attach = (state: State, path: string, listen: () => Listen): Saver => {
  let dirty = false
  let replace = false
  let closed = false
  let scheduled = false
  let muted = false
  let waiters: Array<() => void> = []
  let writing: Array<() => void> | undefined
  let written: StateFile.Version | undefined
  let floor: StateFile.Contents["clock"] | undefined
  let lastReported: string | undefined
  let tail: Promise<void> = Promise.resolve()

  const report = (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e)
    // One line per distinct problem: a full disk must not flood the terminal at every request.
    if (message !== lastReported) console.error(`[reelay simulator] could not save the state: ${message}`)
    lastReported = message
  }

  const round = async (force: boolean): Promise<void> => {
    if (!force && !dirty && waiters.length === 0) return
    let waiting: Array<() => void> = []
    try {
      let theirs: StateFile.Contents | undefined
      if (!replace) {
        // Unchanged since this process wrote it: nothing to merge, and no need to parse it again.
        const current = await StateFile.version(path)
        if (current !== undefined && !StateFile.sameVersion(current, written)) theirs = await StateFile.readAsync(path)
      }
      let contents: StateFile.Contents
      muted = true
      try {
        if (theirs !== undefined) absorb(state, path, theirs)
        contents = capture(state, listen(), theirs?.clock ?? floor)
      } finally {
        muted = false
      }
      replace = false
      dirty = false
      waiting = waiters
      waiters = []
      writing = waiting
      written = await StateFile.write(path, contents)
      floor = contents.clock
      lastReported = undefined
    } catch (e) {
      dirty = true
      waiting = [...waiting, ...waiters]
      waiters = []
      throw e
    } finally {
      writing = undefined
      // Answer the creates waiting for this save even when it failed: the failure is reported, and
      // holding the answers would only turn a lost file into lost requests as well.
      for (const resolve of waiting) resolve()
    }
  }

  const enqueue = (force: boolean): Promise<void> => {
    const run = tail.then(() => round(force))
    tail = run.catch(() => {})
    return run
  }

  const schedule = () => {
    if (scheduled || closed) return
    scheduled = true
    // One save for a burst of changes: it starts once the pending I/O callbacks have run.
    tail = tail
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => {
        scheduled = false
        return round(false)
      })
      .catch(report)
  }

  state.persist = {
    changed: () => {
      if (muted || closed) return
      dirty = true
      schedule()
    },
    cleared: () => {
      if (closed) return
      replace = true
      dirty = true
      schedule()
    },
    durable: () => {
      if (closed) return undefined
      if (dirty) {
        schedule()
        return new Promise<void>((resolve) => waiters.push(resolve))
      }
      const current = writing
      return current === undefined ? undefined : new Promise<void>((resolve) => current.push(resolve))
    }
  }

  return {
    save: () => enqueue(true),
    close: () => {
      closed = true
      // The last save fails like any other (reported, once): stopping must not turn a full disk
      // into a crash of whatever embeds the simulator.
      return enqueue(true).catch(report)
    }
  }
}
