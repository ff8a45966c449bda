/**
 * The file core's claim keeps proper-lockfile's on-disk protocol (a `<key>.lock` folder
 * made with mkdir, stale once its mtime is older than the lease), so a program that locks
 * the same folder with proper-lockfile and cachier respect each other's locks.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { afterAll, describe, expect, it } from 'vitest';
import { FileCore } from '../../src/cores/file.js';

const root = mkdtempSync(join(tmpdir(), 'cachier-proper-lockfile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const newKey = () => randomBytes(32).toString('hex');

async function coreWithFolder(name: string) {
  const core = new FileCore({ cacheDir: mkdtempSync(join(root, 'dir-')) });
  // A first entry makes the function folder, where proper-lockfile will lock.
  await core.set(name, newKey(), { bytes: Uint8Array.of(1), calculatedAt: Date.now() });
  return { core, folder: core.location(name) };
}

describe('file core claims and proper-lockfile', () => {
  it('a key locked with proper-lockfile is held for cachier until proper-lockfile releases it', async () => {
    const { core, folder } = await coreWithFolder('pl-first');
    const key = newKey();
    const release = await lockfile.lock(join(folder, key), {
      lockfilePath: join(folder, `${key}.lock`),
      realpath: false,
      stale: 10_000,
      retries: 0,
    });
    expect(await core.tryClaim('pl-first', key)).toBeUndefined();
    await release();
    const claim = await core.tryClaim('pl-first', key);
    expect(claim).toBeDefined();
    await claim?.release();
  });

  it('a key cachier claimed cannot be locked with proper-lockfile until cachier releases it', async () => {
    const { core, folder } = await coreWithFolder('pl-second');
    const key = newKey();
    const claim = await core.tryClaim('pl-second', key);
    expect(claim).toBeDefined();
    const lockOptions = {
      lockfilePath: join(folder, `${key}.lock`),
      realpath: false,
      stale: 10_000,
      retries: 0,
    };
    await expect(lockfile.lock(join(folder, key), lockOptions)).rejects.toMatchObject({
      code: 'ELOCKED',
    });
    await claim?.release();
    const release = await lockfile.lock(join(folder, key), lockOptions);
    await release();
  });
});
