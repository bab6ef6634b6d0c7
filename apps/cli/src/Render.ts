/**
 * Everything the CLI prints, as pure functions of events and views: progress bars for a terminal,
 * plain lines for logs and pipes, NDJSON for programs, summaries and one-line errors. The
 * terminal writer (`Output`) only decides when to call them and where the text goes.
 *
 * @since 0.1.0
 */
import * as NodePath from "node:path"
import type { BillingOutcome } from "@reelay/core/Billing"
import * as GenerationEvent from "@reelay/core/GenerationEvent"
import * as Money from "@reelay/core/Money"
import { SavedVideo } from "@reelay/core/SavedVideo"
import * as VideoError from "@reelay/core/VideoError"
import * as Schema from "effect/Schema"
import type * as Progress from "./Progress.js"

/** Whether to use ANSI colours (a terminal without `NO_COLOR`). */
export interface Style {
  readonly color: boolean
}

export const plain: Style = { color: false }

const paint = (style: Style, code: string, text: string) => (style.color ? `\u001b[${code}m${text}\u001b[0m` : text)
export const dim = (style: Style, text: string) => paint(style, "2", text)
export const bold = (style: Style, text: string) => paint(style, "1", text)
export const green = (style: Style, text: string) => paint(style, "32", text)
export const red = (style: Style, text: string) => paint(style, "31", text)
export const yellow = (style: Style, text: string) => paint(style, "33", text)
export const cyan = (style: Style, text: string) => paint(style, "36", text)

/** `1.2 MB`, `640 KB`, `512 B` (decimal units, as file managers show them). */
export const bytes = (count: number): string => {
  if (count < 1000) return `${count} B`
  const units = ["KB", "MB", "GB", "TB"]
  let value = count
  let unit = -1
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`
}

/** A path as the user would type it: relative when it is under `cwd`. */
export const displayPath = (path: string, cwd: string = process.cwd()): string => {
  const relative = NodePath.relative(cwd, path)
  return relative !== "" && !relative.startsWith("..") && !NodePath.isAbsolute(relative) ? relative : path
}

/** `1/30` for a scale that is one over a whole number, else the number. */
export const scale = (value: number): string => {
  const inverse = 1 / value
  return value < 1 && Math.abs(inverse - Math.round(inverse)) < 1e-9 ? `1/${Math.round(inverse)}` : String(value)
}

/** `8.0 s`, `1 min 05 s`. */
export const seconds = (value: number): string => {
  if (value < 60) return `${value.toFixed(1)} s`
  const minutes = Math.floor(value / 60)
  return `${minutes} min ${String(Math.round(value - minutes * 60)).padStart(2, "0")} s`
}

/** `ETA 12s`, `ETA 2m05s`. */
export const eta = (value: number): string => {
  const whole = Math.max(0, Math.round(value))
  if (whole < 60) return `ETA ${whole}s`
  return `ETA ${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, "0")}s`
}

/** The resolution class of a frame size: `720p`, `1080p`, `4k`. */
export const resolutionClass = (width: number, height: number): string => {
  const short = Math.min(width, height)
  if (short >= 2000) return "4k"
  if (short >= 1000) return "1080p"
  if (short >= 680) return "720p"
  return `${short}p`
}

/** What a billing outcome means, in words. */
export const billingText = (billing: BillingOutcome): string =>
  billing === "charged" ? "charged" : billing === "not-charged" ? "not charged" : "may have been charged"

const policyText: Record<string, string> = {
  "on-success": "charged on success",
  "per-request": "charged per request",
  "on-response": "charged per response"
}

/**
 * What an uncertain amount is, wherever `cost` and `status` show one: the journal counts a create
 * from the moment its intent is recorded, so money a crash stranded is never shown as $0.
 */
export const uncertainMeaning =
  "possibly charged: creates that may have reached the provider and whose outcome is not known, at their worst-case price"

/** The line under a table that has an UNCERTAIN column with money in it. */
export const uncertainLegend = `UNCERTAIN = ${uncertainMeaning}`

/** The label of the built-in simulator's figures: its prices are pretend, never added to real money. */
export const simulatorLabel = "simulator (not money)"

/**
 * `pid 4242 on build-7` for a claim's owner id, `host:pid:random` (the host may itself hold
 * colons); the id as it is when it is not one of those.
 */
export const workerText = (owner: string): string => {
  const parts = owner.split(":")
  const pid = parts.at(-2) ?? ""
  const host = parts.slice(0, -2).join(":")
  return parts.length >= 3 && /^\d+$/.test(pid) && host !== "" ? `pid ${pid} on ${host}` : owner
}

/** `charged on success`, ... */
export const chargeRule = (policy: string): string => policyText[policy] ?? policy

/** A bar of `width` cells for `fraction` (0..1). */
export const bar = (fraction: number, width: number): string => {
  const clamped = Math.min(1, Math.max(0, fraction))
  const cells = Math.round(clamped * width)
  return `${"█".repeat(cells)}${"░".repeat(width - cells)}`
}

const truncate = (text: string, width: number) =>
  width <= 0 ? "" : text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`

/** The error's tag and message on one line. */
export const errorText = (error: { readonly _tag: string; readonly message: string }): string =>
  `${error._tag}: ${error.message.replace(/\s+/g, " ")}`

/** One line for a task on a terminal: key, bar or state, and detail. */
export const taskLine = (view: Progress.TaskView, width: number, style: Style, keyWidth: number): string => {
  const key = truncate(view.key, keyWidth).padEnd(keyWidth)
  const barWidth = Math.max(10, Math.min(30, width - keyWidth - 40))
  const who = view.model === undefined ? "" : dim(style, `  ${view.provider}/${view.model}`)
  let body: string
  switch (view.phase) {
    case "waiting":
      body = dim(style, "waiting")
      break
    case "validated":
    case "submitting":
      body = "submitting…"
      break
    case "submitted":
      body = `submitted ${dim(style, view.taskId ?? "")}`
      break
    case "queued":
      body = `${bar(0, barWidth)}  queued`
      break
    case "running":
    case "succeeded": {
      const percent = view.phase === "succeeded" ? 100 : (view.percent ?? 0)
      const etaText = view.phase === "running" && view.etaSeconds !== undefined ? `  ${eta(view.etaSeconds)}` : ""
      body = `${cyan(style, bar(percent / 100, barWidth))} ${String(Math.round(percent)).padStart(3)}%${etaText}`
      break
    }
    case "downloading": {
      const received = view.receivedBytes ?? 0
      const total = view.totalBytes
      body =
        total === undefined || total === 0
          ? `downloading ${bytes(received)}`
          : `${green(style, bar(received / total, barWidth))} ${bytes(received)}/${bytes(total)}`
      break
    }
    case "saved":
      body = `${green(style, "✓")} ${view.video === undefined ? "saved" : displayPath(view.video.path)}`
      break
    case "failed":
      body = `${red(style, "✗")} ${view.error === undefined ? "failed" : errorText(view.error)}`
      break
    case "duplicate":
      body = dim(style, "duplicate of another item; generated once")
      break
  }
  const retry =
    view.retry === undefined || view.phase === "failed"
      ? ""
      : yellow(style, `  retrying ${view.retry.operation} (attempt ${view.retry.attempt})`)
  return truncateVisible(
    `${bold(style, key)}  ${body}${retry}${view.phase === "saved" || view.phase === "failed" ? "" : who}`,
    width
  )
}

const ansiCode = new RegExp(`^${String.fromCharCode(27)}\\[[0-9;]*m`)

// Colour codes take no columns: cut by visible characters, keeping the escapes.
const truncateVisible = (text: string, width: number): string => {
  let visible = 0
  let out = ""
  for (let index = 0; index < text.length; index++) {
    const code = ansiCode.exec(text.slice(index))
    if (code !== null) {
      out += code[0]
      index += code[0].length - 1
      continue
    }
    if (visible >= width) break
    out += text[index]
    visible++
  }
  return visible >= width && out.includes("\u001b[") ? `${out}\u001b[0m` : out
}

/**
 * The live block for a terminal: one line per task (active tasks first when they do not all fit),
 * then a line of totals for a batch.
 */
export const board = (
  current: Progress.Board,
  totals: Progress.Totals,
  options: { readonly width: number; readonly maxLines: number; readonly style: Style }
): ReadonlyArray<string> => {
  const views = current.order.map((key) => current.tasks.get(key)!)
  const keyWidth = Math.min(24, Math.max(4, ...views.map((view) => view.key.length)))
  const single = views.length <= 1
  const room = Math.max(1, options.maxLines - (single ? 0 : 1))
  let shown = views
  if (views.length > room) {
    const rank = (view: Progress.TaskView) =>
      view.phase === "failed" ? 0 : view.phase === "waiting" || view.phase === "saved" ? 2 : 1
    shown = [...views].sort((a, b) => rank(a) - rank(b)).slice(0, room)
  }
  const lines = shown.map((view) => taskLine(view, options.width, options.style, keyWidth))
  if (!single) lines.push(dim(options.style, totalsLine(totals)))
  return lines
}

/** `3/10 saved, 1 failed, 4 running; $0.45 charged`. */
export const totalsLine = (totals: Progress.Totals): string => {
  const parts = [`${totals.saved}/${totals.total} saved`]
  if (totals.failed > 0) parts.push(`${totals.failed} failed`)
  if (totals.duplicates > 0) parts.push(`${totals.duplicates} duplicate`)
  if (totals.active > 0) parts.push(`${totals.active} in progress`)
  const money = [`${Money.format(totals.charged)} charged`]
  if (Money.greaterThan(totals.unknown, Money.zero)) money.push(`${Money.format(totals.unknown)} uncertain`)
  return `${parts.join(", ")}; ${money.join(", ")}`
}

/** The plain line for an event (logs, pipes), or nothing for events not worth a line there. */
export const eventLine = (event: GenerationEvent.GenerationEvent): string | undefined => {
  const prefix = `${event.key}:`
  switch (event._tag) {
    case "Validated":
      return `${prefix} validated: ${event.provider} ${event.model}, up to ${Money.format(event.estimatedCost)} (${chargeRule(event.chargePolicy)})`
    case "Submitting":
      return undefined
    case "Submitted":
      return `${prefix} submitted: task ${event.handle.taskId}`
    case "Queued":
      return `${prefix} queued`
    case "Progress":
      return `${prefix} ${Math.round(event.percent)}%${event.etaSeconds === undefined ? "" : ` (${eta(event.etaSeconds)})`}`
    case "Succeeded":
      return `${prefix} generated`
    case "Downloading":
      return `${prefix} downloading ${bytes(event.receivedBytes)}${event.totalBytes === undefined ? "" : ` of ${bytes(event.totalBytes)}`}`
    case "Saved": {
      const probe = event.video.probe
      return `${prefix} saved ${displayPath(event.video.path)} (${probe.width}x${probe.height}, ${seconds(probe.durationSeconds)}, ${bytes(event.video.bytes)})`
    }
    case "Retrying":
      return `${prefix} retrying ${event.operation} (attempt ${event.attempt}, in ${(event.delayMillis / 1000).toFixed(1)}s): ${errorText(event.error)}`
    case "Warning":
      return `${prefix} warning: ${event.message}`
    case "Charged":
      return event.billing === "charged"
        ? `${prefix} charged ${Money.format(event.amount)} (${event.provider} ${event.model}, ${chargeRule(event.chargePolicy)})`
        : `${prefix} may have been charged ${Money.format(event.amount)} (${event.provider} ${event.model}; billing unknown)`
    case "Failed":
      return `${prefix} failed: ${errorText(event.error)} (${billingText(event.error.billing)})`
  }
}

/**
 * Whether a plain line is worth printing for `event` given the last printed percent / bytes of
 * its task: progress in steps of 10 points, downloads at most every quarter.
 */
export const worthPrinting = (
  event: GenerationEvent.GenerationEvent,
  last: { readonly percent?: number | undefined; readonly bytes?: number | undefined }
): boolean => {
  if (event._tag === "Progress") return last.percent === undefined || event.percent >= last.percent + 10
  if (event._tag === "Downloading") {
    if (event.receivedBytes === 0) return false
    if (last.bytes === undefined) return true
    if (event.totalBytes === undefined || event.totalBytes === 0) return false
    return (event.receivedBytes - last.bytes) / event.totalBytes >= 0.25 || event.receivedBytes === event.totalBytes
  }
  return true
}

/** The summary of a saved video: where it is, what it is, what it cost. */
export const summary = (view: Progress.TaskView, style: Style): ReadonlyArray<string> => {
  const video = view.video
  if (video === undefined) return []
  const probe = video.probe
  const cost = Money.greaterThan(view.charged, Money.zero)
    ? `${Money.format(view.charged)} charged`
    : Money.greaterThan(view.unknown, Money.zero)
      ? `${Money.format(view.unknown)} possibly charged`
      : video.cost === undefined
        ? "cost unknown"
        : `${Money.format(video.cost)}`
  return [
    `${green(style, "saved")} ${bold(style, displayPath(video.path))}`,
    `  resolution  ${probe.width}x${probe.height} (${resolutionClass(probe.width, probe.height)})`,
    `  duration    ${seconds(probe.durationSeconds)}${probe.hasAudio ? ", with audio" : ""}`,
    `  size        ${bytes(video.bytes)}`,
    `  cost        ${cost}${view.chargePolicy === undefined ? "" : dim(style, ` (${chargeRule(view.chargePolicy)})`)}`,
    `  model       ${video.provider} ${video.model}${video.taskId === undefined ? "" : dim(style, `, task ${video.taskId}`)}`
  ]
}

/** The end of a batch: counts, money, and each failure on its line. */
export const batchSummary = (
  batch: string,
  current: Progress.Board,
  totals: Progress.Totals,
  style: Style
): ReadonlyArray<string> => {
  const lines = [`${bold(style, `batch ${batch}`)}: ${totalsLine(totals)}`]
  for (const key of current.order) {
    const view = current.tasks.get(key)!
    if (view.phase === "saved" && view.video !== undefined)
      lines.push(`  ${green(style, "✓")} ${key}  ${displayPath(view.video.path)}`)
    if (view.phase === "failed" && view.error !== undefined) {
      lines.push(`  ${red(style, "✗")} ${key}  ${errorText(view.error)} (${billingText(view.error.billing)})`)
    }
  }
  return lines
}

/** The one line for an error that ends a command. */
export const errorLine = (error: {
  readonly _tag: string
  readonly message: string
  readonly billing?: BillingOutcome
}): string => {
  const billing = error.billing === undefined ? "" : ` (${billingText(error.billing)})`
  return `reelay: ${errorText(error)}${billing}`
}

const encodeVideo = Schema.encodeSync(SavedVideo)
const encodeError = Schema.encodeSync(VideoError.VideoError)

/** An event as one NDJSON line. */
export const jsonEvent = (event: GenerationEvent.GenerationEvent): string =>
  JSON.stringify(GenerationEvent.encode(event))

/** The last NDJSON line of a successful generation. */
export const jsonResult = (video: SavedVideo): string => JSON.stringify({ result: encodeVideo(video) })

/**
 * The last NDJSON line of a failed command: the error's tag, message and billing outcome (every
 * field of a `VideoError`), and the exit code.
 */
export const jsonError = (error: { readonly _tag: string; readonly message: string }, exitCode: number): string => {
  const fields = VideoError.isVideoError(error)
    ? (encodeError(error) as Record<string, unknown>)
    : { _tag: error._tag, message: error.message }
  return JSON.stringify({ error: { ...fields, exitCode } })
}

/** Left-aligned columns separated by two spaces; `right` names columns aligned right (numbers, money). */
export const table = (
  headers: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  options: { readonly right?: ReadonlyArray<number>; readonly style?: Style } = {}
): ReadonlyArray<string> => {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length))
  )
  const right = new Set(options.right ?? [])
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((cell, column) => (right.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd()
  return [bold(options.style ?? plain, line(headers)), ...rows.map(line)]
}

/** `3 downloaded, 1 failed` from counts by state, in the order given. */
export const counts = (states: Readonly<Record<string, number | undefined>>, order: ReadonlyArray<string>): string =>
  order
    .filter((state) => (states[state] ?? 0) > 0)
    .map((state) => `${states[state]} ${state}`)
    .join(", ")
