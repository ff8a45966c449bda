/**
 * Default identities across real packages and processes: two packages on one machine
 * (one HOME, so one ~/.cachier) wrapping a same-named function and a same-named decorated
 * method never share entries, and each keeps its own entries across restarts.
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lastJson, runNode, SRC_INDEX_URL, writeFiles } from './support/runNode.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'cachier-identity-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const home = join(root, 'home');

/** A program of package `pkg` that wraps `getConfig` and `Settings.load`, and calls both once. */
function configModule(pkg: string): string {
  return `import { cachier, cacheOf } from ${JSON.stringify(SRC_INDEX_URL)};
async function getConfig(): Promise<{ from: string; pid: number }> {
  return { from: ${JSON.stringify(pkg)}, pid: process.pid };
}
class Settings {
  @cachier()
  async load(): Promise<{ from: string; pid: number }> {
    return { from: ${JSON.stringify(pkg)}, pid: process.pid };
  }
}
const config = cachier(getConfig);
const settings = new Settings();
const result = {
  config: await config(),
  settings: await settings.load(),
  names: [config.cacheName, cacheOf(settings.load).cacheName],
  folders: [config.cacheDpath(), cacheOf(settings.load).cacheDpath()],
};
process.stdout.write(JSON.stringify(result) + '\\n');
`;
}

interface Observed {
  config: { from: string; pid: number };
  settings: { from: string; pid: number };
  names: [string, string];
  folders: [string, string];
}

writeFiles({
  [join(root, 'pkg-a', 'package.json')]: JSON.stringify({ name: 'pkg-a', type: 'module' }),
  [join(root, 'pkg-a', 'src', 'config.mts')]: configModule('pkg-a'),
  [join(root, 'pkg-b', 'package.json')]: JSON.stringify({ name: '@team/pkg-b', type: 'module' }),
  [join(root, 'pkg-b', 'src', 'config.mts')]: configModule('pkg-b'),
});
const run = (pkg: string) =>
  runNode(join(root, pkg, 'src', 'config.mts'), { home, tsx: true }).then(lastJson<Observed>);

describe('two packages with a same-named function, one HOME, separate processes', () => {
  it('never share entries, and each keeps its own across restarts', async () => {
    const a1 = await run('pkg-a');
    const b1 = await run('pkg-b');
    const a2 = await run('pkg-a');
    const b2 = await run('pkg-b');

    // Each program gets its own package's values, never the other's...
    for (const seen of [a1, a2]) {
      expect(seen.config.from).toBe('pkg-a');
      expect(seen.settings.from).toBe('pkg-a');
    }
    for (const seen of [b1, b2]) {
      expect(seen.config.from).toBe('pkg-b');
      expect(seen.settings.from).toBe('pkg-b');
    }
    // ...and the second run of each is a hit on what its first run stored.
    expect(a2.config.pid).toBe(a1.config.pid);
    expect(a2.settings.pid).toBe(a1.settings.pid);
    expect(b2.config.pid).toBe(b1.config.pid);
    expect(b2.settings.pid).toBe(b1.settings.pid);
  });

  it('names each identity <package>:<module>:<function> and keeps it under ~/.cachier', async () => {
    const a = await run('pkg-a');
    const b = await run('pkg-b');
    expect(a.names).toEqual(['pkg-a:src/config:getConfig', 'pkg-a:src/config:Settings.load']);
    expect(b.names).toEqual([
      '@team/pkg-b:src/config:getConfig',
      '@team/pkg-b:src/config:Settings.load',
    ]);
    for (const folder of [...a.folders, ...b.folders]) {
      expect(dirname(folder)).toBe(join(home, '.cachier'));
    }
    expect(new Set([...a.folders, ...b.folders]).size).toBe(4);
  });
});

describe('where the package comes from', () => {
  const program = `import { cachier } from ${JSON.stringify(SRC_INDEX_URL)};
async function getConfig(): Promise<number> { return 1; }
try {
  process.stdout.write(JSON.stringify({ name: cachier(getConfig, { backend: 'memory' }).cacheName }) + '\\n');
} catch (error) {
  process.stdout.write(JSON.stringify({ error: String(error) }) + '\\n');
}
`;

  it('passes over a package.json without a name (a build folder marking its module type)', async () => {
    writeFiles({
      [join(root, 'app', 'package.json')]: JSON.stringify({ name: 'app' }),
      [join(root, 'app', 'dist', 'esm', 'package.json')]: JSON.stringify({ type: 'module' }),
      [join(root, 'app', 'dist', 'esm', 'main.mts')]: program,
    });
    const seen = lastJson(
      await runNode(join(root, 'app', 'dist', 'esm', 'main.mts'), { home, tsx: true }),
    );
    expect(seen).toEqual({ name: 'app:dist/esm/main:getConfig' });
  });

  it('refuses, asking for a name option, where no package.json has a name', async () => {
    writeFiles({ [join(root, 'loose', 'main.mts')]: program });
    const seen = lastJson<{ error: string }>(
      await runNode(join(root, 'loose', 'main.mts'), { home, tsx: true }),
    );
    expect(seen.error).toBe(
      `TypeError: cachier: cannot form a default identity for 'getConfig': no package.json with a "name" above the module that wraps it, so two projects could share its entries; add a name to your package.json, or pass a name option: cachier(fn, { name: 'getConfig' }) or @cachier({ name: 'getConfig' })`,
    );
  });

  it('refuses, asking for a name option, in code without a file (eval)', async () => {
    writeFiles({
      [join(root, 'app', 'evaluated.mts')]:
        `import * as cachierModule from ${JSON.stringify(SRC_INDEX_URL)};
const run = new Function('cachier', "async function getConfig() { return 1; } try { return cachier(getConfig, { backend: 'memory' }).cacheName; } catch (error) { return String(error); }");
process.stdout.write(JSON.stringify({ seen: run(cachierModule.cachier) }) + '\\n');
`,
    });
    const { seen } = lastJson<{ seen: string }>(
      await runNode(join(root, 'app', 'evaluated.mts'), { home, tsx: true }),
    );
    expect(seen).toMatch(
      /^TypeError: cachier: cannot form a default identity for 'getConfig': it is wrapped by code that has no file \(eval, a REPL or node -e\).*pass a name option/,
    );
  });
});
