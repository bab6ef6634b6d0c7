/**
 * Issue 11, case 5, the part that runs inside a network namespace of the test's own
 * (`network.test.ts` starts it with `unshare -n`, after giving its loopback interface two more
 * addresses: `198.51.100.7`, a documentation address that counts as public, and `169.254.169.254`,
 * the cloud metadata address). There the hostile API listens on 198.51.100.7, so reelay's provider
 * is not on loopback; the "user's network" listens on 127.0.0.1 (another port) and on
 * 169.254.169.254:80, each serving a real MP4, so a fetch would save it.
 *
 * Each scenario runs the built `reelay generate` against it with a `reelay.config.json` defining the
 * reseller (and, where the scenario says, `allowPrivateNetworks`), and reports on stdout, as one JSON
 * line: the exit code, stdout, stderr, the requests each server saw, and the files left.
 *
 * Usage: `node --import tsx network.ts '<{"bundle", "root"}>'`
 */
import { spawn } from "node:child_process"
import * as NodeFs from "node:fs"
import * as NodeHttp from "node:http"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import * as Hostile from "./hostile.js"
import { resellerDefinition } from "./providers.js"

/** The API's address: public as far as reelay can tell, and not loopback. */
export const publicAddress = "198.51.100.7"
export const metadataAddress = "169.254.169.254"

/** Where the video link points, and what the configuration allows. */
export interface Scenario {
  readonly name: string
  readonly target: "loopback" | "metadata"
  /** `link`: the content answer names the target; `redirect`: it names the API, which redirects there. */
  readonly via: "link" | "redirect"
  readonly allowPrivateNetworks?: boolean | ReadonlyArray<string> | undefined
}

export const scenarios: ReadonlyArray<Scenario> = [
  { name: "link to the metadata address", target: "metadata", via: "link" },
  { name: "link to 127.0.0.1 on another port", target: "loopback", via: "link" },
  { name: "redirect to the metadata address", target: "metadata", via: "redirect" },
  { name: "redirect to 127.0.0.1 on another port", target: "loopback", via: "redirect" },
  {
    name: "link to the metadata address, allowed (true)",
    target: "metadata",
    via: "link",
    allowPrivateNetworks: true
  },
  {
    name: "redirect to 127.0.0.1, allowed by address",
    target: "loopback",
    via: "redirect",
    allowPrivateNetworks: ["127.0.0.1"]
  }
]

export interface Outcome {
  readonly name: string
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  /** Request paths per server: `api` (on the public address), `loopback`, `metadata`. */
  readonly seen: { readonly api: Array<string>; readonly loopback: Array<string>; readonly metadata: Array<string> }
  /** What the output directory holds afterwards. */
  readonly files: ReadonlyArray<string>
  readonly output: string
}

export const apiKey = "sk-reelay-network-canary-51d7e2"

const cli = (bundle: string, cwd: string, args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: cwd, NO_COLOR: "1", RESALE_API_KEY: apiKey },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk
    })
    // A bound against a hang, far above a run's few seconds; never a wait for something to happen.
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

/** The metadata service: a plain server on 169.254.169.254:80 that would hand out the MP4. */
const metadataServer = (seen: Array<string>) =>
  Effect.acquireRelease(
    Effect.async<NodeHttp.Server>((resume) => {
      const server = NodeHttp.createServer((request, response) => {
        seen.push(request.url ?? "")
        Hostile.sendVideo(response)
      })
      server.listen(80, metadataAddress, () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

const runAll = (bundle: string, root: string) =>
  Effect.gen(function* () {
    const metadataSeen: Array<string> = []
    yield* metadataServer(metadataSeen)
    let scenario: Scenario = scenarios[0]!
    const hostile = yield* Hostile.start(
      {
        api: (request, response, origins) => {
          const target =
            scenario.target === "metadata"
              ? `http://${metadataAddress}/latest/video.mp4`
              : `${origins.elsewhere}/video.mp4`
          if (request.method === "POST") return Hostile.json(response, 200, { id: "task_1", status: "queued" })
          if (request.url === "/files/video.mp4") return response.writeHead(302, { location: target }).end()
          if (request.url?.endsWith("/content")) {
            return Hostile.json(response, 200, {
              url: scenario.via === "link" ? target : `${origins.api}/files/video.mp4`
            })
          }
          return Hostile.json(response, 200, { id: "task_1", status: "completed", progress: 100 })
        },
        // The user's own service on this machine, another port.
        elsewhere: (_request, response) => Hostile.sendVideo(response)
      },
      { api: publicAddress, elsewhere: "127.0.0.1" }
    )
    const outcomes: Array<Outcome> = []
    for (const [index, current] of scenarios.entries()) {
      scenario = current
      const cwd = NodePath.join(root, `scenario-${index + 1}`)
      NodeFs.mkdirSync(NodePath.join(cwd, "out"), { recursive: true })
      const config = {
        defaultProfile: "hostile",
        profiles: {
          hostile: {
            provider: "hostile",
            timeScale: "1/100",
            ...(current.allowPrivateNetworks === undefined
              ? {}
              : { allowPrivateNetworks: current.allowPrivateNetworks })
          }
        },
        providers: [{ ...resellerDefinition(hostile.baseUrl), id: "hostile" }]
      }
      NodeFs.writeFileSync(NodePath.join(cwd, "reelay.config.json"), JSON.stringify(config, null, 2))
      const before = { seen: hostile.seen.length, metadata: metadataSeen.length }
      const output = NodePath.join(cwd, "out", "video.mp4")
      const result = yield* Effect.promise(() =>
        cli(bundle, cwd, [
          "generate",
          "A red fox running through fresh snow at dawn",
          "--model",
          "veo-3.1-landscape-fast",
          "--out",
          output,
          "--timeout",
          "30s",
          "--json"
        ])
      )
      const seen = hostile.seen.slice(before.seen)
      outcomes.push({
        name: current.name,
        ...result,
        seen: {
          api: seen.filter((request) => request.server === "api").map((request) => `${request.method} ${request.url}`),
          loopback: seen.filter((request) => request.server === "elsewhere").map((request) => request.url),
          metadata: metadataSeen.slice(before.metadata)
        },
        files: NodeFs.readdirSync(NodePath.join(cwd, "out")),
        output
      })
    }
    return outcomes
  })

// Run as a script (in the namespace), not when the test imports the scenarios.
if (process.argv[1] !== undefined && NodePath.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { bundle, root } = JSON.parse(process.argv[2] ?? "{}") as { bundle: string; root: string }
  Effect.runPromise(Effect.scoped(runAll(bundle, root))).then(
    (outcomes) => {
      process.stdout.write(`${JSON.stringify(outcomes)}\n`)
    },
    (error) => {
      process.stderr.write(`${String(error)}\n`)
      process.exitCode = 1
    }
  )
}
