/**
 * Memory-core hit vs the in-memory memoizers users would pick instead, and the lower
 * bound: an async function around a `Map` lookup. Every contender is keyed by both
 * arguments and already holds the value; the timed calls are hits only (checked).
 */
import { type CacheEntry, cachified } from '@epic-web/cachified';
import { createCache as createDedupeCache } from 'async-cache-dedupe';
import { createCache as createCacheManager } from 'cache-manager';
import { cachier, MemoryCore } from 'cachier';
import { LRUCache } from 'lru-cache';
import memoizee from 'memoizee';
import pMemoize from 'p-memoize';
import {
  formatRatio,
  type ScenarioResult,
  sampleValue,
  type Timing,
  timeCalls,
  timingTable,
} from './harness.js';

type Value = ReturnType<typeof sampleValue>;
type Lookup = (id: number, lang: string) => Promise<Value | undefined>;

/** Keys the timed calls rotate through, so no contender sees one key only. */
const KEYS = 16;
const BATCH = 200;
export const CACHIER = 'cachier memory core';
export const P_MEMOIZE = 'p-memoize (JSON.stringify key)';
const LOWER_BOUND = 'lower bound: async fn + Map.get';
const MEMOIZEE = 'memoizee (promise: true)';

export async function run(): Promise<ScenarioResult> {
  let calculations = 0;
  const compute = async (id: number, lang: string): Promise<Value> => {
    calculations++;
    return { ...sampleValue(id), name: `${lang}-${id}` };
  };

  const map = new Map<string, Value>();
  const lowerBound: Lookup = async (id, lang) => map.get(`${id}:${lang}`);

  const cachedFn = cachier(compute, { name: 'bench-memory-hit', backend: new MemoryCore() });

  const pMemoized = pMemoize(compute, { cacheKey: (args) => JSON.stringify(args) });

  const memoized = memoizee(compute, { promise: true });

  const dedupe = createDedupeCache({ ttl: 3600, storage: { type: 'memory' } }).define(
    'lookup',
    async ({ id, lang }: { id: number; lang: string }) => compute(id, lang),
  );

  const cachifiedMap = new Map<string, CacheEntry>();
  const viaCachifiedMap: Lookup = (id, lang) =>
    cachified({
      key: JSON.stringify([id, lang]),
      cache: cachifiedMap,
      getFreshValue: () => compute(id, lang),
    });

  const lru = new LRUCache<string, CacheEntry>({ max: 10_000 });
  const viaCachifiedLru: Lookup = (id, lang) =>
    cachified({
      key: JSON.stringify([id, lang]),
      cache: lru,
      getFreshValue: () => compute(id, lang),
    });

  const manager = createCacheManager();
  const viaCacheManager: Lookup = (id, lang) =>
    manager.wrap(JSON.stringify([id, lang]), () => compute(id, lang));

  const contenders: [string, Lookup][] = [
    [LOWER_BOUND, lowerBound],
    [CACHIER, cachedFn],
    [P_MEMOIZE, pMemoized],
    [MEMOIZEE, memoized],
    ['async-cache-dedupe', (id, lang) => dedupe.lookup({ id, lang })],
    ['@epic-web/cachified + Map', viaCachifiedMap],
    ['@epic-web/cachified + lru-cache', viaCachifiedLru],
    ['cache-manager wrap', viaCacheManager],
  ];

  // Fill every cache (the lower bound's Map directly), then check each one answers right.
  for (let id = 0; id < KEYS; id++) map.set(`${id}:en`, await compute(id, 'en'));
  for (const [, lookup] of contenders) {
    for (let id = 0; id < KEYS; id++) await lookup(id, 'en');
  }
  for (const [name, lookup] of contenders) {
    const value = await lookup(3, 'en');
    if (value?.name !== 'en-3') throw new Error(`${name} returned a wrong value`);
  }

  const timings: Timing[] = [];
  const leaks: string[] = [];
  for (const [name, lookup] of contenders) {
    let i = 0;
    const before = calculations;
    timings.push(await timeCalls(name, () => lookup(i++ % KEYS, 'en'), { batch: BATCH }));
    if (calculations !== before) leaks.push(`${name}: ${calculations - before} calculations`);
  }
  if (leaks.length) throw new Error(`timed calls were not all hits: ${leaks.join(', ')}`);

  const ours = timings.find((t) => t.name === CACHIER) as Timing;
  const pm = timings.find((t) => t.name === P_MEMOIZE) as Timing;
  const floor = timings.find((t) => t.name === LOWER_BOUND) as Timing;
  const memoizeeTiming = timings.find((t) => t.name === MEMOIZEE) as Timing;
  const ratio = ours.medianUs / pm.medianUs;
  const oursToFloor = ours.medianUs / floor.medianUs;
  const memoizeeToFloor = memoizeeTiming.medianUs / floor.medianUs;
  return {
    id: 'memory-hit',
    title: 'Memory-core hit',
    tables: [
      timingTable(
        'Memory-core hit (two arguments, 16 keys in rotation)',
        timings,
        LOWER_BOUND,
        CACHIER,
        [
          `Each sample is ${BATCH} awaited hits in a row; median and p99 are per call (p99 of batch means).`,
        ],
      ),
    ],
    targets: [
      {
        target: 'memory-core hit ≤ memoizee, both as multiples of the floor (async fn + Map.get)',
        measured: `${formatRatio(oursToFloor)} vs memoizee ${formatRatio(memoizeeToFloor)}`,
        met: oursToFloor <= memoizeeToFloor,
      },
      {
        target: 'memory-core hit ≤ 1.3× p-memoize (JSON.stringify cacheKey)',
        measured: formatRatio(ratio),
        met: ratio <= 1.3,
      },
    ],
    data: { timings },
  };
}
