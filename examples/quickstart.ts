/**
 * Quick start: a deliberately slow function on the default file core (~/.cachier).
 * Called twice here, then once more from a second process: only the first call waits.
 *
 *   npm run example
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cachier } from 'cachier';

async function slowSquare(n: number): Promise<{ n: number; square: number; at: Date }> {
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return { n, square: n * n, at: new Date() };
}

const square = cachier(slowSquare, { staleAfter: { minutes: 10 } });

async function timed(label: string): Promise<void> {
  const start = performance.now();
  const result = await square(12);
  const ms = (performance.now() - start).toFixed(1);
  console.log(
    `${label}: square(12) = ${result.square} in ${ms} ms (calculated at ${result.at.toISOString()})`,
  );
}

if (process.argv.includes('--second-process')) {
  await timed(`second process (pid ${process.pid})`);
} else {
  await square.clearCache();
  console.log(`cache folder: ${square.cacheDpath()}`);
  await timed('first call  ');
  await timed('second call ');
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--second-process'],
    { stdio: 'inherit' },
  );
  process.exitCode = child.status ?? 1;
}
