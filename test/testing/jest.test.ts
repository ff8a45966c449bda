/**
 * The kit under jest, as a core author runs it: the real jest binary, jest's own `describe`
 * and `test`, and `cachier/testing` loaded as `require('cachier/testing')` is in a jest
 * project (jest runs test files as CommonJS unless told otherwise).
 *
 * The kit is the package as built (the repository's tsup config, built into a temporary
 * node_modules/cachier), not src/: what a jest user gets is dist/testing.cjs inside
 * jest's module registry, so this also proves that the CommonJS build loads and runs
 * there. The test files themselves are TypeScript, which jest does not read; a transform
 * of a few lines (fixtures/jest/esbuildTransform.cjs) strips their types, as ts-jest or
 * babel would in a user's project.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackageInto } from '../support/buildPackage.js';
import { REPO_ROOT } from '../support/runNode.js';
import { T } from './brokenCores.js';

const fixtures = fileURLToPath(new URL('./fixtures/jest/', import.meta.url));
const jestBin = createRequire(import.meta.url).resolve('jest/bin/jest');

const root = mkdtempSync(join(tmpdir(), 'cachier-jest-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const configFile = join(root, 'jest.config.json');

beforeAll(async () => {
  const pkg = await buildPackageInto(root);
  const manifest = readFileSync(join(REPO_ROOT, 'package.json'), 'utf8');
  // Where `require('cachier/testing')` leads by the package's exports map. jest resolves
  // a bare name from the test file's folders up, which would not reach this temporary
  // package, so the config maps the name to that file.
  const testingExport: string = JSON.parse(manifest).exports['./testing'].require.default;
  const config = {
    rootDir: fixtures,
    testMatch: ['<rootDir>/*.jest.ts'],
    testEnvironment: 'node',
    moduleFileExtensions: ['ts', 'js', 'cjs', 'json'],
    transform: { '\\.ts$': '<rootDir>/esbuildTransform.cjs' },
    moduleNameMapper: {
      '^cachier/testing$': join(pkg, testingExport),
      // The sources import each other as './x.js' (NodeNext); the files are x.ts.
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    // The kit's advice: 2 × minLeaseMs + 10 s per test (jest's default is 5 s).
    testTimeout: 20_000,
    cacheDirectory: join(root, 'jest-cache'),
    watchman: false,
  };
  writeFileSync(configFile, JSON.stringify(config));
});

interface JestAssertion {
  title: string;
  status: string;
}

/** Runs one fixture with jest and reads its --json report. */
function runUnderJest(file: string, env: Record<string, string> = {}) {
  const report = join(root, `${file}.${Object.keys(env).join('-')}.json`);
  const run = spawnSync(
    process.execPath,
    [
      jestBin,
      '--config',
      configFile,
      '--ci',
      '--json',
      `--outputFile=${report}`,
      '--runTestsByPath',
      join(fixtures, file),
    ],
    { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 },
  );
  const output = run.stdout + run.stderr;
  const result = JSON.parse(readFileSync(report, 'utf8')) as {
    numPassedTests: number;
    numFailedTests: number;
    numTotalTests: number;
    testResults: Array<{ assertionResults: JestAssertion[] }>;
  };
  const failed = result.testResults
    .flatMap((suite) => suite.assertionResults)
    .filter((test) => test.status === 'failed')
    .map((test) => test.title);
  return {
    status: run.status,
    pass: result.numPassedTests,
    fail: result.numFailedTests,
    total: result.numTotalTests,
    failed,
    output,
  };
}

describe('the kit under jest', () => {
  it('runs the README’s test file with jest’s describe and test, and the MapCore passes it', () => {
    const run = runUnderJest('mapCore.jest.ts');
    expect(run.fail, run.output).toBe(0);
    expect(run.pass, run.output).toBeGreaterThan(15);
    expect(run.status, run.output).toBe(0);
  });

  it('runs every kit test, and the reference core passes them', () => {
    const run = runUnderJest('referenceKit.jest.ts');
    expect(run.fail, run.output).toBe(0);
    // Every title but the renewsItself variant of the lease test, which the reference core does not declare.
    expect(run.pass, run.output).toBe(Object.keys(T).length - 1);
    expect(run.status, run.output).toBe(0);
  });

  it('reports a broken core as a failed run that names the failed test', () => {
    const run = runUnderJest('referenceKit.jest.ts', { KIT_BROKEN: 'claim' });
    expect(run.status).not.toBe(0);
    expect(run.failed, run.output).toContain(T.oneWinner);
    expect(run.pass + run.fail, run.output).toBe(Object.keys(T).length - 1);
  });
});
