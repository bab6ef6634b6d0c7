/**
 * What the orchestrator, the simulator process and the contestant processes say to each other.
 */

/** A question to the simulator process. */
export type SimAsk =
  | { readonly op: "analyze"; readonly key: string }
  | { readonly op: "usage" }
  | { readonly op: "reset" }
  | { readonly op: "stop" }

/** The simulator process's own footprint (`usage`), after a full GC. */
export interface SimUsage {
  readonly tasks: number
  readonly requests: number
  readonly rss: number
  readonly heapUsed: number
  readonly cpuSeconds: number
}

export type SimRequest = SimAsk & { readonly id: number }

export interface SimReply {
  readonly id: number
  readonly result: unknown
}

export interface SimUrls {
  readonly laozhang: string
  readonly apiyi: string
  readonly cdn: string
  readonly control: string
}

/** What the simulator saw of one contestant (see `sim.ts`). */
export interface Analysis {
  readonly tasks: number
  /** Tasks that completed successfully in the simulated timeline. */
  readonly completed: number
  readonly creates: number
  /** Status requests about the contestant's tasks. */
  readonly status: number
  /** `/content` requests about the contestant's tasks. */
  readonly content: number
  /** CDN downloads (GET) of the contestant's videos. */
  readonly cdn: number
  /** API requests about no task of the contestant's (unknown ids, other routes). */
  readonly other: number
  /** Answers with HTTP status ≥ 400, or none. */
  readonly errors: number
  /** Requests by HTTP status (or outcome when none was sent). */
  readonly statuses: Readonly<Record<string, number>>
  /** Per detected task: first status request that saw it completed minus its completion, ms, ascending. */
  readonly delays: ReadonlyArray<number>
  /** Arrival of the first create (epoch ms, simulator clock = the machine's clock). */
  readonly firstCreateAt: number | undefined
  /** Arrival of the last create. */
  readonly lastCreateAt: number | undefined
  /** Completion of the last task (epoch ms). */
  readonly lastEndsAt: number | undefined
  /** The CDN URL and size of the last task to complete: the ideal run's last download. */
  readonly lastUrl: string | undefined
  readonly lastBytes: number | undefined
}

/** How a task's progress moves: a simulator curve, or `late` (linear, but queued most of the time). */
export type Shape = "linear" | "stall" | "jump" | "late"

/** One item of a polling workload, the same for every contestant. */
export interface WorkItem {
  readonly key: string
  readonly model: string
  readonly prompt: string
  /** Speed class the duration was drawn from. */
  readonly kind: "fast" | "standard" | "sora"
  readonly shape: Shape
  /** The pinned phases (`@sim:timing`), simulator milliseconds. */
  readonly queueMs: number
  readonly runMs: number
}

/** What a contestant process is given (environment variable `BENCH_INPUT`, JSON). */
export interface ContestantInput {
  readonly urls: SimUrls
  readonly apiKey: string
  readonly workload: string
  readonly outDir: string
  readonly timeScale: number
  /** Contestant-specific settings (e.g. reelay's concurrency, openai's poll interval). */
  readonly settings: Readonly<Record<string, number | string | boolean>>
}

/** What a contestant process reports on its last line of stdout, after `RESULT `. */
export interface ContestantResult {
  readonly startedAt: number
  readonly endedAt: number
  readonly saved: number
  readonly failed: number
  readonly firstError?: string | undefined
  /** User + system CPU seconds of the whole process (start-up included). */
  readonly cpuSeconds: number
  /** Peak resident set size of the process, bytes (getrusage `ru_maxrss`). */
  readonly peakRss: number
  readonly bytes?: number | undefined
  readonly sha256?: string | undefined
  /** Stopped by the orchestrator's time limit; the figures are those at that moment. */
  readonly timedOut?: boolean | undefined
  /** Event-loop delay from just before the first create to the report (`monitorEventLoopDelay`), ms. */
  readonly eventLoop?: { readonly p50: number; readonly p99: number; readonly max: number } | undefined
  /** In-flight runs (`settings.hold`): the process with every task submitted and none finished. */
  readonly inflight?: InflightFigures | undefined
}

/** What an in-flight run measures once every task is submitted and `hold` has passed. */
export interface InflightFigures {
  /** Tasks submitted (created, and known to the client) when measured. */
  readonly submitted: number
  /** Tasks that ended before the measure (failed creates, say): they are no longer in flight. */
  readonly ended: number
  /** From just before the first create to the last task submitted, ms. */
  readonly submitMs: number
  /** `heapUsed` after a full GC just before the first create (the process with its inputs loaded). */
  readonly heapBefore: number
  /**
   * After a full GC once half the tasks were submitted: with `heapUsed`, the slope (bytes per task
   * added), free of what the process allocates once (the HTTP client's modules, sockets, code).
   */
  readonly heapHalf: number
  readonly submittedHalf: number
  /** After a full GC with every task in flight. */
  readonly heapUsed: number
  readonly external: number
  readonly rss: number
  /** User + system CPU of the process up to the measure, start-up included. */
  readonly cpuSeconds: number
}

/** A progress line a contestant writes while it works (`PROGRESS {...}` on stdout). */
export interface ProgressLine {
  readonly submitted: number
  readonly ended: number
}
