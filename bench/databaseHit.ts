/**
 * Redis- and PostgreSQL-core hits vs the raw client reading the same entry in the same
 * run (Redis: `HMGET` of the entry's fields; PostgreSQL: the same `SELECT` by primary
 * key), and the round trips a hit costs: Redis commands counted by the server itself
 * (INFO total_commands_processed), PostgreSQL statements counted at the pool.
 */
import { cachier } from 'cachier';
import { defaultKey } from '../src/keys.js';
import { openPostgresForBench, openRedisForBench } from './databaseSetup.js';
import {
  formatRatio,
  progress,
  type ScenarioResult,
  SMOKE,
  sampleValue,
  type Table,
  type TargetCheck,
  type Timing,
  timeCalls,
  timingTable,
} from './harness.js';

const KEYS = 16;
const HITS = 200;

interface Measured {
  table: Table;
  targets: TargetCheck[];
  data: Record<string, unknown>;
}

/** Warms both paths together, times them, then counts round trips over `HITS` hits. */
async function compare(
  label: string,
  raw: { name: string; read: (id: number) => Promise<unknown> },
  cached: (id: number) => Promise<unknown>,
  calculations: () => number,
  roundTrips: () => Promise<number>,
  description: string,
): Promise<Measured> {
  const ours = `cachier ${label} core hit`;
  const before = calculations();
  const warmUntil = performance.now() + (SMOKE ? 50 : 2000);
  for (let n = 0; performance.now() < warmUntil; n++) {
    await raw.read(n % KEYS);
    await cached(n % KEYS);
  }
  let i = 0;
  const timings: Timing[] = [
    await timeCalls(raw.name, () => raw.read(i++ % KEYS), { batch: 4 }),
    await timeCalls(ours, () => cached(i++ % KEYS), { batch: 4 }),
  ];
  if (calculations() !== before) throw new Error(`${label}: timed calls were not all hits`);
  const tripsBefore = await roundTrips();
  for (let n = 0; n < HITS; n++) await cached(n % KEYS);
  const perHit = ((await roundTrips()) - tripsBefore) / HITS;
  const [rawTiming, ourTiming] = timings as [Timing, Timing];
  return {
    table: timingTable(`${label}-core hit vs the raw client`, timings, raw.name, ours, [
      `${description}. Each sample is 4 calls in a row, rotating over ${KEYS} keys.`,
      `Round trips per hit (${HITS} hits): ${perHit}.`,
    ]),
    targets: [
      {
        target: `a ${label}-core hit costs one round trip`,
        measured: `${perHit} per hit`,
        met: perHit === 1,
      },
      {
        target: `${label}-core hit vs the raw client (information)`,
        measured: formatRatio(ourTiming.medianUs / rawTiming.medianUs),
        met: true,
      },
    ],
    data: { timings, roundTripsPerHit: perHit, description },
  };
}

function countedFunction() {
  let calculations = 0;
  return {
    fn: async (id: number) => {
      calculations++;
      return sampleValue(id);
    },
    calculations: () => calculations,
  };
}

export async function run(): Promise<ScenarioResult> {
  const measured: Measured[] = [];
  const skipped: string[] = [];

  progress('Redis core');
  const redis = await openRedisForBench();
  if (redis.store) {
    const r = redis.store;
    try {
      const name = 'bench-redis-hit';
      const counted = countedFunction();
      const cached = cachier(counted.fn, { name, backend: r.core });
      for (let id = 0; id < KEYS; id++) await cached(id);
      const entryKeys = Array.from(
        { length: KEYS },
        (_, id) => `${r.prefix}${encodeURIComponent(name)}:e:${defaultKey([id])}`,
      );
      const hmget = (id: number) =>
        r.client.sendCommand(['HMGET', entryKeys[id] as string, 'v', 't', 'f']);
      const first: unknown = await hmget(3);
      if (!Array.isArray(first) || first[0] == null) {
        throw new Error('the raw HMGET did not find the cached entry');
      }
      measured.push(
        await compare(
          'Redis',
          { name: 'lower bound: raw client HMGET (same key and fields)', read: hmget },
          cached,
          counted.calculations,
          r.commandsProcessed,
          `Redis: ${r.description}`,
        ),
      );
    } finally {
      await r.close();
    }
  } else skipped.push(`Redis: ${redis.skipped}`);

  progress('PostgreSQL core');
  const postgres = await openPostgresForBench();
  if (postgres.store) {
    const p = postgres.store;
    try {
      const name = 'bench-postgres-hit';
      const counted = countedFunction();
      const cached = cachier(counted.fn, { name, backend: p.core });
      for (let id = 0; id < KEYS; id++) await cached(id);
      const keys = Array.from({ length: KEYS }, (_, id) => defaultKey([id]));
      const select = (id: number) =>
        p.pool.query(
          `SELECT value, calculated_at, format_version FROM "${p.table}" WHERE name = $1 AND key = $2`,
          [name, keys[id]],
        );
      if ((await select(3)).rows.length !== 1) {
        throw new Error('the raw SELECT did not find the cached row');
      }
      measured.push(
        await compare(
          'PostgreSQL',
          { name: 'lower bound: raw pool.query SELECT (same row and columns)', read: select },
          cached,
          counted.calculations,
          async () => p.statementsSent(),
          `PostgreSQL: ${p.description}`,
        ),
      );
    } finally {
      await p.close();
    }
  } else skipped.push(`PostgreSQL: ${postgres.skipped}`);

  const result: ScenarioResult = {
    id: 'database-hit',
    title: 'Redis- and PostgreSQL-core hits',
    tables: measured.map((m) => m.table),
    targets: measured.flatMap((m) => m.targets),
    data: { measured: measured.map((m) => m.data), skipped },
  };
  if (skipped.length) {
    if (measured.length === 0) result.skipped = skipped.join('; ');
    else result.tables.push({ title: 'Skipped', header: ['why'], rows: skipped.map((s) => [s]) });
  }
  return result;
}
