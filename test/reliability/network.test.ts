/**
 * Issue 11, case 5: links into the user's network. A provider whose API is not on loopback answers
 * the content call with a link (or a redirect) to `169.254.169.254` or to `127.0.0.1:<other port>`,
 * where a server of the "user's own" would hand out a perfectly good MP4. Every server lives in a
 * network namespace of the test's own (`unshare -n`, root or a user namespace), whose loopback
 * interface also carries 198.51.100.7 (the API, public as far as reelay can tell) and
 * 169.254.169.254 (the metadata service); `network.ts` runs there and drives the built `reelay`.
 *
 * By default: `DownloadFailed`, billing `charged` (the video was made and paid for), after asking the
 * provider for a fresh link once; the error names the target and how to allow it; nothing is
 * requested from the target, nothing is written under the output name (no `.part` either), and the
 * key reaches no other origin. With `allowPrivateNetworks` in the profile: the video is saved.
 *
 * Skipped, with the reason printed, where no network namespace can be made.
 */
import { spawnSync } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Harness from "../cli/harness.js"
import * as Hostile from "./hostile.js"
import { metadataAddress, type Outcome, publicAddress, scenarios } from "./network.js"

const runner = NodePath.join(NodePath.dirname(fileURLToPath(import.meta.url)), "network.ts")
const repo = NodePath.resolve(NodePath.dirname(fileURLToPath(import.meta.url)), "../..")

/** Sets up the namespace's addresses, then runs the rest of the command line. */
const setup = [
  "ip link set lo up",
  `ip addr add ${publicAddress}/32 dev lo`,
  `ip addr add ${metadataAddress}/32 dev lo`,
  'exec "$@"'
].join(" && ")

/** How this machine makes a private network namespace: as root, or in a user namespace of our own. */
const namespace = (() => {
  const reasons: Array<string> = []
  for (const prefix of [["-n"], ["-r", "-n"]]) {
    const result = spawnSync("unshare", [...prefix, "sh", "-c", setup, "sh", "true"], {
      encoding: "utf8",
      timeout: 10_000,
      env: { PATH: `${process.env.PATH ?? "/usr/bin:/bin"}:/usr/sbin:/sbin` }
    })
    if (result.error !== undefined) return { prefix: undefined, reason: `no unshare (${result.error.message})` }
    if (result.status === 0) return { prefix, reason: "" }
    reasons.push(`unshare ${prefix.join(" ")}: ${(result.stderr ?? "").trim() || `exit ${result.status}`}`)
  }
  return { prefix: undefined, reason: `cannot make a network namespace (${reasons.join("; ")})` }
})()
if (namespace.prefix === undefined) {
  process.stdout.write(`[network] the links-into-the-user's-network tests are skipped: ${namespace.reason}\n`)
}

const outcomes = new Map<string, Outcome>()

describe.skipIf(namespace.prefix === undefined)("links into the user's network (a provider not on loopback)", () => {
  beforeAll(async () => {
    await Harness.ensureBundle()
    const root = Harness.workdir("network")
    const result = spawnSync(
      "unshare",
      [
        ...namespace.prefix!,
        "sh",
        "-c",
        setup,
        "sh",
        process.execPath,
        "--conditions=@reelay/source",
        "--import",
        "tsx",
        runner,
        JSON.stringify({ bundle: Harness.bundle, root })
      ],
      {
        cwd: repo,
        encoding: "utf8",
        timeout: 240_000,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, PATH: `${process.env.PATH ?? "/usr/bin:/bin"}:/usr/sbin:/sbin` }
      }
    )
    assert.strictEqual(result.status, 0, `the namespace's runner failed: ${result.stderr}`)
    const lines = result.stdout.trim().split("\n")
    for (const outcome of JSON.parse(lines.at(-1)!) as Array<Outcome>) outcomes.set(outcome.name, outcome)
  }, 300_000)
  afterAll(() => Harness.cleanup())

  const lines = (outcome: Outcome) =>
    outcome.stdout
      .trim()
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>)

  for (const scenario of scenarios) {
    const allowed = scenario.allowPrivateNetworks !== undefined
    it(`${scenario.name}: ${allowed ? "saved" : "refused, nothing fetched from it, nothing at the output"}`, () => {
      const outcome = outcomes.get(scenario.name)!
      const described = `exit ${outcome.code}\nstdout: ${outcome.stdout}\nstderr: ${outcome.stderr}`
      const fetched = scenario.target === "metadata" ? outcome.seen.metadata : outcome.seen.loopback
      // The key went to the API only: the other servers are not its origin.
      assert.notInclude(outcome.stdout + outcome.stderr, "sk-reelay-network-canary")
      if (scenario.via === "redirect") {
        assert.include(outcome.seen.api, "GET /files/video.mp4", "the API's own hop is fetched")
      }

      if (allowed) {
        assert.strictEqual(outcome.code, 0, described)
        assert.deepStrictEqual(outcome.files, ["video.mp4"])
        assert.isTrue(NodeFs.readFileSync(outcome.output).equals(Hostile.video), "the served video")
        assert.lengthOf(fetched, 1, "fetched once")
        return
      }

      assert.strictEqual(outcome.code, 21, described)
      const error = lines(outcome).at(-1)?.error as Record<string, unknown> | undefined
      assert.strictEqual(error?._tag, "DownloadFailed", described)
      assert.strictEqual(error?.billing, "charged", "the video was made and paid for")
      assert.isTrue(error?.refusedTarget as boolean)
      const target = scenario.target === "metadata" ? `http://${metadataAddress}` : "http://127.0.0.1:"
      assert.include(error?.message as string, `refused to download from ${target}`)
      assert.include(error?.message as string, scenario.target === "metadata" ? "cloud metadata" : "loopback")
      assert.include(error?.message as string, "allowPrivateNetworks")
      // Asked for a fresh link once (where refused links are asked again), refused again.
      const contents = outcome.seen.api.filter((request) => request.endsWith("/content"))
      assert.lengthOf(contents, 2, `content calls: ${outcome.seen.api.join(", ")}`)
      assert.isTrue(
        lines(outcome).some((line) => line._tag === "Warning" && line.code === "fresh-link"),
        "a fresh-link warning"
      )
      assert.deepStrictEqual(fetched, [], "nothing requested from the target")
      assert.deepStrictEqual(outcome.files, [], "nothing under the output name, no .part")
    })
  }
})
