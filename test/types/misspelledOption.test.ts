/**
 * A misspelled option must be reported as such first ("Did you mean to write
 * 'staleAfter'?"), in every form of cachier, rather than as a misuse of the decorator
 * overloads. TypeScript lists the failing overloads in declaration order, so this pins
 * the order of cachier's overloads (src/cachier.ts).
 */
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../decorators/compileFixture.js';

const IMPORT = "import { cachier } from '../../src/index.js';\n";

/** The snippets this file compiles, each a module in test/types (not written to disk). */
const SNIPPETS = {
  wrap: `${IMPORT}export const f = cachier(async (x: number) => x, { staleAfer: 1000 });`,
  factoryApplied: `${IMPORT}export const f = cachier({ staleAfer: 1000 })(async (x: number) => x);`,
  factory: `${IMPORT}export const d = cachier({ staleAfer: 1000 });`,
  method: `${IMPORT}export class Reports {
  @cachier({ staleAfer: 1000 })
  async byId(id: string): Promise<string> { return id; }
}`,
  correct: `${IMPORT}export const f = cachier({ staleAfter: 1000 })(async (x: number) => x);
export const g = cachier(async (x: number) => x, { staleAfter: 1000 });`,
  noParentheses: `${IMPORT}export class Reports {
  @cachier
  async byId(id: string): Promise<string> { return id; }
}`,
};
type Snippet = keyof typeof SNIPPETS;
const pathOf = (snippet: Snippet) => join(repoRoot, 'test', 'types', `__${snippet}.ts`);
const codeAt = new Map(Object.entries(SNIPPETS).map(([k, code]) => [pathOf(k as Snippet), code]));

/** Parsed files, shared by the programs of both decorator modes (parsing is most of the time). */
const parsedFiles = new Map<string, ts.SourceFile | undefined>();

/** One program of every snippet per decorator mode. */
function compile(experimentalDecorators: boolean): ts.Program {
  const configFile = ts.readConfigFile(join(repoRoot, 'tsconfig.json'), (path) =>
    ts.sys.readFile(path),
  );
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, repoRoot);
  const options = { ...parsed.options, experimentalDecorators, noEmit: true };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (file) => codeAt.has(file) || fileExists.call(host, file);
  host.readFile = (file) => codeAt.get(file) ?? readFile.call(host, file);
  host.getSourceFile = (file, languageVersion, ...rest) => {
    const code = codeAt.get(file);
    if (code !== undefined) return ts.createSourceFile(file, code, languageVersion, true);
    if (!parsedFiles.has(file)) {
      parsedFiles.set(file, getSourceFile.call(host, file, languageVersion, ...rest));
    }
    return parsedFiles.get(file);
  };
  return ts.createProgram([...codeAt.keys()], options, host);
}

const programs = new Map<boolean, ts.Program>();

/** The messages of the first error in a snippet, outermost first. */
function firstError(snippet: Snippet, experimentalDecorators = false): string[] {
  let program = programs.get(experimentalDecorators);
  if (!program) {
    program = compile(experimentalDecorators);
    programs.set(experimentalDecorators, program);
  }
  const file = program.getSourceFile(pathOf(snippet));
  const diagnostic = [
    ...program.getSyntacticDiagnostics(file),
    ...program.getSemanticDiagnostics(file),
  ].find((d) => d.category === ts.DiagnosticCategory.Error);
  if (!diagnostic) return [];
  const messages: string[] = [];
  const walk = (message: string | ts.DiagnosticMessageChain): void => {
    if (typeof message === 'string') {
      messages.push(message);
      return;
    }
    messages.push(message.messageText);
    for (const next of message.next ?? []) walk(next);
  };
  walk(diagnostic.messageText);
  return messages;
}

/** The first message that is about the option itself (not "No overload matches this call"). */
function firstReason(snippet: Snippet, experimentalDecorators = false): string | undefined {
  return firstError(snippet, experimentalDecorators).find(
    (message) => !/^(No overload matches this call|Overload \d+ of \d+)/.test(message),
  );
}

const DID_YOU_MEAN =
  /^Object literal may only specify known properties, but 'staleAfer' does not exist in type 'CachierOptions<.*>.*'\. Did you mean to write 'staleAfter'\?$/;

describe('a misspelled option', () => {
  it('is reported as such first in cachier(fn, options)', () => {
    expect(firstReason('wrap')).toMatch(DID_YOU_MEAN);
  });

  it('is reported as such first in the decorator-factory form', () => {
    expect(firstReason('factoryApplied')).toMatch(DID_YOU_MEAN);
    expect(firstReason('factory')).toMatch(DID_YOU_MEAN);
  });

  it('is reported as such first on a decorated method, in both decorator modes', () => {
    expect(firstReason('method')).toMatch(DID_YOU_MEAN);
    expect(firstReason('method', true)).toMatch(DID_YOU_MEAN);
  });

  it('leaves correct code without errors, and @cachier without parentheses a decorator misuse', () => {
    expect(firstError('correct')).toEqual([]);
    for (const legacy of [false, true]) {
      expect(firstError('noParentheses', legacy).join('\n')).toContain(
        'DecoratorMisuse<"write the decorator with parentheses: @cachier()">',
      );
    }
  });
});
