/**
 * What metrics cost on the fastest path, a memory-core hit: metrics off (the default),
 * metrics on, and the floor (an async function around a `Map` lookup), as ratios. With
 * metrics off a wrapper makes no recorder and no per-call listener (one boolean test per
 * call), so its hit costs what the memory-hit scenario measures; the table shows that
 * beside the floor, and what turning metrics on adds.
 */
import { cachier, MemoryCore } from 'cachier';
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

const KEYS = 16;
const BATCH = 200;
const FLOOR = 'floor: async fn + Map.get';
const OFF = 'cachier, metrics off';
const ON = 'cachier, metrics on';

export async function run(): Promise<ScenarioResult> {
  let calculations = 0;
  const compute = async (id: number, lang: string): Promise<Value> => {
    calculations++;
    return { ...sampleValue(id), name: `${lang}-${id}` };
  };
  const map = new Map<string, Value>();
  const floor: Lookup = async (id, lang) => map.get(`${id}:${lang}`);
  const off = cachier(compute, { name: 'bench-metrics-off', backend: new MemoryCore() });
  const on = cachier(compute, {
    name: 'bench-metrics-on',
    backend: new MemoryCore(),
    enableMetrics: true,
  });
  const contenders: [string, Lookup][] = [
    [FLOOR, floor],
    [OFF, off],
    [ON, on],
  ];

  for (let id = 0; id < KEYS; id++) map.set(`${id}:en`, await compute(id, 'en'));
  for (const [, lookup] of contenders) {
    for (let id = 0; id < KEYS; id++) await lookup(id, 'en');
  }
  for (const [name, lookup] of contenders) {
    if ((await lookup(3, 'en'))?.name !== 'en-3') throw new Error(`${name} returned a wrong value`);
  }

  const timings: Timing[] = [];
  for (const [name, lookup] of contenders) {
    let i = 0;
    const before = calculations;
    timings.push(await timeCalls(name, () => lookup(i++ % KEYS, 'en'), { batch: BATCH }));
    if (calculations !== before) throw new Error(`${name}: timed calls were not all hits`);
  }
  // The metered wrapper counted every timed hit: metrics were really on while timed.
  if (on.metrics().hits === 0 || off.metrics().hits !== 0) {
    throw new Error('metrics were not on (or off) as the scenario says');
  }

  const byName = (name: string) => timings.find((t) => t.name === name) as Timing;
  const offOverFloor = byName(OFF).medianUs / byName(FLOOR).medianUs;
  const onOverOff = byName(ON).medianUs / byName(OFF).medianUs;
  return {
    id: 'metrics-off',
    title: 'Metrics off vs on (memory-core hit)',
    tables: [
      timingTable('Memory-core hit with metrics off and on', timings, FLOOR, OFF, [
        `Each sample is ${BATCH} awaited hits in a row; median and p99 are per call (p99 of batch means).`,
        `Metrics on adds ${formatRatio(onOverOff)} of a metrics-off hit (a listener per call, two clock reads, a window write).`,
      ]),
    ],
    targets: [
      {
        target: 'metrics on: a memory-core hit ≤ 2× the same hit with metrics off',
        measured: formatRatio(onOverOff),
        met: onOverOff <= 2,
      },
    ],
    data: { timings, offOverFloor, onOverOff },
  };
}
