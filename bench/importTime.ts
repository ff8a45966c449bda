/**
 * Start-up cost: how much longer a Node process takes that imports cachier (ESM `import`
 * and CommonJS `require` of the built package) than an empty one, and what each runtime
 * dependency would add by itself. The package is built from this checkout's source with
 * tsup (the release build's settings, without type declarations) into bench/results/.
 * Processes are started round-robin, so a busy machine slows every case alike.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import {
  formatMs,
  median,
  percentile,
  progress,
  type ScenarioResult,
  SMOKE,
  type TargetCheck,
} from './harness.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = SMOKE ? 2 : 25;
const LIMIT_MS = 40;
const EMPTY = 'empty Node (node -e "")';

interface Case {
  name: string;
  args: string[];
}

export async function run(): Promise<ScenarioResult> {
  const outDir = join(repo, 'bench/results/import-time-build');
  progress('building the package');
  await build({
    config: false,
    entry: { index: join(repo, 'src/index.ts') },
    format: ['esm', 'cjs'],
    outDir,
    target: 'node20',
    dts: false,
    sourcemap: false,
    clean: true,
    silent: true,
    external: ['mongodb'],
  });
  try {
    return measure(outDir);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

function measure(outDir: string): ScenarioResult {
  const esm = join(outDir, 'index.js');
  const cjs = join(outDir, 'index.cjs');
  const cases: Case[] = [
    { name: EMPTY, args: ['-e', ''] },
    {
      name: "import('cachier') (ESM)",
      args: ['--input-type=module', '-e', `await import(${JSON.stringify(esm)});`],
    },
    { name: "require('cachier') (CommonJS)", args: ['-e', `require(${JSON.stringify(cjs)});`] },
    {
      name: 'date-fns/milliseconds alone (loaded)',
      args: ['-e', "require('date-fns/milliseconds');"],
    },
    {
      name: 'lru-cache alone (first store of a memory core)',
      args: ['-e', "require('lru-cache');"],
    },
    { name: 'date-fns, the whole package (for scale)', args: ['-e', "require('date-fns');"] },
  ];
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  // One unmeasured round warms the OS file cache (not in a smoke run).
  for (let round = SMOKE ? 0 : -1; round < ROUNDS; round++) {
    if (round % 5 === 0) progress(`round ${round + 1} of ${ROUNDS}`);
    for (const { name, args } of cases) {
      const begun = performance.now();
      const child = spawnSync(process.execPath, args, {
        cwd: repo,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const took = performance.now() - begun;
      if (child.status !== 0) {
        throw new Error(`${name} failed: ${child.stderr.toString().slice(0, 500)}`);
      }
      if (round >= 0) times.get(name)?.push(took);
    }
  }
  const empty = median(times.get(EMPTY) ?? []);
  const extra = (name: string) => median(times.get(name) ?? []) - empty;
  const signed = (ms: number) => `${ms < 0 ? '−' : '+'}${formatMs(Math.abs(ms))}`;
  const rows = cases.map(({ name }) => {
    const values = times.get(name) ?? [];
    return [
      name.startsWith('import(') || name.startsWith('require(') ? `**${name}**` : name,
      formatMs(median(values)),
      formatMs(percentile(values, 90)),
      name === EMPTY ? '–' : signed(extra(name)),
    ];
  });
  const targets: TargetCheck[] = cases
    .filter(({ name }) => name.startsWith('import(') || name.startsWith('require('))
    .map(({ name }) => ({
      target: `${name} ≤ ${LIMIT_MS} ms more than an empty Node start`,
      measured: signed(extra(name)),
      met: extra(name) <= LIMIT_MS,
    }));
  return {
    id: 'import-time',
    title: 'Start-up cost (import time)',
    tables: [
      {
        title: `Time to start Node, load the module and exit (median of ${ROUNDS} processes each)`,
        header: ['process', 'median', 'p90', 'more than empty Node'],
        rows,
        notes: [
          'cachier loads date-fns by subpath (one function) at import; lru-cache loads on first use (the first stored value of a memory core), so its row is what that first use adds once.',
        ],
      },
    ],
    targets,
    data: { rounds: ROUNDS, times: Object.fromEntries(times) },
  };
}
