import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFile(new URL(path, import.meta.url), 'utf8');

/** A file's code without its import lines and first-line `// name` comment, trimmed. */
function code(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('import ') && !/^\/\/ [\w.]+\.ts$/.test(line))
    .join('\n')
    .trim();
}

function imports(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('import '));
}

describe("the README's 'Your own core' section", () => {
  it('shows the MapCore and its test file exactly as they run here, importing from the package', async () => {
    const readme = await read('../../README.md');
    const start = readme.indexOf('### Your own core');
    const doc = readme.slice(start, readme.indexOf('\n## ', start));
    const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
    expect(blocks).toHaveLength(2);
    const [core, test] = blocks as [string, string];
    expect(code(core)).toBe(code(await read('./mapCore.ts')));
    expect(code(test)).toBe(code(await read('./fixtures/mapCore.node.ts')));
    expect(imports(core)).toEqual([
      "import { randomUUID } from 'node:crypto';",
      "import { type Claim, type Core, CorruptEntryError, type StoredEntry } from 'cachier';",
    ]);
    expect(imports(test)).toEqual([
      "import { describe, test } from 'node:test';",
      "import { coreConformance } from 'cachier/testing';",
      "import { MapCore } from './mapCore.js';",
    ]);
    expect(
      test
        .trim()
        .split('\n')
        .filter((line) => line.trim() && !line.startsWith('//')),
    ).toHaveLength(4);
  });
});
