/**
 * Where the CLI's text goes, in one of three modes:
 *
 * - `tty` (stderr is a terminal): a live block of progress bars on stderr, redrawn at most ten
 *   times a second, then a summary on stdout;
 * - `plain` (a pipe, a log, CI): one line per meaningful event on stderr, the summary on stdout;
 * - `json` (`--json`): every `GenerationEvent` as one NDJSON line on stdout, then the result or
 *   the error; stderr only for the simulator notice and the one-line error.
 *
 * What is printed is decided by `Render`; this module decides when and where.
 *
 * @since 0.1.0
 */
import type { GenerationEvent } from "@reelay/core/GenerationEvent"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Progress from "./Progress.js"
import * as Render from "./Render.js"

export type Mode = "tty" | "plain" | "json"

/** The mode for this process: `--json` wins; otherwise a terminal on stderr gets live bars. */
export const detectMode = (json: boolean): Mode =>
  json ? "json" : process.stderr.isTTY === true && process.env.TERM !== "dumb" ? "tty" : "plain"

/** Colours on a terminal, unless `NO_COLOR` is set. */
export const styleFor = (mode: Mode): Render.Style => ({
  color: mode === "tty" && (process.env.NO_COLOR ?? "") === ""
})

export const stdout = (text: string) =>
  Effect.sync(() => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`))
export const stderr = (text: string) =>
  Effect.sync(() => void process.stderr.write(text.endsWith("\n") ? text : `${text}\n`))

/** Follows a run's events and prints them for `mode`. */
export interface Sink {
  readonly mode: Mode
  readonly style: Render.Style
  readonly event: (event: GenerationEvent) => Effect.Effect<void>
  /** A line for the user that is not an event (a notice, a warning), kept above the live block. */
  readonly note: (line: string) => Effect.Effect<void>
  /** The board so far. */
  readonly board: Effect.Effect<Progress.Board>
  /** Stops live drawing, leaving the final state of the block on screen. */
  readonly close: Effect.Effect<void>
}

/**
 * A sink for `mode`, with `keys` shown as waiting from the start. Scoped: in `tty` mode a fiber
 * redraws the block, and the scope's end draws it once more and restores the cursor.
 */
export const make = (mode: Mode, keys: ReadonlyArray<string> = []): Effect.Effect<Sink, never, Scope.Scope> =>
  Effect.gen(function* () {
    const style = styleFor(mode)
    let current = Progress.board(keys)
    let drawn = 0
    let dirty = true
    let closed = false
    const lastPrinted = new Map<string, { percent?: number; bytes?: number }>()

    const draw = Effect.sync(() => {
      if (mode !== "tty" || !dirty) return
      dirty = false
      // A pseudo-terminal may report 0 columns.
      const width = process.stderr.columns || 80
      const rows = process.stderr.rows || 24
      const lines = Render.board(current, Progress.totals(current), {
        width: Math.max(20, width - 1),
        maxLines: Math.max(3, rows - 2),
        style
      })
      // Back to the block's first line, clear to the end of the screen, draw again.
      const up = drawn > 0 ? `\u001b[${drawn}F` : ""
      process.stderr.write(`${up}\u001b[0J${lines.join("\n")}\n`)
      drawn = lines.length
    })

    if (mode === "tty") {
      process.stderr.write("\u001b[?25l")
      // Interrupted before `close`: leave the last state on screen. Always give the cursor back.
      yield* Effect.addFinalizer(() =>
        Effect.suspend(() => (closed ? Effect.void : Effect.zipRight(close, Effect.void))).pipe(
          Effect.zipRight(Effect.sync(() => void process.stderr.write("\u001b[?25h")))
        )
      )
      yield* draw.pipe(
        Effect.zipRight(Effect.sync(() => closed)),
        Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (done) => done }),
        Effect.forkScoped
      )
    }

    const event = (event: GenerationEvent) =>
      Effect.suspend(() => {
        current = Progress.apply(current, event)
        dirty = true
        switch (mode) {
          case "json":
            return stdout(Render.jsonEvent(event))
          case "plain": {
            const last = lastPrinted.get(event.key) ?? {}
            if (!Render.worthPrinting(event, last)) return Effect.void
            if (event._tag === "Progress") lastPrinted.set(event.key, { ...last, percent: event.percent })
            if (event._tag === "Downloading") lastPrinted.set(event.key, { ...last, bytes: event.receivedBytes })
            const line = Render.eventLine(event)
            return line === undefined ? Effect.void : stderr(line)
          }
          case "tty":
            // Warnings do not fit a bar: print them above the block.
            return event._tag === "Warning" && event.code !== "duplicate"
              ? note(`${Render.yellow(style, "warning")} ${event.key}: ${event.message}`)
              : Effect.void
        }
      })

    const note = (line: string) =>
      Effect.suspend(() => {
        if (mode !== "tty" || drawn === 0) return stderr(line)
        return Effect.sync(() => {
          process.stderr.write(`\u001b[${drawn}F\u001b[0J${line}\n`)
          drawn = 0
          dirty = true
        }).pipe(Effect.zipRight(draw))
      })

    const close = Effect.suspend(() => {
      if (closed) return Effect.void
      closed = true
      dirty = true
      return draw
    })

    return { mode, style, event, note, board: Effect.sync(() => current), close } satisfies Sink
  })
