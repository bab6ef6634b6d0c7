/**
 * What the gateway's handlers share: its tenants and their runtimes, the journal's videos and jobs,
 * the jobs running here.
 *
 * @since 0.3.0
 */
import type { Journal, Videos } from "@reelay/journal"
import * as Context from "effect/Context"
import type * as Schema from "effect/Schema"
import type * as Api from "./Api.js"
import type * as Tenancy from "./Tenancy.js"
import type * as Tenants from "./Tenants.js"

/** Everything the handlers share. */
export interface State {
  readonly tenants: Tenants.Tenants
  readonly runtimes: ReadonlyMap<string, Tenancy.Tenant>
  readonly catalogs: ReadonlyMap<string, Schema.Schema.Type<typeof Api.ModelList>>
  readonly videos: Videos.Service
  readonly journal: Journal.Service
  readonly jobs: Tenancy.Jobs
  readonly outDir: string
  /** The tenants with a webhook: their videos are admitted to be told of. */
  readonly notified: ReadonlySet<string>
  /** A fresh video id. */
  readonly newId: () => string
}
export class GatewayState extends Context.Tag("@reelay/gateway/State")<GatewayState, State>() {}
