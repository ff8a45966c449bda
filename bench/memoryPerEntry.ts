/**
 * Memory per stored entry: the heap after filling a cache with 100,000 entries, minus the
 * heap before, divided by 100,000 (both after full garbage collections; this scenario's
 * process runs with --expose-gc). Values are small integers, which V8 keeps inside the
 * pointer, so the figure is the cache's own bookkeeping: key, entry object, map slot.
 */
import { type CacheEntry, cachified } from '@epic-web/cachified';
import { createCache as createCacheManager } from 'cache-manager';
import { cachier, MemoryCore } from 'cachier';
import memoizee from 'memoizee';
import pMemoize from 'p-memoize';
import { formatRatio, progress, type ScenarioResult, SMOKE } from './harness.js';

const ENTRIES = SMOKE ? 2000 : 100_000;
const LOWER_BOUND = 'lower bound: Map<string, number>';
const CACHIER = 'cachier memory core';

type Lookup = (id: number, lang: string) => Promise<number | undefined>;

interface Footprint {
  name: string;
  bytesPerEntry: number;
}

function collect(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('memory-per-entry needs node --expose-gc (bench/run.ts passes it)');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

async function footprint(name: string, make: () => Lookup | Promise<Lookup>): Promise<Footprint> {
  progress(name);
  const before = collect();
  const lookup = await make();
  // Batches keep the number of pending promises (not part of the cache) small.
  for (let start = 0; start < ENTRIES; start += 1000) {
    const batch: Promise<unknown>[] = [];
    for (let id = start; id < Math.min(start + 1000, ENTRIES); id++) batch.push(lookup(id, 'en'));
    await Promise.all(batch);
  }
  const after = collect();
  // The cache must still be reachable when the heap is measured.
  if ((await lookup(7, 'en')) !== 7) throw new Error(`${name} lost an entry`);
  return { name, bytesPerEntry: (after - before) / ENTRIES };
}

export async function run(): Promise<ScenarioResult> {
  const compute = async (id: number, _lang: string) => id;
  const results: Footprint[] = [];
  results.push(
    await footprint(LOWER_BOUND, () => {
      const map = new Map<string, number>();
      return async (id, lang) => {
        const key = JSON.stringify([id, lang]);
        let value = map.get(key);
        if (value === undefined) {
          value = await compute(id, lang);
          map.set(key, value);
        }
        return value;
      };
    }),
    await footprint(CACHIER, () =>
      cachier(compute, { name: 'bench-footprint', backend: new MemoryCore() }),
    ),
    await footprint('p-memoize (JSON.stringify key)', () =>
      pMemoize(compute, { cacheKey: (args) => JSON.stringify(args) }),
    ),
    await footprint('memoizee (promise: true)', () => memoizee(compute, { promise: true })),
    await footprint('@epic-web/cachified + Map', () => {
      const cache = new Map<string, CacheEntry>();
      return (id, lang) =>
        cachified({
          key: JSON.stringify([id, lang]),
          cache,
          getFreshValue: () => compute(id, lang),
        });
    }),
    await footprint('cache-manager wrap', () => {
      const cache = createCacheManager();
      return (id, lang) => cache.wrap(JSON.stringify([id, lang]), () => compute(id, lang));
    }),
  );
  const lower = results.find((r) => r.name === LOWER_BOUND) as Footprint;
  const ours = results.find((r) => r.name === CACHIER) as Footprint;
  return {
    id: 'memory-per-entry',
    title: 'Memory per stored entry',
    tables: [
      {
        title: `Heap per entry with ${ENTRIES.toLocaleString('en-US')} entries (two arguments, small-integer values)`,
        header: ['contender', 'bytes per entry', `× ${LOWER_BOUND}`, `× ${CACHIER}`],
        rows: results.map((r) => [
          r.name === CACHIER ? `**${r.name}**` : r.name,
          r.bytesPerEntry.toFixed(0),
          formatRatio(r.bytesPerEntry / lower.bytesPerEntry),
          formatRatio(r.bytesPerEntry / ours.bytesPerEntry),
        ]),
        notes: [
          'cachier keys its in-memory map by the canonical argument encoding itself (no hash) and keeps one small { value, calculatedAt } record per entry.',
        ],
      },
    ],
    targets: [],
    data: { entries: ENTRIES, results },
  };
}
