/**
 * The chaos command (bench/chaos): a short run on the file core passes, and the checks
 * catch the faults they exist for. Each fault is injected on purpose with `--break`, and
 * the command must exit non-zero naming the check and the failing round.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { trueValue } from '../bench/chaos/catalogue.js';
import { checkRound, type RoundRecord } from '../bench/chaos/checks.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = fileURLToPath(new URL('../bench/chaos/cli.ts', import.meta.url));

function chaos(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      { cwd: REPO_ROOT, timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('npm run chaos', () => {
  it('a short run on the file core finds no violation and prints the summary table', async () => {
    const run = await chaos(['--rounds', '3', '--workers', '3', '--seed', '11']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^\| file \| 3 \| \d+ \| \d+ \| \d+ \| \d+ \| 0 \| 0 \| 0 \| 0 \| 0 \| 0 \|/m,
    );
    expect(run.stdout).toContain('chaos: no violations');
  }, 180_000);

  it('catches a function that returns a wrong value, naming the check and the round', async () => {
    const run = await chaos([
      '--rounds',
      '5',
      '--workers',
      '3',
      '--seed',
      '12',
      '--break',
      'wrong-value',
      '--fail-fast',
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toContain('chaos: FAILED: file core, check "value" in round 1;');
    expect(run.stdout).toContain('--seed 12 --core file');
  }, 180_000);

  it('catches a core that grants every claim: keys calculated twice', async () => {
    const run = await chaos([
      '--rounds',
      '60',
      '--workers',
      '4',
      '--seed',
      '13',
      '--break',
      'grant-all',
      '--fail-fast',
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(run.stdout).toMatch(/chaos: FAILED: file core, check "once" in round \d+;/);
    expect(run.stdout).toMatch(/\[once\] chaos-\S+\(r\d+k\d\) was calculated [2-9] times/);
  }, 180_000);
});

describe('chaos checks', () => {
  const base: RoundRecord = {
    round: 7,
    outcomes: [],
    verified: [],
    log: [],
    killed: new Set(),
    unfinished: [],
    verifyLimitMs: 1000,
    leftovers: [],
  };
  const verified = (key: string) => ({
    outcome: {
      fn: 'chaos-slow',
      key,
      ok: true as const,
      value: trueValue('chaos-slow', key),
      ms: 5,
    },
    found: 'hit' as const,
  });
  const calc = (key: string, pid: number) =>
    ({ kind: 'calc', phase: 'round', fn: 'chaos-slow', key, pid }) as const;

  it('a second calculation is allowed only when an owner was killed', () => {
    const log = [calc('r7k0', 100), calc('r7k0', 200)];
    const record = { ...base, verified: [verified('r7k0')], log };
    expect(checkRound(record).violations.map((v) => [v.round, v.check])).toEqual([[7, 'once']]);
    const withKill = checkRound({ ...record, killed: new Set([100]) });
    expect(withKill.violations).toEqual([]);
    expect(withKill.counts.takeovers).toBe(1);
  });

  it('a value stored during the round that the verify pass misses is lost', () => {
    const log = [calc('r7k1', 100), { ...calc('r7k1', 100), kind: 'stored' as const }];
    const missed = { ...verified('r7k1'), found: 'miss' as const };
    const { violations } = checkRound({ ...base, verified: [missed], log });
    expect(violations.map((v) => v.check)).toEqual(['lost']);
  });

  it('an error for a key that never throws is a wrong value', () => {
    const outcome = { fn: 'chaos-fast', key: 'r7k2', ok: false as const, error: 'boom', ms: 1 };
    const { violations } = checkRound({ ...base, outcomes: [outcome] });
    expect(violations.map((v) => v.check)).toEqual(['value']);
  });
});
