/**
 * Runs the real `cachier` binary, built by the package's own tsup config into a temporary
 * `node_modules/cachier` (so `bin` in package.json decides which file runs), and makes real
 * caches with real wrappers from that build in child processes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildPackageInto } from '../support/buildPackage.js';
import { REPO_ROOT } from '../support/runNode.js';

/** How a child program ended. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A built package: where its CLI and its library entry are. */
export interface BuiltPackage {
  /** The file `bin.cachier` points at. */
  cli: string;
  /** `dist/index.js` as a URL, for the wrapper children. */
  indexUrl: string;
  /** A folder to make homes and caches in. */
  root: string;
}

/**
 * Builds the package with its tsup config (as `npm run build` does, without types) into
 * `<tmp>/consumer/node_modules/cachier`, whose dependencies resolve to this repository's
 * node_modules except the ones named in `without` (to stand in for a missing optional peer).
 */
export async function buildPackage(without: readonly string[] = []): Promise<BuiltPackage> {
  const root = mkdtempSync(join(tmpdir(), 'cachier-cli-'));
  const pkg = await buildPackageInto(join(root, 'consumer'), without);
  const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as {
    bin: { cachier: string };
  };
  return {
    cli: join(pkg, manifest.bin.cachier),
    indexUrl: pathToFileURL(join(pkg, 'dist', 'index.js')).href,
    root,
  };
}

function run(args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 60_000, windowsHide: true },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Runs `node <cli> ...args` with HOME at `home` (so `~/.cachier` is the test's). */
export function cli(built: BuiltPackage, home: string, ...args: string[]): Promise<Run> {
  return run([built.cli, ...args], { HOME: home, USERPROFILE: home });
}

/** `cli` that must exit 0 with `--json`: its stdout parsed. */
export async function cliJson<T>(built: BuiltPackage, home: string, ...args: string[]): Promise<T> {
  const result = await cli(built, home, ...args, '--json');
  if (result.code !== 0) {
    throw new Error(`cachier ${args.join(' ')} exited ${result.code}:\n${result.stderr}`);
  }
  return JSON.parse(result.stdout) as T;
}

/** Where the wrapper child stores (the same store the CLI is pointed at). */
export type StoreSpec =
  | { kind: 'file'; dir: string }
  | { kind: 'redis'; url: string; prefix: string }
  | { kind: 'postgres'; url: string; table: string }
  | { kind: 'mongo'; uri: string; db: string; collection: string };

/** One wrapper the child makes and the arguments it calls it with. */
export interface CachePlan {
  /** The `name` option; without it, the default identity (`cachier:test/cli/fixtures/makeCaches:fetchReport`). */
  name?: string;
  calls: number[];
  /** Date the wrapper's clock this many days back, so its entries are this old. */
  daysAgo?: number;
  staleAfterDays?: number;
  /** Make the calls at once rather than one after another (faster for many entries). */
  parallel?: boolean;
  /** Store values with a JSON serializer (which the CLI cannot decode). */
  customSerializer?: boolean;
}

/** The default identity of the fixture's wrapper without a `name`. */
export const DEFAULT_IDENTITY = 'cachier:test/cli/fixtures/makeCaches:fetchReport';

/**
 * Wraps `fetchReport` once per plan in a child process, calls it, and returns the
 * arguments each wrapper calculated (a miss), keyed by name (`fetchReport` for unnamed).
 */
export async function makeCaches(
  built: BuiltPackage,
  home: string,
  store: StoreSpec,
  caches: CachePlan[],
): Promise<Record<string, number[]>> {
  const fixture = join(REPO_ROOT, 'test', 'cli', 'fixtures', 'makeCaches.mjs');
  const result = await run([fixture, built.indexUrl, JSON.stringify({ store, caches })], {
    HOME: home,
    USERPROFILE: home,
  });
  if (result.code !== 0) throw new Error(`the wrapper child failed:\n${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, number[]>;
}

/** A fresh home folder under the build's root. */
export function newHome(built: BuiltPackage): string {
  return mkdtempSync(join(built.root, 'home-'));
}
