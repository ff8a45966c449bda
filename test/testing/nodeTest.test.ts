import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { T } from './brokenCores.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** Runs a file with `node --test` (TAP output), as a core author would. */
function runUnderNodeTest(file: string, env: Record<string, string> = {}) {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=tap', fixture(file)],
    { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 },
  );
  const count = (label: string) =>
    Number(run.stdout.match(new RegExp(`^# ${label} (\\d+)$`, 'm'))?.[1]);
  return {
    status: run.status,
    pass: count('pass'),
    fail: count('fail'),
    output: run.stdout + run.stderr,
  };
}

describe('the kit under node:test', () => {
  it('runs the README’s four-line test file, and the MapCore passes it', () => {
    const run = runUnderNodeTest('mapCore.node.ts');
    expect(run.fail, run.output).toBe(0);
    expect(run.pass, run.output).toBeGreaterThan(15);
    expect(run.status, run.output).toBe(0);
  });

  it('runs every kit test, and the reference core passes them', () => {
    const run = runUnderNodeTest('nodeTestKit.ts');
    expect(run.fail, run.output).toBe(0);
    // Every title but the renewsItself variant of the lease test, which the reference core does not declare.
    expect(run.pass, run.output).toBe(Object.keys(T).length - 1);
    expect(run.status, run.output).toBe(0);
  });

  it('reports a broken core as a failed run', () => {
    const run = runUnderNodeTest('nodeTestKit.ts', { KIT_BROKEN: 'claim' });
    expect(run.status).not.toBe(0);
    expect(run.fail, run.output).toBeGreaterThan(0);
    expect(run.output).toContain(`not ok`);
    expect(run.output).toContain(T.oneWinner);
  });
});
