/**
 * One state per process: a program that loads both builds of the package (dist/index.js
 * through `import`, dist/index.cjs through `require`) shares defaults, the enabled flag
 * and the wrapper registry between them. A copy whose state layout differs keeps a state
 * of its own instead of misreading this one.
 */
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackageInto } from './support/buildPackage.js';
import { lastJson, runNode, writeFiles } from './support/runNode.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'cachier-dual-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const home = join(root, 'home');
const consumer = join(root, 'consumer');
const pkg = join(consumer, 'node_modules', 'cachier');

/** Builds the package as `npm run build` does (its own tsup config) into node_modules/cachier. */
beforeAll(async () => {
  await buildPackageInto(consumer);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'dual-consumer', type: 'module' }),
  );
});

/** A program that loads `import('cachier')` and `require(cjsSpecifier)` and compares them. */
const program = (cjsSpecifier: string) => `import * as esm from 'cachier';
import { createRequire } from 'node:module';
const cjs = createRequire(import.meta.url)(${JSON.stringify(cjsSpecifier)});
let calls = 0;
async function loadThing(x) { calls++; return x * 2; }
const wrapped = esm.cachier(loadThing, { backend: 'memory' });
const seen = { twoCopies: esm.cachier !== cjs.cachier };

cjs.disableCaching();
await wrapped(1);
await wrapped(1);
seen.callsWhileDisabledThroughRequire = calls;
cjs.enableCaching();
await wrapped(1);
await wrapped(1);
seen.callsAfterEnabledThroughRequire = calls;

cjs.setDefaultParams({ staleAfter: { hours: 2 } });
seen.defaultsSeenThroughImport = esm.getDefaultParams().staleAfter ?? null;
esm.resetDefaultParams();
seen.resetSeenThroughRequire = cjs.getDefaultParams().staleAfter ?? null;

try {
  seen.cacheOfThroughRequire = cjs.cacheOf(wrapped).cacheName;
} catch (error) {
  seen.cacheOfThroughRequire = String(error);
}
process.stdout.write(JSON.stringify(seen) + '\\n');
`;

describe('the ESM and the CommonJS build in one process', () => {
  it('share the enabled flag, the defaults and the wrapper registry', async () => {
    writeFiles({ [join(consumer, 'both.mjs')]: program('cachier') });
    const seen = lastJson(await runNode(join(consumer, 'both.mjs'), { home, cwd: consumer }));
    expect(seen).toEqual({
      twoCopies: true,
      // disableCaching() through require reached the wrapper made through import.
      callsWhileDisabledThroughRequire: 2,
      callsAfterEnabledThroughRequire: 3,
      defaultsSeenThroughImport: { hours: 2 },
      resetSeenThroughRequire: null,
      cacheOfThroughRequire: 'dual-consumer:both:loadThing',
    });
  });

  it('keep separate states when their state layouts differ, without failing', async () => {
    // A copy of the CommonJS build as a later, incompatible version would be.
    const cjs = readFileSync(join(pkg, 'dist', 'index.cjs'), 'utf8');
    const marker = /PROCESS_STATE_LAYOUT = 1;/;
    expect(cjs).toMatch(marker);
    writeFileSync(
      join(pkg, 'dist', 'layout2.cjs'),
      cjs.replace(marker, 'PROCESS_STATE_LAYOUT = 2;'),
    );
    // The package's exports do not list that file: load it by path instead.
    writeFiles({
      [join(consumer, 'layouts.mjs')]: program(join(pkg, 'dist', 'layout2.cjs')),
    });
    const seen = lastJson(await runNode(join(consumer, 'layouts.mjs'), { home, cwd: consumer }));
    expect(seen).toEqual({
      twoCopies: true,
      callsWhileDisabledThroughRequire: 1,
      callsAfterEnabledThroughRequire: 1,
      defaultsSeenThroughImport: null,
      resetSeenThroughRequire: { hours: 2 },
      cacheOfThroughRequire: expect.stringMatching(
        /^TypeError: cachier: cacheOf\(\) expects a function made by cachier/,
      ),
    });
  });
});
