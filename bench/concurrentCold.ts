/**
 * 1,000 concurrent calls of one key on a cold cache: how many times each library runs the
 * function (counted, not inferred from timing) and how long until all 1,000 have a value.
 */
import { join } from 'node:path';
import { type CacheEntry, cachified } from '@epic-web/cachified';
import { createCache as createDedupeCache } from 'async-cache-dedupe';
import { createCache as createCacheManager } from 'cache-manager';
import { cachier, FileCore, MemoryCore } from 'cachier';
import { LRUCache } from 'lru-cache';
import memoizeFs from 'memoize-fs';
import memoizee from 'memoizee';
import pMemoize from 'p-memoize';
import {
  formatMs,
  median,
  type ScenarioResult,
  SMOKE,
  sampleValue,
  sleep,
  type TargetCheck,
  tempFolder,
} from './harness.js';
import { openMongoForBench } from './mongoSetup.js';

type Value = ReturnType<typeof sampleValue>;
type Compute = (key: string) => Promise<Value>;
/** Makes a contender's cached function around `compute`, once per contender. */
type Factory = (compute: Compute) => Promise<(key: string) => Promise<Value>>;

const CALLS = 1000;
const ROUNDS = SMOKE ? 1 : 5;
const FUNCTION_MS = 20;
const MONGO = 'cachier MongoDB core';

interface Outcome {
  name: string;
  cachier: boolean;
  calculations: number[];
  wallMs: number[];
  /** MongoDB only: the commands each round sent, by name. */
  commands?: Record<string, number>[];
}

/** Median round trip of one small command (findOne of an absent _id) to the bench's MongoDB. */
async function mongoRoundTripMs(
  mongo: NonNullable<Awaited<ReturnType<typeof openMongoForBench>>>,
): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < (SMOKE ? 3 : 30); i++) {
    const begun = performance.now();
    await mongo.collection.findOne({ _id: `absent-${i}` as never });
    times.push(performance.now() - begun);
  }
  return median(times);
}

function difference(after: Record<string, number>, before: Record<string, number>) {
  const out: Record<string, number> = {};
  for (const [name, count] of Object.entries(after)) {
    const sent = count - (before[name] ?? 0);
    if (sent > 0) out[name] = sent;
  }
  return out;
}

export async function run(): Promise<ScenarioResult> {
  const folder = tempFolder('concurrent');
  const mongo = await openMongoForBench();
  try {
    const contenders: [string, Factory, boolean][] = [
      [
        'cachier memory core',
        async (f) => cachier(f, { name: 'bench-cold', backend: new MemoryCore() }),
        true,
      ],
      [
        'cachier file core',
        async (f) =>
          cachier(f, {
            name: 'bench-cold',
            backend: new FileCore({ cacheDir: join(folder.path, 'cachier') }),
          }),
        true,
      ],
    ];
    if (mongo) {
      contenders.push([
        MONGO,
        async (f) => cachier(f, { name: 'bench-cold', backend: mongo.core }),
        true,
      ]);
    }
    contenders.push(
      ['p-memoize', async (f) => pMemoize(f), false],
      ['memoizee (promise: true)', async (f) => memoizee(f, { promise: true }), false],
      [
        'async-cache-dedupe',
        async (f) => {
          const cache = createDedupeCache({ ttl: 3600, storage: { type: 'memory' } }).define(
            'lookup',
            f,
          );
          return (key) => cache.lookup(key);
        },
        false,
      ],
      [
        '@epic-web/cachified + Map',
        async (f) => {
          const cache = new Map<string, CacheEntry>();
          return (key) => cachified({ key, cache, getFreshValue: () => f(key) });
        },
        false,
      ],
      [
        '@epic-web/cachified + lru-cache',
        async (f) => {
          const cache = new LRUCache<string, CacheEntry>({ max: 1000 });
          return (key) => cachified({ key, cache, getFreshValue: () => f(key) });
        },
        false,
      ],
      [
        'cache-manager wrap',
        async (f) => {
          const cache = createCacheManager();
          return (key) => cache.wrap(key, () => f(key));
        },
        false,
      ],
      [
        'memoize-fs',
        async (f) =>
          memoizeFs({ cachePath: join(folder.path, 'memoize-fs') }).fn(f, { cacheId: 'cold' }),
        false,
      ],
    );

    const outcomes: Outcome[] = [];
    for (const [name, factory, ours] of contenders) {
      let calculations = 0;
      const compute: Compute = async (key) => {
        calculations++;
        await sleep(FUNCTION_MS);
        return { ...sampleValue(1), name: key };
      };
      const cached = await factory(compute);
      const outcome: Outcome = { name, cachier: ours, calculations: [], wallMs: [] };
      const countsCommands = mongo !== undefined && name === MONGO;
      if (countsCommands) outcome.commands = [];
      for (let round = 0; round < ROUNDS; round++) {
        const key = `cold-${round}`;
        calculations = 0;
        const sentBefore = countsCommands ? mongo.commandsByName() : {};
        const begun = performance.now();
        const values = await Promise.all(Array.from({ length: CALLS }, () => cached(key)));
        outcome.wallMs.push(performance.now() - begun);
        outcome.calculations.push(calculations);
        if (countsCommands) outcome.commands?.push(difference(mongo.commandsByName(), sentBefore));
        if (values.some((v) => v.name !== key)) throw new Error(`${name} returned a wrong value`);
        // Let stores and releases that finish after the last caller settle before the next round.
        await sleep(50);
      }
      outcomes.push(outcome);
    }

    const describeCalcs = (calcs: number[]) => {
      const min = Math.min(...calcs);
      const max = Math.max(...calcs);
      return min === max ? `${min}` : `${min}–${max}`;
    };
    const roundTripMs = mongo ? await mongoRoundTripMs(mongo) : undefined;
    const targets: TargetCheck[] = outcomes
      .filter((o) => o.cachier)
      .map((o) => ({
        target: `${CALLS.toLocaleString('en-US')} concurrent calls of one key, ${o.name.replace('cachier ', '')}: exactly one calculation`,
        measured: `${describeCalcs(o.calculations)} per round (${ROUNDS} rounds)`,
        met: o.calculations.every((c) => c === 1),
      }));
    const onMongo = outcomes.find((o) => o.name === MONGO);
    const mongoNotes: string[] = [];
    if (onMongo?.commands && roundTripMs !== undefined) {
      const limit = 2 * FUNCTION_MS + 3 * roundTripMs;
      const wall = median(onMongo.wallMs);
      targets.push({
        target: `${CALLS.toLocaleString('en-US')} concurrent calls, MongoDB core: all done within 2 × the function (${FUNCTION_MS} ms) + 3 round trips (${formatMs(roundTripMs)} each)`,
        measured: `${formatMs(wall)} (limit ${formatMs(limit)})`,
        met: wall <= limit,
      });
      const perRound = onMongo.commands.map((c) =>
        Object.entries(c)
          .sort()
          .map(([n, k]) => `${n} ${k}`)
          .join(', '),
      );
      const reads = onMongo.commands.map((c) => c.find ?? 0);
      targets.push({
        target: `${CALLS.toLocaleString('en-US')} concurrent calls, MongoDB core: the callers share their reads (one read before the claim, one re-read after it)`,
        measured: `find ${describeCalcs(reads)} per round`,
        met: reads.every((n) => n <= 2),
      });
      mongoNotes.push(
        `MongoDB commands per round of ${CALLS.toLocaleString('en-US')} calls: ${[...new Set(perRound)].join(' | ')}; one small command's round trip: ${formatMs(roundTripMs)} (median).`,
      );
    }
    return {
      id: 'concurrent-cold',
      title: '1,000 concurrent calls of one key, cold cache',
      tables: [
        {
          title: `${CALLS.toLocaleString('en-US')} concurrent calls of one key on a cold cache (the function takes ${FUNCTION_MS} ms)`,
          header: ['contender', 'calculations per round', 'median time until all have the value'],
          rows: outcomes.map((o) => [
            o.cachier ? `**${o.name}**` : o.name,
            describeCalcs(o.calculations),
            formatMs(median(o.wallMs)),
          ]),
          notes: [
            `${ROUNDS} rounds, each with a new key; calculations are counted inside the function.${
              mongo ? ` MongoDB: ${mongo.description}.` : ''
            }`,
            ...mongoNotes,
          ],
        },
      ],
      targets,
      data: { outcomes, calls: CALLS, functionMs: FUNCTION_MS, mongoRoundTripMs: roundTripMs },
    };
  } finally {
    await mongo?.close();
    folder.remove();
  }
}
