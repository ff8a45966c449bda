/**
 * Takeover of a dead owner's claim with real child processes (issue 11): exactly one
 * calculation per takeover, a SIGKILLed owner on this host taken over at once, a foreign
 * host's claim only after its lease.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FileCore } from '../../src/cores/file.js';
import type { FileClaimRequest } from './fileClaimChild.js';

const CHILD = fileURLToPath(new URL('./fileClaimChild.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'cachier-takeover-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Running {
  process: ChildProcess;
  messages: { event: string; key?: string; at?: number }[];
  /** Resolves when a message with this event arrives. */
  next(event: string): Promise<{ event: string; key?: string; at?: number }>;
  exited: Promise<number | null>;
  stderr(): string;
}

const running: Running[] = [];
afterEach(() => {
  for (const child of running.splice(0)) child.process.kill('SIGKILL');
});

function start(request: FileClaimRequest): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(request)], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const messages: Running['messages'] = [];
  const waiters: { event: string; resolve: (m: Running['messages'][number]) => void }[] = [];
  let pending = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      const message = JSON.parse(pending.slice(0, end)) as Running['messages'][number];
      pending = pending.slice(end + 1);
      messages.push(message);
      for (const waiter of waiters.filter((w) => w.event === message.event)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const handle: Running = {
    process: child,
    messages,
    next: (event) => {
      const seen = messages.find((m) => m.event === event);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ event, resolve }));
    },
    exited,
    stderr: () => stderr,
  };
  running.push(handle);
  return handle;
}

/** Starts `count` racing children, releases them together, waits until all are done. */
async function race(request: Omit<FileClaimRequest, 'mode'>, count: number): Promise<void> {
  const children = Array.from({ length: count }, () => start({ ...request, mode: 'race' }));
  await Promise.all(children.map((child) => child.next('ready')));
  for (const child of children) child.process.stdin?.end('go\n');
  const codes = await Promise.all(children.map((child) => child.exited));
  expect(codes, children.map((child) => child.stderr()).join('\n')).toEqual(children.map(() => 0));
}

/** Calculations per key from the shared log. */
function calculationsPerKey(log: string): Map<string, number> {
  const counts = new Map<string, number>();
  const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
  for (const line of text.split('\n').filter(Boolean)) {
    const key = line.split(' ')[1] as string;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

const newKeys = (count: number) =>
  Array.from({ length: count }, () => randomBytes(32).toString('hex'));

describe('takeover of dead owners, with real processes', () => {
  it('100 takeover rounds of a SIGKILLed owner by 4 racing processes: one calculation each', async () => {
    const cacheDir = join(root, 'killed');
    const log = join(root, 'killed.log');
    const keys = newKeys(100);
    const base = { cacheDir, name: 'rounds', keys, leaseMs: 60_000 };
    const owner = start({ ...base, mode: 'hold' });
    await owner.next('claimed');
    owner.process.kill('SIGKILL');
    await owner.exited;

    await race({ ...base, log, calcMs: 5, pollMs: 4 }, 4);
    const counts = calculationsPerKey(log);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    expect(counts.size).toBe(100);
  });

  it('100 takeover rounds of expired foreign-host claims by 4 racing processes: one calculation each', async () => {
    const cacheDir = join(root, 'expired');
    const log = join(root, 'expired.log');
    const keys = newKeys(100);
    const core = new FileCore({ cacheDir });
    await core.set('rounds', newKeys(1)[0] as string, {
      bytes: new Uint8Array(1),
      calculatedAt: 1,
    });
    const past = new Date(Date.now() - 120_000);
    for (const key of keys) {
      const lock = join(core.location('rounds'), `${key}.lock`);
      mkdirSync(lock);
      writeFileSync(join(lock, 'owner.dead'), JSON.stringify({ pid: 1, host: 'another-host' }));
      utimesSync(lock, past, past);
    }
    await race({ cacheDir, name: 'rounds', keys, leaseMs: 60_000, log, calcMs: 5, pollMs: 4 }, 4);
    const counts = calculationsPerKey(log);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    expect(counts.size).toBe(100);
  });

  it('100 takeover rounds of expired empty lock folders (0.1.0 leftovers) by 4 racing processes', async () => {
    const cacheDir = join(root, 'legacy');
    const log = join(root, 'legacy.log');
    const keys = newKeys(100);
    const core = new FileCore({ cacheDir });
    await core.set('rounds', newKeys(1)[0] as string, {
      bytes: new Uint8Array(1),
      calculatedAt: 1,
    });
    const past = new Date(Date.now() - 120_000);
    for (const key of keys) {
      const lock = join(core.location('rounds'), `${key}.lock`);
      mkdirSync(lock);
      utimesSync(lock, past, past);
    }
    await race({ cacheDir, name: 'rounds', keys, leaseMs: 60_000, log, calcMs: 5, pollMs: 4 }, 4);
    const counts = calculationsPerKey(log);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    expect(counts.size).toBe(100);
  });

  it('a process that exits while holding claims removes their lock folders', async () => {
    const cacheDir = join(root, 'exit');
    const keys = newKeys(3);
    const owner = start({ cacheDir, name: 'exit', keys, leaseMs: 60_000, mode: 'exit' });
    await owner.next('claimed');
    expect(await owner.exited, owner.stderr()).toBe(0);
    const folder = new FileCore({ cacheDir }).location('exit');
    expect(readdirSync(folder).filter((file) => file.endsWith('.lock'))).toEqual([]);
  });

  it('a SIGKILLed owner on this host is taken over long before its lease', async () => {
    const cacheDir = join(root, 'quick');
    const [key] = newKeys(1) as [string];
    const base = { cacheDir, name: 'quick', keys: [key], leaseMs: 60_000 };
    const owner = start({ ...base, mode: 'hold' });
    await owner.next('claimed');
    const waiter = start({ ...base, mode: 'race', log: join(root, 'quick.log'), pollMs: 50 });
    await waiter.next('ready');
    waiter.process.stdin?.end('go\n');
    const killedAt = Date.now();
    owner.process.kill('SIGKILL');
    const claimed = await waiter.next('claimed');
    // The lease is a minute: only the pid check can explain a takeover within the test's time.
    expect((claimed.at as number) - killedAt).toBeLessThan(60_000);
    expect(await waiter.exited).toBe(0);
  });

  it('a claim recorded by another host is taken over only after its lease, although its pid is gone here', async () => {
    const cacheDir = join(root, 'foreign');
    const [key] = newKeys(1) as [string];
    const leaseMs = 2000;
    const base = { cacheDir, name: 'foreign', keys: [key], leaseMs };
    const owner = start({ ...base, mode: 'hold' });
    await owner.next('claimed');
    owner.process.kill('SIGKILL');
    await owner.exited;
    // The same claim, as if its owner ran on another machine.
    const lock = join(new FileCore({ cacheDir }).location('foreign'), `${key}.lock`);
    const owners = readdirSync(lock);
    expect(owners).toHaveLength(1);
    for (const file of owners) {
      // The owner record is a link's text (a file's content on Windows); never followed.
      const path = join(lock, file);
      const text = lstatSync(path).isSymbolicLink()
        ? readlinkSync(path)
        : readFileSync(path, 'utf8');
      const record = JSON.parse(text) as { pid: number };
      unlinkSync(path);
      writeFileSync(path, JSON.stringify({ pid: record.pid, host: 'another-host' }));
    }
    const now = new Date();
    utimesSync(lock, now, now);
    const freshAt = Date.now();
    const waiter = start({ ...base, mode: 'race', log: join(root, 'foreign.log'), pollMs: 50 });
    await waiter.next('ready');
    waiter.process.stdin?.end('go\n');
    const claimed = await waiter.next('claimed');
    expect((claimed.at as number) - freshAt).toBeGreaterThanOrEqual(leaseMs - 50);
    expect(await waiter.exited).toBe(0);
  });
});
