import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { cachier, MongoCore } from '../../src/index.js';
import { type MongoTestServer, startMongoTestServer } from '../support/mongoTestServer.js';
import { hasChangeStreams } from '../support/mongoTopology.js';

const CHILD = fileURLToPath(new URL('./mongoWakeChild.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** A waiter that no push reaches never ends: the harness kills it then, and the test fails. */
const CHILD_LIFETIME_MS = 30_000;

interface ChildRun {
  messages: Record<string, unknown>[];
  code: number | null;
  killed: boolean;
  stderr: string;
}

/** Runs the waiter child; `onMessage` sees each JSON line as it arrives. */
function runWaiter(
  uri: string,
  db: string,
  onMessage: (message: Record<string, unknown>) => void,
): Promise<ChildRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, uri, db], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: ChildRun = { messages: [], code: null, killed: false, stderr: '' };
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
      const line = pending.slice(0, end).trim();
      pending = pending.slice(end + 1);
      if (line === '') continue;
      const message = JSON.parse(line) as Record<string, unknown>;
      run.messages.push(message);
      onMessage(message);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    run.stderr += chunk;
  });
  const guard = setTimeout(() => {
    run.killed = true;
    child.kill('SIGKILL');
  }, CHILD_LIFETIME_MS);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(guard);
      run.code = code;
      resolve(run);
    });
  });
}

let server: MongoTestServer | undefined;
const targets: { label: string; uri: () => Promise<string> }[] = [
  {
    label: 'the wire test server with change streams',
    uri: async () => {
      server ??= await startMongoTestServer({ changeStreams: true });
      return server.uri;
    },
  },
];
const realUri = process.env.CACHIER_TEST_MONGODB_URI;
// A standalone real server has no change streams: mongo.changeStream.test.ts checks the
// polling fallback there.
if (realUri && (await hasChangeStreams(realUri))) {
  targets.push({ label: 'a real server (CACHIER_TEST_MONGODB_URI)', uri: async () => realUri });
}

afterAll(async () => {
  await server?.close();
});

describe.each(targets)('cross-process: MongoDB change streams on $label', ({ uri }) => {
  it('wake a waiter in another process when the owner stores the value, with no help from polling', async () => {
    const url = await uri();
    const db = `cachier_wake_${randomUUID().slice(0, 8)}`;
    const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
    try {
      const core = new MongoCore({ mongetter: () => client.db(db).collection('cache') });
      let childWaits!: () => void;
      const waiting = new Promise<void>((resolve) => {
        childWaits = resolve;
      });
      let ownerStarted!: () => void;
      const started = new Promise<void>((resolve) => {
        ownerStarted = resolve;
      });
      const owner = cachier(
        async (_id: string) => {
          ownerStarted();
          await waiting; // the child found the claim and waits: now store the value
          return { by: 'owner' };
        },
        { name: 'wake', backend: core },
      );
      const ownerCall = owner('x');
      await started; // the claim is held before the waiter looks
      const child = runWaiter(url, db, (message) => {
        if (message.event === 'wait') childWaits();
      });
      await expect(ownerCall).resolves.toEqual({ by: 'owner' });
      const run = await child;
      const describeRun = JSON.stringify(run);
      expect(run.killed, describeRun).toBe(false);
      expect(run.code, describeRun).toBe(0);
      const events = run.messages.map((m) => m.event);
      expect(events, describeRun).not.toContain('calculate');
      expect(run.messages, describeRun).toContainEqual({
        event: 'wait-end',
        reason: 'value-arrived',
      });
      const result = run.messages.find((m) => m.event === 'result');
      expect(result?.value, describeRun).toEqual({ by: 'owner' });
      // The first read saw the claim; every later one was let through by a push.
      expect(result?.reads, describeRun).toBeGreaterThan(1);
    } finally {
      await client.db(db).dropDatabase();
      await client.close();
    }
  });
});
