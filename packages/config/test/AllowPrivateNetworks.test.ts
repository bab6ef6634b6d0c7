import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as ConfigFile from "../src/ConfigFile.js"
import * as Providers from "../src/Providers.js"
import * as Settings from "../src/Settings.js"

const parse = (profile: object) =>
  ConfigFile.parse("/work/reelay.config.json", JSON.stringify({ defaultProfile: "p", profiles: { p: profile } }))

const settingsOf = (profile: object) => {
  const loaded = parse(profile)
  if (Either.isLeft(loaded)) throw new Error(loaded.left.message)
  const resolved = Settings.resolve({
    flags: {},
    environment: Settings.fromRecord({}),
    file: loaded.right,
    catalogs: Providers.catalogs([])
  })
  if (Either.isLeft(resolved)) throw new Error(resolved.left.message)
  return resolved.right
}

describe("a profile's allowPrivateNetworks", () => {
  it("is taken as true, or as a list of addresses and ranges, and named by its profile", () => {
    expect(settingsOf({ allowPrivateNetworks: true }).allowPrivateNetworks).toEqual({
      value: true,
      source: 'profile "p"'
    })
    expect(
      settingsOf({ allowPrivateNetworks: ["10.1.2.0/24", "fd00::/8", "169.254.169.254"] }).allowPrivateNetworks?.value
    ).toEqual(["10.1.2.0/24", "fd00::/8", "169.254.169.254"])
    expect(settingsOf({}).allowPrivateNetworks).toBeUndefined()
  })

  it("refuses what is neither an address nor a range, with its path", () => {
    const parsed = parse({ allowPrivateNetworks: ["10.1.2.0/24", "intranet"] })
    expect(Either.isLeft(parsed)).toBe(true)
    const message = Either.isLeft(parsed) ? parsed.left.message : ""
    expect(message).toContain("profiles.p.allowPrivateNetworks[1]")
    expect(message).toContain('an IP address or range, such as "10.1.2.0/24"')
    expect(Either.isLeft(parse({ allowPrivateNetworks: "yes" }))).toBe(true)
  })
})
