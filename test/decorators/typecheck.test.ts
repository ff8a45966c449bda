/**
 * The decorator type tests and fixtures must type-check in both decorator modes: with
 * the project's settings (TypeScript 5 standard decorators) and with
 * `experimentalDecorators: true`. Their `@ts-expect-error` lines make this a test of
 * what must not compile, too (an unused directive is an error).
 */
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './compileFixture.js';

const files = [
  join(repoRoot, 'test', 'types', 'decorators.test-d.ts'),
  join(repoRoot, 'test', 'decorators', 'fixtures', 'reports.ts'),
  join(repoRoot, 'examples', 'decorators.ts'),
];

function typeErrors(experimentalDecorators: boolean): string[] {
  const configFile = ts.readConfigFile(join(repoRoot, 'tsconfig.json'), (path) =>
    ts.sys.readFile(path),
  );
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, repoRoot);
  const program = ts.createProgram(files, {
    ...parsed.options,
    experimentalDecorators,
    noEmit: true,
  });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!diagnostic.file || diagnostic.start === undefined) return message;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${diagnostic.file.fileName}:${line + 1}: ${message}`;
  });
}

describe('decorator types', () => {
  it('type-check with standard decorators', () => {
    expect(typeErrors(false)).toEqual([]);
  });

  it('type-check with experimentalDecorators', () => {
    expect(typeErrors(true)).toEqual([]);
  });
});
