/**
 * The workloads: the same tasks for every contestant, each pinned with `@sim:timing` so the simulator
 * plays them identically whatever order they are created in.
 */
import type { Shape, WorkItem } from "./protocol.js"

/** The reference pages' generation times, vendor seconds. */
const ranges = { fast: [30, 60], standard: [60, 120], sora: [120, 300] } as const
const models = { fast: "veo-3.1-fast", standard: "veo-3.1", sora: "veo-3.1-landscape" } as const
const kinds = ["fast", "standard", "sora"] as const

/** A small seeded generator (mulberry32): the same workload on every run. */
export const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** `linear`: progress as the simulator draws it. `nonlinear`: a third each stalls, jumps, or queues late. */
export type Workload = "linear" | "nonlinear"

const shapes: ReadonlyArray<Shape> = ["stall", "jump", "late"]

/**
 * N tasks, a third in each class, durations uniform in the class's range, scaled by `timeScale`.
 * Linear: 10-30 % of it queued (the simulator's own default split), then linear progress.
 * Non-linear: the shapes rotate across the classes, so each class gets each shape: `stall` and `jump`
 * (the simulator's curves, 10-30 % queued), and `late` (queued 50-80 % of the time, then linear).
 */
export const makeWorkload = (tasks: number, timeScale: number, workload: Workload = "linear"): Array<WorkItem> => {
  const next = random(20251122)
  return Array.from({ length: tasks }, (_, index) => {
    const kind = kinds[index % 3]!
    const shape: Shape = workload === "linear" ? "linear" : shapes[Math.floor(index / 3) % 3]!
    const [min, max] = ranges[kind]
    const totalMs = Math.round((min + next() * (max - min)) * 1000 * timeScale)
    const share = shape === "late" ? 0.5 + next() * 0.3 : 0.1 + next() * 0.2
    const queueMs = Math.round(totalMs * share)
    const runMs = totalMs - queueMs
    const curve = shape === "stall" || shape === "jump" ? `,progress=${shape}` : ""
    return {
      key: `clip-${String(index + 1).padStart(6, "0")}`,
      kind,
      model: models[kind],
      shape,
      queueMs,
      runMs,
      prompt: `Benchmark clip ${index + 1}, a ${kind} generation @sim:timing(queue=${queueMs / 1000},run=${runMs / 1000}${curve})`
    }
  })
}

/**
 * The in-flight workload: N tasks of the three classes' models, each running (never queued) for
 * `runSeconds` of simulator time with linear progress, far longer than creating them all takes. The
 * plan measures each one's rate in its first two polls and then waits most of the remaining time, so
 * what is measured is the cost of holding tasks, not of polling them hard.
 */
export const inflightWorkload = (tasks: number, runSeconds: number): Array<WorkItem> =>
  Array.from({ length: tasks }, (_, index) => {
    const kind = kinds[index % 3]!
    return {
      key: `hold-${String(index + 1).padStart(6, "0")}`,
      kind,
      model: models[kind],
      shape: "linear",
      queueMs: 0,
      runMs: runSeconds * 1000,
      prompt: `In-flight clip ${index + 1} @sim:timing(queue=0,run=${runSeconds})`
    }
  })
