/**
 * A MongoDB for the benchmark: the server named by CACHIER_TEST_MONGODB_URI, or the
 * wire-protocol test server started in a child process (so its work does not share the
 * benchmark's event loop, as a real mongod would not). The client counts the commands it
 * sends, which is how round trips per call are measured.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnyCore as Core } from '../src/cores/contract.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

/** What a MongoDB scenario needs; `commandsSent()` counts commands since the client opened. */
export interface BenchMongo {
  core: Core;
  /** The driver collection the core caches in (for raw `findOne` comparisons). */
  collection: import('mongodb').Collection;
  /** Another process's view: the URI, database and collection names. */
  uri: string;
  dbName: string;
  collectionName: string;
  description: string;
  commandsSent(): number;
  /** Commands sent since the client opened, by command name (`find`, `findAndModify`…). */
  commandsByName(): Record<string, number>;
  close(): Promise<void>;
}

async function startTestServer(): Promise<{ uri: string; child: ChildProcess }> {
  const child = fork(join(repo, 'bench/mongoServerProcess.ts'), [], {
    cwd: repo,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const uri = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the MongoDB test server exited (${code})`)));
    child.once('message', (message) => resolve((message as { uri: string }).uri));
  });
  return { uri, child };
}

/**
 * Opens a MongoDB and a MongoCore on a fresh collection, or returns undefined when this
 * checkout has no MongoDB core yet.
 */
export async function openMongoForBench(): Promise<BenchMongo | undefined> {
  if (!existsSync(join(repo, 'src/cores/mongo.ts'))) return undefined;
  const { MongoCore } = await import('cachier');
  const { MongoClient } = await import('mongodb');
  const realUri = process.env.CACHIER_TEST_MONGODB_URI;
  const server = realUri ? undefined : await startTestServer();
  const uri = realUri ?? (server?.uri as string);
  const client = new MongoClient(uri, { monitorCommands: true, serverSelectionTimeoutMS: 5000 });
  let commands = 0;
  const byName: Record<string, number> = {};
  client.on('commandStarted', (event) => {
    commands++;
    byName[event.commandName] = (byName[event.commandName] ?? 0) + 1;
  });
  await client.connect();
  const dbName = `cachier_bench_${randomUUID().slice(0, 8)}`;
  const collectionName = 'cache';
  const collection = client.db(dbName).collection(collectionName);
  return {
    core: new MongoCore({ mongetter: () => collection }),
    collection,
    uri,
    dbName,
    collectionName,
    description: realUri
      ? 'a real server (CACHIER_TEST_MONGODB_URI)'
      : 'the wire-protocol test server (test/support/mongoTestServer.ts) in its own process on 127.0.0.1',
    commandsSent: () => commands,
    commandsByName: () => ({ ...byName }),
    close: async () => {
      await client
        .db(dbName)
        .dropDatabase()
        .catch(() => undefined);
      await client.close();
      if (server) {
        const exited = new Promise((resolve) => server.child.once('exit', resolve));
        server.child.disconnect();
        await exited;
      }
    },
  };
}
