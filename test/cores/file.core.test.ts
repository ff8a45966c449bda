/**
 * The file core against the byte-level Core contract, called directly (no wrapper).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import type { Claim, StoredEntry } from '../../src/cores/contract.js';
import { FileCore } from '../../src/cores/file.js';
import { HEADER_BYTES } from '../../src/cores/fileEntry.js';
import { CorruptEntryError } from '../../src/errors.js';
import { sleep, until } from '../support/time.js';

const root = mkdtempSync(join(tmpdir(), 'cachier-filecore-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const isWindows = process.platform === 'win32';

function freshDir(): string {
  return join(root, randomUUID());
}

/** A random 64-hex key. */
function newKey(): string {
  return randomBytes(32).toString('hex');
}

function entryOf(text: string, calculatedAt = Date.now()): StoredEntry {
  return { bytes: new Uint8Array(Buffer.from(text)), calculatedAt };
}

function textOf(entry: StoredEntry | undefined): string | undefined {
  return entry && Buffer.from(entry.bytes).toString();
}

describe('entries', () => {
  it('stores and returns the exact bytes and calculation time; absent is undefined', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const key = newKey();
    expect(await core.get('fn', key)).toBeUndefined();
    const bytes = new Uint8Array(randomBytes(1000));
    await core.set('fn', key, { bytes, calculatedAt: 1_700_000_000_123.5 });
    const entry = await core.get('fn', key);
    expect(entry?.calculatedAt).toBe(1_700_000_000_123.5);
    expect(Buffer.from(entry?.bytes ?? []).equals(Buffer.from(bytes))).toBe(true);
  });

  it('answers a small entry synchronously and a large one through a promise', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const small = newKey();
    const large = newKey();
    await core.set('fn', small, entryOf('s'.repeat(1000)));
    await core.set('fn', large, entryOf('L'.repeat(200_000)));
    const hit = core.get('fn', small);
    expect(hit).not.toBeInstanceOf(Promise);
    expect(textOf(hit as StoredEntry)).toBe('s'.repeat(1000));
    const pending = core.get('fn', large);
    expect(pending).toBeInstanceOf(Promise);
    expect(textOf(await pending)).toBe('L'.repeat(200_000));
  });

  it('keeps returned bytes independent of later reads', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const [a, b] = [newKey(), newKey()];
    await core.set('fn', a, entryOf('a'.repeat(64)));
    await core.set('fn', b, entryOf('b'.repeat(64)));
    const first = await core.get('fn', a);
    const second = await core.get('fn', b);
    expect(textOf(first)).toBe('a'.repeat(64));
    expect(textOf(second)).toBe('b'.repeat(64));
  });

  it('writes its own record: magic, version, calculatedAt, length, name tag, key, then the bytes', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const key = newKey();
    await core.set('fn', key, entryOf('payload', 1234.5));
    const file = readFileSync(join(core.location('fn'), key));
    expect(file.subarray(0, 4).toString('latin1')).toBe('CCHR');
    expect(file[4]).toBe(2);
    expect(file.readDoubleLE(8)).toBe(1234.5);
    expect(file.readUInt32LE(16)).toBe('payload'.length);
    const nameTag = createHash('sha256').update('fn').digest().subarray(0, 16);
    expect(file.subarray(20, 36).equals(nameTag)).toBe(true);
    expect(file.subarray(36, 68).toString('hex')).toBe(key);
    expect(HEADER_BYTES).toBe(68);
    expect(file.subarray(HEADER_BYTES).toString()).toBe('payload');
    expect(file.byteLength).toBe(HEADER_BYTES + 'payload'.length);
  });

  it("an entry copied to another key's name or another name's folder is damaged, never served", async () => {
    const cacheDir = freshDir();
    const core = new FileCore({ cacheDir });
    const [key, other] = [newKey(), newKey()];
    await core.set('reports', key, entryOf('the report of key'));
    await core.set('orders', key, entryOf('the order of key'));
    const bytes = readFileSync(join(core.location('reports'), key));
    // A backup restored under another key, and one restored into another function's folder.
    writeFileSync(join(core.location('reports'), other), bytes);
    writeFileSync(join(core.location('orders'), key), bytes);
    const reader = new FileCore({ cacheDir });
    expect(() => reader.get('reports', other)).toThrow(/stored for another name or key/);
    expect(() => reader.get('orders', key)).toThrow(CorruptEntryError);
    expect(textOf(await reader.get('reports', key))).toBe('the report of key');
    // deleteStale removes damaged entries, whatever their age.
    await reader.deleteStale('reports', 0);
    expect(existsSync(join(core.location('reports'), other))).toBe(false);
    expect(existsSync(join(core.location('reports'), key))).toBe(true);
  });

  it("0.1.0's entries (format version 1, a 20-byte header) are quiet misses", async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const key = newKey();
    await core.set('fn', key, entryOf('x'));
    const old = Buffer.alloc(20 + 3);
    old.write('CCHR', 0, 'latin1');
    old[4] = 1;
    old.writeDoubleLE(Date.now(), 8);
    old.writeUInt32LE(3, 16);
    old.write('old', 20);
    writeFileSync(join(core.location('fn'), key), old);
    expect(await core.get('fn', key)).toBeUndefined();
  });

  it('replaces entries atomically: concurrent writers leave one complete entry, no temp file', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const key = newKey();
    const size = 100_000;
    let writing = true;
    const seen: StoredEntry[] = [];
    const reader = (async () => {
      while (writing) {
        const entry = await core.get('race', key);
        if (entry) seen.push(entry);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        core.set('race', key, { bytes: new Uint8Array(size).fill(i), calculatedAt: i }),
      ),
    );
    writing = false;
    await reader;
    const intact = (entry: StoredEntry | undefined) =>
      entry !== undefined &&
      entry.bytes.byteLength === size &&
      entry.bytes.every((byte) => byte === entry.calculatedAt);
    expect(intact(await core.get('race', key))).toBe(true);
    for (const entry of seen) expect(intact(entry)).toBe(true);
    expect(readdirSync(core.location('race')).filter((f) => f !== '.cachier-folder')).toEqual([
      key,
    ]);
  });

  it('worker threads writing one key never share a temp file', async () => {
    const cacheDir = freshDir();
    const key = newKey();
    const barrier = new Int32Array(new SharedArrayBuffer(4));
    // Beyond 64 KiB, so that writes go through the thread pool and overlap the most.
    const writers = [
      writeFromWorker(cacheDir, key, 1, 70_000, barrier),
      writeFromWorker(cacheDir, key, 2, 90_000, barrier),
    ];
    expect(await Promise.all(writers)).toEqual([[], []]);
    const entry = await new FileCore({ cacheDir }).get('threads', key);
    const bytes = entry?.bytes ?? new Uint8Array();
    expect([70_000, 90_000]).toContain(bytes.byteLength);
    expect(bytes.every((byte) => byte === (bytes.byteLength === 70_000 ? 1 : 2))).toBe(true);
    expect(readdirSync(join(cacheDir, 'threads')).sort()).toEqual(['.cachier-folder', key]);
  });

  it('a damaged entry is a CorruptEntryError; another format version is a miss', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const key = newKey();
    await core.set('fn', key, entryOf('fine'));
    const path = join(core.location('fn'), key);
    writeFileSync(path, 'not a cachier entry at all');
    expect(() => core.get('fn', key)).toThrow(CorruptEntryError);
    await core.set('fn', key, entryOf('fine'));
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.byteLength - 1));
    expect(() => core.get('fn', key)).toThrow(/truncated/);
    bytes[4] = 99;
    writeFileSync(path, bytes);
    expect(await core.get('fn', key)).toBeUndefined();
  });

  it('a read right after a miss still finds what another writer stored, and judges it', async () => {
    const cacheDir = freshDir();
    const reader = new FileCore({ cacheDir });
    const writer = new FileCore({ cacheDir });
    const [absent, stored, damaged] = [newKey(), newKey(), newKey()];
    await writer.set('fn', stored, entryOf('from the writer'));
    expect(await reader.get('fn', absent)).toBeUndefined();
    // The miss above makes the next read look with lstat first (misses come in runs).
    expect(textOf(await reader.get('fn', stored))).toBe('from the writer');
    expect(await reader.get('fn', absent)).toBeUndefined();
    writeFileSync(join(reader.location('fn'), damaged), 'not a cachier entry at all');
    expect(() => reader.get('fn', damaged)).toThrow(CorruptEntryError);
    expect(await reader.get('fn', absent)).toBeUndefined();
    if (!isWindows) {
      symlinkSync(join(reader.location('fn'), stored), join(reader.location('fn'), absent));
      expect(() => reader.get('fn', absent)).toThrow(CorruptEntryError);
    }
  });

  it('rejects keys that are not 64 hex characters (they become file names)', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    expect(() => core.get('fn', '../escape')).toThrow(/64 lowercase hex/);
    await expect(core.set('fn', 'A'.repeat(64), entryOf('x'))).rejects.toThrow(TypeError);
  });

  it('delete removes one entry; absent is fine', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const [a, b] = [newKey(), newKey()];
    await core.set('fn', a, entryOf('a'));
    await core.set('fn', b, entryOf('b'));
    await core.delete('fn', a);
    await core.delete('fn', a);
    await core.delete('never-used', a);
    expect(await core.get('fn', a)).toBeUndefined();
    expect(textOf(await core.get('fn', b))).toBe('b');
  });
});

describe('clear and deleteStale', () => {
  it('clear deletes the entries of one name only, leaving claims', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const [a, b, c] = [newKey(), newKey(), newKey()];
    await core.set('one', a, entryOf('a'));
    await core.set('one', b, entryOf('b'));
    await core.set('two', a, entryOf('other'));
    const claim = await core.tryClaim('one', c);
    await core.clear('one');
    expect(await core.get('one', a)).toBeUndefined();
    expect(await core.get('one', b)).toBeUndefined();
    expect(textOf(await core.get('two', a))).toBe('other');
    expect(await claim?.renew()).toBe(true);
    expect(await core.tryClaim('one', c)).toBeUndefined();
    await claim?.release();
  });

  it('deleteStale deletes entries calculated before the bound, and damaged ones', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const [old, fresh, damaged] = [newKey(), newKey(), newKey()];
    await core.set('fn', old, entryOf('old', 1000));
    await core.set('fn', fresh, entryOf('fresh', 5000));
    writeFileSync(join(core.location('fn'), damaged), 'garbage');
    await core.deleteStale('fn', 2000);
    expect(await core.get('fn', old)).toBeUndefined();
    expect(textOf(await core.get('fn', fresh))).toBe('fresh');
    expect(existsSync(join(core.location('fn'), damaged))).toBe(false);
  });

  it('clear, deleteStale and clearClaims on a name never used do nothing', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    await core.clear('none');
    await core.deleteStale('none', Date.now());
    await core.clearClaims('none');
    expect(existsSync(core.cacheDir)).toBe(false);
  });
});

describe('claims', () => {
  it('exposes its lease', () => {
    expect(new FileCore({ cacheDir: freshDir() }).leaseMs).toBe(10_000);
    expect(new FileCore({ cacheDir: freshDir(), leaseMs: 3000 }).leaseMs).toBe(3000);
  });

  it('one winner among many concurrent claimers, in two cores; free again after release', async () => {
    const cacheDir = freshDir();
    const cores = [new FileCore({ cacheDir }), new FileCore({ cacheDir })];
    const key = newKey();
    const claims = await Promise.all(
      Array.from({ length: 20 }, (_, i) => cores[i % 2]?.tryClaim('fn', key)),
    );
    const won = claims.filter((claim): claim is Claim => claim !== undefined);
    expect(won).toHaveLength(1);
    expect(await won[0]?.renew()).toBe(true);
    await won[0]?.release();
    const again = await cores[1]?.tryClaim('fn', key);
    expect(again).toBeDefined();
    await again?.release();
    expect(readdirSync(cores[0]?.location('fn') ?? '')).toEqual(['.cachier-folder']);
  });

  it('clearClaims drops held claims: renew reports the loss, the late release spares the newer owner', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const key = newKey();
    const held = await core.tryClaim('fn', key);
    expect(held).toBeDefined();
    await core.clearClaims('fn');
    expect(await held?.renew()).toBe(false);
    const newer = await core.tryClaim('fn', key);
    expect(newer).toBeDefined();
    await held?.release();
    expect(await core.tryClaim('fn', key)).toBeUndefined();
    expect(await newer?.renew()).toBe(true);
    await newer?.release();
    expect(existsSync(join(core.location('fn'), `${key}.lock`))).toBe(false);
  });

  it('renew reports a claim whose lock folder was removed behind its back', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const key = newKey();
    const claim = await core.tryClaim('fn', key);
    rmSync(join(core.location('fn'), `${key}.lock`), { recursive: true, force: true });
    expect(await claim?.renew()).toBe(false);
    await claim?.release();
  });

  it("takes over a lock whose lease ran out (a 0.1.0 lock, or a foreign owner's)", async () => {
    const core = new FileCore({ cacheDir: freshDir(), leaseMs: 2000 });
    const key = newKey();
    const lock = join(core.location('fn'), `${key}.lock`);
    mkdirSync(lock, { recursive: true });
    expect(await core.tryClaim('fn', key)).toBeUndefined();
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const claim = await core.tryClaim('fn', key);
    expect(claim).toBeDefined();
    await claim?.release();
  });

  it('renew refreshes the lock folder’s mtime, so a renewed claim is not taken over', async () => {
    const core = new FileCore({ cacheDir: freshDir(), leaseMs: 2000 });
    const key = newKey();
    const claim = await core.tryClaim('fn', key);
    const lock = join(core.location('fn'), `${key}.lock`);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    expect(await claim?.renew()).toBe(true);
    expect(statSync(lock).mtimeMs).toBeGreaterThan(old.getTime() + 30_000);
    expect(await new FileCore({ cacheDir: core.cacheDir }).tryClaim('fn', key)).toBeUndefined();
    await claim?.release();
  });

  it('a claim taken over after its lease lapsed renews false and its release spares the taker', async () => {
    const core = new FileCore({ cacheDir: freshDir(), leaseMs: 2000 });
    const key = newKey();
    const lapsed = await core.tryClaim('fn', key);
    const lock = join(core.location('fn'), `${key}.lock`);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    const taker = await new FileCore({ cacheDir: core.cacheDir, leaseMs: 2000 }).tryClaim(
      'fn',
      key,
    );
    expect(taker).toBeDefined();
    expect(await lapsed?.renew()).toBe(false);
    await lapsed?.release();
    expect(readdirSync(lock)).toHaveLength(1);
    expect(await taker?.renew()).toBe(true);
    await taker?.release();
    expect(existsSync(lock)).toBe(false);
  });

  it('listens for the process’s exit only while it holds claims', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const before = process.listenerCount('exit');
    const first = await core.tryClaim('fn', newKey());
    const second = await core.tryClaim('fn', newKey());
    expect(process.listenerCount('exit')).toBe(before + 1);
    await first?.release();
    expect(process.listenerCount('exit')).toBe(before + 1);
    await core.clearClaims('fn');
    expect(process.listenerCount('exit')).toBe(before);
    await second?.release();
    expect(process.listenerCount('exit')).toBe(before);
  });

  it.skipIf(isWindows)('makes lock folders 0700 and entries 0600 whatever the umask', async () => {
    const previous = process.umask(0);
    try {
      const core = new FileCore({ cacheDir: freshDir() });
      const key = newKey();
      await core.set('fn', key, entryOf('x'));
      const claim = await core.tryClaim('fn', key);
      const folder = core.location('fn');
      expect(statSync(folder).mode & 0o777).toBe(0o700);
      expect(statSync(join(folder, key)).mode & 0o777).toBe(0o600);
      expect(statSync(join(folder, `${key}.lock`)).mode & 0o777).toBe(0o700);
      await claim?.release();
    } finally {
      process.umask(previous);
    }
  });
});

describe('subscribe', () => {
  it('calls back when another writer stores the key or releases its claim, until unsubscribed', async () => {
    const cacheDir = freshDir();
    const core = new FileCore({ cacheDir });
    const other = new FileCore({ cacheDir });
    const key = newKey();
    const claim = await other.tryClaim('fn', key);
    let calls = 0;
    const unsubscribe = core.subscribe('fn', key, () => calls++);
    await other.set('fn', key, entryOf('v'));
    await until(() => calls > 0);
    calls = 0;
    await claim?.release();
    await until(() => calls > 0);
    unsubscribe();
    calls = 0;
    await other.set('fn', key, entryOf('w'));
    await sleep(100);
    expect(calls).toBe(0);
  });

  it('does not call back for lock mtime refreshes (a holder keeping its claim alive)', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const key = newKey();
    const claim = await core.tryClaim('fn', key);
    const lock = join(core.location('fn'), `${key}.lock`);
    let calls = 0;
    const unsubscribe = core.subscribe('fn', key, () => calls++);
    for (let i = 0; i < 5; i++) {
      const now = new Date();
      utimesSync(lock, now, now);
      await sleep(20);
    }
    // A real change still arrives after the refreshes, so they were delivered and ignored.
    await core.set('fn', key, entryOf('v'));
    await until(() => calls > 0);
    await sleep(50);
    expect(calls).toBe(1);
    unsubscribe();
    await claim?.release();
  });
});

describe('tools: location, names, list', () => {
  it('names() lists the real cache names of this store, list() its entries', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const [a, b] = [newKey(), newKey()];
    await core.set('Reports by id', a, entryOf('a', 1000));
    await core.set('Reports by id', b, entryOf('bb', 2000));
    await core.set('plain', a, entryOf('x'));
    mkdirSync(join(core.cacheDir, 'not-a-cache-folder'));
    expect(await core.names()).toEqual(['Reports by id', 'plain']);
    const infos = [];
    for await (const info of core.list('Reports by id')) infos.push(info);
    infos.sort((x, y) => x.calculatedAt - y.calculatedAt);
    expect(infos).toEqual([
      { key: a, calculatedAt: 1000, size: HEADER_BYTES + 1 },
      { key: b, calculatedAt: 2000, size: HEADER_BYTES + 2 },
    ]);
  });

  it('location() is the function folder under cacheDir', () => {
    const core = new FileCore({ cacheDir: freshDir() });
    expect(core.location('plain')).toBe(join(core.cacheDir, 'plain'));
  });
});

/**
 * Runs 20 rounds of 25 concurrent `set`s of one key on a FileCore in a worker thread;
 * resolves to the messages of the writes that failed. The two workers meet at `barrier`
 * before every round, so they write at the same moments: worker threads share the process
 * id, and this shows whether their temp files are still told apart.
 */
function writeFromWorker(
  cacheDir: string,
  key: string,
  fill: number,
  size: number,
  barrier: Int32Array,
): Promise<string[]> {
  const tsx = import.meta.resolve('tsx/esm/api');
  const fileCore = new URL('../../src/cores/file.ts', import.meta.url).href;
  // `--import tsx` does not reach worker threads on Node 20: register tsx inside the worker.
  const program = `
    const { workerData, parentPort } = require('node:worker_threads');
    (async () => {
      (await import(${JSON.stringify(tsx)})).register();
      const { FileCore } = await import(${JSON.stringify(fileCore)});
      const { cacheDir, key, fill, size, barrier } = workerData;
      const core = new FileCore({ cacheDir });
      const failures = [];
      for (let round = 0; round < 20; round++) {
        Atomics.add(barrier, 0, 1);
        Atomics.notify(barrier, 0);
        for (let seen; (seen = Atomics.load(barrier, 0)) < 2 * (round + 1); ) {
          Atomics.wait(barrier, 0, seen, 100);
        }
        await Promise.all(Array.from({ length: 25 }, () =>
          core.set('threads', key, { bytes: new Uint8Array(size).fill(fill), calculatedAt: Date.now() })
            .catch((error) => failures.push(error.message))));
      }
      parentPort.postMessage(failures);
    })().catch((error) => parentPort.postMessage([String(error)]));
  `;
  return new Promise((resolve, reject) => {
    const worker = new Worker(program, {
      eval: true,
      workerData: { cacheDir, key, fill, size, barrier },
    });
    worker.once('message', (failures: string[]) => {
      resolve(failures);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}
