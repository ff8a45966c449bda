/**
 * cachier on Redis, seen from two "machines" (two clients, as two processes would have):
 * both ask for the same slow result at once; one calculates it, the other is woken through
 * pub/sub the moment it is stored. A later call is a hit, one HMGET.
 *
 *   npm run example:redis                                        # redis://127.0.0.1:6379
 *   CACHIER_TEST_REDIS_URL=redis://host:6380 npm run example:redis
 */

import { cachier, RedisCore } from 'cachier';
import { createClient } from 'redis';

const url = process.env.CACHIER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
// Fail fast when the server is down instead of retrying for ever.
const connect = () =>
  createClient({ url, socket: { connectTimeout: 3000, reconnectStrategy: false } }).connect();
const [clientA, clientB] = await Promise.all([connect(), connect()]);

const started = Date.now();
const log = (who: string, what: string) =>
  console.log(`${String(Date.now() - started).padStart(5)} ms  ${who}: ${what}`);

/** The function both machines cache: slow, so the second caller has to wait. */
let calculations = 0;
async function slowSquare(n: number): Promise<number> {
  calculations++;
  log('  ', `calculating ${n}² (1 s)`);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return n * n;
}

// A unique prefix keeps this run's keys apart from anything else on the server.
const prefix = `cachier-example:${process.pid}:`;
const onMachineA = cachier(slowSquare, {
  name: 'slowSquare',
  backend: new RedisCore({ client: clientA, prefix }),
});
const onMachineB = cachier(slowSquare, {
  name: 'slowSquare',
  backend: new RedisCore({ client: clientB, prefix }),
});

const [a, b] = await Promise.all([
  onMachineA(12).then((value) => {
    log('A', `got ${value}`);
    return value;
  }),
  // B starts a moment later, finds A's claim and waits for its value.
  new Promise((resolve) => setTimeout(resolve, 50))
    .then(() => onMachineB(12))
    .then((value) => {
      log('B', `got ${value} (woken by pub/sub, not calculated)`);
      return value;
    }),
]);
log('B', `again: ${await onMachineB(12)} (a hit)`);

console.log('\nIn Redis:');
for await (const keys of clientA.scanIterator({ MATCH: `${prefix}*` })) {
  for (const redisKey of keys) {
    const fields = await clientA.hGetAll(redisKey);
    console.log(`  ${redisKey}  HASH  t=${fields.t} f=${fields.f} v=<${fields.v?.length} bytes>`);
  }
}

// The short form: `redisClient` selects the Redis backend (prefix 'cachier:').
const viaOption = cachier(slowSquare, { name: 'slowSquareViaOption', redisClient: clientA });
log('A', `{ redisClient }: ${await viaOption(3)}, then ${await viaOption(3)} (a hit)`);

await onMachineA.clearCache();
await viaOption.clearCache();
if (a !== 144 || b !== 144 || calculations !== 2) {
  throw new Error('both machines should have got 144 from one calculation');
}
// Closing the clients is all it takes: cachier's pub/sub connection closes with them.
await Promise.all([clientA.quit(), clientB.quit()]);
