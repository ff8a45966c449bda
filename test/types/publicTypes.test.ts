/**
 * The public declarations (what `dist/index.d.ts`, `dist/testing.d.ts` and
 * `dist/prometheus.d.ts` are bundled from: every entry point in `exports`) must not
 * contain `any`: it would switch type checking off for users where it appears.
 */
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The package's entry points: `cachier`, `cachier/testing`, `cachier/prometheus`. */
const ENTRY_POINTS = ['src/index.ts', 'src/testing/index.ts', 'src/ops/prometheus.ts'];

/** Emits the declarations of every entry point and everything they reach, in memory. */
function publicDeclarations(): Map<string, string> {
  const configFile = ts.readConfigFile(join(repoRoot, 'tsconfig.json'), (path) =>
    ts.sys.readFile(path),
  );
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, repoRoot);
  const program = ts.createProgram(
    ENTRY_POINTS.map((entry) => join(repoRoot, entry)),
    {
      ...parsed.options,
      noEmit: false,
      declaration: true,
      emitDeclarationOnly: true,
      outDir: join(repoRoot, 'dist-types-check'),
    },
  );
  const declarations = new Map<string, string>();
  const result = program.emit(undefined, (fileName, text) => declarations.set(fileName, text));
  expect(result.emitSkipped).toBe(false);
  return declarations;
}

function anyKeywords(fileName: string, text: string): string[] {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (node.kind === ts.SyntaxKind.AnyKeyword) {
      const { line } = file.getLineAndCharacterOfPosition(node.getStart());
      found.push(`${relative(repoRoot, fileName)}:${line + 1}: ${text.split('\n')[line]?.trim()}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

it('has no any in the public declarations', () => {
  const declarations = publicDeclarations();
  for (const entry of ENTRY_POINTS) {
    const declaration = entry.replace(/^src\//, '').replace(/\.ts$/, '.d.ts');
    expect([...declarations.keys()].some((name) => name.endsWith(declaration))).toBe(true);
  }
  const found = [...declarations].flatMap(([name, text]) => anyKeywords(name, text));
  expect(found).toEqual([]);
});
