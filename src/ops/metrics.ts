import type { CachierEvent, NotStoredReason } from '../events.js';
import { shared } from '../processState.js';

/**
 * Latency percentiles over the most recent samples, in milliseconds (`undefined` before
 * the first sample).
 *
 * @example
 * const { p50, p95, p99, count } = report.metrics().latency.hit;
 */
export interface LatencySummary {
  /** Samples in the window (at most {@link LATENCY_WINDOW}). */
  count: number;
  p50: number | undefined;
  p95: number | undefined;
  p99: number | undefined;
}

/**
 * What one wrapped function did since it was made (or since `metrics.reset()`), as
 * returned by `fn.metrics()` when `enableMetrics` is on.
 *
 * @example
 * const m = report.metrics();
 * console.log(m.hits / (m.hits + m.misses), m.latency.calculation.p95);
 */
export interface CachierMetrics {
  /** The wrapper's cache identity. */
  name: string;
  /** The core's kind: 'memory', 'file', 'mongo', ... */
  core: string;
  /** Calls answered from the cache with a fresh value. */
  hits: number;
  /** Calls answered with a stale value while a background refresh runs (`nextTime`). */
  staleHits: number;
  /** Calls that found no usable value (absent, stale, corrupt, `overwriteCache`). */
  misses: number;
  /** Calculations run here: in a caller's path, or as a background refresh. */
  calculations: { foreground: number; background: number };
  /** Calls that waited for another calculation: in this process, or another owner's. */
  waits: { thisProcess: number; otherOwner: number };
  /** Waits ended by `waitForCalcTimeout`. */
  waitTimeouts: number;
  /** Callers that joined a calculation already running in this process. */
  dedupes: number;
  /** Store operations that failed (the calls went on without the cache). */
  storeFailures: number;
  /** Calculated values that were returned but not stored, by reason. */
  notStored: Record<NotStoredReason, number>;
  /** Latency of hits, calculations and waits over the last {@link LATENCY_WINDOW} of each. */
  latency: { hit: LatencySummary; calculation: LatencySummary; wait: LatencySummary };
}

/** How many recent samples each latency summary covers. */
export const LATENCY_WINDOW = 1024;

/** A bounded window of samples: the newest {@link LATENCY_WINDOW} overwrite the oldest. */
class SampleWindow {
  private readonly samples = new Float64Array(LATENCY_WINDOW);
  private next = 0;
  private size = 0;

  add(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % LATENCY_WINDOW;
    if (this.size < LATENCY_WINDOW) this.size++;
  }

  summary(): LatencySummary {
    if (this.size === 0) return { count: 0, p50: undefined, p95: undefined, p99: undefined };
    const sorted = this.samples.slice(0, this.size).sort();
    const at = (q: number) => sorted[Math.min(this.size - 1, Math.ceil(q * this.size) - 1)];
    return { count: this.size, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
  }

  reset(): void {
    this.next = 0;
    this.size = 0;
  }
}

/**
 * Receives each latency sample as it is taken (seconds), e.g. to feed a Prometheus
 * histogram.
 */
export type SampleListener = (
  recorder: MetricsRecorder,
  kind: 'hit' | 'calculation' | 'wait',
  seconds: number,
) => void;

// Per process, not per copy of the code: `cachier/prometheus` is its own bundle, and the
// ESM and CommonJS builds may both be loaded; every copy must see every recorder. Found
// on first use, not on import: importing cachier touches no global ("sideEffects": false).
let recorderSet: Set<WeakRef<MetricsRecorder>> | undefined;
let sampleListenerSet: Set<SampleListener> | undefined;
const recorders = () =>
  (recorderSet ??= shared('metricsRecorders', () => new Set<WeakRef<MetricsRecorder>>()));
const sampleListeners = () =>
  (sampleListenerSet ??= shared('metricsSampleListeners', () => new Set<SampleListener>()));

/** Every live recorder of this process (wrappers with `enableMetrics`). */
export function liveRecorders(): MetricsRecorder[] {
  const live: MetricsRecorder[] = [];
  for (const ref of recorders()) {
    const recorder = ref.deref();
    if (recorder) live.push(recorder);
    else recorders().delete(ref);
  }
  return live;
}

/** Calls `listener` with every latency sample of every recorder; returns the unsubscribe. */
export function onSample(listener: SampleListener): () => void {
  sampleListeners().add(listener);
  return () => sampleListeners().delete(listener);
}

function emptyNotStored(): Record<NotStoredReason, number> {
  return {
    'none-not-allowed': 0,
    'should-cache': 0,
    'too-large': 0,
    unserializable: 0,
    'store-failed': 0,
    superseded: 0,
  };
}

/**
 * Counts one wrapper's cache decisions from its event stream (a listener like any other)
 * and times hits, calculations and waits per call. Exists only when `enableMetrics` is on,
 * so calls without metrics pay nothing.
 */
export class MetricsRecorder {
  private counts = this.zero();
  private readonly hit = new SampleWindow();
  private readonly calculation = new SampleWindow();
  private readonly wait = new SampleWindow();

  constructor(
    readonly name: string,
    readonly core: string,
    register = true,
  ) {
    if (register) recorders().add(new WeakRef(this));
  }

  /** A listener for one call's events; it times the call from `started` (`performance.now()`). */
  track(started = performance.now()): (event: CachierEvent) => void {
    let calculating = 0;
    let waiting = 0;
    return (event) => {
      const c = this.counts;
      switch (event.type) {
        case 'hit':
          c.hits++;
          this.sample('hit', this.hit, performance.now() - started);
          return;
        case 'stale':
          if (event.action === 'recalculate') c.misses++;
          else c.staleHits++;
          return;
        case 'miss':
          if (event.reason !== 'corrupt-entry') c.misses++;
          return;
        case 'calculate':
          if (event.background) c.calculations.background++;
          else c.calculations.foreground++;
          calculating = performance.now();
          return;
        case 'stored':
        case 'not-stored':
          if (event.type === 'not-stored') c.notStored[event.reason]++;
          if (calculating)
            this.sample('calculation', this.calculation, performance.now() - calculating);
          calculating = 0;
          return;
        case 'wait':
          if (event.on === 'this-process') {
            c.waits.thisProcess++;
            c.dedupes++;
          } else {
            c.waits.otherOwner++;
          }
          waiting = performance.now();
          return;
        case 'wait-end':
          if (event.reason === 'timeout') c.waitTimeouts++;
          if (waiting) this.sample('wait', this.wait, performance.now() - waiting);
          waiting = 0;
          return;
        case 'store-error':
          c.storeFailures++;
          return;
        default:
          return;
      }
    };
  }

  /** A plain copy of the counts and latency summaries. */
  snapshot(): CachierMetrics {
    const c = this.counts;
    return {
      name: this.name,
      core: this.core,
      ...c,
      calculations: { ...c.calculations },
      waits: { ...c.waits },
      notStored: { ...c.notStored },
      latency: {
        hit: this.hit.summary(),
        calculation: this.calculation.summary(),
        wait: this.wait.summary(),
      },
    };
  }

  reset(): void {
    this.counts = this.zero();
    this.hit.reset();
    this.calculation.reset();
    this.wait.reset();
  }

  /**
   * Counts and times a hit that a value core served synchronously while this recorder is
   * the call's only listener: the call algorithm skips the event it would build for it.
   */
  hitSince(started: number): void {
    this.counts.hits++;
    this.sample('hit', this.hit, performance.now() - started);
  }

  private sample(kind: 'hit' | 'calculation' | 'wait', window: SampleWindow, ms: number): void {
    window.add(ms);
    const listeners = sampleListeners();
    if (listeners.size === 0) return;
    for (const listener of listeners) listener(this, kind, ms / 1000);
  }

  private zero() {
    return {
      hits: 0,
      staleHits: 0,
      misses: 0,
      calculations: { foreground: 0, background: 0 },
      waits: { thisProcess: 0, otherOwner: 0 },
      waitTimeouts: 0,
      dedupes: 0,
      storeFailures: 0,
      notStored: emptyNotStored(),
    };
  }
}
