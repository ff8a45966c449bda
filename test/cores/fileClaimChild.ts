/**
 * A child process for the file core's takeover tests, driving claims through the core
 * directly: `node --import tsx test/cores/fileClaimChild.ts '<FileClaimRequest as JSON>'`.
 *
 * - `hold`: claims every key, prints `{"event":"claimed"}`, then stays alive (keeping the
 *   claims fresh) until the parent kills it.
 * - `exit`: claims every key, prints `{"event":"claimed"}`, then ends with `process.exit()`
 *   while still holding them.
 * - `race`: prints `{"event":"ready"}`, waits for a line on stdin, then for each key in
 *   order does what the call algorithm does on a miss: read; if absent, try to claim; on
 *   a won claim read again and, if still absent, "calculate" (append `<pid> <key>` to the
 *   log, wait `calcMs`), store and release; on a lost claim wait a little (with jitter)
 *   and start over. Prints `{"event":"claimed","key","at"}` when it wins a claim.
 */
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { FileCore } from '../../src/cores/file.js';
import { sleep } from '../support/time.js';

/** What the child is asked to do. */
export interface FileClaimRequest {
  mode: 'hold' | 'exit' | 'race';
  cacheDir: string;
  name: string;
  keys: string[];
  leaseMs: number;
  /** Calculation log (race). */
  log?: string;
  /** How long a calculation takes (race). */
  calcMs?: number;
  /** Poll interval between claim attempts (race). */
  pollMs?: number;
}

const request = JSON.parse(process.argv[2] ?? '{}') as FileClaimRequest;
const core = new FileCore({ cacheDir: request.cacheDir, leaseMs: request.leaseMs });
const say = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);

async function hold(): Promise<void> {
  for (const key of request.keys) {
    const claim = await core.tryClaim(request.name, key);
    if (!claim) throw new Error(`could not claim ${key}`);
  }
  say({ event: 'claimed' });
  if (request.mode === 'exit') process.exit(0);
  setInterval(() => undefined, 60_000);
}

async function race(): Promise<void> {
  say({ event: 'ready' });
  await new Promise<void>((done) => {
    const lines = createInterface({ input: process.stdin });
    lines.once('line', () => {
      lines.close();
      done();
    });
  });
  const pollMs = request.pollMs ?? 10;
  for (const key of request.keys) {
    for (;;) {
      if (await core.get(request.name, key)) break;
      const claim = await core.tryClaim(request.name, key);
      if (claim) {
        say({ event: 'claimed', key, at: Date.now() });
        if (!(await core.get(request.name, key))) {
          appendFileSync(request.log as string, `${process.pid} ${key}\n`);
          await sleep(request.calcMs ?? 0);
          await core.set(request.name, key, {
            bytes: new Uint8Array(Buffer.from(`by ${process.pid}`)),
            calculatedAt: Date.now(),
          });
        }
        await claim.release();
        break;
      }
      await sleep(pollMs / 2 + Math.random() * pollMs);
    }
  }
  say({ event: 'done' });
}

(request.mode === 'race' ? race() : hold()).catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exitCode = 1;
});
