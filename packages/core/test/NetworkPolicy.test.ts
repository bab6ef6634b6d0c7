import type * as Dns from "node:dns"
import * as NodeFs from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as NodeOs from "node:os"
import * as NodePath from "node:path"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Undici from "@effect/platform-node/Undici"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { UrlAsset } from "../src/AssetSource.js"
import * as Download from "../src/Download.js"
import * as NetworkPolicy from "../src/NetworkPolicy.js"
import type { DownloadFailed } from "../src/VideoError.js"

/** A resolver answering from a table, counting its calls. */
const table = (entries: Record<string, ReadonlyArray<string>>) => {
  const calls: Array<string> = []
  const resolve: NetworkPolicy.Resolve = async (hostname) => {
    calls.push(hostname)
    const found = entries[hostname]
    if (found === undefined) throw Object.assign(new Error(`no ${hostname}`), { code: "ENOTFOUND" })
    return found.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }))
  }
  return { resolve, calls }
}

const verdict = (options: NetworkPolicy.Options, url: string) =>
  Effect.gen(function* () {
    const policy = yield* NetworkPolicy.make(options)
    const exit = yield* Effect.exit(NetworkPolicy.check(policy, new URL(url)))
    return Exit.isSuccess(exit)
      ? "allowed"
      : Exit.isFailure(exit) && exit.cause._tag === "Fail"
        ? exit.cause.error
        : exit
  })

describe("NetworkPolicy.classify", () => {
  const cases: ReadonlyArray<readonly [string, NetworkPolicy.AddressClass]> = [
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["172.32.0.1", "public"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "private"],
    ["100.127.255.255", "private"],
    ["100.128.0.1", "public"],
    ["fc00::1", "private"],
    ["fd12:3456::1", "private"],
    ["169.254.169.254", "link-local"],
    ["169.254.1.1", "link-local"],
    ["fe80::1", "link-local"],
    ["febf::1", "link-local"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["::", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["239.255.255.250", "multicast"],
    ["ff02::1", "multicast"],
    ["255.255.255.255", "reserved"],
    ["240.0.0.1", "reserved"],
    // IPv4 inside IPv6: judged as the IPv4 address it reaches.
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:169.254.169.254", "link-local"],
    ["::ffff:10.0.0.1", "private"],
    ["::ffff:8.8.8.8", "public"],
    ["64:ff9b::a9fe:a9fe", "link-local"],
    ["2002:7f00:1::1", "loopback"],
    ["::7f00:1", "reserved"],
    // Public, documentation ranges included.
    ["8.8.8.8", "public"],
    ["93.184.216.34", "public"],
    ["198.51.100.7", "public"],
    ["203.0.113.9", "public"],
    ["2606:4700::1111", "public"],
    ["2001:db8::1", "public"]
  ]
  for (const [address, expected] of cases) {
    it(`${address} is ${expected}`, () => assert.strictEqual(NetworkPolicy.classify(address), expected))
  }

  it("is undefined for what is not an address", () => {
    for (const text of ["localhost", "127.1", "1.2.3.4.5", "::g", ""]) assert.isUndefined(NetworkPolicy.classify(text))
  })

  it("knows the cloud metadata addresses in every spelling", () => {
    for (const address of [
      "169.254.169.254",
      "::ffff:169.254.169.254",
      "::ffff:a9fe:a9fe",
      "fd00:ec2::254",
      "100.100.100.200"
    ]) {
      assert.isTrue(NetworkPolicy.isMetadata(address), address)
    }
    assert.isFalse(NetworkPolicy.isMetadata("169.254.169.253"))
  })
})

describe("NetworkPolicy.parseRange", () => {
  it("reads addresses and CIDR ranges, and nothing else", () => {
    for (const text of ["10.0.0.0/8", "169.254.169.254", "fd00::/8", "::1", "0.0.0.0/0", "::/0"]) {
      assert.isDefined(NetworkPolicy.parseRange(text), text)
    }
    for (const text of ["10.0.0.0/33", "fd00::/129", "example.com", "10.0.0/8", "10.0.0.0/-1", ""]) {
      assert.isUndefined(NetworkPolicy.parseRange(text), text)
    }
    assert.deepStrictEqual(NetworkPolicy.invalidRanges(["10.0.0.0/8", "nope", "1.2.3.4/40"]), ["nope", "1.2.3.4/40"])
    assert.deepStrictEqual(NetworkPolicy.invalidRanges(true), [])
  })
})

describe("NetworkPolicy.check", () => {
  const publicBase = { baseUrl: "https://api.example/v1" }
  const names = table({
    "api.example": ["198.51.100.7"],
    "cdn.example": ["203.0.113.5", "2001:db8::5"],
    "rebind.example": ["203.0.113.6", "127.0.0.1"],
    "metadata.example": ["169.254.169.254"],
    "gateway.lan": ["192.168.1.20"],
    localhost: ["127.0.0.1", "::1"]
  })

  it.effect("allows a public host, resolving every address of it", () =>
    Effect.gen(function* () {
      assert.strictEqual(
        yield* verdict({ ...publicBase, resolve: names.resolve }, "https://cdn.example/v.mp4"),
        "allowed"
      )
      assert.strictEqual(
        yield* verdict({ ...publicBase, resolve: names.resolve }, "http://203.0.113.9/v.mp4"),
        "allowed"
      )
    })
  )

  it.effect("refuses loopback, metadata, private and mapped targets when the base URL is public", () =>
    Effect.gen(function* () {
      for (const url of [
        "http://127.0.0.1:8080/v.mp4",
        "http://[::1]/v.mp4",
        "http://[::ffff:127.0.0.1]/v.mp4",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/v.mp4",
        "http://0.0.0.0:9000/v.mp4",
        "http://localhost:3000/v.mp4",
        "http://metadata.example/v.mp4",
        "http://gateway.lan/v.mp4"
      ]) {
        const result = yield* verdict({ ...publicBase, resolve: names.resolve }, url)
        assert.notStrictEqual(result, "allowed", url)
        const error = result as NetworkPolicy.Refused
        assert.strictEqual(error._tag, "Refused", url)
        assert.include(error.message, new URL(url).origin)
        assert.include(error.message, "allowPrivateNetworks")
        assert.notInclude(error.message, new URL(url).pathname === "/" ? "\u0000" : new URL(url).pathname)
      }
    })
  )

  it.effect("refuses a name when any one of its addresses is refused", () =>
    Effect.gen(function* () {
      const error = (yield* verdict(
        { ...publicBase, resolve: names.resolve },
        "https://rebind.example/v.mp4"
      )) as NetworkPolicy.Refused
      assert.strictEqual(error._tag, "Refused")
      assert.include(error.message, "rebind.example, which resolves to 127.0.0.1,")
      assert.include(error.message, "loopback")
    })
  )

  it.effect("refuses other schemes", () =>
    Effect.gen(function* () {
      const error = (yield* verdict(publicBase, "ftp://cdn.example/v.mp4")) as NetworkPolicy.Refused
      assert.strictEqual(error._tag, "Refused")
      assert.include(error.message, "only http and https")
    })
  )

  it.effect("a host that does not resolve is Unresolved, not refused", () =>
    Effect.gen(function* () {
      const error = (yield* verdict({ ...publicBase, resolve: names.resolve }, "https://nowhere.example/")) as
        | NetworkPolicy.Unresolved
        | string
      assert.deepStrictEqual(error, new NetworkPolicy.Unresolved({ host: "nowhere.example", code: "ENOTFOUND" }))
    })
  )

  it.effect("a loopback base URL allows loopback targets, never private ones or metadata", () =>
    Effect.gen(function* () {
      const options = { baseUrl: "http://127.0.0.1:4010/v1", resolve: names.resolve }
      assert.strictEqual(yield* verdict(options, "http://127.0.0.1:4011/v.mp4"), "allowed")
      assert.strictEqual(yield* verdict(options, "http://localhost:4011/v.mp4"), "allowed")
      assert.notStrictEqual(yield* verdict(options, "http://10.0.0.5/v.mp4"), "allowed")
      assert.notStrictEqual(yield* verdict(options, "http://169.254.169.254/"), "allowed")
    })
  )

  it.effect("a base URL named by host takes the class of what it resolves to", () =>
    Effect.gen(function* () {
      const lan = { baseUrl: "http://gateway.lan:8080/v1", resolve: names.resolve }
      assert.strictEqual(yield* verdict(lan, "http://10.9.9.9/v.mp4"), "allowed")
      assert.notStrictEqual(yield* verdict(lan, "http://127.0.0.1/v.mp4"), "allowed")
      const local = { baseUrl: "http://localhost:4010/v1", resolve: names.resolve }
      assert.strictEqual(yield* verdict(local, "http://[::1]:4011/v.mp4"), "allowed")
    })
  )

  it.effect("a link-local base URL still never reaches a metadata address", () =>
    Effect.gen(function* () {
      const options = { baseUrl: "http://169.254.10.1/v1", resolve: names.resolve }
      assert.strictEqual(yield* verdict(options, "http://169.254.10.2/v.mp4"), "allowed")
      const error = (yield* verdict(options, "http://169.254.169.254/")) as NetworkPolicy.Refused
      assert.include(error.message, "cloud metadata")
    })
  )

  it.effect("allowPrivateNetworks: true allows everything; a list allows what it names", () =>
    Effect.gen(function* () {
      const all = { ...publicBase, allowPrivateNetworks: true, resolve: names.resolve }
      assert.strictEqual(yield* verdict(all, "http://169.254.169.254/"), "allowed")
      assert.strictEqual(yield* verdict(all, "http://127.0.0.1:9/"), "allowed")
      const listed = { ...publicBase, allowPrivateNetworks: ["10.1.0.0/16", "::1"], resolve: names.resolve }
      assert.strictEqual(yield* verdict(listed, "http://10.1.2.3/"), "allowed")
      assert.strictEqual(yield* verdict(listed, "http://[::1]/"), "allowed")
      assert.strictEqual(yield* verdict(listed, "http://[::ffff:10.1.2.3]/"), "allowed")
      assert.notStrictEqual(yield* verdict(listed, "http://10.2.0.1/"), "allowed")
      assert.notStrictEqual(yield* verdict(listed, "http://169.254.169.254/"), "allowed")
    })
  )

  it.effect("no base URL: nothing but public addresses", () =>
    Effect.gen(function* () {
      const error = (yield* verdict({}, "http://127.0.0.1/")) as NetworkPolicy.Refused
      assert.include(error.message, "the provider declares no base URL")
    })
  )
})

describe("NetworkPolicy.lookup", () => {
  const lookup = (hostname: string, options: Dns.LookupOptions) =>
    new Promise<unknown>((resolve, reject) =>
      NetworkPolicy.lookup(hostname, options, (error, address, family) =>
        error === null ? resolve(options.all === true ? address : { address, family }) : reject(error)
      )
    )

  it.scoped("answers with the checked addresses while a hop is pinned, and resolves normally after", () =>
    Effect.gen(function* () {
      // When checked, the name resolves to a public address; the system (/etc/hosts) says loopback.
      const names = table({ localhost: ["203.0.113.77"] })
      const policy = yield* NetworkPolicy.make({ baseUrl: "https://203.0.113.1/v1", resolve: names.resolve })
      yield* Effect.scoped(
        Effect.gen(function* () {
          yield* NetworkPolicy.guard(policy, new URL("http://localhost:4010/v.mp4"))
          assert.deepStrictEqual(yield* Effect.promise(() => lookup("localhost", {})), {
            address: "203.0.113.77",
            family: 4
          })
          assert.deepStrictEqual(yield* Effect.promise(() => lookup("localhost", { all: true })), [
            { address: "203.0.113.77", family: 4 }
          ])
          const wrongFamily = yield* Effect.flip(Effect.tryPromise(() => lookup("localhost", { family: 6 })))
          assert.strictEqual((wrongFamily.error as { code?: string }).code, "ENOTFOUND")
        })
      )
      // Unpinned once the hop is over: the system's answer.
      const after = (yield* Effect.promise(() => lookup("localhost", {}))) as { address: string }
      assert.strictEqual(NetworkPolicy.classify(after.address), "loopback")
      // The link's host was resolved once, for the check; the connection never asked again.
      assert.deepStrictEqual(names.calls, ["localhost"])
    })
  )
})

describe("Download with a network policy", () => {
  /** A server on `host` (127.0.0.1 or another loopback address), recording requests; serves `body`. */
  const listen = (host: string, handler: (request: Http.IncomingMessage, response: Http.ServerResponse) => void) =>
    Effect.acquireRelease(
      Effect.async<{ readonly server: Http.Server; readonly origin: string; readonly requests: Array<string> }>(
        (resume) => {
          const requests: Array<string> = []
          const server = Http.createServer((request, response) => {
            requests.push(request.url ?? "")
            handler(request, response)
          })
          server.listen(0, host, () =>
            resume(
              Effect.succeed({ server, origin: `http://${host}:${(server.address() as AddressInfo).port}`, requests })
            )
          )
        }
      ),
      ({ server }) =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
  const body = Buffer.from("a video, as far as this test is concerned")
  const send = (_request: Http.IncomingMessage, response: Http.ServerResponse) =>
    response.writeHead(200, { "content-length": body.length }).end(body)
  const tempDir = Effect.acquireRelease(
    Effect.sync(() => NodeFs.mkdtempSync(NodePath.join(NodeOs.tmpdir(), "reelay-network-"))),
    (dir) => Effect.sync(() => NodeFs.rmSync(dir, { recursive: true, force: true }))
  )
  const publicApi = { baseUrl: "https://198.51.100.7/v1" }

  it.scoped("a link to this machine from a provider that is not on it: refused, never requested, no file", () =>
    Effect.gen(function* () {
      const target = yield* listen("127.0.0.1", send)
      const dir = yield* tempDir
      const path = NodePath.join(dir, "video.mp4")
      const error = yield* Effect.flip(
        Download.download({ asset: new UrlAsset({ url: `${target.origin}/v.mp4?token=t` }), path, network: publicApi })
      ).pipe(Effect.provide(NodeHttpClient.layerUndici))
      assert.strictEqual(error._tag, "DownloadFailed")
      assert.isTrue((error as DownloadFailed).refusedTarget)
      assert.isFalse((error as DownloadFailed).transient)
      assert.include(error.message, `refused to download from ${target.origin}`)
      assert.include(error.message, "loopback")
      assert.include(error.message, "allowPrivateNetworks")
      assert.notInclude(error.message, "token")
      assert.deepStrictEqual(target.requests, [])
      assert.deepStrictEqual(NodeFs.readdirSync(dir), [])
    })
  )

  it.scoped("a redirect into the user's network: the first hop is fetched, the target never", () =>
    Effect.gen(function* () {
      const target = yield* listen("127.0.0.2", send)
      const first = yield* listen("127.0.0.1", (_request, response) =>
        response.writeHead(302, { location: `${target.origin}/latest/meta-data/` }).end()
      )
      const dir = yield* tempDir
      const error = yield* Effect.flip(
        Download.download({
          asset: new UrlAsset({ url: `${first.origin}/v.mp4` }),
          path: NodePath.join(dir, "video.mp4"),
          // The first hop is allowed by name; the redirect's target is not.
          network: { ...publicApi, allowPrivateNetworks: ["127.0.0.1"] }
        })
      ).pipe(Effect.provide(NodeHttpClient.layerUndici))
      assert.isTrue((error as DownloadFailed).refusedTarget, error.message)
      assert.include(error.message, target.origin)
      assert.deepStrictEqual(first.requests, ["/v.mp4"])
      assert.deepStrictEqual(target.requests, [])
    })
  )

  it.scoped("allowed by the configuration: fetched", () =>
    Effect.gen(function* () {
      const target = yield* listen("127.0.0.1", send)
      const dir = yield* tempDir
      const saved = yield* Download.download({
        asset: new UrlAsset({ url: `${target.origin}/v.mp4` }),
        path: NodePath.join(dir, "video.mp4"),
        network: { ...publicApi, allowPrivateNetworks: true }
      }).pipe(Effect.provide(NodeHttpClient.layerUndici))
      assert.isTrue(NodeFs.readFileSync(saved.path).equals(body))
    })
  )

  it.scoped(
    "a client resolving through NetworkPolicy.lookup connects to the checked address, never resolving again",
    () =>
      Effect.gen(function* () {
        const target = yield* listen("127.0.0.1", send)
        const port = new URL(target.origin).port
        const dir = yield* tempDir
        // The system does not know this name: only the checked answer can take the connection there.
        const names = table({ "video.reelay-pinned.invalid": ["127.0.0.1"] })
        const pinned = NodeHttpClient.layerUndiciWithoutDispatcher.pipe(
          Layer.provide(
            Layer.scoped(
              NodeHttpClient.Dispatcher,
              Effect.acquireRelease(
                Effect.sync(() => new Undici.Agent({ connect: { lookup: NetworkPolicy.lookup } })),
                (agent) => Effect.promise(() => agent.destroy())
              )
            )
          )
        )
        const saved = yield* Download.download({
          asset: new UrlAsset({ url: `http://video.reelay-pinned.invalid:${port}/v.mp4` }),
          path: NodePath.join(dir, "video.mp4"),
          network: { ...publicApi, allowPrivateNetworks: ["127.0.0.1"], resolve: names.resolve }
        }).pipe(Effect.provide(pinned))
        assert.isTrue(NodeFs.readFileSync(saved.path).equals(body))
        assert.deepStrictEqual(target.requests, ["/v.mp4"])
        assert.deepStrictEqual(names.calls, ["video.reelay-pinned.invalid"], "resolved once, for the check")
      })
  )
})
