/**
 * The waiting process of the database wake-up scenario (bench/databaseWakeup.ts): as
 * bench/wakeupWaiter.ts, for the Redis, PostgreSQL and MongoDB cores. It wraps the same
 * function under the same name and store as its parent, calls a key the parent is
 * calculating when told to, says when it starts waiting, and reports the moment the value
 * comes back (performance.timeOrigin + performance.now(), comparable across processes).
 */

import { cachier } from 'cachier';
import type { AnyCore as Core } from '../src/cores/contract.js';

/** How the parent describes the store to use. */
export type DatabaseWaiterStore =
  | { kind: 'redis'; url: string; prefix: string }
  | { kind: 'postgres'; url: string; table: string }
  | { kind: 'mongo'; uri: string; dbName: string; collectionName: string };

export type ToWaiter = { call: number } | { exit: true };
export type FromWaiter =
  | { ready: true }
  | { waiting: number }
  | { returned: number; at: number; calculatedHere: boolean };

const store = JSON.parse(
  process.env.CACHIER_BENCH_WAITER_STORE ?? 'null',
) as DatabaseWaiterStore | null;
if (!store) throw new Error('CACHIER_BENCH_WAITER_STORE is not set');
const name = process.env.CACHIER_BENCH_WAITER_NAME ?? 'bench-wakeup';

const send = (message: FromWaiter) => process.send?.(message);

let closeStore: () => Promise<void>;
let core: Core;
if (store.kind === 'redis') {
  const { createClient } = await import('redis');
  const { RedisCore } = await import('cachier');
  const client = await createClient({ url: store.url }).connect();
  core = new RedisCore({ client, prefix: store.prefix });
  closeStore = async () => {
    await client.quit();
  };
} else if (store.kind === 'postgres') {
  const { default: pg } = await import('pg');
  const { PostgresCore } = await import('cachier');
  const pool = new pg.Pool({ connectionString: store.url, max: 2 });
  core = new PostgresCore({ pool, table: store.table });
  closeStore = () => pool.end();
} else {
  const { MongoClient } = await import('mongodb');
  const { MongoCore } = await import('cachier');
  const client = new MongoClient(store.uri, { serverSelectionTimeoutMS: 5000 });
  await client.connect();
  const collection = client.db(store.dbName).collection(store.collectionName);
  core = new MongoCore({ mongetter: () => collection });
  closeStore = () => client.close();
}

const calculatedHere = new Set<number>();
let currentId = -1;
const cached = cachier(
  async (id: number) => {
    calculatedHere.add(id);
    return { id, by: 'waiter' };
  },
  {
    name,
    backend: core,
    onEvent: (event) => {
      if (event.type === 'wait' && event.on === 'other-owner') send({ waiting: currentId });
    },
  },
);

process.on('message', (message: ToWaiter) => {
  if ('exit' in message) {
    void closeStore().then(() => process.exit(0));
    return;
  }
  currentId = message.call;
  void cached(message.call).then((value) => {
    const at = performance.timeOrigin + performance.now();
    send({ returned: value.id, at, calculatedHere: calculatedHere.has(message.call) });
  });
});
// Gone parent (finished or killed): nothing left to wait for.
process.on('disconnect', () => process.exit(0));
send({ ready: true });
