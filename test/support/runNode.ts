/**
 * Runs a Node.js program in a child process, with its own HOME, for tests that need real
 * processes, real files and real package.json files (identity scoping, bundles, builds).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The src entry point as an import specifier for programs run with tsx. */
export const SRC_INDEX_URL = pathToFileURL(`${REPO_ROOT}src/index.ts`).href;

/** How a child program ended. */
export interface NodeRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Writes `files` (path → text), creating their folders. */
export function writeFiles(files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
}

/**
 * Runs `node [--import tsx] <file> ...args` with `HOME` (and USERPROFILE) set to `home`,
 * so the default cache folder `~/.cachier` is the test's. Resolves however it ends.
 */
export function runNode(
  file: string,
  options: { home: string; tsx?: boolean; args?: string[]; cwd?: string },
): Promise<NodeRun> {
  const nodeArgs = [...(options.tsx ? ['--import', 'tsx'] : []), file, ...(options.args ?? [])];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      nodeArgs,
      {
        cwd: options.cwd ?? REPO_ROOT,
        env: { ...process.env, HOME: options.home, USERPROFILE: options.home },
        timeout: 60_000,
        windowsHide: true,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The last stdout line of a run that must have succeeded, parsed as JSON. */
export function lastJson<T>(run: NodeRun): T {
  if (run.code !== 0) throw new Error(`child failed (${run.code}):\n${run.stderr}`);
  const lines = run.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '') as T;
}
