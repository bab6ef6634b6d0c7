/**
 * `pnpm --filter @reelay/example-fal-queue fake --port 0`: starts the fake queue and prints its base
 * URL on the first line (`--port 0` picks a free port), then serves until interrupted.
 */
import * as FakeServer from "./FakeServer.js"

const flag = (name: string): string | undefined => {
  const index = process.argv.indexOf(`--${name}`)
  return index === -1 ? undefined : process.argv[index + 1]
}
const port = Number(flag("port") ?? "0")
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`--port must be a port number from 0 to 65535 (0 picks a free one), got ${flag("port")}\n`)
  process.exit(2)
}
const server = await FakeServer.start({ port, host: flag("host") })
process.stdout.write(`${server.baseUrl}\n`)
const stop = () => void server.close().then(() => process.exit(0))
process.on("SIGINT", stop)
process.on("SIGTERM", stop)
