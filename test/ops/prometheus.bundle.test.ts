/**
 * `cachier/prometheus` is a bundle of its own, with its own copy of the metrics module;
 * built as `npm run build` builds it, it must still see the wrappers made through the
 * package's main entry, ESM and CommonJS alike, through the exports map.
 */
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackageInto } from '../support/buildPackage.js';
import { lastJson, runNode, writeFiles } from '../support/runNode.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'cachier-prom-bundle-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const consumer = join(root, 'consumer');

beforeAll(async () => {
  await buildPackageInto(consumer);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'prom-consumer', type: 'module' }),
  );
}, 120_000);

const program = `import { createRequire } from 'node:module';
import * as esm from 'cachier';
import * as esmProm from 'cachier/prometheus';
const require = createRequire(import.meta.url);
const cjs = require('cachier');
const cjsProm = require('cachier/prometheus');
// prom-client as the package resolves it (the consumer does not depend on it itself).
const { Registry } = createRequire(require.resolve('cachier/prometheus'))('prom-client');

const viaImport = esm.cachier(async (x) => x, { name: 'via-import', backend: 'memory', enableMetrics: true });
const viaRequire = cjs.cachier(async (x) => x, { name: 'via-require', backend: 'memory', enableMetrics: true });
await viaImport(1); await viaImport(1);
await viaRequire(1); await viaRequire(1); await viaRequire(1);

const seen = {};
for (const [label, prom] of [['import', esmProm], ['require', cjsProm]]) {
  const registry = new Registry();
  prom.registerCachierMetrics(registry);
  seen[label] = (await registry.metrics()).split('\\n').filter((l) => l.startsWith('cachier_hits_total{'));
}
process.stdout.write(JSON.stringify(seen) + '\\n');
`;

describe('the built cachier/prometheus entry', () => {
  it('sees wrappers of the ESM and the CommonJS build, imported or required', async () => {
    writeFiles({ [join(consumer, 'scrape.mjs')]: program });
    const seen = lastJson(
      await runNode(join(consumer, 'scrape.mjs'), { home: root, cwd: consumer }),
    );
    const expected = [
      'cachier_hits_total{name="via-import",core="memory"} 1',
      'cachier_hits_total{name="via-require",core="memory"} 2',
    ];
    expect(seen).toEqual({ import: expected, require: expected });
  });
});
