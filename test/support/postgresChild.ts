/**
 * A child program for the PostgreSQL core's exit test, run as
 * `node --import tsx test/support/postgresChild.ts <url> <table> <end-pool|leave-pool>`.
 *
 * It uses a PostgresCore (a write, a claim, and a subscription that is still open and has
 * received a notification), then either calls `pool.end()` (`end-pool`) or leaves a pool
 * made with `allowExitOnIdle` as it is (`leave-pool`), prints `ended` and simply stops:
 * it never calls `process.exit`, so the parent sees whether anything keeps it alive.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresCore } from '../../src/cores/postgres.js';

const [url, table, mode] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, allowExitOnIdle: mode === 'leave-pool' });
const core = new PostgresCore({ pool, table });
const key = randomBytes(32).toString('hex');

let notified: () => void = () => undefined;
const gotNotification = new Promise<void>((resolve) => {
  notified = resolve;
});
core.subscribe('exit-check', key, () => notified());
await core.tryClaim('exit-check', randomBytes(32).toString('hex'));
// Keep writing until the subscription (which connects in the background) reports one.
let received = false;
void gotNotification.then(() => {
  received = true;
});
for (let i = 0; !received && i < 200; i++) {
  await core.set('exit-check', key, { bytes: new Uint8Array([i % 256]), calculatedAt: i });
  await new Promise((resolve) => setTimeout(resolve, 25));
}
console.log(received ? 'notified' : 'never notified');
if (mode === 'end-pool') await pool.end();
console.log('ended');
