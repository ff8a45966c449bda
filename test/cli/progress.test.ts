/**
 * The progress bar: drawn on a terminal only, for long walks only, erased before output.
 * Unit tests on a stand-in stream, and the real binary on a pseudo-terminal (`script`).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Progress, type ProgressStream } from '../../src/cli/progress.js';
import { buildPackage, makeCaches, newHome } from './cliHarness.js';

const ERASE = '\r\x1b[2K';

function terminal(isTTY = true): ProgressStream & { text: string } {
  const stream = {
    isTTY,
    columns: 80,
    text: '',
    write(chunk: string) {
      stream.text += chunk;
      return true;
    },
  };
  return stream;
}

/** Walks `entries` entries over `caches` caches on a clock that never moves. */
function walk(
  stream: ProgressStream,
  options: { enabled: boolean; caches: number; entries: number },
) {
  const progress = new Progress(stream, {
    enabled: options.enabled,
    caches: options.caches,
    now: () => 0,
  });
  for (let i = 0; i < options.entries; i++) progress.entry();
  progress.cacheDone();
  progress.done();
}

describe('Progress', () => {
  it('draws caches done and entries walked once a walk is long, then erases itself', () => {
    const stream = terminal();
    walk(stream, { enabled: true, caches: 2, entries: 1500 });
    expect(stream.text).toBe(`${ERASE}[--------------------] 0/2 caches, 1,000 entries${ERASE}`);
  });

  it('draws nothing for a short walk, off a terminal, or when disabled (--json)', () => {
    for (const [stream, enabled, entries] of [
      [terminal(), true, 999],
      [terminal(false), true, 5000],
      [terminal(), false, 5000],
    ] as const) {
      walk(stream, { enabled, caches: 1, entries });
      expect(stream.text).toBe('');
    }
  });
});

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;

describe.skipIf(!hasScript)('the binary on a terminal (util-linux script)', () => {
  it('shows a progress bar on stderr over many entries, and none with --json', async () => {
    const built = await buildPackage();
    const home = newHome(built);
    const calls = Array.from({ length: 1100 }, (_, i) => i);
    await makeCaches(built, home, { kind: 'file', dir: `${home}/.cachier` }, [
      { name: 'many', calls, parallel: true },
    ]);
    const onTerminal = (args: string) =>
      spawnSync('script', ['-qec', `"${process.execPath}" "${built.cli}" ${args}`, '/dev/null'], {
        env: { ...process.env, HOME: home },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const plain = onTerminal('ls');
    expect(plain.status).toBe(0);
    expect(plain.stdout).toMatch(/\[#*-*\] 0\/1 caches, 1,000 entries/);
    expect(plain.stdout).toContain(ERASE);
    expect(plain.stdout).toMatch(/many +1100 /);
    const json = onTerminal('ls --json');
    expect(json.status).toBe(0);
    expect(json.stdout).not.toMatch(/caches, /);
    expect(JSON.parse(json.stdout).caches[0]).toMatchObject({ name: 'many', entries: 1100 });
  });
});
