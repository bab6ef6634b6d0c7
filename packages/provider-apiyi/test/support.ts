/**
 * Test support: the testkit's engine over real sockets, at this package's simulator time scale
 * (vendor seconds become 5 ms), with millisecond retries (server hints still win).
 */
import * as Testkit from "@reelay/testkit/Testkit"

export const { timeScale, engineLayer, collect, failureOf, tempDir, png, savedVideo } =
  Testkit.providerSupport("provider-apiyi")
