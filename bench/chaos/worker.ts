/**
 * A chaos worker process, forked by the driver (`bench/chaos/driver.ts`) with IPC:
 * `node --import tsx bench/chaos/worker.ts '<WorkerConfig as JSON>'`.
 *
 * It wraps every function of the catalogue with cachier on the configured store, says
 * `ready`, then runs what the driver sends: a round's calls (each at its planned time,
 * all concurrently), or a verify pass (one call after another, noting whether each came
 * from the cache). It reports every outcome over IPC and appends every calculation start,
 * store and lost claim to the shared log. On `exit` it closes its store and ends on its
 * own: it never calls `process.exit`, so a handle cachier left open would keep it alive
 * and the driver would notice.
 */
import { appendFileSync } from 'node:fs';
import { type AnyCore, type CachierEvent, type Claim, cachier, FileCore } from '../../src/index.js';
import { defaultKey } from '../../src/keys.js';
import { FUNCTIONS, thrownMessage, trueValue } from './catalogue.js';
import {
  type BreakMode,
  type CallOutcome,
  type DriverMessage,
  type Found,
  formatLogLine,
  type LogLine,
  type StoreSpec,
  type WorkerConfig,
  type WorkerMessage,
} from './protocol.js';

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

interface OpenStore {
  core: AnyCore;
  close(): Promise<void>;
}

/** Builds this process's core for the store the driver described. */
async function openStore(spec: StoreSpec): Promise<OpenStore> {
  switch (spec.core) {
    case 'file':
      return {
        core: new FileCore({ cacheDir: spec.cacheDir, leaseMs: spec.leaseMs }),
        close: async () => undefined,
      };
    case 'mongo': {
      const [{ MongoClient }, { MongoCore }] = await Promise.all([
        import('mongodb'),
        import('../../src/cores/mongo.js'),
      ]);
      const client = new MongoClient(spec.uri, { serverSelectionTimeoutMS: 3000 });
      const core = new MongoCore({
        mongetter: () => client.db(spec.db).collection(spec.collection),
        leaseMs: spec.leaseMs,
      });
      return { core, close: () => client.close() };
    }
    case 'redis': {
      const [{ createClient }, { RedisCore }] = await Promise.all([
        import('redis'),
        import('../../src/cores/redis.js'),
      ]);
      const client = await createClient({
        url: spec.url,
        socket: { connectTimeout: 3000, reconnectStrategy: false },
      }).connect();
      const core = new RedisCore({ client, prefix: spec.prefix, leaseMs: spec.leaseMs });
      return { core, close: async () => void (await client.close()) };
    }
    case 'postgres': {
      const [{ default: pg }, { PostgresCore }] = await Promise.all([
        import('pg'),
        import('../../src/cores/postgres.js'),
      ]);
      const pool = new pg.Pool({ connectionString: spec.url, connectionTimeoutMillis: 3000 });
      const core = new PostgresCore({ pool, table: spec.table, leaseMs: spec.leaseMs });
      return { core, close: () => pool.end() };
    }
  }
}

/** `grant-all`: the same core, except that every claim is granted, held or not. */
function grantingEveryClaim(core: AnyCore): AnyCore {
  const granted: Claim = { renew: async () => true, release: async () => undefined };
  return new Proxy(core, {
    get(target, property) {
      if (property === 'tryClaim') return async () => granted;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function send(message: WorkerMessage): void {
  process.send?.(message);
}

async function main(config: WorkerConfig): Promise<void> {
  const broken: BreakMode | undefined = config.break;
  const store = await openStore(config.store);
  const core = broken === 'grant-all' ? grantingEveryClaim(store.core) : store.core;
  /** The verify call in progress (verify calls run one at a time) and what it found. */
  let verifying: { fn: string; hash: string; found: Found } | undefined;
  const log = (kind: LogLine['kind'], fn: string, key: string) =>
    appendFileSync(
      config.log,
      formatLogLine({ kind, phase: verifying ? 'verify' : 'round', fn, key, pid: process.pid }),
    );

  /** Cachier's key (a hash) → the chaos key, so events can be logged by key. */
  const keysByHash = new Map<string, string>();
  const hashOf = (key: string) => {
    const hash = defaultKey([key]);
    keysByHash.set(hash, key);
    return hash;
  };

  const wrapped = new Map<
    string,
    ((key: string) => Promise<unknown>) & { settle(): Promise<void> }
  >();
  for (const f of FUNCTIONS) {
    const calculate = async (key: string) => {
      log('calc', f.name, key);
      await sleep(f.calcMs(key));
      if (f.throws(key)) throw new Error(thrownMessage(f.name, key));
      return trueValue(f.name, broken === 'wrong-value' ? `${key}~wrong` : key);
    };
    const onEvent = (event: CachierEvent) => {
      if (event.type === 'bypass') return;
      const key = keysByHash.get(event.key);
      if (key === undefined) return;
      if (event.type === 'stored' || event.type === 'claim-lost' || event.type === 'store-error') {
        log(event.type, f.name, key);
      }
      if (verifying && verifying.fn === f.name && verifying.hash === event.key) {
        if (event.type === 'hit') verifying.found = 'hit';
        else if (event.type === 'stale') verifying.found = 'stale';
      }
    };
    const fn = cachier(calculate, {
      name: f.name,
      backend: core,
      staleAfter: f.staleAfterMs,
      nextTime: f.staleAfterMs === undefined ? undefined : true,
      onEvent,
    });
    wrapped.set(f.name, fn);
  }
  const settleAll = () => Promise.all([...wrapped.values()].map((fn) => fn.settle()));

  async function call(fn: string, key: string): Promise<CallOutcome> {
    const wrapper = wrapped.get(fn);
    if (!wrapper) throw new Error(`chaos worker: no function ${fn}`);
    hashOf(key);
    const started = Date.now();
    try {
      const value = await wrapper(key);
      return { fn, key, ok: true, value, ms: Date.now() - started };
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      return { fn, key, ok: false, error: text, ms: Date.now() - started };
    }
  }

  let queue = Promise.resolve();
  process.on('message', (message: DriverMessage) => {
    queue = queue.then(async () => {
      switch (message.type) {
        case 'round': {
          await Promise.all(
            message.calls.map(async ({ fn, key, atMs }) => {
              await sleep(atMs);
              send({ type: 'outcome', round: message.round, outcome: await call(fn, key) });
            }),
          );
          // Background refreshes (nextTime) end, and release their claims, before "done".
          await settleAll();
          send({ type: 'round-done', round: message.round });
          return;
        }
        case 'verify': {
          for (const { fn, key } of message.calls) {
            verifying = { fn, hash: hashOf(key), found: 'miss' };
            const outcome = await call(fn, key);
            send({ type: 'verified', round: message.round, outcome, found: verifying.found });
            verifying = undefined;
          }
          await settleAll();
          send({ type: 'round-done', round: message.round });
          return;
        }
        case 'exit':
          await settleAll();
          await store.close();
          process.disconnect();
          return;
      }
    });
  });
  send({ type: 'ready', pid: process.pid });
}

const argument = process.argv[2];
if (argument === undefined) {
  process.stderr.write('usage: worker.ts <WorkerConfig as JSON>\n');
  process.exitCode = 2;
} else {
  main(JSON.parse(argument) as WorkerConfig).catch((error: unknown) => {
    process.stderr.write(`chaos worker failed: ${error instanceof Error ? error.stack : error}\n`);
    process.exitCode = 1;
    process.disconnect?.();
  });
}
