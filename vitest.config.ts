import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Type tests (test/types/*.test-d.ts) run with every `vitest run`: a type regression
    // fails the suite like a behaviour regression.
    typecheck: {
      enabled: true,
      include: ['test/**/*.test-d.ts'],
      tsconfig: './tsconfig.json',
    },
    reporters: ['default', './test/support/summaryReporter.ts'],
    setupFiles: ['./test/support/quietWarnings.ts'],
  },
});
