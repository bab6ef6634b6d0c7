/**
 * `reelay config`: the effective configuration and where each value comes from. Keys are never
 * printed: a key shows as `<redacted>`, with its last four characters when it is long enough for
 * those to identify it without revealing it; a journal URL's password is redacted too.
 *
 * @since 0.1.0
 */

import * as Settings from "@reelay/config/Settings"
import * as Money from "@reelay/core/Money"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as CommandSettings from "../CommandSettings.js"
import * as Output from "../Output.js"
import * as Render from "../Render.js"
import type { Args as ConfigArgs } from "../specs/Config.js"

/** `<redacted>`, or `<redacted …wxyz>` for a key of 16 characters or more. */
export const redactKey = (key: Redacted.Redacted<string>): string => {
  const value = Redacted.value(key)
  return value.length >= 16 ? `<redacted …${value.slice(-4)}>` : "<redacted>"
}

/** A journal setting with any password in a URL replaced. */
export const redactJournal = (journal: Redacted.Redacted<string>): string => {
  const value = Redacted.value(journal)
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || !URL.canParse(value)) return value
  const url = new URL(value)
  if (url.password !== "") url.password = "redacted"
  return url.toString().replace(":redacted@", ":<redacted>@")
}

/** The configuration as JSON (keys redacted). */
export const toJson = (settings: Settings.Settings) => {
  const setting = <A>(s: Settings.Setting<A> | undefined, show: (a: A) => unknown = (a) => a) =>
    s === undefined ? null : { value: show(s.value), source: s.source }
  return {
    configFile: settings.configFile ?? null,
    profile: setting(settings.profile),
    provider: setting(settings.provider),
    model: setting(settings.model),
    routes: setting(settings.routes),
    simulator: settings.simulator,
    budget: setting(settings.budget, (usd) => Money.format(usd).slice(1)),
    concurrency: {
      submit: setting(settings.concurrency.submit),
      status: setting(settings.concurrency.status),
      download: setting(settings.concurrency.download)
    },
    journal: setting(settings.journal, redactJournal),
    timeScale: setting(settings.timeScale),
    timeout: setting(settings.timeout, (d) => Duration.format(Duration.decode(d))),
    outDir: setting(settings.outDir),
    providers: settings.providers.map((provider) => ({
      id: provider.id,
      kind: provider.kind,
      baseUrl: provider.baseUrl,
      apiKey:
        provider.apiKey === undefined
          ? null
          : { value: redactKey(provider.apiKey.value), source: provider.apiKey.source },
      apiKeyEnv: provider.apiKeyEnv ?? null
    }))
  }
}

/** The configuration as lines. */
export const toLines = (settings: Settings.Settings, style: Render.Style): ReadonlyArray<string> => {
  const from = (source: string) => Render.dim(style, `(${source})`)
  const row = (name: string, value: string, source?: string) =>
    `${name.padEnd(14)}${value}${source === undefined ? "" : ` ${from(source)}`}`
  const c = settings.concurrency
  const stage = (name: string, s: Settings.Setting<number> | undefined, fallback: number) =>
    `${name} ${s?.value ?? fallback}${s === undefined ? "" : ` ${from(s.source)}`}`
  return [
    row("config file", settings.configFile ?? "none"),
    row("profile", settings.profile?.value ?? "none", settings.profile?.source),
    row("provider", settings.provider.value, settings.provider.source),
    row("model", settings.model?.value ?? "the provider's default", settings.model?.source),
    ...(settings.routes === undefined
      ? []
      : [
          row(
            "routes",
            settings.routes.value.map((route, index) => `${index + 1}. ${route.provider} ${route.model}`).join(", "),
            settings.routes.source
          )
        ]),
    row(
      "budget",
      settings.budget === undefined ? "no limit" : Money.format(settings.budget.value),
      settings.budget?.source
    ),
    `${"concurrency".padEnd(14)}${[stage("submit", c.submit, 10), stage("status", c.status, 10), stage("download", c.download, 5)].join(", ")}`,
    row("journal", redactJournal(settings.journal.value), settings.journal.source),
    row("time scale", Render.scale(settings.timeScale.value), settings.timeScale.source),
    row(
      "timeout",
      settings.timeout === undefined ? "10m" : Duration.format(Duration.decode(settings.timeout.value)),
      settings.timeout?.source ?? "default"
    ),
    row("out dir", settings.outDir?.value ?? "out", settings.outDir?.source ?? "default"),
    "",
    Render.bold(style, "providers"),
    ...Render.table(
      ["ID", "KIND", "BASE URL", "KEY"],
      [
        ...settings.providers.map((provider) => [
          provider.id,
          provider.kind,
          `${provider.baseUrl.value} ${from(provider.baseUrl.source)}`,
          provider.apiKey === undefined
            ? provider.apiKeyEnv === undefined
              ? "none"
              : `not set (set ${provider.apiKeyEnv})`
            : `${redactKey(provider.apiKey.value)} ${from(provider.apiKey.source)}`
        ]),
        ...Settings.simulatorIds.map((id) => [id, "simulator", "in-process, started when used", "not needed"])
      ]
    ).map((line) => `  ${line}`)
  ]
}

/** Runs the command. */
export const run = (args: ConfigArgs) =>
  Effect.gen(function* () {
    const { settings } = yield* CommandSettings.CommandSettings
    if (args.json) yield* Output.stdout(JSON.stringify(toJson(settings)))
    else yield* Output.stdout(toLines(settings, Output.styleFor(Output.detectMode(false))).join("\n"))
  })
