/**
 * Shared pieces of the benchmark: the smoke switch, per-call timing on tinybench, the
 * result shapes that scenarios hand back to bench/run.ts, and number formatting.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bench } from 'tinybench';

/**
 * Node flags for a process that runs benchmark code: TypeScript compiled without tsx's
 * name-keeping wrappers, the package loaded as built (see asBuilt.mjs).
 */
export const AS_BUILT: string[] = ['--import', new URL('./asBuilt.mjs', import.meta.url).href];

/** `--smoke` (or CACHIER_BENCH_SMOKE=1): every scenario, very few iterations; proves the bench runs. */
export const SMOKE = process.argv.includes('--smoke') || process.env.CACHIER_BENCH_SMOKE === '1';

/** One contender's per-call latency. Durations are in microseconds. */
export interface Timing {
  name: string;
  medianUs: number;
  p99Us: number;
  meanUs: number;
  opsPerSec: number;
  /** Timed samples; each sample is `callsPerSample` awaited calls in a row. */
  samples: number;
  callsPerSample: number;
}

/** A Markdown table: header cells and rows of cells. */
export interface Table {
  title: string;
  header: string[];
  rows: string[][];
  notes?: string[];
}

/** One target of the issue, measured. */
export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

/** What a scenario hands back: tables for the report, targets, and its raw numbers. */
export interface ScenarioResult {
  id: string;
  title: string;
  tables: Table[];
  targets: TargetCheck[];
  data: Record<string, unknown>;
  /** Set when the scenario could not run here (e.g. no MongoDB core yet). */
  skipped?: string;
}

export interface TimeOptions {
  /**
   * Awaited calls per timed sample. A sub-microsecond call is shorter than the cost of
   * reading the clock twice, so fast paths are timed in batches and divided; the p99 is
   * then the p99 of batch means (it hides single outliers inside a batch).
   */
  batch?: number;
  /** Milliseconds of sampling (after warm-up). */
  timeMs?: number;
}

/**
 * Times `fn` (an awaited call) with tinybench and returns per-call figures. Contenders
 * of one scenario are timed one after another in the same process.
 */
export async function timeCalls(
  name: string,
  fn: () => Promise<unknown>,
  options: TimeOptions = {},
): Promise<Timing> {
  const batch = options.batch ?? 1;
  const bench = new Bench({
    time: SMOKE ? 5 : (options.timeMs ?? 1500),
    iterations: SMOKE ? 5 : 64,
    warmupTime: SMOKE ? 2 : 300,
    warmupIterations: SMOKE ? 2 : 32,
    throws: true,
  });
  bench.add(
    name,
    batch === 1
      ? fn
      : async () => {
          for (let i = 0; i < batch; i++) await fn();
        },
  );
  progress(`timing ${name}`);
  const [task] = await bench.run();
  const result = task?.result;
  if (!result || !('latency' in result)) {
    throw new Error(`benchmark ${name} did not complete (${result?.state ?? 'no result'})`);
  }
  const { latency } = result;
  return {
    name,
    medianUs: (latency.p50 * 1000) / batch,
    p99Us: (latency.p99 * 1000) / batch,
    meanUs: (latency.mean * 1000) / batch,
    opsPerSec: (1000 * batch) / latency.mean,
    samples: latency.samplesCount,
    callsPerSample: batch,
  };
}

/** A duration in microseconds, readable: `0.21 µs`, `14.2 µs`, `3.10 ms`, `1.20 s`. */
export function formatUs(us: number): string {
  if (!Number.isFinite(us)) return 'n/a';
  if (us >= 1_000_000) return `${(us / 1_000_000).toFixed(2)} s`;
  if (us >= 1000) return `${(us / 1000).toFixed(2)} ms`;
  if (us >= 100) return `${us.toFixed(0)} µs`;
  if (us >= 10) return `${us.toFixed(1)} µs`;
  return `${us.toFixed(2)} µs`;
}

export function formatMs(ms: number): string {
  return formatUs(ms * 1000);
}

/** Operations per second with thousands separators. */
export function formatOps(ops: number): string {
  return Math.round(ops).toLocaleString('en-US');
}

export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return 'n/a';
  return ratio >= 10 ? `${ratio.toFixed(0)}×` : `${ratio.toFixed(2)}×`;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

/**
 * A latency table: one row per contender with median, p99, ops/s, and the ratio of its
 * median to the reference row's and to cachier's (both measured in this run).
 */
export function timingTable(
  title: string,
  timings: readonly Timing[],
  reference: string,
  cachier: string,
  notes: string[] = [],
): Table {
  const ref = timings.find((t) => t.name === reference);
  const ours = timings.find((t) => t.name === cachier);
  return {
    title,
    header: ['contender', 'median / call', 'p99 / call', 'ops/s', `× ${reference}`, `× ${cachier}`],
    rows: timings.map((t) => [
      t.name === cachier ? `**${t.name}**` : t.name,
      formatUs(t.medianUs),
      formatUs(t.p99Us),
      formatOps(t.opsPerSec),
      ref ? formatRatio(t.medianUs / ref.medianUs) : 'n/a',
      ours ? formatRatio(t.medianUs / ours.medianUs) : 'n/a',
    ]),
    notes,
  };
}

/** Where file scenarios keep their caches: CACHIER_BENCH_DIR, else the OS temp folder. */
export const BENCH_DIR = process.env.CACHIER_BENCH_DIR || tmpdir();

/**
 * A RAM-backed folder (Linux /dev/shm), used beside BENCH_DIR to tell the cost of the
 * file system's operations from cachier's own; undefined where there is none.
 */
export function ramFolder(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const probe = mkdtempSync('/dev/shm/cachier-bench-probe-');
    rmSync(probe, { recursive: true, force: true });
    return '/dev/shm';
  } catch {
    return undefined;
  }
}

/** A fresh folder under `root` (default BENCH_DIR); removed by the returned function. */
export function tempFolder(prefix: string, root = BENCH_DIR): { path: string; remove: () => void } {
  const path = mkdtempSync(join(root, `cachier-bench-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The small value every contender stores: a typical JSON-ish record. */
export function sampleValue(id: number): {
  id: number;
  name: string;
  tags: string[];
  score: number;
} {
  return { id, name: `item-${id}`, tags: ['alpha', 'beta'], score: id * 1.5 };
}

/** Runs `count` tasks with at most `width` in flight (populating big caches quickly). */
export async function inParallel(
  count: number,
  width: number,
  task: (index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, worker));
}

const processStart = performance.now();

/** A progress line on stderr (stdout carries the report). */
export function progress(message: string): void {
  process.stderr.write(
    `  [${((performance.now() - processStart) / 1000).toFixed(1)} s] ${message}\n`,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
