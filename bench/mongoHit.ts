/**
 * MongoDB-core hit vs the raw driver's `findOne` of the same document (same filter and
 * projection) on the same collection, and the number of commands (round trips) a hit
 * sends, counted with the driver's command monitoring. Uses CACHIER_TEST_MONGODB_URI
 * when set, else the wire-protocol test server in its own process.
 */
import { cachier } from 'cachier';
import { defaultKey } from '../src/keys.js';
import {
  formatRatio,
  type ScenarioResult,
  SMOKE,
  sampleValue,
  type Timing,
  timeCalls,
  timingTable,
} from './harness.js';
import { openMongoForBench } from './mongoSetup.js';

const KEYS = 16;
const RAW = 'lower bound: raw driver findOne (same filter and projection)';
const CACHIER = 'cachier MongoDB core';

export async function run(): Promise<ScenarioResult> {
  const mongo = await openMongoForBench();
  if (!mongo) {
    return {
      id: 'mongo-hit',
      title: 'MongoDB-core hit',
      tables: [],
      targets: [],
      data: {},
      skipped: 'this checkout has no MongoDB core (src/cores/mongo.ts)',
    };
  }
  try {
    let calculations = 0;
    const name = 'bench-mongo-hit';
    const cached = cachier(
      async (id: number) => {
        calculations++;
        return sampleValue(id);
      },
      { name, backend: mongo.core },
    );
    for (let id = 0; id < KEYS; id++) await cached(id);
    const keys = Array.from({ length: KEYS }, (_, id) => defaultKey([id]));
    const rawFindOne = (id: number) =>
      mongo.collection.findOne(
        { name, key: keys[id] },
        { projection: { _id: 0, value: 1, calculatedAt: 1, formatVersion: 1 } },
      );
    if (!(await rawFindOne(3))) throw new Error('the raw findOne did not find the cached document');

    const before = calculations;
    // The server, the driver and both code paths warm up together before either is timed,
    // so the one timed first does not pay for everyone's warm-up.
    const warmUntil = performance.now() + (SMOKE ? 50 : 2000);
    for (let n = 0; performance.now() < warmUntil; n++) {
      await rawFindOne(n % KEYS);
      await cached(n % KEYS);
    }
    let i = 0;
    const timings: Timing[] = [
      await timeCalls(RAW, () => rawFindOne(i++ % KEYS), { batch: 4 }),
      await timeCalls(CACHIER, () => cached(i++ % KEYS), { batch: 4 }),
    ];
    if (calculations !== before) throw new Error('MongoDB-core timed calls were not all hits');

    const hits = 200;
    const commandsBefore = mongo.commandsSent();
    for (let n = 0; n < hits; n++) await cached(n % KEYS);
    const perHit = (mongo.commandsSent() - commandsBefore) / hits;

    const ours = timings[1] as Timing;
    const raw = timings[0] as Timing;
    return {
      id: 'mongo-hit',
      title: 'MongoDB-core hit',
      tables: [
        timingTable('MongoDB-core hit vs the raw driver', timings, RAW, CACHIER, [
          `MongoDB: ${mongo.description}. Each sample is 4 calls in a row, rotating over ${KEYS} keys.`,
          `Commands sent per hit (command monitoring, ${hits} hits): ${perHit}.`,
        ]),
      ],
      targets: [
        {
          target: 'a MongoDB-core hit costs one round trip',
          measured: `${perHit} commands per hit`,
          met: perHit === 1,
        },
        {
          target: 'MongoDB-core hit vs raw findOne (information)',
          measured: formatRatio(ours.medianUs / raw.medianUs),
          met: true,
        },
      ],
      data: { timings, commandsPerHit: perHit, mongo: mongo.description },
    };
  } finally {
    await mongo.close();
  }
}
