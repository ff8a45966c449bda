/**
 * A disk that fails writes half-way, with a real process: the child runs under
 * `ulimit -f 0`, where creating a file works and every write to it fails (EFBIG), as on a
 * full disk (ENOSPC) once a file is created. No privileges or mounts needed; Linux and
 * macOS only (Windows has no ulimit).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cachier, FileCore } from '../../src/index.js';

const CHILD = fileURLToPath(new URL('./fileDiskFullChild.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'cachier-diskfull-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface ChildSaw {
  values: number[];
  calls: number;
  failed: string;
  warnings: { code: string | undefined; message: string }[];
}

/** Runs the child with no room to write, as one shell command so that the limit binds it alone. */
function runWithoutRoom(cacheDir: string, name: string): ChildSaw {
  const run = spawnSync(
    '/bin/sh',
    ['-c', 'ulimit -f 0 && exec "$0" --import tsx "$@"', process.execPath, CHILD, cacheDir, name],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as ChildSaw;
}

describe.skipIf(process.platform === 'win32')(
  'a disk that fails writes half-way (ulimit -f 0)',
  () => {
    it('calls return their values, one warning quoting no value, no temp file or claim left; the folder is listed once writes work', async () => {
      const cacheDir = join(root, 'cache');
      const seen = runWithoutRoom(cacheDir, 'disk-full');
      // Every value (one written synchronously, one through the thread pool) is returned;
      // nothing could be stored, so the repeated call calculated again.
      expect(seen.values).toEqual([17, 17, 100_007]);
      expect(seen.calls).toBe(3);
      expect(seen.failed).toBe('own error');
      expect(seen.warnings.map((w) => w.code)).toEqual([
        'CACHIER_STORE_FAILED',
        'CACHIER_STORE_FAILED',
      ]);
      expect(seen.warnings.some((w) => w.message.includes('secret'))).toBe(false);
      // Temp files were created and then could not be written: none is left, nor a claim.
      for (const folder of readdirSync(cacheDir)) {
        const left = readdirSync(join(cacheDir, folder)).filter((file) => file.includes('.'));
        expect(left.filter((file) => file !== '.cachier-folder')).toEqual([]);
      }
      // Once writes work, the folder made on the full disk is an ordinary one: its entries
      // are stored and served, and it is listed under its name (for `cachier ls` and `prune`).
      const core = new FileCore({ cacheDir });
      let calls = 0;
      const cached = cachier(async (size: number) => `v${size}${++calls}`, {
        backend: core,
        name: 'disk-full',
      });
      expect(await cached(1)).toBe('v11');
      expect(await cached(1)).toBe('v11');
      expect(await core.names()).toContain('disk-full');
    });
  },
);
