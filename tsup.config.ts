import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // `cachier/testing` is its own entry so the conformance kit (and node:assert) never
    // loads with the library.
    entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    // The CLI (built by the second config at the same time) must survive this clean.
    clean: ['!cli.js', '!cli.js.map'],
    sourcemap: true,
    target: 'node20',
    // mongodb is an optional peer: it must stay a runtime import, never bundled.
    external: ['mongodb'],
  },
  {
    // The `cachier` command (package.json `bin`): ESM only, no types, runnable as a file.
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
    sourcemap: true,
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
    // Optional peers, loaded with import() only for their flag.
    external: ['mongodb', 'redis', 'pg'],
  },
]);
