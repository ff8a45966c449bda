/**
 * The `cachier` CLI pointed at a server that is down, or that accepts connections and never
 * answers (a hung server, a wrong port that some other service holds): the README promises
 * a clear error with exit code 1 (`STORE_UNREACHABLE`), no credentials in it, and no hang.
 * A wrong store URL is a usage error (exit 2) that names its flag.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltPackage, buildPackage, cli, newHome } from './cliHarness.js';

/** A TCP server that accepts every connection and never writes a byte. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function storeFlags(kind: 'redis' | 'postgres' | 'mongo', port: number): string[] {
  const host = `secretuser:secretpw@127.0.0.1:${port}`;
  if (kind === 'redis') return ['--redis', `redis://${host}`];
  if (kind === 'postgres') return ['--postgres', `postgres://${host}/db`];
  return ['--mongo', `mongodb://${host}`, '--db', 'd', '--collection', 'c'];
}

function jsonError(stderr: string): { code: string; message: string } {
  return (JSON.parse(stderr.trim()) as { error: { code: string; message: string } }).error;
}

let built: BuiltPackage;
let silent: Awaited<ReturnType<typeof silentServer>>;
beforeAll(async () => {
  built = await buildPackage();
  silent = await silentServer();
});
afterAll(() => silent?.close());

describe('the CLI when the store cannot be reached', () => {
  for (const kind of ['redis', 'postgres', 'mongo'] as const) {
    it(`${kind}: a refused connection is exit 1, STORE_UNREACHABLE, without credentials`, async () => {
      const result = await cli(
        built,
        newHome(built),
        'ls',
        ...storeFlags(kind, await closedPort()),
        '--json',
      );
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      const error = jsonError(result.stderr);
      expect(error.code).toBe('STORE_UNREACHABLE');
      expect(result.stderr).not.toMatch(/secretuser|secretpw/);
    });

    // A hang is caught by the test's timeout: the CLI gives up after its 5 s connect timeout.
    it(`${kind}: a server that never answers is exit 1, STORE_UNREACHABLE, not a hang`, {
      timeout: 25_000,
    }, async () => {
      const result = await cli(
        built,
        newHome(built),
        'ls',
        ...storeFlags(kind, silent.port),
        '--json',
      );
      expect(result.code).toBe(1);
      const error = jsonError(result.stderr);
      expect(error.code).toBe('STORE_UNREACHABLE');
      expect(result.stderr).not.toMatch(/secretuser|secretpw/);
    });
  }

  it('never shows a password given as a query parameter (pg reads ?password=)', async () => {
    const port = await closedPort();
    const cases = [
      ['--postgres', `postgres://127.0.0.1:${port}/db?user=secretuser&password=secretpw`],
      ['--postgres', `postgresql://127.0.0.1:${port}/db?sslpassword=secretpw`],
      ['--redis', `redis://127.0.0.1:${port}/?password=secretpw`],
    ];
    for (const flags of cases) {
      for (const json of [[], ['--json']]) {
        const result = await cli(built, newHome(built), 'ls', ...flags, ...json);
        expect(result.code, flags.join(' ')).toBe(1);
        expect(result.stderr).toMatch(/could not reach/);
        expect(result.stderr).not.toMatch(/secretuser|secretpw/);
      }
    }
  });

  it('a --redis value that is not a Redis URL is a usage error naming --redis', async () => {
    for (const url of ['not a url', 'http://127.0.0.1:6379']) {
      const result = await cli(built, newHome(built), 'ls', '--redis', url, '--json');
      expect(result.code, url).toBe(2);
      const error = jsonError(result.stderr);
      expect(error.code).toBe('USAGE');
      expect(error.message).toMatch(/--redis/);
    }
  });
});
