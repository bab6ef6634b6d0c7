/**
 * @reelay/config — reelay's settings as the CLI and `@reelay/client` read them.
 *
 * @since 0.1.0
 */

/** What is wrong with a setting (a value, or the configuration file) before anything is sent. */
export * as ConfigError from "./ConfigError.js"
/** `reelay.config.json`: its format, where it is found, and how it is read. */
export * as ConfigFile from "./ConfigFile.js"
/** Reading JSON with errors that say where. */
export * as Json from "./Json.js"
/** The services settings select: the simulator, the journal, polling and the download client. */
export * as Layers from "./Layers.js"
/** Provider packages named in the configuration file's `"plugins"`, loaded as descriptors. */
export * as Plugins from "./Plugins.js"
/** The providers settings name, built into a registry. */
export * as Providers from "./Providers.js"
/** Flags, environment, profile and file resolved into one set of settings, each with its source. */
export * as Settings from "./Settings.js"
/** Settings from the process's environment and configuration file. */
export * as Setup from "./Setup.js"
