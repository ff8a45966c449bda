/**
 * The public declarations (what `dist/index.d.ts` is bundled from) must not contain
 * `any`: it would switch type checking off for users where it appears.
 */
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect, it } from 'vitest';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Emits the declarations of src/index.ts and everything it reaches, in memory. */
function publicDeclarations(): Map<string, string> {
  const configFile = ts.readConfigFile(join(repoRoot, 'tsconfig.json'), (path) =>
    ts.sys.readFile(path),
  );
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, repoRoot);
  const program = ts.createProgram([join(repoRoot, 'src', 'index.ts')], {
    ...parsed.options,
    noEmit: false,
    declaration: true,
    emitDeclarationOnly: true,
    outDir: join(repoRoot, 'dist-types-check'),
  });
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
  expect([...declarations.keys()].some((name) => name.endsWith('index.d.ts'))).toBe(true);
  const found = [...declarations].flatMap(([name, text]) => anyKeywords(name, text));
  expect(found).toEqual([]);
});
