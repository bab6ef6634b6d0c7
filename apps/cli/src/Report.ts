/**
 * Ending a command: the exit code, and the one line (plus, with `--json`, the last NDJSON line)
 * for an error.
 *
 * @since 0.1.0
 */

import * as ExitCode from "@reelay/client/ExitCode"
import * as VideoError from "@reelay/core/VideoError"
import * as Effect from "effect/Effect"
import * as Output from "./Output.js"
import * as Render from "./Render.js"

/** How the user invoked reelay, for the commands we print (`pnpm reelay` from the repository). */
export const commandName = (): string =>
  process.env.REELAY_COMMAND_NAME ?? (process.env.npm_lifecycle_event === "reelay" ? "pnpm reelay" : "reelay")

/** Sets the process's exit code (the last one set wins). */
export const exit = (code: number): Effect.Effect<void> =>
  Effect.sync(() => {
    process.exitCode = code
  })

/** Prefixes an error's message with where it comes from (`batch.jsonl:3`), keeping its class. */
export const relabel = <E extends { readonly _tag: string; readonly message: string }>(error: E, label: string): E => {
  if (!VideoError.isVideoError(error)) return error
  return VideoError.copy<VideoError.VideoError>(error, { message: `${label}: ${error.message}` }) as unknown as E
}

/** Reports an error that ends the command: one line on stderr, the JSON line with `--json`, and its exit code. */
export const failure = (
  error: { readonly _tag: string; readonly message: string },
  json: boolean
): Effect.Effect<void> => {
  const code = ExitCode.forError(error)
  return Effect.all([
    json ? Output.stdout(Render.jsonError(error, code)) : Effect.void,
    Output.stderr(Render.errorLine(error as Parameters<typeof Render.errorLine>[0])),
    exit(code)
  ]).pipe(Effect.asVoid)
}
