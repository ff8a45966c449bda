/**
 * The file core under the public wrapper. The core's own guarantees are tested directly
 * in file.core.test.ts and file.hardening.test.ts, and by the kit in file.kit.test.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { serialize } from 'node:v8';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Claim } from '../../src/cores/contract.js';
import { HEADER_BYTES } from '../../src/cores/fileEntry.js';
import { MARKER_NAME } from '../../src/cores/fileNames.js';
import { FolderWatchers } from '../../src/cores/folderWatcher.js';
import { type CachierOptions, cachier, FileCore } from '../../src/index.js';
import { defaultKey } from '../../src/keys.js';
import { shared } from '../../src/processState.js';
import { makeValueCodec } from '../../src/valueCodec.js';
import { sleep, until } from '../support/time.js';
import { collectWarnings, type WarningCollector } from '../support/warnings.js';

/** The bytes the algorithm stores for a value (the default codec, tag byte included). */
const encodeValue = (value: unknown) => makeValueCodec().encode(value);

const root = mkdtempSync(join(tmpdir(), 'cachier-file-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const isWindows = process.platform === 'win32';

/** The process's folder watchers, which every FileCore shares. */
const folderWatchers = () => shared('folderWatchers', () => new FolderWatchers());

/** A fresh folder to use as one test's cacheDir. */
function freshDir(): string {
  return join(root, randomUUID());
}

/** Resolves to `promise`'s value, or to 'timed out' after a generous bound. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timed out'>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The files of a function folder, without cachier's marker file. */
function filesIn(folder: string): string[] {
  return readdirSync(folder).filter((file) => file !== MARKER_NAME);
}

/** What the algorithm stores for `value` (v8 serialization), as the core's bytes. */
function bytesOf(value: unknown): Uint8Array {
  return new Uint8Array(encodeValue(value));
}

/** Every path under `dir`, relative to it. */
function allPaths(dir: string): string[] {
  return readdirSync(dir, { recursive: true }).map(String);
}

// Collected, not printed: tests assert the warnings they cause (warningsOf).
let collected: WarningCollector;
beforeEach(() => {
  collected = collectWarnings();
});
afterEach(() => {
  collected.restore();
});

/** The codes warned for the wrapper `name`. */
async function warningsOf(name: string): Promise<(string | undefined)[]> {
  return collected.warnings
    .filter((w) => w.message.startsWith(`cachier(${name})`))
    .map((w) => w.code);
}

/** A counting function on a FileCore under a fresh name. */
function counted<A extends unknown[], R>(
  core: FileCore,
  body: (...args: A) => R | Promise<R>,
  options: CachierOptions = {},
) {
  const name = `file-${randomUUID()}`;
  const state = { calls: 0 };
  const cached = cachier(
    async (...args: A) => {
      state.calls++;
      return body(...args);
    },
    { backend: core, name, ...options },
  );
  return { name, state, cached, folder: core.location(name) };
}

describe('FileCore options', () => {
  it('rejects a lease below what file mtimes can time, and an empty cacheDir', () => {
    expect(() => new FileCore({ leaseMs: 1000 })).toThrow(/leaseMs must be a number >= 2000/);
    expect(() => new FileCore({ leaseMs: Number.NaN })).toThrow(TypeError);
    // Node runs a longer timer after 1 ms: renewals would spin.
    expect(() => new FileCore({ leaseMs: 2 ** 31 })).toThrow(/at most 2147483647/);
    expect(() => new FileCore({ leaseMs: Number.POSITIVE_INFINITY })).toThrow(TypeError);
    expect(() => new FileCore({ cacheDir: '' })).toThrow(/cacheDir must be a non-empty string/);
  });

  it('rejects a folder given instead of the options object, and unknown options, quoting no value', () => {
    // new FileCore('/var/cache/app') silently cached under ~/.cachier.
    const folder = '/var/cache/secret-app';
    expect(() => new FileCore(folder as never)).toThrow(/FileCore needs an options object/);
    expect(() => new FileCore(folder as never)).not.toThrow(/secret-app/);
    expect(() => new FileCore({ cachedir: folder } as never)).toThrow(
      "unknown FileCore option 'cachedir'. Valid ones are: cacheDir, leaseMs",
    );
    expect(() => new FileCore({ leaseMs: 'secret-lease' as never })).not.toThrow(/secret-lease/);
    expect(() => new FileCore()).not.toThrow();
    expect(() => new FileCore({ cacheDir: undefined })).not.toThrow();
  });
});

describe('layout', () => {
  it('stores one file per entry at cacheDir/<name>/<64 hex key>', async () => {
    const cacheDir = freshDir();
    const cached = cachier(async (a: string, b: number) => `${a}:${b}`, {
      cacheDir,
      name: 'layout',
    });
    await cached('x', 1);
    await cached('y', 2);
    expect(cached.cacheDpath()).toBe(join(cacheDir, 'layout'));
    expect(readdirSync(cacheDir)).toEqual(['layout']);
    const files = filesIn(join(cacheDir, 'layout')).sort();
    expect(files).toEqual([defaultKey(['x', 1]), defaultKey(['y', 2])].sort());
    for (const file of files) expect(file).toMatch(/^[0-9a-f]{64}$/);
  });

  it('puts no argument data in any file name, with or without hashArgs', async () => {
    const cacheDir = freshDir();
    const secret = 'customer-4711-secret';
    const plain = cachier(async (s: string) => s.length, { cacheDir, name: 'plain' });
    const custom = cachier(async (s: string) => s.length, {
      cacheDir,
      name: 'custom',
      hashArgs: ([s]) => `id:${s}`,
    });
    const core = new FileCore({ cacheDir });
    const held = await core.tryClaim('plain', defaultKey([`${secret}-locked`]));
    await plain(secret);
    await custom(secret);
    await plain.precacheValue([`${secret}-pre`], 1);
    const paths = allPaths(cacheDir);
    expect(paths).toHaveLength(9); // 2 folders with their markers, 3 entries, 1 lock with its owner file
    for (const path of paths) expect(path).not.toContain('customer');
    await held?.release();
  });

  it('gives a name with unsafe characters a safe folder of its own', async () => {
    const cacheDir = freshDir();
    const unsafe = cachier(async () => 'unsafe', { cacheDir, name: 'a/b:c' });
    const lookalike = cachier(async () => 'lookalike', { cacheDir, name: 'a_b_c' });
    const dots = cachier(async () => 'dots', { cacheDir, name: '..' });
    const folder = unsafe.cacheDpath() as string;
    expect(dirname(folder)).toBe(cacheDir);
    expect(basename(folder)).toMatch(/^[a-z0-9._~-]+$/);
    expect(folder).not.toBe(lookalike.cacheDpath());
    expect(dirname(dots.cacheDpath() as string)).toBe(cacheDir);
    expect(basename(dots.cacheDpath() as string)).not.toBe('..');
    expect(await unsafe()).toBe('unsafe');
    expect(await lookalike()).toBe('lookalike');
    expect(await dots()).toBe('dots');
    expect(filesIn(folder)).toHaveLength(1);
    expect(readdirSync(cacheDir)).toHaveLength(3);
    expect(await unsafe()).toBe('unsafe');
  });

  it('reads a leading ~ as the home folder (checked without writing there)', () => {
    const tilde = cachier(async () => 1, { cacheDir: '~/cachier-test-unused', name: 'tilde' });
    expect(tilde.cacheDpath()).toBe(join(homedir(), 'cachier-test-unused', 'tilde'));
    expect(tilde.cacheDpath()?.startsWith(homedir())).toBe(true);
    const byDefault = cachier(async () => 1, { name: 'default-dir' });
    expect(byDefault.cacheDpath()).toBe(join(homedir(), '.cachier', 'default-dir'));
    expect(new FileCore({ cacheDir: '~' }).cacheDir).toBe(homedir());
  });

  it('makes a relative cacheDir absolute', () => {
    expect(new FileCore({ cacheDir: 'relative/cache' }).cacheDir).toBe(
      join(process.cwd(), 'relative', 'cache'),
    );
  });

  it.skipIf(isWindows)(
    // Windows has no POSIX modes; the README says so.
    'makes function folders 0700 and entry files 0600',
    async () => {
      const cacheDir = freshDir();
      const cached = cachier(async (x: number) => x, { cacheDir, name: 'modes' });
      await cached(1);
      const folder = cached.cacheDpath() as string;
      expect(statSync(folder).mode & 0o777).toBe(0o700);
      expect(statSync(join(folder, defaultKey([1]))).mode & 0o777).toBe(0o600);
    },
  );
});

describe('atomic writes', () => {
  it('leaves no temp files behind', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const { cached, folder } = counted(core, (x: number) => 'v'.repeat(x));
    await Promise.all([1, 10, 100_000, 200_000].map((n) => cached(n)));
    await cached.withOptions({ overwriteCache: true })(10);
    await cached.precacheValue([5], 'five');
    const files = filesIn(folder);
    expect(files).toHaveLength(5);
    expect(files.filter((file) => !/^[0-9a-f]{64}$/.test(file))).toEqual([]);
  });
});

describe('reads', () => {
  it('a hit takes no lock: it is served while the key is claimed', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const { name, state, cached, folder } = counted(core, (x: string) => `value of ${x}`);
    expect(await cached('k')).toBe('value of k');
    const claim = await core.tryClaim(name, defaultKey(['k']));
    expect(claim).toBeDefined();
    expect(existsSync(join(folder, `${defaultKey(['k'])}.lock`))).toBe(true);
    // Were a read to need the lock, this would wait for the live claim forever.
    expect(await within(cached('k'), 5000)).toBe('value of k');
    expect(state.calls).toBe(1);
    await claim?.release();
  });

  it('keeps values read on the sync path independent of later reads', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const { cached } = counted(core, (fill: string) => Buffer.from(fill.repeat(64)));
    await cached('a');
    await cached('b');
    const first = await cached('a');
    const second = await cached('b');
    expect(Buffer.from(first).toString()).toBe('a'.repeat(64));
    expect(Buffer.from(second).toString()).toBe('b'.repeat(64));
  });

  it.each([
    ['a 1 MB Buffer', () => randomBytes(1024 * 1024)],
    ['a 200 KB string', () => randomBytes(100 * 1024).toString('hex')],
  ])('round-trips %s (the async read path)', async (_label, make) => {
    const value = make();
    const core = new FileCore({ cacheDir: freshDir() });
    const { state, cached, folder } = counted(core, () => value);
    await cached();
    const file = join(folder, defaultKey([]));
    expect(statSync(file).size).toBeGreaterThan(64 * 1024);
    const again = await cached();
    expect(state.calls).toBe(1);
    if (typeof value === 'string') expect(again).toBe(value);
    else expect(Buffer.from(again as Uint8Array).equals(value)).toBe(true);
  });

  it.each([[64 * 1024 - 1], [64 * 1024], [64 * 1024 + 1]])(
    'round-trips an entry file of exactly %d bytes',
    async (fileSize) => {
      // A one-byte string serializes to its characters plus a fixed overhead.
      const overhead = encodeValue('x'.repeat(60_000)).byteLength - 60_000;
      const value = 'x'.repeat(fileSize - HEADER_BYTES - overhead);
      const core = new FileCore({ cacheDir: freshDir() });
      const { state, cached, folder } = counted(core, () => value);
      await cached();
      expect(statSync(join(folder, defaultKey([]))).size).toBe(fileSize);
      expect(await cached()).toBe(value);
      expect(state.calls).toBe(1);
    },
  );
});

describe('damaged entries', () => {
  it('a corrupt or truncated entry is a miss, warned about once, and replaced', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const { name, state, cached, folder } = counted(core, (x: string) =>
      x === 'large' ? 'L'.repeat(300_000) : `value of ${x}`,
    );
    const expected = (x: string) => (x === 'large' ? 'L'.repeat(300_000) : `value of ${x}`);
    const pathOf = (x: string) => join(folder, defaultKey([x]));
    for (const x of ['half', 'header-only', 'large']) await cached(x);
    expect(state.calls).toBe(3);

    mkdirSync(folder, { recursive: true });
    writeFileSync(pathOf('garbage'), 'this is not a cachier entry at all');
    writeFileSync(pathOf('empty'), '');
    writeFileSync(pathOf('big-garbage'), randomBytes(100_000));
    truncateSync(pathOf('half'), Math.floor(statSync(pathOf('half')).size / 2));
    truncateSync(pathOf('header-only'), HEADER_BYTES);
    truncateSync(pathOf('large'), 100_000);

    const damaged = ['garbage', 'empty', 'big-garbage', 'half', 'header-only', 'large'];
    for (const x of damaged) expect(await cached(x)).toBe(expected(x));
    expect(state.calls).toBe(9);
    expect(await warningsOf(name)).toEqual(['CACHIER_CORRUPT_ENTRY']);

    for (const x of damaged) {
      expect(await cached(x)).toBe(expected(x));
      expect(await core.get(name, defaultKey([x]))).toBeDefined();
    }
    expect(state.calls).toBe(9); // replaced: every second call was a hit
  });

  it("never serves another function's or other arguments' entry copied into place", async () => {
    const cacheDir = freshDir();
    const core = new FileCore({ cacheDir });
    const users = counted(core, (id: number) => ({ kind: 'user', id }));
    const orders = counted(core, (id: number) => ({ kind: 'order', id }));
    await users.cached(1);
    await orders.cached(1);
    await users.cached(2);
    // One key for both functions (same arguments): a folder restored from the wrong
    // backup, and an entry copied over another key's.
    const sameArgs = defaultKey([1]);
    writeFileSync(join(users.folder, sameArgs), readFileSync(join(orders.folder, sameArgs)));
    writeFileSync(
      join(users.folder, defaultKey([2])),
      readFileSync(join(users.folder, defaultKey([1]))),
    );
    const fresh = new FileCore({ cacheDir });
    const again = cachier(async (id: number) => ({ kind: 'user', id }), {
      backend: fresh,
      name: users.name,
    });
    expect(await again(1)).toEqual({ kind: 'user', id: 1 });
    expect(await again(2)).toEqual({ kind: 'user', id: 2 });
    expect(await warningsOf(users.name)).toEqual(['CACHIER_CORRUPT_ENTRY']);
  });
  it('an entry of an unknown format version is a miss, recalculated without a crash', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    let n = 0;
    const { name, state, cached, folder } = counted(core, () => ++n);
    expect(await cached()).toBe(1);
    const path = join(folder, defaultKey([]));
    const bytes = readFileSync(path);
    bytes[4] = 99;
    writeFileSync(path, bytes);

    expect(await cached()).toBe(2);
    expect(await cached()).toBe(2);
    expect(state.calls).toBe(2);
    expect(await warningsOf(name)).toEqual([]);
  });

  it('an entry file dated an hour in the future is stale: recalculated and replaced', async () => {
    // The core keeps the date it is given; the policy above it judges the future.
    const core = new FileCore({ cacheDir: freshDir() });
    const now = 1_700_000_000_000;
    let n = 0;
    const { name, state, cached } = counted(core, () => ++n, {
      staleAfter: { hours: 1 },
      clock: { now: () => now },
    });
    const key = defaultKey([]);
    await core.set(name, key, { bytes: bytesOf('planted'), calculatedAt: now + 3_600_000 });
    expect((await core.get(name, key))?.calculatedAt).toBe(now + 3_600_000);

    expect(await cached()).toBe(1);
    expect(state.calls).toBe(1);
    await until(async () => (await core.get(name, key))?.calculatedAt === now);
    expect(await cached()).toBe(1);
    expect(state.calls).toBe(1);
    expect(await warningsOf(name)).toEqual([]);
  });
});

describe('an unusable store never breaks the call', () => {
  async function expectWorksWithoutCache(cacheDir: string) {
    const core = new FileCore({ cacheDir });
    let n = 0;
    const { name, state, cached } = counted(core, (x: number) => x * 100 + ++n);
    expect(await cached(1)).toBe(101);
    expect(await cached(1)).toBe(102); // nothing could be stored
    expect(await cached(2)).toBe(203);
    const failing = cachier(
      async () => {
        throw new Error('the function’s own error');
      },
      { backend: core, name: `${name}-throws` },
    );
    await expect(failing()).rejects.toThrow('the function’s own error');
    expect(state.calls).toBe(3);
    expect(await warningsOf(name)).toEqual(['CACHIER_STORE_FAILED']);
    // The failing function's own error is the caller's; the store's failure is still warned.
    expect(await warningsOf(`${name}-throws`)).toEqual(['CACHIER_STORE_FAILED']);
  }

  it('a regular file where cacheDir should be', async () => {
    const file = join(root, `file-${randomUUID()}`);
    writeFileSync(file, 'in the way');
    await expectWorksWithoutCache(file);
  });

  it('a regular file where the function folder should be', async () => {
    const cacheDir = freshDir();
    const core = new FileCore({ cacheDir });
    const { name, state, cached, folder } = counted(core, () => 'value');
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(folder, 'in the way');
    expect(await cached()).toBe('value');
    expect(await cached()).toBe('value');
    expect(state.calls).toBe(2);
    expect(await warningsOf(name)).toEqual(['CACHIER_STORE_FAILED']);
  });

  it('a cacheDir below a regular file (ENOTDIR, which root cannot bypass)', async () => {
    const file = join(root, `file-${randomUUID()}`);
    writeFileSync(file, 'in the way');
    await expectWorksWithoutCache(join(file, 'nested', 'cache'));
  });

  // A cacheDir without permission: test/cores/file.permissions.test.ts (runs as root too).

  it('a result that cannot be serialized is returned, not stored, with one warning', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const { name, state, cached, folder } = counted(core, (x: number) => ({
      x,
      callback: () => x,
    }));
    expect((await cached(1)).callback()).toBe(1);
    expect((await cached(1)).callback()).toBe(1);
    expect((await cached(2)).callback()).toBe(2);
    expect(state.calls).toBe(3);
    expect(await warningsOf(name)).toEqual(['CACHIER_UNSERIALIZABLE']);
    expect(existsSync(folder) ? filesIn(folder) : []).toEqual([]);
  });
});

describe('entrySizeLimit', () => {
  it('counts the serialized bytes of the value', async () => {
    const value = 'v'.repeat(5000);
    const size = serialize(value).byteLength;
    const core = new FileCore({ cacheDir: freshDir() });
    const atLimit = counted(core, () => value, { entrySizeLimit: size });
    const overLimit = counted(core, () => value, { entrySizeLimit: size - 1 });
    for (let i = 0; i < 2; i++) {
      expect(await atLimit.cached()).toBe(value);
      expect(await overLimit.cached()).toBe(value);
    }
    expect(atLimit.state.calls).toBe(1);
    expect(overLimit.state.calls).toBe(2);
    // The limit is about the value: the entry header does not count against it.
    expect(statSync(join(atLimit.folder, defaultKey([]))).size).toBe(
      encodeValue(value).byteLength + HEADER_BYTES,
    );
    expect(existsSync(overLimit.folder) ? filesIn(overLimit.folder) : []).toEqual([]);
  });

  it("reads '1KB' as 1024 serialized bytes", async () => {
    const overhead = serialize('x'.repeat(1000)).byteLength - 1000;
    const core = new FileCore({ cacheDir: freshDir() });
    const { state, cached } = counted(core, (n: number) => 'x'.repeat(n - overhead), {
      entrySizeLimit: '1KB',
    });
    await cached(1024);
    await cached(1024);
    await cached(1025);
    await cached(1025);
    expect(state.calls).toBe(3);
  });
});

describe('waiting for other owners', () => {
  it('200 calls waiting on claims held elsewhere all finish correctly', async () => {
    const cacheDir = freshDir();
    const owner = new FileCore({ cacheDir });
    const core = new FileCore({ cacheDir });
    const count = 200;
    const { name, state, cached } = counted(core, (i: number) => `calculated here ${i}`);
    const keys = Array.from({ length: count }, (_, i) => defaultKey([i]));
    const claims: Claim[] = [];
    for (const key of keys) {
      const claim = await owner.tryClaim(name, key);
      if (!claim) throw new Error('the claim should be free');
      claims.push(claim);
    }

    const results = Array.from({ length: count }, (_, i) => cached(i));
    await sleep(200);
    expect(state.calls).toBe(0); // everyone waits for the owner

    // The owner stores even keys and gives up odd ones: their waiters calculate.
    await Promise.all(
      keys.map(async (key, i) => {
        if (i % 2 === 0) {
          await owner.set(name, key, {
            bytes: bytesOf(`from owner ${i}`),
            calculatedAt: Date.now(),
          });
        }
        await claims[i]?.release();
      }),
    );
    const values = await within(Promise.all(results), 30_000);
    expect(values).toEqual(
      Array.from({ length: count }, (_, i) =>
        i % 2 === 0 ? `from owner ${i}` : `calculated here ${i}`,
      ),
    );
    expect(state.calls).toBe(count / 2);
  });

  it("a dead owner's old lock is taken over at once", async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const { state, cached, folder } = counted(core, () => 'recovered');
    const lock = join(folder, `${defaultKey([])}.lock`);
    mkdirSync(lock, { recursive: true });
    const minuteAgo = new Date(Date.now() - 60_000);
    utimesSync(lock, minuteAgo, minuteAgo);

    expect(await within(cached(), 3000)).toBe('recovered');
    expect(state.calls).toBe(1);
    expect(existsSync(lock)).toBe(false);
  });

  it('a fresh lock left by nobody is taken over once its lease runs out', async () => {
    const core = new FileCore({ cacheDir: freshDir(), leaseMs: 2000 });
    const { state, cached, folder } = counted(core, () => 'taken over');
    const lock = join(folder, `${defaultKey([])}.lock`);
    mkdirSync(lock, { recursive: true });
    const started = Date.now();

    expect(await within(cached(), 5000)).toBe('taken over');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500); // the lease was respected
    expect(state.calls).toBe(1);
  });
});

describe('clearBeingCalculated', () => {
  it('removes lock folders, so the next calls calculate at once', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const { name, state, cached, folder } = counted(core, (x: string) => `value of ${x}`);
    const held = await core.tryClaim(name, defaultKey(['held']));
    expect(held).toBeDefined();
    mkdirSync(join(folder, `${defaultKey(['stray'])}.lock`));
    expect(readdirSync(folder).filter((f) => f.endsWith('.lock'))).toHaveLength(2);

    await cached.clearBeingCalculated();
    expect(readdirSync(folder).filter((f) => f.endsWith('.lock'))).toEqual([]);
    expect(await within(cached('held'), 2000)).toBe('value of held');
    expect(await within(cached('stray'), 2000)).toBe('value of stray');
    expect(state.calls).toBe(2);
    await held?.release();
  });
});

describe('folder housekeeping', () => {
  it('recreates a cacheDir that was deleted between calls', async () => {
    const cacheDir = freshDir();
    const core = new FileCore({ cacheDir });
    const { state, cached, folder } = counted(core, (x: number) => x);
    await cached(1);
    rmSync(cacheDir, { recursive: true, force: true });
    expect(await cached(1)).toBe(1); // a miss now
    expect(await cached(2)).toBe(2);
    expect(await cached(1)).toBe(1);
    expect(state.calls).toBe(3);
    expect(filesIn(folder)).toHaveLength(2);
  });

  it('clearCache deletes entries and claims, not temp files being written', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const { name, state, cached, folder } = counted(core, (x: number) => x);
    await cached(1);
    await cached(2);
    const claim = await core.tryClaim(name, defaultKey([3]));
    const temp = join(folder, `${defaultKey([4])}.999.1.1.tmp`);
    writeFileSync(temp, 'half written');

    await cached.clearCache();
    expect(filesIn(folder)).toEqual([basename(temp)]);
    await cached(1);
    expect(state.calls).toBe(3);
    // The claim's owner learns it lost the claim and cannot store through it.
    expect(await claim?.renew()).toBe(false);
    expect(await claim?.store?.({ bytes: bytesOf(3), calculatedAt: Date.now() })).toBe(false);
    await claim?.release();
    expect(filesIn(folder).sort()).toEqual([defaultKey([1]), basename(temp)].sort());
  });

  it('deleteStale drops old entries and abandoned temp files, keeping fresh ones', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const { name, cached, folder } = counted(core, (x: number) => x, { staleAfter: { hours: 1 } });
    await cached(1);
    await core.set(name, defaultKey([2]), {
      bytes: bytesOf(2),
      calculatedAt: Date.now() - 2 * 3_600_000,
    });
    const oldTemp = join(folder, `${defaultKey([5])}.999.1.1.tmp`);
    const freshTemp = join(folder, `${defaultKey([6])}.999.1.2.tmp`);
    writeFileSync(oldTemp, 'abandoned by a crashed writer');
    writeFileSync(freshTemp, 'being written right now');
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(oldTemp, hourAgo, hourAgo);

    await cached.deleteStale();
    expect(filesIn(folder).sort()).toEqual([defaultKey([1]), basename(freshTemp)].sort());
  });
});

describe('FolderWatchers', () => {
  it('opens one watch per folder for many subscribers and closes it with the last', () => {
    const folder = freshDir();
    const other = freshDir();
    mkdirSync(folder, { recursive: true });
    mkdirSync(other, { recursive: true });
    const watchers = new FolderWatchers();
    expect(watchers.activeWatchers).toBe(0);

    const unsubscribes = Array.from({ length: 200 }, (_, i) =>
      watchers.subscribe(folder, `entry-${i % 20}`, () => undefined),
    );
    expect(watchers.activeWatchers).toBe(1);
    const unsubscribeOther = watchers.subscribe(other, 'entry', () => undefined);
    expect(watchers.activeWatchers).toBe(2);

    for (const unsubscribe of unsubscribes.slice(1)) unsubscribe();
    expect(watchers.activeWatchers).toBe(2);
    unsubscribes[1]?.(); // a second unsubscribe changes nothing
    expect(watchers.activeWatchers).toBe(2);
    unsubscribes[0]?.();
    expect(watchers.activeWatchers).toBe(1);
    unsubscribeOther();
    expect(watchers.activeWatchers).toBe(0);

    watchers.subscribe(folder, 'again', () => undefined)();
    expect(watchers.activeWatchers).toBe(0);
  });

  it('tells the subscribers of an entry when the entry changes or its lock is removed', async () => {
    const folder = freshDir();
    mkdirSync(folder, { recursive: true });
    const watchers = new FolderWatchers();
    const seen: string[] = [];
    const offs = ['a', 'b'].map((entry) =>
      watchers.subscribe(folder, entry, () => seen.push(entry)),
    );

    writeFileSync(join(folder, 'a'), 'x');
    await until(() => seen.includes('a'));
    mkdirSync(join(folder, 'b.lock'));
    await sleep(50);
    seen.length = 0;
    rmSync(join(folder, 'b.lock'), { recursive: true });
    await until(() => seen.includes('b'));
    for (const off of offs) off();
  });

  it('subscribing to a missing folder falls back to polling without throwing', () => {
    const watchers = new FolderWatchers();
    const unsubscribe = watchers.subscribe(join(root, 'missing', randomUUID()), 'k', () => {});
    expect(watchers.activeWatchers).toBe(0);
    unsubscribe();
  });

  it('watches a folder that appeared after an earlier subscribe found it missing', async () => {
    const folder = freshDir();
    const watchers = new FolderWatchers();
    const seen: string[] = [];
    const early = watchers.subscribe(folder, 'a', () => seen.push('early'));
    expect(watchers.activeWatchers).toBe(0);
    mkdirSync(folder, { recursive: true });
    const late = watchers.subscribe(folder, 'a', () => seen.push('late'));
    expect(watchers.activeWatchers).toBe(1);
    writeFileSync(join(folder, 'a'), 'x');
    await until(() => seen.includes('early') && seen.includes('late'));
    early();
    late();
    expect(watchers.activeWatchers).toBe(0);
  });

  it('a watched folder deleted and made again (a cleaner) wakes its waiters and is watched again while they wait', async () => {
    const folder = freshDir();
    mkdirSync(folder, { recursive: true });
    const watchers = new FolderWatchers();
    const seen: string[] = [];
    // A waiter that stays: the folder's watch is never closed for want of subscribers.
    const staying = watchers.subscribe(folder, 'a', () => seen.push('staying'));
    rmSync(folder, { recursive: true });
    // The deletion itself is news: an owner's lock went with it.
    await until(() => seen.includes('staying'), 5000, 'the wake-up on the deletion');
    mkdirSync(folder);
    seen.length = 0;
    const late = watchers.subscribe(folder, 'a', () => seen.push('late'));
    writeFileSync(join(folder, 'a'), 'x');
    await until(() => seen.includes('late'), 5000, 'the wake-up in the new folder');
    staying();
    late();
    expect(watchers.activeWatchers).toBe(0);
  });

  it("FileCore.subscribe makes a missing function folder, so another process's first write is seen", async () => {
    const cacheDir = freshDir();
    const [watcher, writer] = [new FileCore({ cacheDir }), new FileCore({ cacheDir })];
    const key = defaultKey(['first']);
    let calls = 0;
    const unsubscribe = watcher.subscribe('fn', key, () => calls++);
    expect(existsSync(watcher.location('fn'))).toBe(true);
    expect(folderWatchers().activeWatchers).toBeGreaterThan(0);
    await writer.set('fn', key, { bytes: bytesOf(1), calculatedAt: Date.now() });
    await until(() => calls > 0);
    unsubscribe();
  });
});
