import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, it } from 'vitest';
import { type AnyCore, cachier, FileCore, MongoCore } from '../../src/index.js';
import { startMongoTestServer } from '../support/mongoTestServer.js';
import { lastJson, runNode } from '../support/runNode.js';

const cacheDir = mkdtempSync(join(tmpdir(), 'cachier-clear-entry-'));
const mongoServer = await startMongoTestServer();
const mongoClient = new MongoClient(mongoServer.uri, { serverSelectionTimeoutMS: 5000 });
const collection = mongoClient.db('clear_entry').collection('cache');
afterAll(async () => {
  rmSync(cacheDir, { recursive: true, force: true });
  await mongoClient.close();
  await mongoServer.close();
});

describe('clearEntry on decorated methods, through cacheOf', () => {
  it('deletes the one entry of these arguments (and, with hashArgs, of that instance)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cachier-clear-entry-home-'));
    try {
      const seen = lastJson<{ priceCalls: number[]; reportCalls: string[] }>(
        await runNode('test/ops/fixtures/clearEntryMethods.ts', { home, tsx: true }),
      );
      // prices.of(1) calculated again after clearEntry(1); prices.of(2) stayed cached.
      expect(seen.priceCalls).toEqual([1, 2, 1]);
      // hashArgs saw the instance: acme's entry went, globex's stayed.
      expect(seen.reportCalls).toEqual(['acme/q3', 'globex/q3', 'acme/q3']);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

const persistent: [string, () => AnyCore, (name: string) => Promise<number>][] = [
  [
    'file',
    () => new FileCore({ cacheDir }),
    async (name) => {
      let count = 0;
      for await (const _ of new FileCore({ cacheDir }).list(name)) count++;
      return count;
    },
  ],
  [
    'mongo (wire test server)',
    () => new MongoCore({ mongetter: () => collection }),
    (name) => collection.countDocuments({ name }),
  ],
];

describe.each(persistent)('clearEntry on the %s core', (label, makeCore, countEntries) => {
  it('deletes exactly that entry from the store; the next call with those arguments calculates', async () => {
    const calls: string[] = [];
    const name = `clear-entry-${randomUUID()}`;
    const cached = cachier(
      async (city: string, unit: 'C' | 'F') => {
        calls.push(`${city} ${unit}`);
        return { city, unit, at: calls.length };
      },
      { name, backend: makeCore() },
    );
    await cached('Oslo', 'C');
    await cached('Oslo', 'F');
    await cached('Lima', 'C');
    expect(await countEntries(name)).toBe(3);
    await cached.clearEntry('Oslo', 'C');
    expect(await countEntries(name)).toBe(2);
    expect((await cached('Oslo', 'F')).at).toBe(2);
    expect((await cached('Oslo', 'C')).at).toBe(4);
    expect(calls).toEqual(['Oslo C', 'Oslo F', 'Lima C', 'Oslo C']);
    // Clearing an entry that is not there is not an error.
    await cached.clearEntry('Paris', 'C');
    expect(await countEntries(name)).toBe(3);
    if (label === 'file') {
      // Nothing of the deleted entry is left behind in the cache's folder.
      const folder = cached.cacheDpath() as string;
      await cached.clearEntry('Oslo', 'C');
      await cached.clearEntry('Oslo', 'F');
      await cached.clearEntry('Lima', 'C');
      expect(readdirSync(folder).filter((file) => !file.startsWith('.'))).toEqual([]);
    }
  });
});
