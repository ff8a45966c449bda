/**
 * A child program for file.diskFull.test.ts, run under `ulimit -f 0` (no file may grow
 * past 0 bytes: creating works, every write fails with EFBIG, as on a full disk):
 * `node --import tsx test/cores/fileDiskFullChild.ts <cacheDir> <name>`. It calls a
 * cached function (small and large values) and one that throws, and prints one JSON line:
 * the values, how often the function ran, the function's own error, and the warnings.
 */
import { cachier, FileCore } from '../../src/index.js';

const [cacheDir = '', name = ''] = process.argv.slice(2);
const warnings: { code: string | undefined; message: string }[] = [];
process.on('warning', (warning) => {
  if (warning.name === 'CachierWarning') {
    warnings.push({ code: (warning as Error & { code?: string }).code, message: warning.message });
  }
});
const core = new FileCore({ cacheDir });
let calls = 0;
const cached = cachier(
  async (size: number) => {
    calls++;
    return `secret-${'v'.repeat(size)}`;
  },
  { backend: core, name },
);
const values = [await cached(10), await cached(10), await cached(100_000)].map((v) => v.length);
const failing = cachier(
  async () => {
    throw new Error('own error');
  },
  { backend: core, name: `${name}-throws` },
);
const failed = await failing().then(
  () => 'resolved',
  (error: Error) => error.message,
);
await new Promise((resolve) => setImmediate(resolve));
process.stdout.write(`${JSON.stringify({ values, calls, failed, warnings })}\n`);
