import { defineConfig } from 'tsup';

export default defineConfig({
  // `cachier/testing` is its own entry so the conformance kit (and node:assert) never
  // loads with the library.
  entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // mongodb is an optional peer: it must stay a runtime import, never bundled.
  external: ['mongodb'],
});
