/**
 * A waiter process for mongo.changeStream.crossProcess.test.ts, run as
 * `node --import tsx test/crossProcess/mongoWakeChild.ts <uri> <db>`.
 *
 * It calls `wake('x')` through cachier while another process holds the key's claim, on a
 * MongoCore whose reads after the first are held until the core's push signal (the change
 * stream) has reported a change to the key since the previous read: polling alone can
 * never bring the value here, so a result proves the change stream woke the waiter.
 * Prints one JSON line per event and the result, closes its client and simply ends (so
 * the run also checks that the change stream keeps nothing alive).
 */
import { MongoClient } from 'mongodb';
import { cachier, MongoCore } from '../../src/index.js';

const [uri = '', dbName = ''] = process.argv.slice(2);
const print = (message: object) => process.stdout.write(`${JSON.stringify(message)}\n`);

/** Counts push signals for each key it reads; a read waits for one newer than the last read. */
class PushGatedCore extends MongoCore {
  private readonly pushes = new Map<string, { count: number; stop: () => void }>();
  private readonly pending = new Set<() => void>();
  private readonly lastSeen = new Map<string, number>();
  reads = 0;

  override async get(name: string, key: string) {
    const id = `${name}\u0000${key}`;
    let state = this.pushes.get(id);
    if (!state) {
      // Held for the whole call, so no push between two reads can be missed.
      const created: { count: number; stop: () => void } = { count: 0, stop: () => undefined };
      created.stop = this.subscribe(name, key, () => {
        created.count++;
        for (const release of [...this.pending]) release();
      });
      this.pushes.set(id, created);
      state = created;
    } else {
      const seen = this.lastSeen.get(id) ?? 0;
      const current = state;
      while (current.count === seen) {
        await new Promise<void>((resolve) => {
          const release = () => {
            this.pending.delete(release);
            resolve();
          };
          this.pending.add(release);
        });
      }
    }
    this.lastSeen.set(id, state.count);
    this.reads++;
    return super.get(name, key);
  }

  stopAll(): void {
    for (const state of this.pushes.values()) state.stop();
  }
}

const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
const core = new PushGatedCore({ mongetter: () => client.db(dbName).collection('cache') });
const wake = cachier(async (_id: string) => ({ by: 'waiter' }), {
  name: 'wake',
  backend: core,
  onEvent: (event) => {
    if (event.type === 'wait' || event.type === 'wait-end' || event.type === 'calculate') {
      print({ event: event.type, ...('reason' in event ? { reason: event.reason } : {}) });
    }
  },
});
try {
  const value = await wake('x');
  print({ event: 'result', value, reads: core.reads });
} finally {
  core.stopAll();
  await client.close();
}
