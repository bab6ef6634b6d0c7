#!/usr/bin/env node
// The installed `reelay-simulator` command: the built CLI of this package (`src/bin.ts`, compiled to
// `dist/bin.js` by `pnpm build`). In this repository, `pnpm --filter @reelay/simulator start` runs
// the sources instead.
await import("../dist/bin.js")
