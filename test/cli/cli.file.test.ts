/**
 * The `cachier` CLI against the file core: the real built binary in child processes, on
 * caches made by real wrappers in other child processes.
 */
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type BuiltPackage,
  buildPackage,
  cli,
  cliJson,
  DEFAULT_IDENTITY,
  makeCaches,
  newHome,
  type StoreSpec,
} from './cliHarness.js';

const DAY = 86_400_000;
const REPORTS = 'billing:src/reports:monthlyReport';
const USERS = 'billing:src/users:loadUser';

let built: BuiltPackage;
beforeAll(async () => {
  built = await buildPackage();
});

/**
 * A home whose `~/.cachier` holds: the default-identity `fetchReport` (ids 1, 2 dated 5 days
 * back; then, with staleAfter 3 days, ids 1 again and 3: 1 is recalculated, so only 2 is
 * stale), REPORTS (4 entries, 40 days old) and USERS (1 fresh entry).
 */
async function standardHome(): Promise<{ home: string; store: StoreSpec }> {
  const home = newHome(built);
  const store: StoreSpec = { kind: 'file', dir: `${home}/.cachier` };
  const calculated = await makeCaches(built, home, store, [
    { calls: [1, 2], daysAgo: 5 },
    { calls: [1, 3], staleAfterDays: 3 },
    { name: REPORTS, calls: [1, 2, 3, 4], daysAgo: 40 },
    { name: USERS, calls: [7] },
  ]);
  // The stale entry was really recalculated by the wrapper: the setup is what it says.
  expect(calculated.fetchReport).toEqual([1, 2, 1, 3]);
  return { home, store };
}

/** Which of `ids` the default-identity wrapper (staleAfter 3 days) recalculates now. */
async function recalculatedReports(home: string, store: StoreSpec, ids: number[]) {
  const calculated = await makeCaches(built, home, store, [{ calls: ids, staleAfterDays: 3 }]);
  return calculated.fetchReport;
}

interface LsJson {
  store: { kind: string; location: string };
  caches: {
    name: string;
    entries: number;
    bytes: number;
    oldest: string | null;
    newest: string | null;
  }[];
}

describe('cachier ls', () => {
  it('lists every cache in ~/.cachier with entry count, size, oldest and newest entry', async () => {
    const { home } = await standardHome();
    const listing = await cliJson<LsJson>(built, home, 'ls');
    expect(listing.store).toEqual({ kind: 'file', location: '~/.cachier' });
    expect(listing.caches.map((cache) => [cache.name, cache.entries])).toEqual(
      [
        [REPORTS, 4],
        [USERS, 1],
        [DEFAULT_IDENTITY, 3],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    const reports = listing.caches.find((cache) => cache.name === REPORTS);
    const age = (iso: string | null | undefined) => (Date.now() - Date.parse(iso ?? '')) / DAY;
    expect(age(reports?.oldest)).toBeGreaterThan(39.9);
    expect(age(reports?.newest)).toBeLessThan(40.1);
    const fetchReport = listing.caches.find((cache) => cache.name === DEFAULT_IDENTITY);
    expect(age(fetchReport?.oldest)).toBeGreaterThan(4.9);
    expect(age(fetchReport?.newest)).toBeLessThan(0.1);
    for (const cache of listing.caches) expect(cache.bytes).toBeGreaterThan(cache.entries * 10);

    const text = await cli(built, home, 'ls');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^~\/\.cachier \(file\)\n/);
    expect(text.stdout).toMatch(/NAME +ENTRIES +SIZE +OLDEST +NEWEST/);
    const reportsLine = text.stdout.split('\n').find((line) => line.startsWith(REPORTS));
    expect(reportsLine).toMatch(/ 4 +\d+ B +about 1 month ago +about 1 month ago$/);
    const defaultLine = text.stdout.split('\n').find((line) => line.startsWith(DEFAULT_IDENTITY));
    expect(defaultLine).toMatch(/ 3 +\d+ B +5 days ago +less than a minute ago$/);
    expect(text.stderr).toBe('');
  });

  it('reads --dir, with a leading ~ for the home folder; an empty or missing folder has no caches', async () => {
    const home = newHome(built);
    await makeCaches(built, home, { kind: 'file', dir: `${home}/elsewhere` }, [
      { name: USERS, calls: [1, 2] },
    ]);
    const listing = await cliJson<LsJson>(built, home, 'ls', '--dir', '~/elsewhere');
    expect(listing.store.location).toBe('~/elsewhere');
    expect(listing.caches.map((cache) => [cache.name, cache.entries])).toEqual([[USERS, 2]]);
    expect(await cliJson<LsJson>(built, home, 'ls')).toEqual({
      store: { kind: 'file', location: '~/.cachier' },
      caches: [],
    });
    const empty = await cli(built, home, 'ls');
    expect(empty).toMatchObject({ code: 0, stdout: 'no caches in ~/.cachier (file)\n' });
  });
});

describe('a cache folder cachier refuses (writable by others, or owned by another user)', () => {
  /** A folder planted in ~/.cachier that looks like a cache (marker and all) but is not safe to use. */
  async function homeWithIntruder() {
    const { home, store } = await standardHome();
    const folder = join(home, '.cachier', 'intruder');
    mkdirSync(folder);
    writeFileSync(
      join(folder, '.cachier-folder'),
      JSON.stringify({ cachier: 1, name: 'intruder' }),
    );
    chmodSync(folder, 0o777);
    return { home, store, folder };
  }

  it('ls and prune skip it with a note naming it on stderr and go on with every other cache', async () => {
    const { home, folder } = await homeWithIntruder();
    const listing = await cli(built, home, 'ls', '--json');
    expect(listing.code).toBe(0);
    const caches = (JSON.parse(listing.stdout) as LsJson).caches.map((cache) => cache.name);
    expect(caches).toEqual([REPORTS, USERS, DEFAULT_IDENTITY].sort());
    expect(listing.stderr).toContain(folder);
    expect(listing.stderr).toContain('can be written by other users');
    const pruned = await cli(built, home, 'prune', '--older-than', '30d');
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain('deleted 4 entries');
    expect(pruned.stderr).toContain(folder);
    expect(await cliJson(built, home, 'stats', REPORTS)).toMatchObject({ entries: 0 });
  });

  it('a command naming it exits 1 with the refusal, touching nothing', async () => {
    const { home, folder } = await homeWithIntruder();
    const cleared = await cli(built, home, 'clear', 'intruder');
    expect(cleared.code).toBe(1);
    expect(cleared.stderr).toContain(`refusing to use the cache folder ${folder}`);
    expect(readdirSync(folder)).toEqual(['.cachier-folder']);
  });
});

describe('cachier stats', () => {
  it('describes one cache found by a unique ending of its name, counting stale entries on request', async () => {
    const { home } = await standardHome();
    const stats = await cliJson<Record<string, unknown>>(
      built,
      home,
      'stats',
      'fetchReport',
      '--stale-after',
      '3d',
    );
    expect(stats).toMatchObject({
      store: { kind: 'file', location: '~/.cachier' },
      name: DEFAULT_IDENTITY,
      entries: 3,
      staleAfterMs: 3 * DAY,
      stale: 1,
    });
    expect(Object.keys(stats).sort()).toEqual(
      [
        'store',
        'name',
        'location',
        'entries',
        'bytes',
        'largest',
        'oldest',
        'newest',
        'staleAfterMs',
        'stale',
      ].sort(),
    );
    expect(stats.location).toMatch(/^~\/\.cachier\//);
    expect(await cliJson(built, home, 'stats', 'src/users:loadUser')).toMatchObject({
      name: USERS,
      entries: 1,
      stale: null,
      staleAfterMs: null,
    });
    const text = await cli(built, home, 'stats', 'monthlyReport');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^name +${REPORTS}$`, 'm'));
    expect(text.stdout).toMatch(/^entries +4$/m);
    expect(text.stdout).toMatch(/^oldest +about 1 month ago \(\d{4}-/m);
  });

  it('exits 3 for an unknown NAME and lists the known ones; an ambiguous ending lists the candidates', async () => {
    const home = newHome(built);
    const store: StoreSpec = { kind: 'file', dir: `${home}/.cachier` };
    await makeCaches(built, home, store, [
      { name: 'a:src/x:load', calls: [1] },
      { name: 'b:src/y:load', calls: [1] },
    ]);
    const unknown = await cli(built, home, 'stats', 'fetchReprot');
    expect(unknown.code).toBe(3);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain(
      'no cache named "fetchReprot" in ~/.cachier (file); known names:',
    );
    expect(unknown.stderr).toContain('  a:src/x:load\n  b:src/y:load');

    const ambiguous = await cli(built, home, 'stats', 'load', '--json');
    expect(ambiguous.code).toBe(3);
    expect(JSON.parse(ambiguous.stderr)).toEqual({
      error: {
        code: 'AMBIGUOUS_NAME',
        message: expect.stringContaining('"load" is ambiguous'),
        candidates: ['a:src/x:load', 'b:src/y:load'],
      },
    });
    // A part of a name is not an ending of it: 'oad' names nothing.
    expect((await cli(built, home, 'stats', 'oad')).code).toBe(3);
    expect(await cliJson(built, home, 'stats', 'x:load')).toMatchObject({ name: 'a:src/x:load' });
  });
});

describe('cachier inspect', () => {
  it('lists keys newest first with age and size, and prints one value (only on stdout)', async () => {
    const { home } = await standardHome();
    const listing = await cliJson<{
      name: string;
      total: number;
      entries: { key: string; calculatedAt: string; size: number }[];
    }>(built, home, 'inspect', 'monthlyReport');
    expect(listing.name).toBe(REPORTS);
    expect(listing.total).toBe(4);
    expect(listing.entries).toHaveLength(4);
    for (const entry of listing.entries) {
      expect(entry.key).toMatch(/^[0-9a-f]{64}$/);
      expect(entry.size).toBeGreaterThan(0);
    }
    const times = listing.entries.map((entry) => Date.parse(entry.calculatedAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const text = await cli(built, home, 'inspect', 'monthlyReport');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${REPORTS}: 4 entries, newest first`);
    expect(text.stdout).toMatch(/^[0-9a-f]{16}… +about 1 month ago +\d+ B$/m);

    // Every value comes back: the four reports, each under one key.
    const ids = [];
    for (const entry of listing.entries) {
      const shown = await cli(built, home, 'inspect', REPORTS, '--value', entry.key.slice(0, 12));
      expect(shown.code).toBe(0);
      expect(shown.stderr).toBe('');
      const id = /\{ id: (\d), total: (\d+), title: 'report \d' \}/.exec(shown.stdout);
      expect(Number(id?.[2])).toBe(Number(id?.[1]) * 10);
      ids.push(Number(id?.[1]));
    }
    expect(ids.sort()).toEqual([1, 2, 3, 4]);

    const key = listing.entries[0]?.key ?? '';
    const asJson = await cliJson<Record<string, unknown>>(
      built,
      home,
      'inspect',
      REPORTS,
      '--value',
      key,
    );
    expect(asJson).toEqual({
      store: { kind: 'file', location: '~/.cachier' },
      name: REPORTS,
      key,
      calculatedAt: listing.entries[0]?.calculatedAt,
      size: listing.entries[0]?.size,
      value: expect.stringMatching(/^\{ id: \d, total: \d+, title: 'report \d' \}$/),
    });
  });

  it('refuses a malformed key (2), an unknown one (3), and a value it cannot decode (1) without quoting it', async () => {
    const home = newHome(built);
    await makeCaches(built, home, { kind: 'file', dir: `${home}/.cachier` }, [
      { name: 'custom', calls: [5], customSerializer: true },
    ]);
    expect((await cli(built, home, 'inspect', 'custom', '--value', 'xyz!')).code).toBe(2);
    const unknown = await cli(built, home, 'inspect', 'custom', '--value', '0000', '--json');
    expect(unknown.code).toBe(3);
    expect(JSON.parse(unknown.stderr).error.code).toBe('UNKNOWN_KEY');
    const [entry] = (
      await cliJson<{ entries: { key: string }[] }>(built, home, 'inspect', 'custom')
    ).entries;
    const undecodable = await cli(built, home, 'inspect', 'custom', '--value', entry?.key ?? '');
    expect(undecodable.code).toBe(1);
    expect(undecodable.stderr).toMatch(/cannot decode the value: .*custom serializer/);
    expect(undecodable.stdout + undecodable.stderr).not.toContain('report 5');
  });
});

describe('cachier clear', () => {
  it('--stale-only --stale-after deletes exactly the stale entries; the wrapper recalculates only those', async () => {
    const { home, store } = await standardHome();
    const dry = await cliJson(
      built,
      home,
      'clear',
      'fetchReport',
      '--stale-only',
      '--stale-after',
      '3d',
      '--dry-run',
    );
    expect(dry).toMatchObject({ name: DEFAULT_IDENTITY, dryRun: true, deleted: 1, remaining: 2 });
    expect(await cliJson(built, home, 'stats', 'fetchReport')).toMatchObject({ entries: 3 });

    const cleared = await cliJson<Record<string, unknown>>(
      built,
      home,
      'clear',
      'fetchReport',
      '--stale-only',
      '--stale-after',
      '3d',
    );
    expect(cleared).toEqual({
      store: { kind: 'file', location: '~/.cachier' },
      name: DEFAULT_IDENTITY,
      cutoff: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      dryRun: false,
      deleted: 1,
      remaining: 2,
    });
    expect(Date.now() - Date.parse(String(cleared.cutoff))).toBeGreaterThanOrEqual(3 * DAY);
    expect(await recalculatedReports(home, store, [1, 2, 3])).toEqual([2]);
    // Other caches are untouched.
    expect(await cliJson(built, home, 'stats', REPORTS)).toMatchObject({ entries: 4 });
  });

  it('--older-than deletes older entries; without a filter every entry of that cache only', async () => {
    const { home, store } = await standardHome();
    const text = await cli(built, home, 'clear', 'fetchReport', '--older-than', '1d');
    expect(text).toMatchObject({
      code: 0,
      stdout: `deleted 1 entry older than the cutoff from ${DEFAULT_IDENTITY}; 2 left\n`,
    });
    expect(await cliJson(built, home, 'clear', 'fetchReport')).toMatchObject({
      cutoff: null,
      deleted: 2,
      remaining: 0,
    });
    expect(await recalculatedReports(home, store, [1, 2, 3])).toEqual([1, 2, 3]);
    expect(await cliJson(built, home, 'stats', REPORTS)).toMatchObject({ entries: 4 });
    expect(await cliJson(built, home, 'stats', USERS)).toMatchObject({ entries: 1 });
  });

  it('refuses contradictory or incomplete flags with exit code 2, deleting nothing', async () => {
    const { home } = await standardHome();
    const cases = [
      [['--stale-only'], /--stale-only needs --stale-after/],
      [['--stale-only', '--stale-after', '3d', '--older-than', '1d'], /give one/],
      [['--stale-after', '3d'], /--stale-after goes with --stale-only/],
      [
        ['--older-than', 'soon'],
        /'--older-than <duration>' argument 'soon' is invalid.*3d, 12h, 30m, 90s, 500ms/,
      ],
      [['--older-than', '3'], /is invalid/],
    ] as const;
    for (const [flags, message] of cases) {
      const result = await cli(built, home, 'clear', 'fetchReport', ...flags);
      expect(result.code, flags.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    expect(await cliJson(built, home, 'stats', 'fetchReport')).toMatchObject({ entries: 3 });
  });
});

describe('cachier prune', () => {
  it('deletes entries older than --older-than in every cache, and nothing with the 30-day default here but the 40-day-old ones', async () => {
    const { home, store } = await standardHome();
    const byDefault = await cliJson<{
      olderThanMs: number;
      deleted: number;
      caches: { name: string; deleted: number; remaining: number }[];
    }>(built, home, 'prune');
    expect(byDefault.olderThanMs).toBe(30 * DAY);
    expect(byDefault.deleted).toBe(4);
    expect(byDefault.caches).toEqual(
      expect.arrayContaining([
        { name: REPORTS, deleted: 4, remaining: 0 },
        { name: USERS, deleted: 0, remaining: 1 },
        { name: DEFAULT_IDENTITY, deleted: 0, remaining: 3 },
      ]),
    );
    const text = await cli(built, home, 'prune', '--older-than', '3d');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/NAME +DELETED +REMAINING/);
    expect(text.stdout).toMatch(new RegExp(`^${DEFAULT_IDENTITY} +1 +2$`, 'm'));
    expect(text.stdout).toMatch(
      /deleted 1 entry calculated before \d{4}-.* in ~\/\.cachier \(file\)\n$/,
    );
    expect(await recalculatedReports(home, store, [1, 2, 3])).toEqual([2]);
    expect(await cliJson(built, home, 'stats', USERS)).toMatchObject({ entries: 1 });
  });
});

describe('the command line', () => {
  it('has --help on every command (exit 0) naming its options and the exit codes', async () => {
    const home = newHome(built);
    for (const command of ['ls', 'stats', 'clear', 'inspect', 'prune']) {
      const help = await cli(built, home, command, '--help');
      expect(help.code, command).toBe(0);
      expect(help.stdout).toContain(`Usage: cachier ${command}`);
      for (const option of ['--dir', '--mongo', '--redis', '--postgres', '--json']) {
        expect(help.stdout).toContain(option);
      }
      expect(help.stdout).toContain('Exit codes: 0 ok, 1');
    }
    expect((await cli(built, home, '--help')).stdout).toMatch(/Commands:\n {2}ls/);
  });

  it('exits 2 for usage errors: unknown command or option, missing NAME, several stores', async () => {
    const home = newHome(built);
    const cases = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['ls', '--colour'], /unknown option '--colour'/],
      [['stats'], /missing required argument 'name'/],
      [['ls', '--dir', 'x', '--redis', 'redis://127.0.0.1:1'], /choose one store: --dir, --redis/],
      [['ls', '--db', 'app'], /--db goes with --mongo/],
      [
        ['ls', '--mongo', 'mongodb://127.0.0.1:1'],
        /--mongo needs --db <database> and --collection/,
      ],
      [['inspect', 'x', '--limit', 'many'], /'--limit <n>' argument 'many' is invalid/],
      [[], /Usage: cachier/],
    ] as const;
    for (const [args, message] of cases) {
      const result = await cli(built, home, ...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    const aFile = join(home, 'not-a-folder');
    writeFileSync(aFile, '');
    const onFile = await cli(built, home, 'ls', '--dir', aFile);
    expect(onFile.code).toBe(2);
    expect(onFile.stderr).toMatch(/--dir is not a folder: .*not-a-folder/);
    expect(onFile.stderr).not.toMatch(/ENOTDIR/);
  });

  it('exits 1 with a message naming the store when it cannot be reached', async () => {
    const home = newHome(built);
    const result = await cli(built, home, 'ls', '--redis', 'redis://user:hunter2@127.0.0.1:1');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/could not reach Redis at redis:\/\/127\.0\.0\.1:1/);
    expect(result.stderr).not.toContain('hunter2');
  });

  it('never draws a progress bar when stderr is not a terminal, even over many entries', async () => {
    const home = newHome(built);
    const calls = Array.from({ length: 1200 }, (_, i) => i);
    await makeCaches(built, home, { kind: 'file', dir: `${home}/.cachier` }, [
      { name: 'many', calls, parallel: true },
    ]);
    const result = await cli(built, home, 'ls');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^many +1200 /m);
    expect(result.stderr).toBe('');
  });
});
