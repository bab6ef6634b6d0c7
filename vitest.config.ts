import { defineConfig } from "vitest/config"

const sourceConditions = ["@reelay/source", "module", "node", "development|production"]

// One configuration runs every package's tests and the cross-package suites in test/.
export default defineConfig({
  // The workspace's packages are tested from their sources: each package's `exports` leads to
  // `src/*.ts` under this condition, and to the built `dist/` for everyone else.
  // Vite's own defaults for a server follow it (a list given here replaces them).
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: sourceConditions } },
  test: {
    include: [
      "packages/*/test/**/*.test.ts",
      "apps/*/test/**/*.test.ts",
      "test/**/*.test.ts",
      "examples/*/test/**/*.test.ts"
    ],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Node's own resolution in the test processes (\`require.resolve\`, which loads the plugins of a
    // configuration file) follows the same condition, to the sources.
    poolOptions: { forks: { execArgv: ["--conditions=@reelay/source"] } },
    sequence: { concurrent: false }
  }
})
