import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // `cachier/testing` and `cachier/prometheus` are entries of their own, so the
    // conformance kit (node:assert) and the optional peer prom-client never load with the
    // library.
    entry: {
      index: 'src/index.ts',
      testing: 'src/testing/index.ts',
      prometheus: 'src/ops/prometheus.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    // The CLI (built by the second config at the same time) must survive this clean.
    clean: ['!cli.js', '!cli.js.map'],
    sourcemap: true,
    target: 'node20',
    // Optional peers: runtime imports, never bundled.
    external: ['mongodb', 'prom-client', 'redis', 'pg'],
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
