#!/usr/bin/env node
import { randomBytes } from "node:crypto"
/**
 * `reelay-simulator`: runs the simulator standalone and prints its base URLs.
 *
 *   reelay-simulator [--port 8787] [--cdn-port 8788] [--host 127.0.0.1] [--time-scale 1/30]
 *                    [--seed reelay] [--url-ttl SECONDS] [--task-ttl SECONDS] [--balance DOLLARS]
 *                    [--honour-idempotency-key] [--state-file PATH] [--json]
 *
 * @since 0.1.0
 */
import { parseArgs } from "node:util"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Simulator from "./Simulator.js"

const usage = `Usage: reelay-simulator [options]

  --port N                  API port (both hosts and /_sim); default 0 (a free port)
  --cdn-port N              CDN port; default 0 (a free port)
  --host ADDRESS            interface to listen on; default 127.0.0.1
  --time-scale X            multiplies vendor durations, e.g. 1/30 (default), 0.01, 1 (real time)
  --seed S                  seed for durations, ids and fault probabilities; default: random, printed
  --url-ttl SECONDS         video URL lifetime after completion; default 24 h times the time scale
  --task-ttl SECONDS        task lifetime after creation; default 24 h times the time scale
  --balance DOLLARS         starting balance of every key; default 1000000.00
  --honour-idempotency-key  replay the first create for a repeated Idempotency-Key
  --state-file PATH         keep tasks, ledger and clock in PATH and continue them on the next start
  --json                    print the URLs as one JSON line
  --help                    this text
`

const number = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined
  const fraction = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)\s*$/.exec(text)
  const value = fraction === null ? Number(text) : Number(fraction[1]) / Number(fraction[2])
  if (!Number.isFinite(value) || value < 0) {
    process.stderr.write(`reelay-simulator: --${name} must be a number, got "${text}"\n`)
    process.exit(2)
  }
  return value
}

const parse = () => {
  // `pnpm start -- --port 8787` passes the `--` through; it is not an argument.
  const args = process.argv.slice(2)
  try {
    return parseArgs({ args: args[0] === "--" ? args.slice(1) : args, options })
  } catch (error) {
    process.stderr.write(`reelay-simulator: ${error instanceof Error ? error.message : String(error)}\n\n${usage}`)
    return process.exit(2)
  }
}

const options = {
  port: { type: "string" },
  "cdn-port": { type: "string" },
  host: { type: "string" },
  "time-scale": { type: "string" },
  seed: { type: "string" },
  "url-ttl": { type: "string" },
  "task-ttl": { type: "string" },
  balance: { type: "string" },
  "honour-idempotency-key": { type: "boolean" },
  "state-file": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean" }
} as const

const { values } = parse()

if (values.help === true) {
  process.stdout.write(usage)
  process.exit(0)
}

const seconds = (name: string, text: string | undefined) => {
  const n = number(name, text)
  return n === undefined ? {} : { [name === "url-ttl" ? "urlTtl" : "taskTtl"]: `${n} seconds` as const }
}

const simulatorOptions: Simulator.Options = {
  ...(values.port === undefined ? {} : { port: number("port", values.port)! }),
  ...(values["cdn-port"] === undefined ? {} : { cdnPort: number("cdn-port", values["cdn-port"])! }),
  ...(values.host === undefined ? {} : { hostname: values.host }),
  ...(values["time-scale"] === undefined ? {} : { timeScale: number("time-scale", values["time-scale"])! }),
  // A fresh seed per run unless one is given, so task ids never repeat across restarts (a client's
  // journal from an earlier run must not find someone else's task); the seed is printed to replay a run.
  seed: values.seed ?? randomBytes(4).toString("hex"),
  ...(values.balance === undefined ? {} : { defaultBalance: values.balance }),
  ...(values["honour-idempotency-key"] === true ? { honourIdempotencyKey: true } : {}),
  ...(values["state-file"] === undefined ? {} : { stateFile: values["state-file"] }),
  ...seconds("url-ttl", values["url-ttl"]),
  ...seconds("task-ttl", values["task-ttl"])
}

const program = Effect.scoped(
  Effect.gen(function* () {
    const sim = yield* Simulator.make(simulatorOptions)
    const { urls } = sim
    if (values.json === true) {
      process.stdout.write(`${JSON.stringify(urls)}\n`)
    } else {
      const c = sim.state.config
      process.stdout.write(
        [
          "reelay simulator listening",
          `  laozhang  ${urls.laozhang}`,
          `  apiyi     ${urls.apiyi}`,
          `  cdn       ${urls.cdn}`,
          `  control   ${urls.control}`,
          ...(values["state-file"] === undefined
            ? []
            : [`  state     ${values["state-file"]} (${sim.state.tasks.size()} tasks)`]),
          `  time scale ${c.timeScale}, seed "${c.seed}"; Ctrl-C to stop`,
          ""
        ].join("\n")
      )
    }
    return yield* Effect.never
  })
)

const fiber = Effect.runFork(program)
const stop = () => {
  Effect.runPromise(Fiber.interrupt(fiber)).then(() => process.exit(0))
}
process.once("SIGINT", stop)
process.once("SIGTERM", stop)
fiber.addObserver((exit) => {
  if (exit._tag === "Failure" && !Cause.isInterruptedOnly(exit.cause)) {
    process.stderr.write(`reelay-simulator: ${Cause.pretty(exit.cause)}\n`)
    process.exit(1)
  }
})
