/**
 * Compiles decorator fixtures with the TypeScript compiler in either decorator mode and
 * runs them in a child process, against `src` (through tsx) or a built package.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export type DecoratorMode = 'standard' | 'legacy';
export type ModuleFormat = 'esm' | 'cjs';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');

/** The import every fixture makes; the compile step points it at the code under test. */
const FIXTURE_IMPORT = "'../../../src/index.js'";

export interface CompileOptions {
  mode: DecoratorMode;
  format: ModuleFormat;
  /** What the fixture's `import ... from '../../../src/index.js'` should load instead. */
  cachierSpecifier: string;
}

/**
 * Transpiles a fixture as TypeScript would for a user of the given decorator mode
 * (target ES2022, as `tsc` emits for Node 20), points its cachier import at
 * `cachierSpecifier`, and appends a call of its `main(cacheDir)` that prints the result
 * as one JSON line.
 */
export function compileFixture(source: string, options: CompileOptions): string {
  const output = ts.transpileModule(source, {
    fileName: 'fixture.ts',
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: options.format === 'esm' ? ts.ModuleKind.ESNext : ts.ModuleKind.CommonJS,
      experimentalDecorators: options.mode === 'legacy',
      useDefineForClassFields: true,
      sourceMap: false,
    },
  });
  const problems = (output.diagnostics ?? []).map((d) =>
    ts.flattenDiagnosticMessageText(d.messageText, '\n'),
  );
  if (problems.length > 0) throw new Error(`fixture does not compile: ${problems.join('; ')}`);
  const quoted = output.outputText.includes(FIXTURE_IMPORT)
    ? FIXTURE_IMPORT
    : FIXTURE_IMPORT.replaceAll("'", '"');
  if (!output.outputText.includes(quoted)) {
    throw new Error(`fixture output lacks the import ${FIXTURE_IMPORT}`);
  }
  return `${output.outputText.replaceAll(quoted, JSON.stringify(options.cachierSpecifier))}
main(process.argv[2]).then((result) => {
  process.stdout.write(JSON.stringify(result) + '\\n');
});
`;
}

/** Reads a fixture from test/decorators/fixtures. */
export function fixtureSource(name: string): string {
  return readFileSync(join(here, 'fixtures', name), 'utf8');
}

/** The `src` entry point as a specifier a compiled fixture can load through tsx. */
export function sourceSpecifier(format: ModuleFormat): string {
  const entry = join(repoRoot, 'src', 'index.ts');
  return format === 'esm' ? pathToFileURL(entry).href : entry;
}

export interface RunOptions {
  /** Load tsx first, so that the fixture can import TypeScript sources. */
  tsx: boolean;
  /** Working folder (package resolution starts at the fixture file itself). */
  cwd?: string;
}

/**
 * Writes `code` to `file`, runs it with node and the arguments, and parses the JSON
 * line it prints. Rejects with the child's stderr when it fails.
 */
export function runFixture(
  file: string,
  code: string,
  args: string[],
  options: RunOptions,
): Promise<unknown> {
  writeFileSync(file, code);
  const nodeArgs = [...(options.tsx ? ['--import', 'tsx'] : []), file, ...args];
  return new Promise((resolvePromise, reject) => {
    execFile(
      process.execPath,
      nodeArgs,
      { cwd: options.cwd ?? repoRoot, timeout: 60_000, windowsHide: true },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`${file} failed: ${error.message}\n${stderr}`));
          return;
        }
        const lines = stdout.trim().split('\n');
        try {
          resolvePromise(JSON.parse(lines[lines.length - 1] ?? ''));
        } catch {
          reject(new Error(`${file} printed no JSON result:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}
