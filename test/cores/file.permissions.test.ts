/**
 * A cacheDir the process may not write is a cache failure, never a failed call. Run as an
 * ordinary user, the test makes such a folder and uses it in this process. Run as root
 * (as CI does), permission bits do not bind this process, so the same program runs in a
 * child process as the unprivileged `nobody` user, on a bundle of cachier (esbuild) in a
 * folder that user can read: the repository itself may sit in a folder only root can enter.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/runNode.js';

const isWindows = process.platform === 'win32';
const isRoot = process.getuid?.() === 0;
/** The conventional unprivileged account (uid/gid 65534 on Linux and the BSDs). */
const NOBODY = 65_534;

const root = realpathSync(mkdtempSync(join(tmpdir(), 'cachier-perm-')));
afterAll(() => {
  try {
    chmodSync(join(root, 'locked'), 0o700);
  } catch {
    // Not made (skipped on Windows).
  }
  rmSync(root, { recursive: true, force: true });
});

/** Calls one wrapper three times on `cacheDir`, and one that throws; prints what it saw. */
const PROGRAM = (indexSpecifier: string, cacheDir: string) => `
import { cachier, FileCore } from ${JSON.stringify(indexSpecifier)};
const warnings = [];
process.on('warning', (warning) => warnings.push(warning.code));
const core = new FileCore({ cacheDir: ${JSON.stringify(cacheDir)} });
let calls = 0;
const cached = cachier(async (x) => x * 100 + ++calls, { backend: core, name: 'perm-test' });
const results = [await cached(1), await cached(1), await cached(2)];
const failing = cachier(async () => { throw new Error('own error'); }, { backend: core, name: 'perm-throws' });
const failed = await failing().then(() => 'resolved', (error) => error.message);
await new Promise((resolve) => setImmediate(resolve));
process.stdout.write(JSON.stringify({ results, calls, failed, warnings }) + '\\n');
`;

function lockedCacheDir(): string {
  const cacheDir = join(root, 'locked');
  mkdirSync(cacheDir);
  chmodSync(cacheDir, 0o000);
  return cacheDir;
}

function runAsNobody(cacheDir: string): string {
  const app = join(root, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'main.mjs'), PROGRAM('./cachier.mjs', cacheDir));
  execFileSync(join(REPO_ROOT, 'node_modules', '.bin', 'esbuild'), [
    join(REPO_ROOT, 'src', 'index.ts'),
    '--bundle',
    '--format=esm',
    '--platform=node',
    `--outfile=${join(app, 'cachier.mjs')}`,
    '--log-level=error',
  ]);
  chmodSync(root, 0o755);
  chmodSync(app, 0o755);
  const run = spawnSync(process.execPath, [join(app, 'main.mjs')], {
    cwd: app,
    uid: NOBODY,
    gid: NOBODY,
    env: { PATH: process.env.PATH ?? '', HOME: app },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout;
}

describe.skipIf(isWindows)('a cacheDir without permission', () => {
  it(`is a cache failure, never a failed call (${isRoot ? 'as nobody, in a child process' : 'in this process'})`, async () => {
    const cacheDir = lockedCacheDir();
    let output: string;
    if (isRoot) {
      output = runAsNobody(cacheDir);
    } else {
      const main = join(root, 'main.mjs');
      writeFileSync(main, PROGRAM(join(REPO_ROOT, 'src', 'index.ts'), cacheDir));
      const run = spawnSync(process.execPath, ['--import', 'tsx', main], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(run.status, run.stderr).toBe(0);
      output = run.stdout;
    }
    const seen = JSON.parse(output.trim().split('\n').at(-1) ?? '{}');
    // Nothing could be stored: the repeated call calculates again, and every call works.
    expect(seen.results).toEqual([101, 102, 203]);
    expect(seen.calls).toBe(3);
    expect(seen.failed).toBe('own error');
    expect(seen.warnings).toEqual(['CACHIER_STORE_FAILED', 'CACHIER_STORE_FAILED']);
  });
});
