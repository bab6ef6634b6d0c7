/**
 * What a command takes, said once: each flag's name, kind, description, default and environment
 * variable, and the `@effect/cli` option parsed from it. The help (`Help`), the check of a command
 * line before parsing (`Usage`) and the parser all read the same spec, so they cannot disagree.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import type * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"

export type Kind = "text" | "integer" | "boolean" | "list"

/** One flag: `--name`, what it is, and the option `@effect/cli` parses. */
export interface Flag<A> {
  readonly name: string
  readonly kind: Kind
  readonly description: string
  /** Shown in the help as `default: …`. */
  readonly default?: string | undefined
  /** The environment variable that sets it when the flag is absent, shown as `env: …`. */
  readonly env?: string | undefined
  readonly option: Options.Options<A>
}

/** One positional argument. */
export interface Arg<A> {
  readonly name: string
  readonly description: string
  readonly optional: boolean
  readonly arg: Args.Args<A>
}

interface Meta {
  readonly default?: string | undefined
  readonly env?: string | undefined
}

/** An optional text flag. */
export const text = (name: string, description: string, meta: Meta = {}) => ({
  name,
  kind: "text" as const,
  description,
  ...meta,
  option: Options.text(name).pipe(Options.optional)
})

/** An optional whole-number flag. */
export const integer = (name: string, description: string, meta: Meta = {}) => ({
  name,
  kind: "integer" as const,
  description,
  ...meta,
  option: Options.integer(name).pipe(Options.optional)
})

/** A flag given or not. */
export const boolean = (name: string, description: string) => ({
  name,
  kind: "boolean" as const,
  description,
  option: Options.boolean(name)
})

/** A text flag that may be given several times. */
export const list = (name: string, description: string) => ({
  name,
  kind: "list" as const,
  description,
  option: Options.text(name).pipe(Options.repeated)
})

/** A positional argument, required or optional. */
export const argument = (name: string, description: string) => ({
  name,
  description,
  optional: false as const,
  arg: Args.text({ name })
})
export const optionalArgument = (name: string, description: string) => ({
  name,
  description,
  optional: true as const,
  arg: Args.text({ name }).pipe(Args.optional)
})

type AnyFlag = Flag<unknown>
type AnyArg = Arg<unknown>

/** A command: its name, one line about it, its positional arguments and its flags. */
export interface Spec<A extends Record<string, AnyArg>, F extends Record<string, AnyFlag>> {
  readonly name: string
  readonly description: string
  readonly args: A
  readonly flags: F
}

export type AnySpec = Spec<Record<string, AnyArg>, Record<string, AnyFlag>>

/** A command's spec, its types kept. */
export const command = <A extends Record<string, AnyArg>, F extends Record<string, AnyFlag>>(
  spec: Spec<A, F>
): Spec<A, F> => spec

/** What `@effect/cli` parses for `spec`: its arguments and options under the same keys. */
export const config = <A extends Record<string, AnyArg>, F extends Record<string, AnyFlag>>(
  spec: Spec<A, F>
): { readonly [K in keyof A]: A[K]["arg"] } & { readonly [K in keyof F]: F[K]["option"] } =>
  ({
    ...Object.fromEntries(Object.entries(spec.args).map(([key, arg]) => [key, arg.arg])),
    ...Object.fromEntries(Object.entries(spec.flags).map(([key, flag]) => [key, flag.option]))
  }) as never

/** The parsed values of `spec`'s command line. */
export type Parsed<S extends AnySpec> = Command.Command.ParseConfig<ReturnType<typeof config<S["args"], S["flags"]>>>
