/**
 * A throwaway PostgreSQL server for tests, from Debian's packages: `initdb` into a temporary
 * directory, listening on 127.0.0.1 only, on a free port, with its unix socket in the same
 * directory; stopped and deleted afterwards. As root it runs as the `postgres` user (the server
 * refuses to run as root).
 *
 * Without the binaries the PostgreSQL variant of a suite is skipped with a warning, unless
 * `REELAY_REQUIRE_POSTGRES=1` (CI), where it fails.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

export interface PgServer {
  /** `postgres://reelay@127.0.0.1:<port>/<database>` for a database of this server. */
  readonly url: (database: string) => string
  readonly port: number
  /** Creates a database of this server. */
  readonly createDatabase: (database: string) => void
  /** Runs one statement in `database` with psql: its output, unaligned, one row per line. */
  readonly query: (database: string, statement: string) => string
  readonly stop: () => void
}

/** The newest installed server's `bin` directory, if any. */
export const findBinaries = (): string | undefined => {
  const root = "/usr/lib/postgresql"
  if (!fs.existsSync(root)) return undefined
  const versions = fs
    .readdirSync(root)
    .filter(
      (version) =>
        fs.existsSync(path.join(root, version, "bin", "initdb")) &&
        fs.existsSync(path.join(root, version, "bin", "pg_ctl"))
    )
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : path.join(root, versions[0], "bin")
}

const required = () => process.env.REELAY_REQUIRE_POSTGRES === "1"

/** Whether the PostgreSQL variant runs; warns once when it is skipped. */
export const available = (): boolean => {
  if (findBinaries() !== undefined) return true
  if (required()) {
    throw new Error(
      "REELAY_REQUIRE_POSTGRES=1 but no PostgreSQL server binaries were found under /usr/lib/postgresql (apt-get install postgresql)"
    )
  }
  console.warn(
    "[reelay journal tests] PostgreSQL binaries not found under /usr/lib/postgresql: skipping the PostgreSQL variant (apt-get install postgresql)"
  )
  return false
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() =>
        typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))
      )
    })
  })

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0

export interface StartOptions {
  /**
   * Addresses to listen on besides 127.0.0.1, each trusted for clients of its /24 (test hosts in
   * network namespaces reaching the server over a virtual link).
   */
  readonly also?: ReadonlyArray<string> | undefined
}

/** Starts a server; call `stop()` when done (it also deletes the data directory). */
export const start = async (options: StartOptions = {}): Promise<PgServer> => {
  const also = options.also ?? []
  const bin = findBinaries()
  if (bin === undefined) throw new Error("PostgreSQL server binaries not found (apt-get install postgresql)")
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reelay-pg-"))
  const data = path.join(dir, "data")
  const log = path.join(dir, "server.log")
  const asServerUser = (command: string, args: ReadonlyArray<string>) =>
    isRoot()
      ? execFileSync("runuser", ["-u", "postgres", "--", command, ...args], { stdio: "pipe" })
      : execFileSync(command, args, { stdio: "pipe" })
  if (isRoot()) execFileSync("chown", ["-R", "postgres:postgres", dir])
  const port = await freePort()
  try {
    asServerUser(path.join(bin, "initdb"), [
      "-D",
      data,
      "-U",
      "reelay",
      "--auth=trust",
      "-E",
      "UTF8",
      "--no-sync",
      "--no-instructions"
    ])
    if (also.length > 0) {
      const rules = also.map((address) => `host all all ${address.replace(/\.\d+$/, ".0")}/24 trust\n`).join("")
      fs.appendFileSync(path.join(data, "pg_hba.conf"), rules)
    }
    asServerUser(path.join(bin, "pg_ctl"), [
      "-D",
      data,
      "-l",
      log,
      "-w",
      "-t",
      "30",
      "-o",
      `-c listen_addresses=${["127.0.0.1", ...also].join(",")} -p ${port} -k ${dir} -c max_connections=200`,
      "start"
    ])
  } catch (error) {
    const output = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : ""
    fs.rmSync(dir, { recursive: true, force: true })
    throw new Error(`could not start PostgreSQL: ${String(error)}\n${output}`)
  }
  let stopped = false
  return {
    port,
    url: (database) => `postgres://reelay@127.0.0.1:${port}/${database}`,
    createDatabase: (database) => {
      execFileSync(path.join(bin, "createdb"), ["-h", "127.0.0.1", "-p", String(port), "-U", "reelay", database])
    },
    query: (database, statement) =>
      execFileSync(
        path.join(bin, "psql"),
        ["-h", "127.0.0.1", "-p", String(port), "-U", "reelay", "-d", database, "-At", "-c", statement],
        { encoding: "utf8" }
      ).trim(),
    stop: () => {
      if (stopped) return
      stopped = true
      try {
        asServerUser(path.join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"])
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}
