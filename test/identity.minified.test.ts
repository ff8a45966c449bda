/**
 * A real minified bundle (esbuild --bundle --minify) of two modules whose inner functions
 * `loadUser` and `loadOrder` both become one short name (CommonJS output, as a Node app
 * bundling CommonJS dependencies is built): running it never returns one's
 * value for the other. Without a name option the wrap is refused with an error asking
 * for one; with names, each gets its own entries. cachier is bundled in, as apps do.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lastJson, REPO_ROOT, runNode, writeFiles } from './support/runNode.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'cachier-minified-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const home = join(root, 'home');
const SRC_INDEX = JSON.stringify(join(REPO_ROOT, 'src', 'index.ts'));
const ESBUILD = join(REPO_ROOT, 'node_modules', '.bin', 'esbuild');

/** Bundles `entry` into `outfile` as a Node app does (CommonJS, drivers left out). */
function buildApp(entry: string, outfile: string, minify: boolean): void {
  execFileSync(ESBUILD, [
    entry,
    '--bundle',
    ...(minify ? ['--minify'] : []),
    '--format=cjs',
    '--platform=node',
    '--external:mongodb',
    '--external:redis',
    '--external:pg',
    '--external:prom-client',
    `--outfile=${outfile}`,
    '--log-level=error',
  ]);
}

/** Writes the app's modules; `named` gives each wrapper a name option. */
function writeApp(dir: string, named: boolean): void {
  const module = (what: string, fn: string) => `import { cachier } from ${SRC_INDEX};
export function make() {
  async function ${fn}(id) { return { kind: '${what}', id }; }
  return cachier(${fn}${named ? `, { name: 'app:${what}s' }` : ''});
}
`;
  writeFiles({
    [join(dir, 'package.json')]: JSON.stringify({ name: 'min-app', private: true }),
    [join(dir, 'src', 'users.js')]: module('user', 'loadUser'),
    [join(dir, 'src', 'orders.js')]: module('order', 'loadOrder'),
    // Wraps what argv asks for, so one run can make only one of the two wrappers.
    [join(dir, 'src', 'main.js')]: `import { make as users } from './users.js';
import { make as orders } from './orders.js';
const makers = { users, orders };
const seen = {};
(async () => {
  try {
    for (const which of process.argv.slice(2)) seen[which] = await makers[which]()(1);
  } catch (error) {
    seen.error = String(error);
  }
  process.stdout.write(JSON.stringify(seen) + '\\n');
})();
`,
  });
  buildApp(join(dir, 'src', 'main.js'), join(dir, 'dist', 'app.cjs'), true);
}

type Seen = Record<string, { kind: string; id: number } | string>;

describe('a minified bundle whose two inner functions get one name', () => {
  const plain = join(root, 'plain');
  writeApp(plain, false);
  const run = (...args: string[]) =>
    runNode(join(plain, 'dist', 'app.cjs'), { home, args }).then(lastJson<Seen>);

  it('is really minified: both inner functions have one short name', () => {
    const bundle = readFileSync(join(plain, 'dist', 'app.cjs'), 'utf8');
    expect(bundle).not.toContain('loadUser');
    expect(bundle).not.toContain('loadOrder');
  });

  it('refuses to wrap them without a name, in one process or in separate runs', async () => {
    const refused = expect.stringMatching(
      /^TypeError: cachier: '[\w$]{1,2}' has a one- or two-letter name, as minifiers make them.*pass a name option/,
    );
    expect(await run('users', 'orders')).toEqual({ error: refused });
    expect(await run('users')).toEqual({ error: refused });
    expect(await run('orders')).toEqual({ error: refused });
  });

  it('with name options, gives each its own entries, across runs', async () => {
    const named = join(root, 'named');
    writeApp(named, true);
    const runNamed = (...args: string[]) =>
      runNode(join(named, 'dist', 'app.cjs'), { home, args }).then(lastJson<Seen>);
    const user = { kind: 'user', id: 1 };
    const order = { kind: 'order', id: 1 };
    expect(await runNamed('users')).toEqual({ users: user });
    expect(await runNamed('orders')).toEqual({ orders: order });
    expect(await runNamed('orders', 'users')).toEqual({ orders: order, users: user });
  });
});

describe('a bundle (not minified) where two modules have a same-named inner function', () => {
  it('refuses the second one in the process instead of sharing its entries', async () => {
    const dir = join(root, 'same-name');
    writeFiles({
      [join(dir, 'package.json')]: JSON.stringify({ name: 'same-name-app', private: true }),
      [join(dir, 'src', 'users.js')]: `import { cachier } from ${SRC_INDEX};
export const users = () => { async function load(id) { return { kind: 'user', id }; } return cachier(load); };
`,
      [join(dir, 'src', 'orders.js')]: `import { cachier } from ${SRC_INDEX};
export const orders = () => { async function load(id) { return { kind: 'order', id }; } return cachier(load); };
`,
      [join(dir, 'src', 'main.js')]: `import { users } from './users.js';
import { orders } from './orders.js';
const seen = {};
(async () => {
  try {
    const u = users();
    seen.name = u.cacheName;
    seen.user = await u(1);
    seen.order = await orders()(1);
  } catch (error) {
    seen.error = String(error);
  }
  process.stdout.write(JSON.stringify(seen) + '\\n');
})();
`,
    });
    buildApp(join(dir, 'src', 'main.js'), join(dir, 'dist', 'app.cjs'), false);
    const seen = lastJson<Seen>(await runNode(join(dir, 'dist', 'app.cjs'), { home }));
    expect(seen).toEqual({
      name: 'same-name-app:dist/app:load',
      user: { kind: 'user', id: 1 },
      error: expect.stringMatching(
        /^TypeError: cachier: two different functions of one module would share the default identity 'same-name-app:dist\/app:load'/,
      ),
    });
  });
});

describe('a large minified bundle whose functions get three-letter names', () => {
  // 6,000 often-used functions push the two cached ones, used once each, past the
  // 3,500 one- and two-letter names esbuild has, so they get three-letter names.
  const dir = join(root, 'three-letters');
  const bundle = join(dir, 'dist', 'app.cjs');
  const fillers = Array.from({ length: 6000 }, (_, i) => `filler${i}`);
  const fillerModule = [
    ...fillers.map((name, i) => `export function ${name}(x) { return x + ${i}; }`),
    `export const all = [${fillers.map((name) => `${name},${name},${name}`).join(',')}];`,
  ].join('\n');
  writeFiles({
    [join(dir, 'package.json')]: JSON.stringify({ name: 'big-app', private: true }),
    [join(dir, 'src', 'filler.js')]: fillerModule,
    [join(dir, 'src', 'users.js')]: `import { cachier } from ${SRC_INDEX};
export async function loadUsers(id) { return { kind: 'user', id }; }
export const make = () => cachier(loadUsers);
`,
    [join(dir, 'src', 'orders.js')]: `import { cachier } from ${SRC_INDEX};
export async function loadOrders(id) { return { kind: 'order', id }; }
export const make = () => cachier(loadOrders);
`,
  });
  /** Builds the app into one path, importing the two modules in `order` (a new release). */
  function release(order: readonly ['users', 'orders'] | readonly ['orders', 'users']): void {
    writeFiles({
      [join(dir, 'src', 'main.js')]: `import { all } from './filler.js';
import { make as ${order[0]} } from './${order[0]}.js';
import { make as ${order[1]} } from './${order[1]}.js';
const makers = { users, orders };
const seen = { fillers: all.length };
(async () => {
  try {
    const cached = makers[process.argv[2]]();
    seen.name = cached.cacheName;
    seen.value = await cached(1);
  } catch (error) {
    seen.error = String(error);
  }
  process.stdout.write(JSON.stringify(seen) + '\\n');
})();
`,
    });
    buildApp(join(dir, 'src', 'main.js'), bundle, true);
  }
  type Seen3 = { fillers: number; name?: string; value?: unknown; error?: string };
  const run = (which: string) => runNode(bundle, { home, args: [which] }).then(lastJson<Seen3>);

  it('refuses them, so a rebuild that hands one name to another function cannot mix their entries', async () => {
    const refused = expect.stringMatching(
      /^TypeError: cachier: '[\w$]{3}' is a short name in a minified file, as minifiers make them.*pass a name option/,
    );
    release(['users', 'orders']);
    expect(readFileSync(bundle, 'utf8')).not.toContain('loadUsers');
    const first = { users: await run('users'), orders: await run('orders') };
    // The next release imports the modules the other way round: the names swap.
    release(['orders', 'users']);
    const second = { users: await run('users'), orders: await run('orders') };
    // Never the other function's value (without the refusal: the first release's entries).
    expect(second.users.value).not.toEqual({ kind: 'order', id: 1 });
    expect(second.orders.value).not.toEqual({ kind: 'user', id: 1 });
    for (const seen of [first.users, first.orders, second.users, second.orders]) {
      expect(seen).toEqual({ fillers: 18000, error: refused });
    }
  });
});
