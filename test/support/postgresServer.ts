/**
 * A PostgreSQL server for the PostgreSQL core's tests.
 *
 * 1. `CACHIER_TEST_POSTGRES_URL` names a running server (CI, `.ci/run`): it is used as is.
 * 2. Otherwise, when PostgreSQL's server binaries are installed (`initdb`, `pg_ctl`), a
 *    throwaway cluster is made in a new temporary folder, started on a free port of
 *    127.0.0.1 with trust authentication, and stopped and removed by `close()`. PostgreSQL
 *    refuses to run as root, so as root both run as the `postgres` user.
 * 3. Otherwise the tests are skipped, and {@link findPostgres} says why.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface PostgresTestServer {
  /** A `postgres://` connection string for a superuser on the server. */
  url: string;
  /** Stops and removes a cluster this module started; nothing for an external server. */
  close(): Promise<void>;
}

export type PostgresLookup =
  | { server: PostgresTestServer; skipReason?: undefined }
  | { server?: undefined; skipReason: string };

const ENV = 'CACHIER_TEST_POSTGRES_URL';

/** The folder holding `initdb` and `pg_ctl`, newest major version first; undefined if none. */
export function findPostgresBinaries(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim() !== '') {
    return onPath.stdout.trim().replace(/\/initdb$/, '');
  }
  // Debian and Ubuntu keep the server binaries off PATH, one folder per major version.
  const debianRoot = '/usr/lib/postgresql';
  if (!existsSync(debianRoot)) return undefined;
  const versions = readdirSync(debianRoot)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const bin = join(debianRoot, version, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  return undefined;
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const isRoot = () => userInfo().uid === 0;

/** Runs a PostgreSQL binary, as the `postgres` user when this process is root. */
function runAsServerUser(command: string, args: string[]): void {
  const [file, fileArgs] = isRoot()
    ? ['runuser', ['-u', 'postgres', '--', command, ...args]]
    : [command, args];
  execFileSync(file, fileArgs, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

function postgresUserIds(): { uid: number; gid: number } | undefined {
  const result = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const group = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (result.status !== 0 || group.status !== 0) return undefined;
  return { uid: Number(result.stdout.trim()), gid: Number(group.stdout.trim()) };
}

/**
 * Starts a throwaway cluster: `initdb` into a new temporary folder, then `pg_ctl start`
 * on a free port (its Unix socket in the same folder, so nothing is written elsewhere).
 */
export async function startThrowawayCluster(bin: string): Promise<PostgresTestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'cachier-pg-'));
  const data = join(dir, 'data');
  try {
    if (isRoot()) {
      const ids = postgresUserIds();
      if (!ids) throw new Error('running as root and there is no postgres user to run the server');
      chownSync(dir, ids.uid, ids.gid);
    }
    runAsServerUser(join(bin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '--no-sync',
      '-E',
      'UTF8',
    ]);
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      try {
        runAsServerUser(join(bin, 'pg_ctl'), [
          '-D',
          data,
          '-l',
          join(dir, 'server.log'),
          '-o',
          `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
          '-w',
          'start',
        ]);
      } catch (error) {
        lastError = error; // most likely the port was taken meanwhile: try another
        continue;
      }
      return {
        url: `postgres://postgres@127.0.0.1:${port}/postgres`,
        close: async () => {
          try {
            runAsServerUser(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        },
      };
    }
    throw lastError;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The server the PostgreSQL tests use, or why there is none. Prints the reason when the
 * tests are skipped, so a skipped run never looks like a passing one.
 *
 * @example
 * const found = await findPostgres();
 * describe.skipIf(!found.server)('PostgresCore', () => { ... });
 * afterAll(() => found.server?.close());
 */
export async function findPostgres(): Promise<PostgresLookup> {
  const url = process.env[ENV];
  if (url) return { server: { url, close: async () => undefined } };
  const bin = findPostgresBinaries();
  if (!bin) {
    const skipReason = `PostgreSQL tests skipped: ${ENV} is not set and no PostgreSQL server binaries (initdb, pg_ctl) are installed`;
    console.warn(skipReason);
    return { skipReason };
  }
  try {
    return { server: await startThrowawayCluster(bin) };
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    const skipReason = `PostgreSQL tests skipped: ${ENV} is not set and a throwaway cluster could not be started (${detail})`;
    console.warn(skipReason);
    return { skipReason };
  }
}
