/**
 * Finds a Redis server for the Redis tests: `CACHIER_TEST_REDIS_URL` when set (CI, `.ci/run`),
 * else a throwaway `redis-server` started here on a free port (no persistence) when the
 * binary is installed, else none: the caller skips its tests and says why.
 *
 * Tests share a server safely: each test uses a random key prefix.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

export interface RedisTestServer {
  url: string;
  /** Where it came from, for messages. */
  origin: string;
  /** Stops the server if this module started it. */
  close(): Promise<void>;
}

export type RedisServerLookup =
  | { server: RedisTestServer; skipReason?: undefined }
  | { server?: undefined; skipReason: string };

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  probe.close();
  await once(probe, 'close');
  return port;
}

function hasRedisServerBinary(): boolean {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

/** Resolves once something accepts TCP connections on the port (or rejects after ~10 s). */
async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server did not listen on port ${port}`);
}

/** Starts `redis-server` on a free port, without persistence; `close` stops it. */
export async function startRedisServer(): Promise<RedisTestServer> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    { stdio: 'ignore' },
  );
  const exited = once(child, 'exit');
  try {
    await waitForPort(port, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    origin: `a throwaway redis-server on port ${port}`,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The server for one test file. Without one, returns the reason and prints which tests
 * are skipped and why, so a run without Redis never passes silently.
 */
export async function redisForTests(suite: string): Promise<RedisServerLookup> {
  const url = process.env.CACHIER_TEST_REDIS_URL;
  if (url) {
    return {
      server: { url, origin: 'CACHIER_TEST_REDIS_URL', close: async () => undefined },
    };
  }
  let skipReason: string;
  if (hasRedisServerBinary()) {
    try {
      return { server: await startRedisServer() };
    } catch (error) {
      skipReason = `redis-server is installed but did not start (${(error as Error).message})`;
    }
  } else {
    skipReason =
      'CACHIER_TEST_REDIS_URL is not set and no redis-server binary is on PATH (install redis-server, or point CACHIER_TEST_REDIS_URL at a server)';
  }
  console.warn(`SKIPPED ${suite}: ${skipReason}`);
  return { skipReason };
}
