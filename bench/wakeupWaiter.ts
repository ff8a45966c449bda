/**
 * The waiting process of the cross-process wake-up scenario (bench/crossProcessWakeup.ts).
 * It wraps the same function under the same name and store as its parent, calls a key the
 * parent is calculating when told to, says when it starts waiting, and reports the moment
 * the value comes back (performance.timeOrigin + performance.now(), comparable across
 * processes on one machine).
 */

import { cachier, FileCore } from 'cachier';
import type { AnyCore as Core } from '../src/cores/contract.js';

/** How the parent describes the store to use. */
export type WaiterStore =
  | { kind: 'file'; cacheDir: string }
  | { kind: 'mongo'; uri: string; dbName: string; collectionName: string };

export type ToWaiter = { call: number } | { exit: true };
export type FromWaiter =
  | { ready: true }
  | { waiting: number }
  | { returned: number; at: number; calculatedHere: boolean };

const store = JSON.parse(process.env.CACHIER_BENCH_WAITER_STORE ?? 'null') as WaiterStore | null;
if (!store) throw new Error('CACHIER_BENCH_WAITER_STORE is not set');
const name = process.env.CACHIER_BENCH_WAITER_NAME ?? 'bench-wakeup';

const send = (message: FromWaiter) => process.send?.(message);

let closeStore: () => Promise<void> = async () => undefined;
let core: Core;
if (store.kind === 'file') {
  core = new FileCore({ cacheDir: store.cacheDir });
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

let currentId = -1;
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
