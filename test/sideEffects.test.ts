/**
 * The package says `"sideEffects": false`, so bundlers may drop an import whose names
 * go unused. That is only true if importing does nothing a program could notice: no
 * globals (not even a hidden symbol slot), no listeners on `process`, nothing written to
 * the home folder or stderr. cachier's process state is made on first use, not on import.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackageInto } from './support/buildPackage.js';
import { lastJson, REPO_ROOT, runNode, writeFiles } from './support/runNode.js';

const root = mkdtempSync(join(tmpdir(), 'cachier-side-effects-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const home = join(root, 'home');
const consumer = join(root, 'consumer');

beforeAll(async () => {
  await buildPackageInto(consumer);
  mkdirSync(home);
  writeFiles({
    [join(consumer, 'package.json')]: JSON.stringify({ name: 'side-effects', type: 'module' }),
    [join(consumer, 'imports.mjs')]: `import { createRequire } from 'node:module';
const seen = () => ({
  globals: Reflect.ownKeys(globalThis).map(String),
  processEvents: process.eventNames().map(String),
});
const before = seen();
const loaded = [];
for (const specifier of process.argv.slice(2)) {
  await import(specifier);
  createRequire(import.meta.url)(specifier);
  loaded.push(specifier);
}
const after = seen();
process.stdout.write(JSON.stringify({
  loaded,
  newGlobals: after.globals.filter((key) => !before.globals.includes(key)),
  newProcessEvents: after.processEvents.filter((name) => !before.processEvents.includes(name)),
}) + '\\n');
`,
  });
});

describe('"sideEffects": false holds', () => {
  it('importing and requiring every entry point changes no global, adds no process listener, writes nothing', async () => {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(manifest.sideEffects).toBe(false);
    const entries = Object.keys(manifest.exports)
      .filter((subpath) => subpath !== './package.json')
      .map((subpath) => subpath.replace(/^\./, 'cachier'));
    expect(entries).toEqual(['cachier', 'cachier/testing', 'cachier/prometheus']);
    const run = await runNode(join(consumer, 'imports.mjs'), {
      home,
      cwd: consumer,
      args: entries,
    });
    expect(lastJson(run)).toEqual({ loaded: entries, newGlobals: [], newProcessEvents: [] });
    expect(run.stderr).toBe('');
    expect(readdirSync(home)).toEqual([]);
  });
});
