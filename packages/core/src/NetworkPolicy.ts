/**
 * Where a provider's video links may take a download. A link comes from a server reelay does not
 * control, and so does every redirect after it: a link to `127.0.0.1:<port>`, to a cloud metadata
 * address (`169.254.169.254`) or into a private network would make reelay fetch something from the
 * user's own machine or network and keep it under the user's output name. So every hop of a download
 * is checked before it is requested: its host is resolved (all of its addresses) and each address
 * classified; loopback, link-local, private, unspecified, multicast and reserved addresses are refused
 * (IPv4-mapped and NAT64 IPv6 spellings count as the IPv4 address they carry), and so is any scheme
 * but http(s).
 *
 * Two exceptions. A provider whose own base URL is such an address (the simulator on 127.0.0.1, a
 * gateway on the local network) may link to addresses of the same class — never to a cloud metadata
 * address. And the configuration can allow more (`allowPrivateNetworks`): every address (`true`), or
 * the addresses and ranges it lists.
 *
 * DNS rebinding: a name checked now may resolve elsewhere when the connection is made. While a hop is
 * requested its checked addresses are pinned for its host name, and `lookup` (a `dns.lookup`
 * replacement) answers with them: an HTTP client whose connections resolve through `lookup` (an undici
 * `Agent` with `connect: { lookup }`, as the CLI builds; a Node `http.Agent` with `lookup`) connects
 * only to an address that was checked. A client that resolves by itself resolves again, and that
 * window stays open.
 *
 * @since 0.1.0
 */

import * as Dns from "node:dns"
import * as Net from "node:net"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/**
 * What an address is, as far as a download is concerned. Only `public` is always allowed.
 *
 * @since 0.1.0
 * @category classification
 */
export type AddressClass = "public" | "loopback" | "private" | "link-local" | "unspecified" | "multicast" | "reserved"

/** An address as a number: 32 bits for IPv4, 128 for IPv6. */
interface Address {
  readonly family: 4 | 6
  readonly value: bigint
}

/** An address range (CIDR). */
interface Range extends Address {
  readonly bits: number
}

const width = (family: 4 | 6): number => (family === 4 ? 32 : 128)

const parseV4 = (text: string): bigint | undefined => {
  if (!Net.isIPv4(text)) return undefined
  return text.split(".").reduce((value, part) => (value << 8n) | BigInt(Number(part)), 0n)
}

const parseV6 = (text: string): bigint | undefined => {
  const bare = text.replace(/%.*$/, "")
  if (!Net.isIPv6(bare)) return undefined
  // An IPv4 tail (`::ffff:127.0.0.1`) becomes two groups.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(bare)
  let groupsText = bare
  if (tail !== null) {
    const v4 = parseV4(tail[1]!)
    if (v4 === undefined) return undefined
    groupsText = `${bare.slice(0, bare.length - tail[1]!.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`
  }
  const [head, rest] = groupsText.split("::") as [string, string | undefined]
  const split = (part: string) => (part === "" ? [] : part.split(":"))
  const left = split(head)
  const right = rest === undefined ? [] : split(rest)
  const missing = 8 - left.length - right.length
  const groups = rest === undefined ? left : [...left, ...Array<string>(missing).fill("0"), ...right]
  if (groups.length !== 8) return undefined
  return groups.reduce((value, group) => (value << 16n) | BigInt(Number.parseInt(group, 16)), 0n)
}

/** An IP address (IPv6 with or without brackets), or `undefined` when `text` is none. */
const parseAddress = (text: string): Address | undefined => {
  const bare = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text
  const v4 = parseV4(bare)
  if (v4 !== undefined) return { family: 4, value: v4 }
  const v6 = parseV6(bare)
  return v6 === undefined ? undefined : { family: 6, value: v6 }
}

/**
 * An address range: `10.0.0.0/8`, `fd00::/8`, or one address (`169.254.169.254`). `undefined` when
 * `text` is neither (or the prefix length is out of range).
 *
 * @since 0.1.0
 * @category ranges
 */
export const parseRange = (text: string): Range | undefined => {
  const match = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text.trim())
  if (match === null) return undefined
  const address = parseAddress(match[1]!)
  if (address === undefined) return undefined
  const bits = match[2] === undefined ? width(address.family) : Number(match[2])
  if (bits > width(address.family)) return undefined
  return { ...address, bits }
}

const range = (text: string): Range => parseRange(text)!

const inRange = (candidate: Range, address: Address): boolean => {
  if (candidate.family !== address.family) return false
  const shift = BigInt(width(address.family) - candidate.bits)
  return address.value >> shift === candidate.value >> shift
}

// IPv6 prefixes that carry an IPv4 address, and where it sits: such an address reaches the IPv4 one
// (IPv4-mapped: the socket itself; NAT64 and 6to4: through a translator), so it is judged as that one.
const carriers: ReadonlyArray<readonly [prefix: Range, shift: bigint]> = [
  [range("::ffff:0:0/96"), 0n],
  [range("64:ff9b::/96"), 0n],
  [range("2002::/16"), 80n]
]

/** The IPv4 address an IPv6 address carries, if it is of a kind that carries one. */
const carried = (address: Address): Address | undefined => {
  if (address.family === 4) return undefined
  for (const [prefix, shift] of carriers) {
    if (inRange(prefix, address)) return { family: 4, value: (address.value >> shift) & 0xffffffffn }
  }
  return undefined
}

// First match wins; anything else is public. TEST-NET and benchmarking ranges count as public.
const classes: ReadonlyArray<readonly [Range, AddressClass]> = [
  [range("0.0.0.0/8"), "unspecified"],
  [range("10.0.0.0/8"), "private"],
  [range("100.64.0.0/10"), "private"],
  [range("127.0.0.0/8"), "loopback"],
  [range("169.254.0.0/16"), "link-local"],
  [range("172.16.0.0/12"), "private"],
  [range("192.168.0.0/16"), "private"],
  [range("224.0.0.0/4"), "multicast"],
  [range("240.0.0.0/4"), "reserved"],
  [range("::/128"), "unspecified"],
  [range("::1/128"), "loopback"],
  // IPv4-compatible (deprecated): never a real destination.
  [range("::/96"), "reserved"],
  [range("100::/64"), "reserved"],
  [range("fe80::/10"), "link-local"],
  [range("fec0::/10"), "private"],
  [range("fc00::/7"), "private"],
  [range("ff00::/8"), "multicast"]
]

// Cloud instance metadata services (AWS, GCP, Azure, Oracle; AWS ECS; AWS IPv6; Alibaba Cloud): they
// hand out credentials to whoever asks from the machine, so no provider's class makes them reachable.
const metadata: ReadonlyArray<Range> = [
  range("169.254.169.254"),
  range("169.254.170.2"),
  range("fd00:ec2::254"),
  range("100.100.100.200")
]

const classOf = (address: Address): AddressClass => {
  const inner = carried(address)
  if (inner !== undefined) return classOf(inner)
  return classes.find(([candidate]) => inRange(candidate, address))?.[1] ?? "public"
}

const isMetadataAddress = (address: Address): boolean => {
  const inner = carried(address)
  return inner !== undefined ? isMetadataAddress(inner) : metadata.some((candidate) => inRange(candidate, address))
}

/**
 * The class of an IP address (IPv6 with or without brackets). Not an address: `undefined`.
 *
 * @since 0.1.0
 * @category classification
 * @example
 * ```ts
 * NetworkPolicy.classify("169.254.169.254") // "link-local"
 * NetworkPolicy.classify("::ffff:127.0.0.1") // "loopback"
 * NetworkPolicy.classify("93.184.216.34") // "public"
 * ```
 */
export const classify = (address: string): AddressClass | undefined => {
  const parsed = parseAddress(address)
  return parsed === undefined ? undefined : classOf(parsed)
}

/**
 * Whether `address` is a cloud metadata service (`169.254.169.254` and its kin), in any spelling.
 *
 * @since 0.1.0
 * @category classification
 */
export const isMetadata = (address: string): boolean => {
  const parsed = parseAddress(address)
  return parsed !== undefined && isMetadataAddress(parsed)
}

const classWords: Readonly<Record<AddressClass, string>> = {
  public: "a public address",
  loopback: "a loopback address (this machine)",
  private: "a private network address",
  "link-local": "a link-local address",
  unspecified: "an unspecified address (this machine)",
  multicast: "a multicast address",
  reserved: "a reserved address"
}

/**
 * Resolves a host name to all of its addresses (`dns.lookup`, so `/etc/hosts` counts, as it does for
 * the connection).
 *
 * @since 0.1.0
 * @category resolution
 */
export type Resolve = (
  hostname: string
) => Promise<ReadonlyArray<{ readonly address: string; readonly family: number }>>

/** The system's resolver, as connections use it. */
export const systemResolve: Resolve = (hostname) => Dns.promises.lookup(hostname, { all: true, verbatim: true })

/** @since 0.1.0 */
export interface Options {
  /** The provider's own base URL: links may reach addresses of its class (metadata addresses excepted). */
  readonly baseUrl?: string | undefined
  /**
   * Allowed besides: `true` for every address (cloud metadata included: prefer a list), or addresses
   * and ranges (`"10.1.2.0/24"`, `"fd00::/8"`, `"169.254.169.254"`). Default: none.
   */
  readonly allowPrivateNetworks?: boolean | ReadonlyArray<string> | undefined
  /** How host names are resolved (default: `dns.lookup`, all addresses). */
  readonly resolve?: Resolve | undefined
}

/**
 * A policy ready to judge targets: the base URL's classes resolved once.
 *
 * @since 0.1.0
 */
export interface Policy {
  /** Classes the provider's base URL has, besides `public`. */
  readonly home: ReadonlySet<AddressClass>
  /** The base URL's origin (never its user name or password), for messages. */
  readonly base: string | undefined
  readonly allowAll: boolean
  readonly allowed: ReadonlyArray<Range>
  readonly resolve: Resolve
}

/**
 * The entries of an `allowPrivateNetworks` list that are neither an address nor a range.
 *
 * @since 0.1.0
 * @category ranges
 */
export const invalidRanges = (list: boolean | ReadonlyArray<string> | undefined): ReadonlyArray<string> =>
  typeof list === "object" ? list.filter((entry) => parseRange(entry) === undefined) : []

const hostOf = (url: URL): string =>
  url.hostname.startsWith("[") && url.hostname.endsWith("]") ? url.hostname.slice(1, -1) : url.hostname

/** The addresses of `host`: itself when it is an address, else what the resolver says. */
const addressesOf = (
  host: string,
  resolve: Resolve
): Effect.Effect<ReadonlyArray<{ readonly address: string; readonly family: number }>, Unresolved> => {
  const family = Net.isIP(host)
  if (family !== 0) return Effect.succeed([{ address: host, family }])
  return Effect.tryPromise({
    try: () => resolve(host),
    catch: (cause) => new Unresolved({ host, code: codeOf(cause) })
  }).pipe(
    Effect.filterOrFail(
      (found) => found.length > 0,
      () => new Unresolved({ host, code: "ENOTFOUND" })
    )
  )
}

const codeOf = (cause: unknown): string => {
  const code = typeof cause === "object" && cause !== null ? (cause as { readonly code?: unknown }).code : undefined
  return typeof code === "string" && /^[A-Z0-9_]{2,40}$/.test(code) ? code : "ENOTFOUND"
}

/**
 * Builds a policy: resolves the base URL's host (when it names one) to learn its class. A base URL
 * that does not resolve gives no exception.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Policy> =>
  Effect.gen(function* () {
    const resolve = options.resolve ?? systemResolve
    const allow = options.allowPrivateNetworks
    const allowed = typeof allow === "object" ? allow.flatMap((entry) => parseRange(entry) ?? []) : []
    const home = new Set<AddressClass>()
    let base: string | undefined
    if (options.baseUrl !== undefined && URL.canParse(options.baseUrl)) {
      const url = new URL(options.baseUrl)
      base = url.origin
      // A resolver that does not answer (no DNS) gives no exception, rather than holding up the download.
      const found = yield* addressesOf(hostOf(url), resolve).pipe(
        Effect.timeoutFail({
          duration: "10 seconds",
          onTimeout: () => new Unresolved({ host: url.hostname, code: "ETIMEOUT" })
        }),
        Effect.orElseSucceed(() => [])
      )
      for (const { address } of found) {
        const parsed = parseAddress(address)
        if (parsed !== undefined && classOf(parsed) !== "public") home.add(classOf(parsed))
      }
    }
    return { home, base, allowAll: allow === true, allowed, resolve }
  })

/**
 * A target reelay refuses to fetch. `message` names the origin (never the path or query, where links
 * carry tokens), the address and its class, and how to allow it.
 *
 * @since 0.1.0
 * @category errors
 */
export class Refused extends Data.TaggedError("Refused")<{
  readonly origin: string
  readonly message: string
}> {}

/**
 * A host name that did not resolve (`code`: `ENOTFOUND`, `EAI_AGAIN`, ...): the connection could not
 * have been made either.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unresolved extends Data.TaggedError("Unresolved")<{
  readonly host: string
  readonly code: string
}> {}

const howToAllow =
  'if the provider really serves videos from there, allow it with the "allowPrivateNetworks" download option (in reelay.config.json, a profile\'s "allowPrivateNetworks": true, or a list of addresses and ranges such as ["10.1.2.0/24"])'

/** Why `address` may not be fetched under `policy`, or `undefined` when it may. */
const verdict = (policy: Policy, address: Address): string | undefined => {
  const inner = carried(address)
  const listed = (candidate: Range) => inRange(candidate, address) || (inner !== undefined && inRange(candidate, inner))
  if (policy.allowAll || policy.allowed.some(listed)) return undefined
  const kind = classOf(address)
  if (kind === "public") return undefined
  if (isMetadataAddress(address))
    return "a cloud metadata address, which no provider's own address class makes reachable"
  if (policy.home.has(kind)) return undefined
  const base =
    policy.base === undefined ? "the provider declares no base URL" : `the provider's base URL (${policy.base}) is not`
  return `${classWords[kind]}, and ${base}`
}

/**
 * Checks `url` against `policy`: its scheme, and every address its host resolves to. Returns the
 * addresses, all allowed.
 *
 * @since 0.1.0
 * @category checks
 */
export const check = (
  policy: Policy,
  url: URL
): Effect.Effect<ReadonlyArray<{ readonly address: string; readonly family: number }>, Refused | Unresolved> =>
  Effect.gen(function* () {
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return yield* new Refused({
        origin: url.protocol,
        message: `refused to download from a ${url.protocol} link: only http and https are fetched`
      })
    }
    const host = hostOf(url)
    const found = yield* addressesOf(host, policy.resolve)
    for (const { address } of found) {
      const parsed = parseAddress(address)
      const why = parsed === undefined ? "not an address this check understands" : verdict(policy, parsed)
      if (why === undefined) continue
      const named = address === host ? address : `${host}, which resolves to ${address},`
      return yield* new Refused({
        origin: url.origin,
        message: `refused to download from ${url.origin}: ${named} is ${why}; a provider's video link must not reach into this machine or its network (nothing was requested from it); ${howToAllow}`
      })
    }
    return found
  })

type Found = ReadonlyArray<{ readonly address: string; readonly family: number }>

// Host name → the checked addresses of the hops in flight to it, newest last.
const pins = new Map<string, Array<Found>>()

/**
 * `check`, then pins the checked addresses for the host name until the scope closes: `lookup` answers
 * with them, so a client resolving through it connects to an address that was checked.
 *
 * @since 0.1.0
 * @category checks
 */
export const guard = (policy: Policy, url: URL): Effect.Effect<void, Refused | Unresolved, Scope.Scope> =>
  Effect.flatMap(check(policy, url), (found) => {
    const host = hostOf(url)
    if (Net.isIP(host) !== 0) return Effect.void
    return Effect.acquireRelease(
      Effect.sync(() => {
        const held = pins.get(host) ?? []
        held.push(found)
        pins.set(host, held)
      }),
      () =>
        Effect.sync(() => {
          const held = pins.get(host)
          const index = held?.lastIndexOf(found) ?? -1
          if (held === undefined || index < 0) return
          held.splice(index, 1)
          if (held.length === 0) pins.delete(host)
        })
    )
  })

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | Array<Dns.LookupAddress>,
  family?: number
) => void

/**
 * A drop-in for `dns.lookup` (as `lookup` of `net.connect`, undici's `connect`, or an `http.Agent`):
 * a host name a download has just checked resolves to the checked addresses only; any other goes to
 * `dns.lookup`.
 *
 * @since 0.1.0
 * @category resolution
 * @example
 * ```ts
 * import { Agent } from "undici"
 * const dispatcher = new Agent({ connect: { lookup: NetworkPolicy.lookup } })
 * ```
 */
export const lookup = (
  hostname: string,
  options: Dns.LookupOptions | number | LookupCallback,
  callback?: LookupCallback
): void => {
  const done = (typeof options === "function" ? options : callback)!
  const settings: Dns.LookupOptions =
    typeof options === "function" ? {} : typeof options === "number" ? { family: options } : options
  const pinned = pins.get(hostname)?.at(-1)
  if (pinned === undefined) {
    Dns.lookup(hostname, settings, done)
    return
  }
  const family = settings.family === "IPv4" ? 4 : settings.family === "IPv6" ? 6 : settings.family
  const usable = pinned.filter((found) => family === undefined || family === 0 || found.family === family)
  process.nextTick(() => {
    if (usable.length === 0) {
      const error: NodeJS.ErrnoException = new Error(`no checked address of ${hostname} for family ${family}`)
      error.code = "ENOTFOUND"
      return done(error, settings.all === true ? [] : "", undefined)
    }
    if (settings.all === true)
      return done(
        null,
        usable.map((found) => ({ address: found.address, family: found.family }))
      )
    done(null, usable[0]!.address, usable[0]!.family)
  })
}
