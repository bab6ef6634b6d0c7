/**
 * Test hosts: network namespaces on one bridge, each with an address of its own, reaching the
 * machine (PostgreSQL, the simulator) and each other over virtual links, as separate hosts would.
 * Made with Debian's iproute2, as root; where that is not possible every "host" is this machine
 * at 127.0.0.1, and the tests say so.
 */
import { execFileSync } from "node:child_process"

export interface Host {
  readonly name: string
  /** Its address on the bridge (127.0.0.1 without namespaces). */
  readonly address: string
  /** A port of its own for a worker (hosts on one machine cannot share one). */
  readonly port: number
  /** `command args` run inside it. */
  readonly wrap: (command: string, args: ReadonlyArray<string>) => readonly [string, ReadonlyArray<string>]
}

export interface Hosts {
  /** Whether these are namespaces (else every host is this machine). */
  readonly isolated: boolean
  /** The machine's address on the bridge: where PostgreSQL and the simulator listen. */
  readonly machine: string
  /** A new host. */
  readonly add: () => Host
  /** Removes every namespace and the bridge. */
  readonly remove: () => void
}

const ip = (...args: ReadonlyArray<string>) => execFileSync("ip", args, { stdio: "pipe" })

/** Whether namespaces can be made here (root, iproute2). */
export const isolatable = (): boolean => {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return false
  const probe = `rlprobe${process.pid}`
  try {
    ip("netns", "add", probe)
    ip("netns", "del", probe)
    return true
  } catch {
    return false
  }
}

const local = (): Hosts => {
  let count = 0
  return {
    isolated: false,
    machine: "127.0.0.1",
    add: () => {
      count++
      return {
        name: `local-${count}`,
        address: "127.0.0.1",
        port: 34430 + count,
        wrap: (command, args) => [command, args]
      }
    },
    remove: () => {}
  }
}

/** Hosts for one test file: namespaces when possible, else this machine. */
export const make = (): Hosts => {
  if (!isolatable()) return local()
  const id = process.pid % 100_000
  const subnet = `10.213.${process.pid % 250}`
  const bridge = `rlb${id}`
  ip("link", "add", bridge, "type", "bridge")
  ip("addr", "add", `${subnet}.1/24`, "dev", bridge)
  ip("link", "set", bridge, "up")
  const namespaces: Array<string> = []
  return {
    isolated: true,
    machine: `${subnet}.1`,
    add: () => {
      const index = namespaces.length + 1
      const name = `rl${id}h${index}`
      const outside = `rl${id}v${index}`
      const inside = `rl${id}p${index}`
      const address = `${subnet}.${10 + index}`
      ip("netns", "add", name)
      namespaces.push(name)
      ip("link", "add", outside, "type", "veth", "peer", "name", inside)
      ip("link", "set", inside, "netns", name)
      ip("link", "set", outside, "master", bridge, "up")
      ip("netns", "exec", name, "ip", "addr", "add", `${address}/24`, "dev", inside)
      ip("netns", "exec", name, "ip", "link", "set", inside, "up")
      ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
      return { name, address, port: 34431, wrap: (command, args) => ["ip", ["netns", "exec", name, command, ...args]] }
    },
    remove: () => {
      for (const name of namespaces.splice(0)) {
        try {
          ip("netns", "del", name)
        } catch {}
      }
      try {
        ip("link", "del", bridge)
      } catch {}
    }
  }
}
