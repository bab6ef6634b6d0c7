/**
 * The crash test's batch and kill points, shared by the test and the runner it spawns.
 */
import { GenerateRequest } from "@reelay/core/GenerateRequest"

/** Where the runner kills itself (SIGKILL), at the `killAt`-th time it gets there. */
export const KillPoint = ["before-submit", "after-create", "after-commit", "mid-download"] as const
export type KillPoint = (typeof KillPoint)[number]

/**
 * - `before-submit`: the intent is committed, the create is not sent (the provider wrapper, before the inner submit);
 * - `after-create`: the create returned a task, its id is not committed (the provider wrapper, after the inner submit);
 * - `after-commit`: `Submitted` is committed (the store wrapper, after `record` returned);
 * - `mid-download`: part of the video is on disk in `.part` (the store wrapper, after a `Downloading` event
 *   that reports some but not all bytes, or the `Retrying` of a cut transfer).
 */
export const describe: Record<KillPoint, string> = {
  "before-submit": "intent committed, create not sent",
  "after-create": "create returned, task id not committed",
  "after-commit": "task id committed",
  "mid-download": "video partly downloaded"
}

export const model = "veo-3.1-fast"

/** The simulator and the engine run 60× faster than the vendors: a fast model takes 0.5–1 s. */
export const timeScale = 1 / 60

/** Item keys, zero-padded so they sort. */
export const keyOf = (index: number) => `item-${String(index + 1).padStart(3, "0")}`

/**
 * The batch of a round. Every other prompt asks the simulator to cut the first download of its
 * video halfway (`@sim:truncate`), so a download is under way long enough to be killed in the middle.
 */
export const items = (round: number, count: number) =>
  Array.from({ length: count }, (_, index) => ({
    key: keyOf(index),
    request: GenerateRequest.make({
      prompt: `round ${round}, shot ${index + 1}: a paper boat drifting on a pond at dawn${index % 2 === 0 ? " @sim:truncate" : ""}`,
      provider: "laozhang",
      model
    })
  }))

/** What the runner prints as its last line (`REPORT <json>`). */
export interface Report {
  readonly saved: ReadonlyArray<string>
  readonly uncertain: ReadonlyArray<string>
  readonly failed: ReadonlyArray<{ readonly key: string; readonly tag: string; readonly message: string }>
  readonly duplicates: ReadonlyArray<string>
}
