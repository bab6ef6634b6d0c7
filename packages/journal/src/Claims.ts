/**
 * Who works which item: the leases that let several processes share one batch without creating a
 * video twice.
 *
 * Every writing process registers itself as an **owner** (`reelay_owners`: an id, its pid and host,
 * and the time its lease expires) and renews that lease on a heartbeat. An item it works carries
 * its id (`reelay_jobs.claimed_by`). Another process takes an item over only when its owner is dead:
 * the lease expired without being renewed, the owner's row is gone (it stopped cleanly), or, on the
 * same machine, the owner's process no longer exists (a SIGKILL is noticed at once rather than
 * after the lease). So an item in a live process is never touched by another, however long its
 * create takes, and an item of a crashed process is picked up.
 *
 * The lease is one row per process, not per item: a heartbeat is one small write, whatever the
 * number of items held.
 *
 * @since 0.2.0
 */
import { randomBytes } from "node:crypto"
import * as NodeFs from "node:fs"
import * as NodeOs from "node:os"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import { JobStoreError } from "@reelay/core/JobStore"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** This process, as the journal knows it. */
export interface Owner {
  /** Unique per process and journal opening: `host:pid:random`. */
  readonly id: string
  readonly pid: number
  readonly hostname: string
  /**
   * The process id namespace (Linux), so a pid is only checked for liveness where it means the
   * same process: the same host name in another container is another machine.
   */
  readonly pidNamespace: string | undefined
}

/** A `reelay_owners` row. */
export interface OwnerRecord {
  readonly owner: string
  readonly pid: number | string
  readonly hostname: string
  readonly pid_namespace: string | null
  readonly started_at: number | string
  readonly expires_at: number | string
}

const pidNamespace = (): string | undefined => {
  try {
    return NodeFs.readlinkSync("/proc/self/ns/pid")
  } catch {
    return undefined
  }
}

/** Describes the current process as an owner. */
export const self = (): Owner => {
  const hostname = NodeOs.hostname()
  return {
    id: `${hostname}:${process.pid}:${randomBytes(4).toString("hex")}`,
    pid: process.pid,
    hostname,
    pidNamespace: pidNamespace()
  }
}

/** Whether process `pid` exists (EPERM: it does, owned by someone else). */
const processExists = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as { readonly code?: string }).code === "EPERM"
  }
}

/**
 * Whether the owner in `record` may still be working: its lease has not expired, and, when it is
 * a process of this machine (same host and pid namespace), that process still exists. Only a
 * certainty of death shortens the lease: a reused pid keeps an item waiting, never takes it early.
 */
export const isAlive = (record: OwnerRecord | undefined, now: number, me: Owner): boolean => {
  if (record === undefined || Number(record.expires_at) <= now) return false
  const local =
    record.hostname === me.hostname &&
    me.pidNamespace !== undefined &&
    record.pid_namespace === me.pidNamespace &&
    Number(record.pid) !== me.pid
  return local ? processExists(Number(record.pid)) : true
}

/** How an owner is named in messages: `pid 4242 on build-7`. */
export const describe = (record: OwnerRecord | undefined): string =>
  record === undefined ? "a process that stopped" : `pid ${record.pid} on ${record.hostname}`

export interface LeaseOptions {
  /** How long a lease lasts without a heartbeat (default 30 s); the heartbeat renews it every third of that. */
  readonly ttl?: Duration.DurationInput | undefined
}

/** What a registered owner can ask of its lease. */
export interface Lease {
  readonly owner: Owner
  /** Whether the lease could not be kept (checked before every write). */
  readonly isLost: () => boolean
  /** Fails when the lease is lost; never succeeds. */
  readonly lost: Effect.Effect<never, JobStoreError>
  /** How long to wait before asking again for an item another process holds. */
  readonly recheck: Duration.Duration
}

/**
 * Registers this process as an owner for the scope's life: writes its lease, renews it on a
 * heartbeat, and when the scope closes gives back every item it still holds and removes itself.
 *
 * The lease is lost when no heartbeat could be written before it expired (the database was
 * unreachable that long): another process may then take this one's items, so it must stop. A
 * heartbeat that is merely late (the machine slept) but succeeds keeps the lease; any item taken
 * over meanwhile is refused to this process item by item (`ClaimLost`).
 */
export const register = (
  sql: SqlClient.SqlClient,
  options: LeaseOptions = {}
): Effect.Effect<Lease, SqlError, Scope.Scope> =>
  Effect.gen(function* () {
    const owner = self()
    const ttl = Duration.toMillis(Duration.decode(options.ttl ?? "30 seconds"))
    const started = yield* Clock.currentTimeMillis
    // Owners whose lease ran out are dead either way; their rows only slow the liveness checks.
    yield* sql`DELETE FROM reelay_owners WHERE expires_at < ${started}`
    const insertOwner = (expiresAt: number) =>
      sql`INSERT INTO reelay_owners ${sql.insert({
        owner: owner.id,
        pid: owner.pid,
        hostname: owner.hostname,
        pid_namespace: owner.pidNamespace ?? null,
        started_at: started,
        expires_at: expiresAt
      })}`
    yield* insertOwner(started + ttl)
    let expiresAt = started + ttl
    let lostFlag = false
    const lost = yield* Deferred.make<never, JobStoreError>()
    const renew = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const renewed = yield* sql<{ readonly owner: string }>`UPDATE reelay_owners SET expires_at = ${now + ttl}
        WHERE owner = ${owner.id} RETURNING owner`
      // Removed by another process that found the lease expired: it may have taken items (those
      // are refused to this process one by one); the others are still this process's.
      if (renewed.length === 0) yield* insertOwner(now + ttl)
      expiresAt = now + ttl
    })
    const heartbeat = Effect.gen(function* () {
      while (true) {
        yield* Effect.sleep(Duration.millis(ttl / 3))
        const failure = yield* Effect.flip(renew).pipe(Effect.option)
        if (failure._tag === "None") continue
        const now = yield* Clock.currentTimeMillis
        if (now < expiresAt) continue
        lostFlag = true
        yield* Deferred.fail(
          lost,
          new JobStoreError({
            operation: "keep claims",
            message: `this process could not renew its claims in the journal before they expired (${failure.value.message}); another process may take its items over, so it stops`,
            cause: failure.value
          })
        )
        return
      }
    })
    yield* Effect.forkScoped(heartbeat)
    yield* Effect.addFinalizer(() =>
      Effect.all(
        [
          sql`UPDATE reelay_jobs SET claimed_by = NULL, claimed_at = NULL WHERE claimed_by = ${owner.id}`,
          sql`DELETE FROM reelay_owners WHERE owner = ${owner.id}`
        ],
        { discard: true }
      ).pipe(Effect.ignore)
    )
    return {
      owner,
      isLost: () => lostFlag,
      lost: Deferred.await(lost),
      recheck: Duration.millis(Math.min(1000, Math.max(50, ttl / 10)))
    }
  })
