/**
 * One phase of the fidelity table in a fresh process, run as
 * `node --import tsx test/fidelity/child.ts '<FidelityRequest as JSON>'`.
 *
 * It connects to the store the request names, makes a wrapper per row, runs the phase
 * (test/fidelity/runner.ts), prints the report as one JSON line, lets go of its client and
 * ends on its own.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CachierOptions } from '../../src/index.js';
import { makeWrappers, type Phase, runPhase } from './runner.js';

/** A persistent store, in plain JSON so that a child can connect to it. */
export type StoreSpec =
  | { backend: 'file'; cacheDir: string }
  | { backend: 'mongo'; uri: string; db: string }
  | { backend: 'redis'; url: string }
  | { backend: 'postgres'; url: string };

export interface FidelityRequest {
  store: StoreSpec;
  runId: string;
  phase: Phase;
}

async function connect(
  spec: StoreSpec,
): Promise<{ options: CachierOptions; close: () => Promise<void> }> {
  switch (spec.backend) {
    case 'file':
      return {
        options: { backend: 'file', cacheDir: spec.cacheDir },
        close: async () => undefined,
      };
    case 'mongo': {
      const { MongoClient } = await import('mongodb');
      const client = new MongoClient(spec.uri, { serverSelectionTimeoutMS: 5000 });
      const collection = client.db(spec.db).collection('cache');
      return { options: { mongetter: () => collection }, close: () => client.close() };
    }
    case 'redis': {
      const { createClient } = await import('redis');
      const client = await createClient({ url: spec.url }).connect();
      return {
        options: { redisClient: client },
        close: async () => {
          await client.quit();
        },
      };
    }
    case 'postgres': {
      const { default: pg } = await import('pg');
      const pool = new pg.Pool({ connectionString: spec.url });
      return { options: { pgPool: pool }, close: () => pool.end() };
    }
  }
}

async function main(request: FidelityRequest): Promise<void> {
  const store = await connect(request.store);
  try {
    const report = await runPhase(makeWrappers(store.options, request.runId), request.phase);
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await store.close();
  }
}

if (
  process.argv[1] !== undefined &&
  pathToFileURL(resolve(process.argv[1])).href === import.meta.url
) {
  const argument = process.argv[2];
  if (argument === undefined) throw new Error('usage: child.ts <FidelityRequest as JSON>');
  main(JSON.parse(argument) as FidelityRequest).catch((error: unknown) => {
    process.stderr.write(`fidelity child failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  });
}
