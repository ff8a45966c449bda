import { defineConfig } from 'tsup';

export default defineConfig({
  // `cachier/testing` is its own entry so the conformance kit (and node:assert) never
  // loads with the library.
  // `cachier/prometheus` likewise, so only its users load the optional peer prom-client.
  entry: {
    index: 'src/index.ts',
    testing: 'src/testing/index.ts',
    prometheus: 'src/ops/prometheus.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // mongodb and prom-client are optional peers: runtime imports, never bundled.
  external: ['mongodb', 'prom-client'],
});
