/**
 * The file core against hostile and odd file systems (issue 11): folders it must not
 * trust, files that are not its entries, crash leftovers, and awkward cache names.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredEntry } from '../../src/cores/contract.js';
import { FileCore } from '../../src/cores/file.js';
import {
  HEADER_BYTES,
  MAX_ENTRY_FILE_BYTES,
  nameTagOf,
  writeHeader,
} from '../../src/cores/fileEntry.js';
import { folderNameFor, MARKER_NAME, tempNameFor } from '../../src/cores/fileNames.js';
import { hostId, hostTag } from '../../src/cores/fileOwners.js';
import { CachierError, CorruptEntryError } from '../../src/errors.js';
import { sleep } from '../support/time.js';

const root = mkdtempSync(join(tmpdir(), 'cachier-hardening-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const isWindows = process.platform === 'win32';
const uid = process.getuid?.();

function freshDir(): string {
  return join(root, randomUUID());
}

function newKey(): string {
  return randomBytes(32).toString('hex');
}

function entryOf(text: string, calculatedAt = Date.now()): StoredEntry {
  return { bytes: new Uint8Array(Buffer.from(text)), calculatedAt };
}

function textOf(entry: StoredEntry | undefined): string | undefined {
  return entry && Buffer.from(entry.bytes).toString();
}

/** The pid of a process that has ended. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

/** Settles with the promise's outcome, or 'timed out' (a hang) after `ms`. */
async function settles(promise: unknown, ms = 5000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timed out'), ms);
  });
  try {
    return await Promise.race([
      Promise.resolve(promise).then(
        (value) => value,
        (error: unknown) => error,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** `get` as a promise, whether it answers (or throws) synchronously or not. */
function readLater(core: FileCore, key: string): Promise<StoredEntry | undefined> {
  return Promise.resolve().then(() => core.get('fn', key));
}

async function codeOf(operation: () => unknown): Promise<string | undefined> {
  try {
    await operation();
    return undefined;
  } catch (error) {
    return (error as CachierError).code;
  }
}

let warnings: { code: string | undefined; message: string }[] = [];
const onWarning = (warning: Error & { code?: string }) => {
  warnings.push({ code: warning.code, message: warning.message });
};
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});

describe.skipIf(isWindows)('security: folders cachier must not trust', () => {
  it('refuses a function folder that is a symlink, and never touches what it points to', async () => {
    const cacheDir = freshDir();
    const core = new FileCore({ cacheDir });
    const victim = join(root, `victim-${randomUUID()}`);
    mkdirSync(victim);
    const key = newKey();
    writeFileSync(join(victim, key), 'precious');
    writeFileSync(join(victim, 'notes.txt'), 'precious too');
    mkdirSync(cacheDir, { mode: 0o700 });
    symlinkSync(victim, core.location('fn'));

    expect(await codeOf(() => core.get('fn', key))).toBe('CACHIER_UNSAFE_FOLDER');
    expect(await codeOf(() => core.set('fn', key, entryOf('x')))).toBe('CACHIER_UNSAFE_FOLDER');
    expect(await codeOf(() => core.tryClaim('fn', key))).toBe('CACHIER_UNSAFE_FOLDER');
    expect(await codeOf(() => core.clear('fn'))).toBe('CACHIER_UNSAFE_FOLDER');
    expect(await codeOf(() => core.deleteStale('fn', Date.now()))).toBe('CACHIER_UNSAFE_FOLDER');
    expect(await codeOf(() => core.clearClaims('fn'))).toBe('CACHIER_UNSAFE_FOLDER');
    expect(readdirSync(victim).sort()).toEqual([key, 'notes.txt'].sort());
    expect(readFileSync(join(victim, key), 'utf8')).toBe('precious');
  });

  it('names the folder and the fix in the refusal', async () => {
    const cacheDir = freshDir();
    const core = new FileCore({ cacheDir });
    mkdirSync(core.location('fn'), { recursive: true, mode: 0o700 });
    chmodSync(core.location('fn'), 0o777);
    const error = (await settles(core.set('fn', newKey(), entryOf('x')))) as CachierError;
    expect(error).toBeInstanceOf(CachierError);
    expect(error.code).toBe('CACHIER_UNSAFE_FOLDER');
    expect(error.message).toContain(core.location('fn'));
    expect(error.message).toMatch(/can be written by other users/);
    expect(error.message).toMatch(/Use a cacheDir that only you can write to/);
  });

  it('refuses a planted folder that is group- or world-writable; a poisoned entry is never read', async () => {
    const cacheDir = freshDir();
    const core = new FileCore({ cacheDir });
    const key = newKey();
    const folder = core.location('fn');
    mkdirSync(folder, { recursive: true });
    chmodSync(cacheDir, 0o700);
    chmodSync(folder, 0o770);
    const planted = Buffer.alloc(HEADER_BYTES + 6);
    writeHeader(planted, Date.now(), 6, { nameTag: nameTagOf('fn'), key });
    planted.write('poison', HEADER_BYTES);
    writeFileSync(join(folder, key), planted);
    expect(await codeOf(() => core.get('fn', key))).toBe('CACHIER_UNSAFE_FOLDER');
    chmodSync(folder, 0o700);
    expect(textOf(await new FileCore({ cacheDir }).get('fn', key))).toBe('poison');
  });

  it.skipIf(uid !== 0)(
    'refuses a function folder owned by another user (run as root)',
    async () => {
      const cacheDir = freshDir();
      const core = new FileCore({ cacheDir });
      const folder = core.location('fn');
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      chownSync(folder, 4242, 4242);
      const error = (await settles(core.set('fn', newKey(), entryOf('x')))) as CachierError;
      expect(error.code).toBe('CACHIER_UNSAFE_FOLDER');
      expect(error.message).toMatch(/belongs to another user \(uid 4242\)/);
    },
  );

  it('refuses a cacheDir others can write to without the sticky bit, accepts one with it', async () => {
    const open = freshDir();
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(
      await codeOf(() => new FileCore({ cacheDir: open }).set('fn', newKey(), entryOf('x'))),
    ).toBe('CACHIER_UNSAFE_FOLDER');
    expect(readdirSync(open)).toEqual([]);
    const sticky = freshDir();
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const core = new FileCore({ cacheDir: sticky });
    const key = newKey();
    await core.set('fn', key, entryOf('fine'));
    expect(textOf(await core.get('fn', key))).toBe('fine');
  });

  it('in a cacheDir others can write to (sticky), a function folder deleted and planted again while the program runs is refused, never read or written', async () => {
    const sticky = freshDir();
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const core = new FileCore({ cacheDir: sticky });
    const key = newKey();
    await core.set('fn', key, entryOf('mine'));
    expect(textOf(await readLater(core, key))).toBe('mine');
    // A /tmp cleaner removes the idle folder; another user makes one of that name, with an entry.
    const folder = core.location('fn');
    rmSync(folder, { recursive: true });
    mkdirSync(folder);
    chmodSync(folder, 0o777);
    const planted = Buffer.alloc(HEADER_BYTES + 6);
    writeHeader(planted, Date.now(), 6, { nameTag: nameTagOf('fn'), key });
    planted.write('poison', HEADER_BYTES);
    writeFileSync(join(folder, key), planted);
    expect(await codeOf(() => core.get('fn', key))).toBe('CACHIER_UNSAFE_FOLDER');
    expect(await codeOf(() => core.set('fn', newKey(), entryOf('secret')))).toBe(
      'CACHIER_UNSAFE_FOLDER',
    );
    expect(await codeOf(() => core.tryClaim('fn', newKey()))).toBe('CACHIER_UNSAFE_FOLDER');
    expect(readdirSync(folder)).toEqual([key]);
  });

  it('makes temp files unpredictable: 128 random bits in every name', () => {
    const key = newKey();
    const names = new Set(Array.from({ length: 100 }, () => tempNameFor(key, hostTag)));
    expect(names.size).toBe(100);
    for (const name of names) {
      expect(name).toMatch(
        new RegExp(`^${key}\\.${process.pid}\\.${hostTag}\\.[0-9a-f]{32}\\.tmp$`),
      );
    }
  });
});

describe.skipIf(isWindows)('hostile or odd files at entry names are misses, never hangs', () => {
  async function setup() {
    const core = new FileCore({ cacheDir: freshDir() });
    const key = newKey();
    await core.set('fn', key, entryOf('to be replaced'));
    const path = join(core.location('fn'), key);
    rmSync(path);
    return { core, key, path };
  }

  async function expectMissThenReplaced(core: FileCore, key: string) {
    const read = await settles(readLater(core, key), 3000);
    expect(read).toBeInstanceOf(CorruptEntryError);
    expect(await settles(core.set('fn', key, entryOf('replaced')))).toBeUndefined();
    expect(textOf(await core.get('fn', key))).toBe('replaced');
  }

  it('a FIFO', async () => {
    const { core, key, path } = await setup();
    execFileSync('mkfifo', [path]);
    await expectMissThenReplaced(core, key);
  });

  it('a symlink to /dev/zero', async () => {
    const { core, key, path } = await setup();
    symlinkSync('/dev/zero', path);
    await expectMissThenReplaced(core, key);
  });

  it('a symlink to a well-formed entry elsewhere (the link is never followed)', async () => {
    const { core, key, path } = await setup();
    const elsewhere = join(root, `entry-${randomUUID()}`);
    const planted = Buffer.alloc(HEADER_BYTES + 6);
    writeHeader(planted, Date.now(), 6, { nameTag: nameTagOf('fn'), key });
    planted.write('poison', HEADER_BYTES);
    writeFileSync(elsewhere, planted);
    symlinkSync(elsewhere, path);
    await expectMissThenReplaced(core, key);
    expect(readFileSync(elsewhere).equals(planted)).toBe(true);
  });

  it('a directory', async () => {
    const { core, key, path } = await setup();
    mkdirSync(join(path, 'inside'), { recursive: true });
    await expectMissThenReplaced(core, key);
  });

  it('an entry whose header claims more bytes than the file has, or fewer', async () => {
    const { core, key, path } = await setup();
    const file = Buffer.alloc(HEADER_BYTES + 10);
    writeHeader(file, Date.now(), 1000, { nameTag: nameTagOf('fn'), key });
    writeFileSync(path, file);
    expect(() => core.get('fn', key)).toThrow(CorruptEntryError);
    writeHeader(file, Date.now(), 5, { nameTag: nameTagOf('fn'), key });
    writeFileSync(path, file);
    expect(() => core.get('fn', key)).toThrow(CorruptEntryError);
  });

  it('a sparse file over 2 GiB is a miss, read no further than its header', async () => {
    const { core, key, path } = await setup();
    const size = 2 ** 31 + 100;
    const fd = openSync(path, 'w');
    const header = Buffer.alloc(HEADER_BYTES);
    writeHeader(header, Date.now(), 0xffffffff, { nameTag: nameTagOf('fn'), key });
    writeSync(fd, header, 0, HEADER_BYTES, 0);
    writeSync(fd, Buffer.from([1]), 0, 1, size - 1);
    closeSync(fd);
    expect(lstatSync(path).size).toBe(size);
    const read = await settles(readLater(core, key), 3000);
    expect(read).toBeInstanceOf(CorruptEntryError);
    expect((read as Error).message).toMatch(/too large/);
    await core.deleteStale('fn', 0);
    expect(existsSync(path)).toBe(false);
  });

  it('refuses to store an entry Node could not read back (2 GiB or more), with a clear error', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const bytes = new Uint8Array(0);
    Object.defineProperty(bytes, 'byteLength', { value: MAX_ENTRY_FILE_BYTES - HEADER_BYTES + 1 });
    const error = (await settles(
      core.set('fn', newKey(), { bytes, calculatedAt: 1 }),
    )) as CachierError;
    expect(error.code).toBe('CACHIER_ENTRY_TOO_LARGE');
    expect(error.message).toMatch(new RegExp(`up to ${2 ** 31 - 1 - HEADER_BYTES} bytes`));
  });

  it('clear and deleteStale cope with all of them at once: they settle and remove them', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const keys = Array.from({ length: 4 }, newKey);
    await core.set('fn', keys[0] as string, entryOf('ok'));
    const folder = core.location('fn');
    const [, fifo, zero, dir] = keys.map((key) => join(folder, key)) as string[];
    for (const cleanup of [
      (): Promise<void> => core.deleteStale('fn', 0),
      (): Promise<void> => core.clear('fn'),
    ]) {
      execFileSync('mkfifo', [fifo as string]);
      symlinkSync('/dev/zero', zero as string);
      mkdirSync(join(dir as string, 'x'), { recursive: true });
      expect(await settles(cleanup(), 5000)).toBeUndefined();
      for (const path of [fifo, zero, dir]) {
        expect(lstatSync(path as string, { throwIfNoEntry: false })).toBeUndefined();
      }
    }
    expect(existsSync(join(folder, keys[0] as string))).toBe(false); // clear removed it
  });
});

describe('data loss: only names cachier writes are deleted', () => {
  it('clear and deleteStale leave foreign files alone and report them once', async () => {
    const cacheDir = freshDir();
    const core = new FileCore({ cacheDir });
    const key = newKey();
    await core.set('Documents', key, entryOf('entry', 1));
    const folder = core.location('Documents');
    const foreign = [
      'thesis.docx',
      'notes',
      'a'.repeat(63),
      'A'.repeat(64),
      `${key}.bak`,
      `${key}.lock.old`,
    ];
    for (const file of foreign) writeFileSync(join(folder, file), 'keep me');
    await core.deleteStale('Documents', Date.now());
    await core.clear('Documents');
    await core.clear('Documents');
    expect(readdirSync(folder).sort()).toEqual([...foreign, MARKER_NAME].sort());
    await new Promise((resolve) => setImmediate(resolve));
    const reported = warnings.filter((w) => w.code === 'CACHIER_FOREIGN_FILES');
    expect(reported).toHaveLength(1);
    expect(reported[0]?.message).toContain(folder);
    expect(reported[0]?.message).toContain('6 file(s)');
  });

  it.skipIf(isWindows)(
    'clear removes a symlink at an entry name, not the file it points to',
    async () => {
      const core = new FileCore({ cacheDir: freshDir() });
      const key = newKey();
      await core.set('fn', key, entryOf('x'));
      const victim = join(root, `victim-${randomUUID()}`);
      writeFileSync(victim, 'precious');
      rmSync(join(core.location('fn'), key));
      symlinkSync(victim, join(core.location('fn'), key));
      await core.clear('fn');
      expect(existsSync(join(core.location('fn'), key))).toBe(false);
      expect(readFileSync(victim, 'utf8')).toBe('precious');
    },
  );
});

describe('crash leftovers', () => {
  async function leftovers() {
    const core = new FileCore({ cacheDir: freshDir() });
    const keep = newKey();
    await core.set('fn', keep, entryOf('kept', Date.now()));
    const folder = core.location('fn');
    const dead = deadPid();
    const files = {
      deadTemp: `${newKey()}.${dead}.${hostTag}.${randomBytes(16).toString('hex')}.tmp`,
      liveTemp: `${newKey()}.${process.pid}.${hostTag}.${randomBytes(16).toString('hex')}.tmp`,
      foreignHostTemp: `${newKey()}.${dead}.00000000.${randomBytes(16).toString('hex')}.tmp`,
      oldTemp: `${newKey()}.${dead}.1.7.tmp`,
      deadLock: `${newKey()}.lock`,
      liveLock: `${newKey()}.lock`,
      foreignLock: `${newKey()}.lock`,
    };
    for (const temp of [files.deadTemp, files.liveTemp, files.foreignHostTemp, files.oldTemp]) {
      writeFileSync(join(folder, temp), 'half written');
    }
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(join(folder, files.oldTemp), hourAgo, hourAgo);
    const owners: [string, number, string][] = [
      [files.deadLock, dead, hostId],
      [files.liveLock, process.pid, hostId],
      [files.foreignLock, dead, 'another-host'],
    ];
    for (const [lock, pid, host] of owners) {
      mkdirSync(join(folder, lock));
      writeFileSync(join(folder, lock, 'owner.0123'), JSON.stringify({ pid, host }));
    }
    const expected = [
      MARKER_NAME,
      keep,
      files.liveTemp,
      files.foreignHostTemp,
      files.liveLock,
      files.foreignLock,
    ];
    return { core, folder, keep, expected: expected.sort() };
  }

  it('deleteStale removes dead writers’ temp files and dead owners’ locks, nothing live', async () => {
    const { core, folder, expected } = await leftovers();
    await core.deleteStale('fn', 0);
    expect(readdirSync(folder).sort()).toEqual(expected);
  });

  it('clear does too (and the entries)', async () => {
    const { core, folder, keep, expected } = await leftovers();
    await core.clear('fn');
    expect(readdirSync(folder).sort()).toEqual(expected.filter((file) => file !== keep));
  });

  it('a claim in the folder sweeps them in the background', async () => {
    const { core, folder, expected } = await leftovers();
    const claim = await core.tryClaim('fn', newKey());
    const end = Date.now() + 5000;
    while (readdirSync(folder).length !== expected.length + 1 && Date.now() < end) await sleep(10);
    expect(readdirSync(folder).filter((file) => !expected.includes(file))).toHaveLength(1); // the claim
    await claim?.release();
  });
});

describe('claims: dead owners and foreign hosts', () => {
  function plantClaim(core: FileCore, key: string, pid: number, host: string): string {
    const lock = join(core.location('fn'), `${key}.lock`);
    mkdirSync(lock, { recursive: true });
    writeFileSync(join(lock, 'owner.feed'), JSON.stringify({ pid, host }));
    return lock;
  }

  it('takes over at once the claim of an owner on this host whose process is gone', async () => {
    const core = new FileCore({ cacheDir: freshDir(), leaseMs: 60_000 });
    await core.set('fn', newKey(), entryOf('x'));
    const key = newKey();
    plantClaim(core, key, deadPid(), hostId);
    const claim = await core.tryClaim('fn', key);
    expect(claim).toBeDefined();
    expect(await claim?.renew()).toBe(true);
    await claim?.release();
  });

  it("keeps a live owner's claim on this host, and a foreign host's claim until its lease ends", async () => {
    const core = new FileCore({ cacheDir: freshDir(), leaseMs: 60_000 });
    await core.set('fn', newKey(), entryOf('x'));
    const live = newKey();
    plantClaim(core, live, process.pid, hostId);
    expect(await core.tryClaim('fn', live)).toBeUndefined();
    const foreign = newKey();
    const lock = plantClaim(core, foreign, deadPid(), 'another-host');
    expect(await core.tryClaim('fn', foreign)).toBeUndefined();
    const past = new Date(Date.now() - 61_000);
    utimesSync(lock, past, past);
    const claim = await core.tryClaim('fn', foreign);
    expect(claim).toBeDefined();
    await claim?.release();
  });

  it('a claim dated more than a minute ahead (a wrong clock, a restored backup) is taken over, never waited on without end', async () => {
    const core = new FileCore({ cacheDir: freshDir(), leaseMs: 60_000 });
    await core.set('fn', newKey(), entryOf('x'));
    const ahead = newKey();
    const lock = plantClaim(core, ahead, deadPid(), 'another-host');
    const nextYear = new Date(Date.now() + 365 * 86_400_000);
    utimesSync(lock, nextYear, nextYear);
    const claim = await core.tryClaim('fn', ahead);
    expect(claim).toBeDefined();
    await claim?.release();
    // A clock a few seconds ahead is still a live owner's.
    const slightly = newKey();
    const near = plantClaim(core, slightly, deadPid(), 'another-host');
    const soon = new Date(Date.now() + 5_000);
    utimesSync(near, soon, soon);
    expect(await core.tryClaim('fn', slightly)).toBeUndefined();
    // A live owner on this machine keeps its claim whatever the date (the clock may have
    // stepped back since its last renewal); a dead one here is taken over at once.
    const liveHere = newKey();
    const live = plantClaim(core, liveHere, process.pid, hostId);
    utimesSync(live, nextYear, nextYear);
    expect(await core.tryClaim('fn', liveHere)).toBeUndefined();
    const deadHere = newKey();
    const dead = plantClaim(core, deadHere, deadPid(), hostId);
    utimesSync(dead, nextYear, nextYear);
    const taken = await core.tryClaim('fn', deadHere);
    expect(taken).toBeDefined();
    await taken?.release();
  });

  it('a lapsed claim folder holding files cachier did not write fails the claim (naming the folder) instead of being held for ever, and keeps them', async () => {
    const core = new FileCore({ cacheDir: freshDir(), leaseMs: 60_000 });
    await core.set('fn', newKey(), entryOf('x'));
    const past = new Date(Date.now() - 3_600_000);
    for (const owner of [undefined, { pid: deadPid(), host: 'another-host' }]) {
      const key = newKey();
      const lock = join(core.location('fn'), `${key}.lock`);
      mkdirSync(lock);
      writeFileSync(join(lock, 'notes.txt'), 'not cachier’s');
      if (owner) writeFileSync(join(lock, 'owner.feed'), JSON.stringify(owner));
      utimesSync(lock, past, past);
      const failure = await settles(core.tryClaim('fn', key));
      expect((failure as CachierError).code).toBe('CACHIER_STUCK_CLAIM');
      expect((failure as Error).message).toContain(lock);
      expect(readdirSync(lock)).toEqual(['notes.txt']);
      // Clean-ups leave it alone too, and still settle.
      await core.deleteStale('fn', 0);
      await core.clear('fn');
      expect(readdirSync(lock)).toEqual(['notes.txt']);
    }
  });

  it("a release never removes a lock folder that holds another owner's file", async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const key = newKey();
    const first = await core.tryClaim('fn', key);
    expect(first).toBeDefined();
    const lock = join(core.location('fn'), `${key}.lock`);
    // What a second claimer's owner file in this folder would look like.
    writeFileSync(join(lock, 'owner.other'), JSON.stringify({ pid: process.pid, host: hostId }));
    await first?.release();
    expect(existsSync(join(lock, 'owner.other'))).toBe(true);
    expect(await core.tryClaim('fn', key)).toBeUndefined();
  });
});

describe('names', () => {
  it('a 300-character name works, in a folder of a safe length', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const name = 'n'.repeat(300);
    const key = newKey();
    await core.set(name, key, entryOf('long'));
    expect(textOf(await core.get(name, key))).toBe('long');
    expect(basename(core.location(name)).length).toBeLessThanOrEqual(64);
    expect(await core.names()).toEqual([name]);
  });

  it('escaping is injective: a b and a_b-c8687a08aa5d get folders of their own', () => {
    const names = ['a b', 'a_b', 'a_b-c8687a08aa5d', `a_b~${folderNameFor('a b').split('~')[1]}`];
    const folders = names.map(folderNameFor);
    expect(new Set(folders).size).toBe(names.length);
  });

  it('names differing only in case never share a folder, even on a case-insensitive disk', () => {
    const names = ['report', 'Report', 'REPORT', 'rEpOrT'];
    const folders = names.map((name) => folderNameFor(name).toLowerCase());
    expect(new Set(folders).size).toBe(names.length);
  });

  it('Windows device names, dots and trailing dots get ordinary folder names', () => {
    for (const name of [
      'CON',
      'con',
      'nul.txt',
      'com1',
      'LPT9',
      'aux',
      '.',
      '..',
      'a.',
      '.hidden',
    ]) {
      const folder = folderNameFor(name);
      expect(folder).toMatch(/^[a-z0-9_-][a-z0-9._~-]*[a-z0-9_~-]$|^[a-z0-9_~-]$|~[0-9a-f]{16}$/);
      expect(folder).not.toMatch(/^(con|prn|aux|nul|com\d|lpt\d)(\.|~|$)/i);
      expect(folder.endsWith('.')).toBe(false);
      expect(folder.startsWith('.')).toBe(false);
    }
  });

  it('every name works as a folder here', async () => {
    const core = new FileCore({ cacheDir: freshDir() });
    const names = ['CON', 'nul.txt', '..', 'a/b', 'a\\b', 'ÄÖÜ', '', ' ', 'x'.repeat(1000)];
    for (const name of names) await core.set(name, newKey(), entryOf(name));
    expect((await core.names()).sort()).toEqual([...names].sort());
  });

  it('remembers a bounded number of name → folder resolutions', () => {
    const core = new FileCore({ cacheDir: freshDir() });
    for (let i = 0; i < 5000; i++) core.location(`name-${i}`);
    const memo = (core as unknown as { folders: { size: number } }).folders;
    expect(memo.size).toBeLessThanOrEqual(1000);
  });
});
