/**
 * The package's type declarations as a user's TypeScript reads them: built as
 * `npm run build` builds them, installed without any optional peer (no `mongodb`,
 * `redis`, `pg`, `@types/pg`, `prom-client`), checked with `skipLibCheck: false` under
 * every module resolution a project may use. A declaration that imports an optional
 * peer breaks the build of every project that does not use that core (or, with
 * `skipLibCheck`, quietly turns its types into `any`).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackageInto } from '../support/buildPackage.js';
import { REPO_ROOT } from '../support/runNode.js';

const OPTIONAL_PEERS = ['mongodb', 'redis', 'pg', '@types/pg', 'prom-client'];

const root = mkdtempSync(join(tmpdir(), 'cachier-types-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A user's module: the library, a core of their own, and the conformance kit. */
const USER_CODE = `import { cachier, cacheOf, MemoryCore, type Claim, type Core, type StoredEntry } from 'cachier';
import { coreConformance, type SuiteFunction, type TestFunction } from 'cachier/testing';

const double = cachier(async (n: number) => n * 2, { backend: new MemoryCore() });
export const doubled: Promise<number> = double(21);
export const name: string = cacheOf(double).cacheName;

class NoCore implements Core {
  readonly kind = 'none';
  get(): StoredEntry | undefined { return undefined; }
  async set(): Promise<void> {}
  async tryClaim(): Promise<Claim | undefined> { return undefined; }
  async delete(): Promise<void> {}
  async clear(): Promise<void> {}
  async clearClaims(): Promise<void> {}
  async deleteStale(): Promise<void> {}
}
export function register(describe: SuiteFunction, test: TestFunction): void {
  coreConformance({ describe, test, makeCore: () => new NoCore() });
}
`;

const MODES: Array<{ mode: string; file: string; options: ts.CompilerOptions }> = [
  {
    mode: 'node16, an ES module',
    file: 'user.mts',
    options: { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 },
  },
  {
    mode: 'nodenext, a CommonJS module',
    file: 'user.cts',
    options: {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
    },
  },
  {
    mode: 'bundler',
    file: 'user.ts',
    options: { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler },
  },
];

beforeAll(async () => {
  await buildPackageInto(root, OPTIONAL_PEERS, { types: true });
  mkdirSync(join(root, 'node_modules', '@types'));
  symlinkSync(
    join(REPO_ROOT, 'node_modules', '@types', 'node'),
    join(root, 'node_modules', '@types', 'node'),
    'junction',
  );
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'types-user', type: 'module' }));
  for (const { file } of MODES) writeFileSync(join(root, file), USER_CODE);
}, 120_000);

describe('the type declarations, installed without the optional peers', () => {
  for (const { mode, file, options } of MODES) {
    it(`type-check a user's code under ${mode} with skipLibCheck: false`, () => {
      const program = ts.createProgram([join(root, file)], {
        ...options,
        target: ts.ScriptTarget.ES2022,
        strict: true,
        exactOptionalPropertyTypes: true,
        skipLibCheck: false,
        noEmit: true,
        types: ['node'],
      });
      const errors = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
        const where = diagnostic.file ? `${diagnostic.file.fileName.slice(root.length + 1)}: ` : '';
        return where + ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ');
      });
      expect(errors).toEqual([]);
    });
  }
});
