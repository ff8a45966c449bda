import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cachier, MemoryCore } from '../../src/index.js';
import { registerCachierMetrics } from '../../src/ops/prometheus.js';
import { REPO_ROOT, runNode } from '../support/runNode.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The value of one sample line `metric{labels} value` in a scrape, or undefined. */
function sample(
  scrape: string,
  metric: string,
  labels: Record<string, string>,
): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of scrape.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== metric) continue;
    const have = (match[2] ?? '').split(',');
    if (wanted.every((pair) => have.includes(pair))) return Number(match[3]);
  }
  return undefined;
}

const unregisters: (() => void)[] = [];
afterEach(() => {
  for (const unregister of unregisters.splice(0)) unregister();
  vi.restoreAllMocks();
});

describe('cachier/prometheus', () => {
  it('exposes wrappers made after registering, by name and core, with Prometheus names', async () => {
    const registry = new Registry();
    unregisters.push(registerCachierMetrics(registry));
    const name = `prom-${randomUUID()}`;
    const cached = cachier(
      async (n: number) => {
        await sleep(2);
        return n === 0 ? null : n * 2;
      },
      { name, backend: new MemoryCore(), enableMetrics: true },
    );
    await Promise.all([cached(1), cached(1), cached(1)]);
    await cached(1);
    await cached(1);
    await cached(0);
    const scrape = await registry.metrics();
    const labels = { name, core: 'memory' };
    expect(sample(scrape, 'cachier_hits_total', labels)).toBe(2);
    expect(sample(scrape, 'cachier_misses_total', labels)).toBe(4);
    expect(sample(scrape, 'cachier_stale_hits_total', labels)).toBe(0);
    expect(sample(scrape, 'cachier_calculations_total', { ...labels, kind: 'foreground' })).toBe(2);
    expect(sample(scrape, 'cachier_calculations_total', { ...labels, kind: 'background' })).toBe(0);
    expect(sample(scrape, 'cachier_waits_total', { ...labels, on: 'this_process' })).toBe(2);
    expect(sample(scrape, 'cachier_waits_total', { ...labels, on: 'other_owner' })).toBe(0);
    expect(sample(scrape, 'cachier_dedupes_total', labels)).toBe(2);
    expect(sample(scrape, 'cachier_wait_timeouts_total', labels)).toBe(0);
    expect(sample(scrape, 'cachier_store_failures_total', labels)).toBe(0);
    expect(
      sample(scrape, 'cachier_not_stored_total', { ...labels, reason: 'none-not-allowed' }),
    ).toBe(1);
    expect(sample(scrape, 'cachier_hit_duration_seconds_count', labels)).toBe(2);
    expect(sample(scrape, 'cachier_calculation_duration_seconds_count', labels)).toBe(2);
    expect(sample(scrape, 'cachier_wait_duration_seconds_count', labels)).toBe(2);
    expect(sample(scrape, 'cachier_hit_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(
      2,
    );
    expect(scrape).toContain('# TYPE cachier_hits_total counter');
    expect(scrape).toContain('# TYPE cachier_calculation_duration_seconds histogram');
    // Counters follow the wrapper: more hits show in the next scrape, a reset restarts them.
    await cached(1);
    expect(sample(await registry.metrics(), 'cachier_hits_total', labels)).toBe(3);
    cached.metrics.reset();
    expect(sample(await registry.metrics(), 'cachier_hits_total', labels)).toBe(0);
  });

  it('leaves wrappers without metrics out, and sums wrappers sharing a name and core', async () => {
    const registry = new Registry();
    unregisters.push(registerCachierMetrics(registry));
    const name = `shared-${randomUUID()}`;
    const quiet = `quiet-${randomUUID()}`;
    const store = new MemoryCore();
    const a = cachier(async () => 1, { name, backend: store, enableMetrics: true });
    const b = cachier(async () => 1, { name, backend: store, enableMetrics: true });
    const off = cachier(async () => 1, { name: quiet, backend: 'memory' });
    await a();
    await b();
    await off();
    const scrape = await registry.metrics();
    expect(sample(scrape, 'cachier_misses_total', { name, core: 'memory' })).toBe(1);
    expect(sample(scrape, 'cachier_hits_total', { name, core: 'memory' })).toBe(1);
    expect(scrape).not.toContain(quiet);
  });

  it('unregisters: the names leave the registry, histograms stop, registering again works', async () => {
    const registry = new Registry();
    const unregister = registerCachierMetrics(registry);
    expect(() => registerCachierMetrics(registry)).toThrow(/already been registered/);
    // The failed attempt left the first registration whole.
    expect(registry.getSingleMetric('cachier_wait_duration_seconds')).toBeDefined();
    unregister();
    expect(await registry.metrics()).not.toContain('cachier_');
    unregisters.push(registerCachierMetrics(registry));
    const name = `again-${randomUUID()}`;
    const cached = cachier(async () => 1, { name, backend: 'memory', enableMetrics: true });
    await cached();
    await cached();
    const scrape = await registry.metrics();
    expect(sample(scrape, 'cachier_hit_duration_seconds_count', { name, core: 'memory' })).toBe(1);
  });
});

describe('examples/prometheus.ts', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill();
    child = undefined;
  });

  it('serves /metrics over HTTP: a real scrape shows the calls it made', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'examples/prometheus.ts'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child?.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const found = /serving (http:\/\/\S+)/.exec(out);
        if (found?.[1]) resolve(found[1]);
      });
      child?.on('exit', (code) => reject(new Error(`example exited (${code}) before serving`)));
    });
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const scrape = await response.text();
    const rate = { name: 'exchangeRate', core: 'memory' };
    expect(sample(scrape, 'cachier_hits_total', rate)).toBe(1);
    expect(sample(scrape, 'cachier_dedupes_total', rate)).toBe(2);
    expect(sample(scrape, 'cachier_calculations_total', { ...rate, kind: 'foreground' })).toBe(2);
    expect(
      sample(scrape, 'cachier_not_stored_total', {
        name: 'userProfile',
        core: 'memory',
        reason: 'none-not-allowed',
      }),
    ).toBe(1);
    expect((await fetch(url.replace('/metrics', '/'))).status).toBe(404);
  });

  it('with --once scrapes itself, prints the counters and exits on its own', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cachier-prom-'));
    const run = await runNode('examples/prometheus.ts', { home, tsx: true, args: ['--once'] });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('cachier_hits_total{name="userProfile",core="memory"} 1');
  });
});
