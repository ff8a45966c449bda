/**
 * The owner-file fence of the file core's claims, with the rare interleaving forced: a
 * second claimer's owner file lands in the lock folder this claimer has just made (which
 * happens when an empty lock folder is swapped between two claimers' steps). Exactly one
 * of them may win; the one that sees the other's file must back off.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

const intrude = { enabled: false, failReaddir: false };

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const mkdirSync = (path: string, options?: unknown) => {
    const result = actual.mkdirSync(path, options as never);
    if (intrude.enabled && String(path).endsWith('.lock')) {
      actual.writeFileSync(join(String(path), 'owner.intruder'), '{"pid":1,"host":"h"}');
    }
    return result;
  };
  const readdirSync = (path: string, options?: unknown) => {
    if (intrude.failReaddir && String(path).endsWith('.lock')) {
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    }
    return actual.readdirSync(path, options as never);
  };
  return {
    ...actual,
    default: { ...actual, mkdirSync, readdirSync },
    mkdirSync,
    readdirSync,
  };
});

const { FileCore } = await import('../../src/cores/file.js');

const root = mkdtempSync(join(tmpdir(), 'cachier-fence-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('claim fence', () => {
  it('a claimer that finds another owner file in the lock folder it made does not win', async () => {
    const core = new FileCore({ cacheDir: join(root, 'fence') });
    const key = randomBytes(32).toString('hex');
    await core.set('fn', randomBytes(32).toString('hex'), {
      bytes: new Uint8Array(1),
      calculatedAt: 1,
    });
    intrude.enabled = true;
    const claim = await core.tryClaim('fn', key);
    intrude.enabled = false;
    expect(claim).toBeUndefined();
    // Its own owner file is gone again; the other claimer's stays, so the folder is held.
    expect(readdirSync(join(core.location('fn'), `${key}.lock`))).toEqual(['owner.intruder']);
  });

  it('a claimer that cannot check the lock folder it made removes it again and reports the failure', async () => {
    const core = new FileCore({ cacheDir: join(root, 'unreadable') });
    const key = randomBytes(32).toString('hex');
    await core.set('fn', randomBytes(32).toString('hex'), {
      bytes: new Uint8Array(1),
      calculatedAt: 1,
    });
    intrude.failReaddir = true;
    await expect(core.tryClaim('fn', key)).rejects.toMatchObject({ code: 'EACCES' });
    intrude.failReaddir = false;
    expect(readdirSync(core.location('fn')).filter((file) => file.endsWith('.lock'))).toEqual([]);
    const claim = await core.tryClaim('fn', key);
    expect(claim).toBeDefined();
    await claim?.release();
  });
});
