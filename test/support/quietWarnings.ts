/**
 * Every test file starts with this (vitest `setupFiles`): Node's own printer of process
 * warnings no longer prints CachierWarnings, so a passing `npm test` shows no stray warning
 * lines. Nothing else changes: the warnings are still emitted, and the tests that cause
 * them assert them (through `process.on('warning')` or test/support/warnings.ts).
 */
const printers = process.listeners('warning');
for (const printer of printers) process.off('warning', printer);
process.on('warning', (warning) => {
  if (warning.name === 'CachierWarning') return;
  for (const printer of printers) printer(warning);
});
