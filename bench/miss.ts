/**
 * A miss on each core: read, claim, calculate, store, release, for a key never seen before.
 * The function itself is a few microseconds, timed alone as the lower bound, so a core's
 * overhead is its median minus the function's. Peers' misses are shown for context.
 */
import { mkdirSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { cachier, FileCore, MemoryCore } from 'cachier';
import memoizeFs from 'memoize-fs';
import pMemoize from 'p-memoize';
import {
  BENCH_DIR,
  formatRatio,
  formatUs,
  inParallel,
  median,
  progress,
  ramFolder,
  type ScenarioResult,
  SMOKE,
  sampleValue,
  type TargetCheck,
  type Timing,
  tempFolder,
  timeCalls,
  timingTable,
} from './harness.js';
import { openMongoForBench } from './mongoSetup.js';

type Value = ReturnType<typeof sampleValue>;

const LARGE = SMOKE ? 100 : 100_000;
/** Pairs of calls in the alternated comparison (one floor step, one miss). */
const ALTERNATED_PAIRS = SMOKE ? 20 : 3000;
const FUNCTION_ALONE = 'lower bound: the function alone';

interface FileSystemUnderTest {
  label: string;
  root: string;
}

function fileSystems(): FileSystemUnderTest[] {
  const list = [{ label: `disk (${BENCH_DIR})`, root: BENCH_DIR }];
  const ram = ramFolder();
  if (ram) list.push({ label: `tmpfs (${ram})`, root: ram });
  return list;
}

export async function run(): Promise<ScenarioResult> {
  const folders = fileSystems().map((fs) => ({ ...fs, folder: tempFolder('miss', fs.root) }));
  const mongo = await openMongoForBench();
  try {
    return await measure(folders, mongo);
  } finally {
    await mongo?.close();
    progress('removing the cache folders');
    for (const { folder } of folders) folder.remove();
  }
}

async function measure(
  fileSystemsUnderTest: (FileSystemUnderTest & { folder: { path: string } })[],
  mongo: Awaited<ReturnType<typeof openMongoForBench>>,
): Promise<ScenarioResult> {
  let calculations = 0;
  const compute = async (id: number): Promise<Value> => {
    calculations++;
    return sampleValue(id);
  };
  // Every timed call uses an id no contender has seen.
  let next = 1_000_000;
  const timings: Timing[] = [];
  const fills: Record<string, number> = {};

  const timeMisses = async (name: string, fn: (id: number) => Promise<unknown>) => {
    const before = calculations;
    let called = 0;
    const timing = await timeCalls(name, () => {
      called++;
      return fn(next++);
    });
    if (fn !== compute && calculations - before !== called) {
      throw new Error(`${name}: ${called} calls but ${calculations - before} calculations`);
    }
    timings.push(timing);
    return timing;
  };

  const alone = await timeMisses(FUNCTION_ALONE, compute);
  await timeMisses(
    'cachier memory core',
    cachier(compute, { name: 'bench-miss', backend: new MemoryCore() }),
  );

  const targets: TargetCheck[] = [];
  const floors: string[] = [];
  for (const { label, folder } of fileSystemsUnderTest) {
    const root = folder.path;
    // What any one-file-per-entry store with a mkdir lock must do: the file system's share.
    const floorDir = join(root, 'floor');
    mkdirSync(floorDir);
    const bytes = serialize(sampleValue(1));
    let f = 0;
    const floorStep = async () => {
      const n = f++;
      const lock = join(floorDir, `${n}.lock`);
      const temp = join(floorDir, `${n}.tmp`);
      mkdirSync(lock);
      writeFileSync(temp, bytes, { mode: 0o600 });
      renameSync(temp, join(floorDir, `${n}`));
      rmdirSync(lock);
    };
    const floor = await timeCalls(
      `floor on ${label}: mkdir + new file + rename + rmdir (sync)`,
      floorStep,
    );
    timings.push(floor);
    floors.push(`${label} ${formatUs(floor.medianUs)}`);

    // The least any cachier miss can cost here: the floor's file-system calls made by the
    // function of a memory-core miss, so the call algorithm runs around them (no read that
    // finds nothing, no owner record, no re-read).
    const floorInsideAlgorithm = cachier(
      async (id: number) => {
        const lock = join(floorDir, `least-${id}.lock`);
        const temp = join(floorDir, `least-${id}.tmp`);
        mkdirSync(lock);
        writeFileSync(temp, serialize(sampleValue(id)), { mode: 0o600 });
        renameSync(temp, join(floorDir, `least-${id}`));
        rmdirSync(lock);
        return id;
      },
      { name: 'bench-miss-least', backend: new MemoryCore() },
    );
    const least = await timeCalls(
      `least possible on ${label}: the floor inside a memory-core miss`,
      () => floorInsideAlgorithm(next++),
    );
    timings.push(least);

    const small = cachier(compute, {
      name: 'bench-miss-small',
      backend: new FileCore({ cacheDir: join(root, 'small') }),
    });
    await inParallel(10, 10, (i) => small.precacheValue([i], sampleValue(i)));
    const fromSmall = await timeMisses(`cachier file core on ${label}, from 10 entries`, small);

    const large = cachier(compute, {
      name: 'bench-miss-large',
      backend: new FileCore({ cacheDir: join(root, 'large') }),
    });
    progress(`filling the file core on ${label} to ${LARGE} entries`);
    const begun = performance.now();
    await inParallel(LARGE, 16, (i) => large.precacheValue([i], sampleValue(i)));
    fills[`cachier file core on ${label} to ${LARGE}`] = performance.now() - begun;
    const fromLarge = await timeMisses(
      `cachier file core on ${label}, from ${LARGE.toLocaleString('en-US')} entries`,
      large,
    );
    // One floor step and one miss in turn, so both see the same load: a disk's floor swings
    // between separate runs (journal commits, other writers) far more than within a pair.
    progress(`timing floor and file-core miss on ${label}, alternated call by call`);
    const floorSamples: number[] = [];
    const missSamples: number[] = [];
    for (let i = 0; i < ALTERNATED_PAIRS; i++) {
      const started = performance.now();
      await floorStep();
      const between = performance.now();
      await small(next++);
      missSamples.push(performance.now() - between);
      floorSamples.push(between - started);
    }
    const alternatedFloorUs = median(floorSamples) * 1000;
    const alternatedMissUs = median(missSamples) * 1000;

    // On tmpfs cachier's own work shows; on a disk the file system's operations dominate.
    const limit = root.startsWith('/dev/shm') ? 2 : 1.2;
    const alternatedRatio = alternatedMissUs / alternatedFloorUs;
    targets.push({
      target: `file-core miss ≤ ${limit}× its file-system floor, ${label}, alternated call by call`,
      measured: `${formatRatio(alternatedRatio)} (${formatUs(alternatedMissUs)} vs floor ${formatUs(alternatedFloorUs)}, medians of ${ALTERNATED_PAIRS.toLocaleString('en-US')} pairs)`,
      met: alternatedRatio <= limit,
    });
    for (const [timing, size] of [
      [fromSmall, 10],
      [fromLarge, LARGE],
    ] as const) {
      const ratio = timing.medianUs / floor.medianUs;
      targets.push({
        target: `file-core miss ≤ ${limit}× its file-system floor, ${label}, from ${size.toLocaleString('en-US')} entries`,
        measured: `${formatRatio(ratio)} (${formatUs(timing.medianUs)} vs floor ${formatUs(floor.medianUs)}; the least possible: ${formatRatio(least.medianUs / floor.medianUs)})`,
        met: ratio <= limit,
      });
    }
  }

  if (mongo) {
    await timeMisses(
      'cachier MongoDB core',
      cachier(compute, { name: 'bench-miss', backend: mongo.core }),
    );
  }

  await timeMisses('p-memoize (memory)', pMemoize(compute));
  const memoizer = memoizeFs({
    cachePath: join(
      (fileSystemsUnderTest[0] as { folder: { path: string } }).folder.path,
      'memoize-fs',
    ),
  });
  await timeMisses(
    `memoize-fs (file, ${fileSystemsUnderTest[0]?.label})`,
    await memoizer.fn(compute, { cacheId: 'bench-miss' }),
  );

  const cachierFirst = timings.find((t) => t.name.startsWith('cachier file core')) as Timing;
  const table = timingTable(
    'Miss: calculate and store a new key',
    timings,
    FUNCTION_ALONE,
    cachierFirst.name,
    [
      'One miss per sample, each with a key never seen before (the file folders grow by one entry per call).',
      'A miss on the file core reads the entry (nothing there), takes a lock (mkdir, an owner record, a fencing readdir), re-reads the entry, calls the function, writes a temp file, renames it into place and releases the lock (unlink, rmdir). The floor rows time the lock, write and release alone, synchronously; the "least possible" rows make those same calls from inside a memory-core miss, so the call algorithm runs around them: no cachier miss can cost less.',
      `Overhead beyond the function (median − function alone): ${timings
        .filter((t) => t !== alone && !t.name.startsWith('floor') && !t.name.startsWith('least'))
        .map((t) => `${t.name} ${formatUs(t.medianUs - alone.medianUs)}`)
        .join('; ')}.`,
    ],
  );
  if (mongo) table.notes?.push(`MongoDB: ${mongo.description}.`);
  return {
    id: 'miss',
    title: 'Miss (calculate + store)',
    tables: [table],
    targets,
    data: { timings, fillMs: fills, floors, mongo: mongo?.description ?? 'not available' },
  };
}
