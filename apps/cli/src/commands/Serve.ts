/**
 * `reelay serve`: the gateway (`@reelay/gateway`) for the tenants of `reelay.config.json`. Its base
 * URL is the first line it prints; it serves until Ctrl-C or SIGTERM.
 *
 * @since 0.1.0
 */

import * as HttpServer from "@effect/platform/HttpServer"
import * as ExitCode from "@reelay/client/ExitCode"
import { UsageError } from "@reelay/config/ConfigError"
import * as Setup from "@reelay/config/Setup"
import * as Gateway from "@reelay/gateway/Gateway"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Output from "../Output.js"
import * as Signals from "../Signals.js"
import type { Args as ServeArgs } from "../specs/Serve.js"

const { opt } = Setup

/** Runs the command. */
export const run = (args: ServeArgs) =>
  Effect.scoped(
    Effect.gen(function* () {
      const port = opt(args.port) ?? 8787
      if (port < 0 || port > 65535) {
        return yield* new UsageError({
          message: `--port must be a port number from 0 to 65535 (0 picks a free one), got ${port}`
        })
      }
      const host = opt(args.host) ?? "127.0.0.1"
      if (host.trim() === "") {
        // An empty host means every interface to Node: never by accident.
        return yield* new UsageError({ message: "--host is empty; give an interface such as 127.0.0.1 or 0.0.0.0" })
      }
      const stop = yield* Deferred.make<void>()
      // The first signal closes the server gracefully; a second stops at once.
      yield* Signals.handle((_signal, count) => {
        if (count === 1) Deferred.unsafeDone(stop, Exit.void)
        else process.exit(ExitCode.interrupted)
      })
      const built = yield* Layer.build(
        Gateway.layer({ config: opt(args.config), port, host, journal: opt(args.journal), outDir: opt(args.outDir) })
      ).pipe(
        Effect.catchTag("ServeError", (error) =>
          Effect.fail(
            new UsageError({
              message: `cannot listen on ${host}:${port} (${(error.cause as { code?: string } | undefined)?.code ?? String(error.cause)}); choose another --port or --host`
            })
          )
        )
      )
      const address = Context.get(built, HttpServer.HttpServer).address
      const where =
        address._tag === "TcpAddress"
          ? `http://${address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname}:${address.port}/v1`
          : address.path
      yield* Output.stdout(where)
      yield* Output.stderr(
        `reelay: gateway listening; OpenAPI at ${where.replace(/\/v1$/, "/openapi.json")}; Ctrl-C to stop`
      )
      if (!/^(127\.|::1$|localhost$)/.test(host)) {
        yield* Output.stderr(
          `reelay: listening on ${host}, beyond this machine, over plain HTTP: put TLS in front of it`
        )
      }
      yield* Deferred.await(stop)
    })
  )
