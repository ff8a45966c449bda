/**
 * The Redis core, seen from two "machines" (two clients, as two processes would have):
 * one claims a key and calculates, the other finds the claim taken and is woken through
 * pub/sub the moment the value is stored. Then it shows what is kept in Redis.
 *
 *   npm run example:redis                                        # redis://127.0.0.1:6379
 *   CACHIER_TEST_REDIS_URL=redis://host:6380 npm run example:redis
 *
 * With cachier's call algorithm this is what `cachier(fn, { backend: new RedisCore({ client }) })`
 * does on every miss; the example drives the core directly to show each step.
 */
import { createHash } from 'node:crypto';
import { createClient } from 'redis';
import { RedisCore } from '../src/cores/redis.js';

const url = process.env.CACHIER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
// Fail fast when the server is down instead of retrying for ever.
const connect = () =>
  createClient({ url, socket: { connectTimeout: 3000, reconnectStrategy: false } }).connect();
const [clientA, clientB] = await Promise.all([connect(), connect()]);
const prefix = `cachier-example:${process.pid}:`;
const machineA = new RedisCore({ client: clientA, prefix, operationTimeoutMs: 2000 });
const machineB = new RedisCore({ client: clientB, prefix, operationTimeoutMs: 2000 });

const name = 'slowSquare';
const key = createHash('sha256').update('[12]').digest('hex'); // cachier hashes the arguments
const started = Date.now();
const log = (who: string, what: string) =>
  console.log(`${String(Date.now() - started).padStart(5)} ms  ${who}: ${what}`);

// Machine A wins the claim and calculates.
const claim = await machineA.tryClaim(name, key);
log('A', claim ? 'claimed the key, calculating for 1 s' : 'lost the claim?');

// Machine B finds the claim taken, subscribes, and waits for a change.
log(
  'B',
  (await machineB.tryClaim(name, key)) ? 'claimed?' : 'the key is being calculated: waiting',
);
const woken = new Promise<void>((resolve) => {
  let done = false;
  const unsubscribe = machineB.subscribe(name, key, async () => {
    const entry = await machineB.get(name, key);
    // No value yet: the subscription just became active (a check-again call), or a change
    // without a value. Already done: the release's signal arrived while we were reading.
    if (!entry || done) return;
    done = true;
    unsubscribe();
    log('B', `woken by pub/sub, read ${JSON.parse(Buffer.from(entry.bytes).toString())}`);
    resolve();
  });
});

await new Promise((resolve) => setTimeout(resolve, 1000));
const bytes = Buffer.from(JSON.stringify(12 * 12)); // cachier serializes the value
await machineA.set(name, key, { bytes, calculatedAt: Date.now() });
log('A', 'stored the value');
await claim?.release();
log('A', 'released the claim');
await woken;

console.log('\nIn Redis:');
for await (const keys of clientA.scanIterator({ MATCH: `${prefix}*` })) {
  for (const redisKey of keys) {
    const fields = await clientA.hGetAll(redisKey);
    console.log(`  ${redisKey}  HASH  t=${fields.t} f=${fields.f} v=<${fields.v?.length} bytes>`);
  }
}
for await (const info of machineA.list(name)) {
  console.log(
    `  list(): ${info.key.slice(0, 12)}… ${info.size} bytes, calculated at ${info.calculatedAt}`,
  );
}

await machineA.clear(name);
await Promise.all([clientA.quit(), clientB.quit()]);
