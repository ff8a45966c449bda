import { afterEach, describe, expect, it, vi } from 'vitest';
import { cachier, MemoryCore, resetDefaultParams, setDefaultParams } from '../../src/index.js';
import { LATENCY_WINDOW } from '../../src/ops/metrics.js';
import { sleep } from '../support/time.js';

afterEach(() => {
  resetDefaultParams();
  vi.restoreAllMocks();
});

describe('metrics', () => {
  it('count hits, misses, calculations, dedupes and values not stored, with latencies', async () => {
    const cached = cachier(
      async (n: number) => {
        await sleep(5);
        return n === 0 ? null : n;
      },
      { name: 'metered', backend: new MemoryCore(), enableMetrics: true },
    );
    await Promise.all([cached(1), cached(1), cached(1)]);
    await cached(1);
    await cached(1);
    await cached(0);
    const m = cached.metrics();
    expect(m).toMatchObject({
      name: 'metered',
      core: 'memory',
      hits: 2,
      // The three concurrent calls each missed; two of them then joined the first one.
      misses: 4,
      staleHits: 0,
      calculations: { foreground: 2, background: 0 },
      waits: { thisProcess: 2, otherOwner: 0 },
      dedupes: 2,
      waitTimeouts: 0,
      storeFailures: 0,
    });
    expect(m.notStored['none-not-allowed']).toBe(1);
    expect(m.latency.hit.count).toBe(2);
    expect(m.latency.calculation.count).toBe(2);
    expect(m.latency.calculation.p50).toBeGreaterThanOrEqual(4);
    expect(m.latency.wait.count).toBe(2);
    cached.metrics.reset();
    expect(cached.metrics()).toMatchObject({ hits: 0, misses: 0, dedupes: 0 });
    expect(cached.metrics().latency.hit.count).toBe(0);
  });

  it('count stale hits, background calculations, and store failures', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    let now = 0;
    const core = new MemoryCore();
    const cached = cachier(async () => 1, {
      name: 'stale-metered',
      backend: core,
      enableMetrics: true,
      staleAfter: 10,
      nextTime: true,
      clock: { now: () => now },
    });
    await cached();
    now = 100;
    await cached();
    await cached.settle();
    core.set = async () => {
      throw new Error('disk full');
    };
    await cached.withOptions({ overwriteCache: true })();
    const m = cached.metrics();
    expect(m.staleHits).toBe(1);
    expect(m.calculations).toEqual({ foreground: 2, background: 1 });
    expect(m.storeFailures).toBe(1);
    expect(m.notStored['store-failed']).toBe(1);
  });

  it('follow setDefaultParams({ enableMetrics }) and stay zero while off', async () => {
    const cached = cachier(async () => 1, { name: 'later', backend: new MemoryCore() });
    await cached();
    expect(cached.metrics().misses).toBe(0);
    setDefaultParams({ enableMetrics: true });
    await cached();
    expect(cached.metrics().hits).toBe(1);
  });

  it('keep a bounded latency window', async () => {
    const cached = cachier(async () => 1, {
      name: 'window',
      backend: new MemoryCore(),
      enableMetrics: true,
    });
    for (let i = 0; i < LATENCY_WINDOW + 50; i++) await cached();
    expect(cached.metrics().hits).toBe(LATENCY_WINDOW + 49);
    expect(cached.metrics().latency.hit.count).toBe(LATENCY_WINDOW);
  });
});
