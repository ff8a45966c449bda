/**
 * The examples are what users copy: they import the package by its own name (never
 * ../src), and their npm scripts run them against the built package
 * (examples/tsconfig.json), as the README says.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/runNode.js';

const folder = join(REPO_ROOT, 'examples');
const examples = readdirSync(folder).filter((file) => file.endsWith('.ts'));

describe('examples/', () => {
  it('import cachier by its package name only', () => {
    const relative = examples.flatMap((file) =>
      readFileSync(join(folder, file), 'utf8')
        .split('\n')
        .filter((line) => /^import .* from '\.\.?\//.test(line))
        .map((line) => `${file}: ${line}`),
    );
    expect(examples.length).toBeGreaterThan(5);
    expect(relative).toEqual([]);
  });

  it('each has an npm script that runs it against the built package', () => {
    const scripts: Record<string, string> = JSON.parse(
      readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'),
    ).scripts;
    const runs = Object.values(scripts).filter((script) => script.includes('examples/'));
    for (const file of examples) {
      const script = runs.find((run) => run.includes(`examples/${file}`));
      expect(script, `a script running examples/${file}`).toBeDefined();
      expect(script, `examples/${file}`).toContain('--tsconfig examples/tsconfig.json');
    }
  });
});
