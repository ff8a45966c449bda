import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // mongodb is an optional peer: it must stay a runtime import, never bundled.
  external: ['mongodb'],
});
