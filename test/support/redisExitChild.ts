/**
 * A child program for the Redis core's "never keeps a program alive" tests, run as
 * `node --import tsx test/support/redisExitChild.ts <url> <quit|unref>`.
 *
 * It uses every part of a RedisCore (entry, claim, an active pub/sub subscription), then
 * lets go of the user's client the way the mode says (`quit`: `await client.quit()`;
 * `unref`: `client.unref()`, leaving it connected) and simply ends: it never calls
 * `process.exit`, so the parent sees whether anything the core started holds the process.
 */
import { createClient } from 'redis';
import { RedisCore } from '../../src/cores/redis.js';

const [url, mode] = process.argv.slice(2);
const client = await createClient({ url }).connect();
const core = new RedisCore({ client, prefix: `cachier-exit-test:${process.pid}:` });
const key = 'a'.repeat(64);

await core.set('exit', key, { bytes: new Uint8Array([1, 2, 3]), calculatedAt: Date.now() });
await core.get('exit', key);
const claim = await core.tryClaim('exit', key);
await claim?.renew();
// Keep a subscription open (its connection too), as a waiter would while others calculate.
await new Promise<void>((resolve) => {
  core.subscribe('exit', key, resolve); // called once the subscription is active
});
await claim?.release();
await core.clear('exit');
if (mode === 'quit') await client.quit();
else client.unref();
process.stdout.write('done\n');
