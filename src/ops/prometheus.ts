import { Counter, register as defaultRegistry, Histogram, type Registry } from 'prom-client';
import type { NotStoredReason } from '../events.js';
import { type CachierMetrics, liveRecorders, onSample } from './metrics.js';

/** Options of {@link registerCachierMetrics}. */
export interface CachierPrometheusOptions {
  /**
   * Histogram buckets in seconds, per latency.
   * @default hit: 10 µs to 100 ms; calculation and wait: 5 ms to 60 s
   * @example registerCachierMetrics(registry, { buckets: { calculation: [0.1, 1, 10] } })
   */
  buckets?: { hit?: number[]; calculation?: number[]; wait?: number[] };
}

const HIT_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1];
const SLOW_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

const NOT_STORED_REASONS: readonly NotStoredReason[] = [
  'none-not-allowed',
  'should-cache',
  'too-large',
  'unserializable',
  'store-failed',
  'superseded',
];

type Labels = { name: string; core: string };
type Snapshot = CachierMetrics;

/** A counter whose value is read from every live wrapper's snapshot at scrape time. */
interface CounterSpec {
  name: string;
  help: string;
  /** Labels besides `name` and `core`. */
  extra: readonly string[];
  /** Each labelled value of one wrapper's snapshot. */
  values: (m: Snapshot) => Array<[Record<string, string>, number]>;
}

let scrape: Snapshot[] | undefined;

/**
 * Every live wrapper's snapshot, taken once per scrape: a registry collects all its
 * metrics in one synchronous run, so the snapshots are dropped at the next microtask.
 */
function snapshots(): Snapshot[] {
  if (scrape === undefined) {
    scrape = liveRecorders().map((recorder) => recorder.snapshot());
    queueMicrotask(() => {
      scrape = undefined;
    });
  }
  return scrape;
}

function counter(spec: CounterSpec, registry: Registry): void {
  new Counter<string>({
    name: spec.name,
    help: spec.help,
    labelNames: ['name', 'core', ...spec.extra],
    registers: [registry],
    collect() {
      // Counts live in the wrappers; each scrape restates them. Wrappers sharing a name
      // and core are summed.
      this.reset();
      for (const m of snapshots()) {
        for (const [extra, value] of spec.values(m)) {
          this.inc({ name: m.name, core: m.core, ...extra }, value);
        }
      }
    },
  });
}

const plain =
  (read: (m: Snapshot) => number) =>
  (m: Snapshot): Array<[Record<string, string>, number]> => [[{}, read(m)]];

const COUNTERS: readonly CounterSpec[] = [
  {
    name: 'cachier_hits_total',
    help: 'Calls answered with a fresh cached value.',
    extra: [],
    values: plain((m) => m.hits),
  },
  {
    name: 'cachier_stale_hits_total',
    help: 'Calls answered with a stale value while a background refresh runs (nextTime).',
    extra: [],
    values: plain((m) => m.staleHits),
  },
  {
    name: 'cachier_misses_total',
    help: 'Calls that found no usable cached value.',
    extra: [],
    values: plain((m) => m.misses),
  },
  {
    name: 'cachier_calculations_total',
    help: "Calculations run in this process, in a caller's path or as a background refresh.",
    extra: ['kind'],
    values: (m) => [
      [{ kind: 'foreground' }, m.calculations.foreground],
      [{ kind: 'background' }, m.calculations.background],
    ],
  },
  {
    name: 'cachier_waits_total',
    help: 'Calls that waited for a calculation running in this process or by another owner.',
    extra: ['on'],
    values: (m) => [
      [{ on: 'this_process' }, m.waits.thisProcess],
      [{ on: 'other_owner' }, m.waits.otherOwner],
    ],
  },
  {
    name: 'cachier_wait_timeouts_total',
    help: 'Waits ended by waitForCalcTimeout.',
    extra: [],
    values: plain((m) => m.waitTimeouts),
  },
  {
    name: 'cachier_dedupes_total',
    help: 'Callers that joined a calculation already running in this process.',
    extra: [],
    values: plain((m) => m.dedupes),
  },
  {
    name: 'cachier_store_failures_total',
    help: 'Store operations that failed (the calls went on without the cache).',
    extra: [],
    values: plain((m) => m.storeFailures),
  },
  {
    name: 'cachier_not_stored_total',
    help: 'Calculated values returned but not stored, by reason.',
    extra: ['reason'],
    values: (m) => NOT_STORED_REASONS.map((reason) => [{ reason }, m.notStored[reason]]),
  },
];

/**
 * Exposes every cachier wrapper with `enableMetrics` on (made before or after this call)
 * in a prom-client registry, labelled by the wrapper's `name` and `core`:
 *
 * - counters, read from the wrappers at each scrape: `cachier_hits_total`,
 *   `cachier_stale_hits_total`, `cachier_misses_total`,
 *   `cachier_calculations_total{kind="foreground"|"background"}`,
 *   `cachier_waits_total{on="this_process"|"other_owner"}`, `cachier_wait_timeouts_total`,
 *   `cachier_dedupes_total`, `cachier_store_failures_total`,
 *   `cachier_not_stored_total{reason}`;
 * - histograms, fed as calls happen: `cachier_hit_duration_seconds`,
 *   `cachier_calculation_duration_seconds`, `cachier_wait_duration_seconds`.
 *
 * `fn.metrics.reset()` restarts that wrapper's counters (Prometheus treats it as a counter
 * reset). Needs the optional peer dependency `prom-client` (15 or later). Returns a
 * function that removes these metrics from the registry and stops feeding the histograms.
 *
 * @param registry where to register; prom-client's default registry when omitted
 * @throws when cachier's metrics are already registered in `registry`
 * @example
 * import { createServer } from 'node:http';
 * import { Registry } from 'prom-client';
 * import { cachier } from 'cachier';
 * import { registerCachierMetrics } from 'cachier/prometheus';
 *
 * const registry = new Registry();
 * registerCachierMetrics(registry);
 * const report = cachier(fetchReport, { enableMetrics: true });
 * createServer(async (req, res) => {
 *   res.setHeader('Content-Type', registry.contentType);
 *   res.end(await registry.metrics());
 * }).listen(9464);
 */
export function registerCachierMetrics(
  registry: Registry = defaultRegistry,
  options: CachierPrometheusOptions = {},
): () => void {
  const registered: string[] = [];
  let stopSamples: (() => void) | undefined;
  const unregister = () => {
    stopSamples?.();
    for (const name of registered) registry.removeSingleMetric(name);
  };
  try {
    for (const spec of COUNTERS) {
      counter(spec, registry);
      registered.push(spec.name);
    }
    const buckets = options.buckets ?? {};
    const histogram = (name: string, help: string, chosen: number[]) => {
      const made = new Histogram<'name' | 'core'>({
        name,
        help,
        labelNames: ['name', 'core'],
        buckets: chosen,
        registers: [registry],
      });
      registered.push(name);
      return made;
    };
    const histograms = {
      hit: histogram(
        'cachier_hit_duration_seconds',
        'Time to answer a call with a fresh cached value.',
        buckets.hit ?? HIT_BUCKETS,
      ),
      calculation: histogram(
        'cachier_calculation_duration_seconds',
        'Time to calculate a value and store it.',
        buckets.calculation ?? SLOW_BUCKETS,
      ),
      wait: histogram(
        'cachier_wait_duration_seconds',
        'Time a call waited for another calculation of its key.',
        buckets.wait ?? SLOW_BUCKETS,
      ),
    };
    stopSamples = onSample((recorder, kind, seconds) => {
      const labels: Labels = { name: recorder.name, core: recorder.core };
      histograms[kind].observe(labels, seconds);
    });
  } catch (error) {
    // Leave the registry as it was: a half-registered set would block a retry.
    unregister();
    throw error;
  }
  return unregister;
}
