import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ChildRequest } from '../support/child.js';
import type { CoreSpec } from '../support/coreSpec.js';
import { crossProcessSuite } from './crossProcessSuite.js';
import { ChildPool, finished, readLog } from './harness.js';

crossProcessSuite(
  'file',
  async () => ({ backend: 'file', cacheDir: mkdtempSync(join(tmpdir(), 'cachier-xp-file-')) }),
  async (spec) => {
    if (spec.backend === 'file') rmSync(spec.cacheDir, { recursive: true, force: true });
  },
);

describe('worker threads: file core', () => {
  let pool: ChildPool;
  let work: string;
  let spec: CoreSpec;

  beforeEach(() => {
    pool = new ChildPool();
    work = mkdtempSync(join(tmpdir(), 'cachier-xp-threads-'));
    spec = { backend: 'file', cacheDir: join(work, 'cache') };
  });

  afterEach(async () => {
    await pool.stopAll();
    rmSync(work, { recursive: true, force: true });
  });

  const request = (scenario: ChildRequest['scenario']): ChildRequest => ({
    spec,
    name: `xp-${randomUUID().slice(0, 8)}`,
    log: join(work, 'calculations.log'),
    scenario,
  });

  it('4 worker threads calling one key at once calculate it once', async () => {
    const host = pool.start(
      'threads',
      request({
        kind: 'threads',
        count: 4,
        backend: 'spec',
        concurrent: true,
        key: 'shared',
        calc: { ms: 1000 },
      }),
    );
    await finished(host);

    const calculations = readLog(join(work, 'calculations.log'));
    expect(calculations, host.describe()).toHaveLength(1);
    const calculator = calculations[0]?.by;
    expect(calculator).toMatch(new RegExp(`^${host.pid}:[1-9]\\d*$`));
    const results = host.outcomes();
    expect(results, host.describe()).toHaveLength(4);
    expect(new Set(results.map((m) => m.by)).size).toBe(4);
    for (const result of results) {
      expect(result).toMatchObject({ event: 'result', value: { key: 'shared', by: calculator } });
    }
  });

  it('the memory core is per thread: a second worker does not see the first one’s entry', async () => {
    const host = pool.start(
      'threads',
      request({
        kind: 'threads',
        count: 2,
        backend: 'memory',
        concurrent: false,
        key: 'private',
        calc: { ms: 50 },
      }),
    );
    await finished(host);

    const calculations = readLog(join(work, 'calculations.log'));
    expect(calculations, host.describe()).toHaveLength(2);
    const [first, second] = calculations;
    expect(first?.by).not.toBe(second?.by);
    expect(host.outcomeValues()).toEqual([
      { key: 'private', by: first?.by },
      { key: 'private', by: second?.by },
    ]);
  });
});
