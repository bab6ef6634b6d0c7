import * as fs from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import * as BigDecimal from "effect/BigDecimal"
import * as ErrorTraits from "../src/ErrorTraits.js"
import * as Money from "../src/Money.js"
import { TaskHandle } from "../src/TaskHandle.js"
import * as VideoError from "../src/VideoError.js"

const read = (file: string) => fs.readFileSync(new URL(`../../../${file}`, import.meta.url), "utf8")

/** The rows of the first Markdown table after `anchor` whose header row starts with `firstColumn`. */
const markdownTable = (text: string, anchor: string, firstColumn: string): ReadonlyArray<ReadonlyArray<string>> => {
  const lines = text.slice(text.indexOf(anchor)).split("\n")
  const start = lines.findIndex((line) => new RegExp(`^\\|\\s*${firstColumn}\\s*\\|`).test(line))
  assert.isAtLeast(start, 0, `a table with a "${firstColumn}" column after "${anchor}"`)
  const rows: Array<ReadonlyArray<string>> = []
  for (const line of lines.slice(start)) {
    if (!line.startsWith("|")) break
    rows.push(
      line
        .slice(1, -1)
        .split("|")
        .map((cell) => cell.trim())
    )
  }
  // Drop the separator row (`| --- | --- |`).
  return [rows[0]!, ...rows.slice(2)]
}

/** Code spans read as plain text: the table's meanings have no markup. */
const plain = (cell: string) => cell.replaceAll("`", "")

/** How the docs write a trait: a constant as yes / no, a trait that depends on a field as a condition. */
const documents = (trait: ErrorTraits.Trait<never>, cell: string, where: string) => {
  if (typeof trait === "boolean") assert.strictEqual(cell, trait ? "yes" : "no", where)
  else assert.match(cell, /^(if|unless) /, `${where}: depends on the error, so the docs give the condition`)
}

const traitsOf = (tag: ErrorTraits.Tag) => ErrorTraits.table[tag] as ErrorTraits.Traits<never>

describe("ErrorTraits", () => {
  it("classifies exactly the error tags, each with its own exit code", () => {
    assert.deepStrictEqual(Object.keys(ErrorTraits.table).sort(), [...VideoError.tags].sort())
    const codes = VideoError.tags.map((tag) => ErrorTraits.table[tag].exitCode)
    assert.strictEqual(new Set(codes).size, codes.length)
    for (const tag of VideoError.tags) {
      assert.notMatch(ErrorTraits.table[tag].meaning, /[`\n|]/, `${tag}: one line of plain text`)
    }
  })

  it("is what docs/concepts.md shows", () => {
    const [header, ...rows] = markdownTable(read("docs/concepts.md"), "## Errors", "error")
    assert.deepStrictEqual(header, [
      "error",
      "exit",
      "meaning",
      "retried: submit",
      "status",
      "content",
      "download",
      "proves nothing created",
      "ends the task"
    ])
    assert.deepStrictEqual(
      rows.map((row) => plain(row[0]!)),
      [...VideoError.tags]
    )
    for (const [tagCell, exit, meaning, submit, status, content, download, nothingCreated, endsTask] of rows) {
      const tag = plain(tagCell!) as ErrorTraits.Tag
      const traits = traitsOf(tag)
      assert.strictEqual(Number(exit), traits.exitCode, `${tag}: exit code`)
      assert.strictEqual(plain(meaning!), traits.meaning, `${tag}: meaning`)
      documents(traits.retryable.submit, submit!, `${tag}: retried after a failed submit`)
      documents(traits.retryable.status, status!, `${tag}: retried after a failed status read`)
      documents(traits.retryable.content, content!, `${tag}: retried after a failed content read`)
      documents(traits.retryable.download, download!, `${tag}: retried after a failed download`)
      documents(traits.provesNothingCreated, nothingCreated!, `${tag}: proves nothing created`)
      documents(traits.endsTask, endsTask!, `${tag}: ends the task`)
    }
  })

  it("is what the CLI README's exit codes show", () => {
    const [, ...rows] = markdownTable(read("apps/cli/README.md"), "## Exit codes", "code")
    const documented = rows.filter(([, meaning]) => /^`[A-Za-z]+`: /.test(meaning!))
    assert.deepStrictEqual(
      documented.map(([code, meaning]) => [Number(code), plain(meaning!)]),
      VideoError.tags.map((tag) => [ErrorTraits.table[tag].exitCode, `${tag}: ${ErrorTraits.table[tag].meaning}`])
    )
  })

  it("is what the README's exit codes show: one range, in code order", () => {
    const [, ...rows] = markdownTable(read("README.md"), "### Exit codes", "code")
    const row = rows.find(([code]) => /^\d+–\d+$/.test(code!))
    assert.isDefined(row, "a row for the range of the error classes")
    const [from, to] = row![0]!.split("–").map(Number)
    const byCode = [...VideoError.tags].sort((a, b) => ErrorTraits.table[a].exitCode - ErrorTraits.table[b].exitCode)
    const codes = byCode.map((tag) => ErrorTraits.table[tag].exitCode)
    assert.deepStrictEqual(
      codes,
      Array.from({ length: to! - from! + 1 }, (_, i) => from! + i),
      "the range holds exactly the classes' codes"
    )
    assert.deepStrictEqual(
      [...row![1]!.matchAll(/`([A-Za-z]+)`/g)].map((match) => match[1]),
      byCode
    )
  })
})

describe("VideoError.copy", () => {
  const budget = new VideoError.BudgetExceeded({
    provider: "acme",
    message: "over budget",
    limit: Money.usd("1"),
    requested: Money.usd("2"),
    committed: Money.usd("0.5")
  })

  it("keeps the class, the message and every field it does not change", () => {
    const copied = VideoError.copy(budget, { requested: Money.usd("3"), taskId: "t1" })
    assert.instanceOf(copied, VideoError.BudgetExceeded)
    assert.notStrictEqual(copied, budget)
    assert.strictEqual(copied._tag, "BudgetExceeded")
    assert.strictEqual(copied.message, "over budget")
    assert.strictEqual(copied.provider, "acme")
    assert.strictEqual(copied.billing, "unknown")
    assert.isTrue(BigDecimal.equals(copied.limit, Money.usd("1")))
    assert.isTrue(BigDecimal.equals(copied.requested, Money.usd("3")))
    assert.strictEqual(copied.taskId, "t1")
    assert.strictEqual(budget.taskId, undefined, "the original is untouched")
    assert.isTrue(VideoError.isVideoError(copied))
  })

  it("changes the message when asked", () => {
    assert.strictEqual(
      VideoError.copy(budget, { message: "batch.jsonl:3: over budget" }).message,
      "batch.jsonl:3: over budget"
    )
  })

  it("checks the result with the class's schema", () => {
    const timeout = new VideoError.PollTimeout({
      message: "x",
      waitedMillis: 1,
      handle: new TaskHandle({ provider: "acme", model: "m", taskId: "t1", mode: "async", createdAt: new Date(0) })
    })
    // @ts-expect-error a field keeps its type
    assert.throws(() => VideoError.copy(timeout, { waitedMillis: "long" }))
  })

  it("is what withBilling and annotate use, returning the error itself when nothing changes", () => {
    const charged = VideoError.withBilling(budget, "charged")
    assert.instanceOf(charged, VideoError.BudgetExceeded)
    assert.strictEqual(charged.billing, "charged")
    assert.strictEqual(charged.message, "over budget")
    assert.strictEqual(VideoError.withBilling(charged, "charged"), charged)
    const annotated = VideoError.annotate(budget, { provider: "other", taskId: "t2" })
    assert.strictEqual(annotated.provider, "acme", "what the error had is kept")
    assert.strictEqual(annotated.taskId, "t2")
    assert.isTrue(BigDecimal.equals(annotated.committed, Money.usd("0.5")))
    assert.strictEqual(VideoError.annotate(annotated, { provider: "x", taskId: "y" }), annotated)
  })
})
