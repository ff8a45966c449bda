/**
 * `npm run bench` (and `npm run bench:smoke`): runs every scenario, each in its own child
 * process so one scenario's heap and JIT state never colour another's, prints Markdown
 * tables and writes the raw numbers to bench/results/<date>.json.
 *
 * Scenarios run in processes of their own on the built package (dist/, loaded through
 * asBuilt.mjs), so build first: the npm scripts do.
 *
 *   tsx bench/run.ts                 all scenarios
 *   tsx bench/run.ts --smoke         all scenarios, a handful of iterations (CI)
 *   tsx bench/run.ts memory-hit ...  only the named scenarios
 *
 * CACHIER_TEST_MONGODB_URI points the MongoDB scenario at a real server.
 */
import { fork } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, freemem, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AS_BUILT, type ScenarioResult, SMOKE, type Table } from './harness.js';

interface ScenarioSpec {
  id: string;
  module: string;
  /** Extra node flags for the scenario's process. */
  nodeFlags?: string[];
}

const SCENARIOS: ScenarioSpec[] = [
  { id: 'import-time', module: './importTime.ts' },
  { id: 'memory-hit', module: './memoryHit.ts' },
  { id: 'file-hit', module: './fileHit.ts' },
  { id: 'miss', module: './miss.ts' },
  { id: 'concurrent-cold', module: './concurrentCold.ts' },
  { id: 'cross-process-wakeup', module: './crossProcessWakeup.ts' },
  { id: 'memory-per-entry', module: './memoryPerEntry.ts', nodeFlags: ['--expose-gc'] },
  { id: 'mongo-hit', module: './mongoHit.ts' },
  { id: 'metrics-off', module: './metricsOff.ts' },
  { id: 'database-wakeup', module: './databaseWakeup.ts' },
  { id: 'database-hit', module: './databaseHit.ts' },
];

const here = dirname(fileURLToPath(import.meta.url));

type ChildMessage = { ok: true; result: ScenarioResult } | { ok: false; error: string };

/** In a scenario's own process: run it and send the result to the parent. */
async function runAsChild(id: string): Promise<void> {
  const spec = SCENARIOS.find((s) => s.id === id);
  if (!spec) throw new Error(`unknown scenario ${id}`);
  const scenario = (await import(spec.module)) as { run: () => Promise<ScenarioResult> };
  let message: ChildMessage;
  try {
    message = { ok: true, result: await scenario.run() };
  } catch (error) {
    message = {
      ok: false,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    };
  }
  await new Promise<void>((resolve) => process.send?.(message, () => resolve()));
  // Scenarios close what they open; exiting here only cuts short any unref'd stragglers.
  process.exit(0);
}

function runInChild(spec: ScenarioSpec): Promise<ScenarioResult> {
  return new Promise((resolve, reject) => {
    const child = fork(
      join(here, 'run.ts'),
      ['--scenario', spec.id, ...(SMOKE ? ['--smoke'] : [])],
      {
        execArgv: [...AS_BUILT, ...(spec.nodeFlags ?? [])],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    let message: ChildMessage | undefined;
    // A hung scenario must not hang CI: the smoke run gets 2 minutes, a full one 15.
    const limitMs = (SMOKE ? 2 : 15) * 60_000;
    const timer = setTimeout(() => {
      process.stderr.write(
        `scenario ${spec.id} ran over ${limitMs / 60_000} minutes; stopping it\n`,
      );
      child.kill('SIGKILL');
    }, limitMs);
    child.on('message', (m) => {
      message = m as ChildMessage;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (message?.ok) resolve(message.result);
      else if (message) reject(new Error(`scenario ${spec.id} failed:\n${message.error}`));
      else reject(new Error(`scenario ${spec.id} exited (${signal ?? code}) without a result`));
    });
  });
}

function renderTable(table: Table): string {
  const lines = [`**${table.title}**`, ''];
  lines.push(`| ${table.header.join(' | ')} |`);
  lines.push(`|${table.header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
  for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`);
  for (const note of table.notes ?? []) lines.push('', note);
  return lines.join('\n');
}

function machine(): Record<string, string | number> {
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    freeMemoryGiB: Math.round(freemem() / 2 ** 30),
  };
}

/**
 * The scenarios load the package as users do, from dist/ (its own name, `cachier`): a
 * dist/ older than src/ would time last week's code, so refuse it (`npm run bench`
 * builds first).
 */
function assertBuiltFromSource(): void {
  const repo = join(here, '..');
  let builtMs: number;
  try {
    builtMs = statSync(join(repo, 'dist', 'index.js')).mtimeMs;
  } catch {
    throw new Error('dist/ is not built: run `npm run build` (npm run bench builds first)');
  }
  const sources = readdirSync(join(repo, 'src'), { recursive: true, encoding: 'utf8' });
  const newer = sources.find((file) => statSync(join(repo, 'src', file)).mtimeMs > builtMs);
  if (newer) {
    throw new Error(
      `src/${newer} is newer than dist/: run \`npm run build\` (npm run bench builds first)`,
    );
  }
}

async function main(): Promise<void> {
  assertBuiltFromSource();
  const asked = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const unknown = asked.filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length) {
    throw new Error(
      `unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`,
    );
  }
  const chosen = asked.length ? SCENARIOS.filter((s) => asked.includes(s.id)) : SCENARIOS;
  const started = new Date();
  const info = machine();
  const out: string[] = [
    `# cachier benchmark${SMOKE ? ' (smoke run: too few iterations to mean anything)' : ''}`,
    '',
    `Node ${info.node}, ${info.platform}, ${info.cpus} × ${info.cpuModel}, ${info.memoryGiB} GiB RAM. ${started.toISOString()}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  const results: ScenarioResult[] = [];
  const failures: string[] = [];
  for (const spec of chosen) {
    process.stderr.write(`running ${spec.id}...\n`);
    const begun = Date.now();
    try {
      const result = await runInChild(spec);
      results.push(result);
      const section = [`\n## ${result.title}`, ''];
      if (result.skipped) section.push(`Skipped: ${result.skipped}`);
      for (const table of result.tables) section.push(renderTable(table), '');
      process.stdout.write(`${section.join('\n')}\n`);
    } catch (error) {
      failures.push(spec.id);
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    }
    process.stderr.write(`${spec.id} took ${((Date.now() - begun) / 1000).toFixed(1)} s\n`);
  }

  const targets = results.flatMap((r) => r.targets);
  if (targets.length) {
    const lines = ['\n## Targets', '', '| target | measured | met |', '| --- | ---: | :---: |'];
    for (const t of targets)
      lines.push(`| ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }

  const folder = join(here, 'results');
  mkdirSync(folder, { recursive: true });
  const stamp = started.toISOString().replace(/:/g, '-').replace(/\..*$/, '');
  const file = join(folder, `${stamp}${SMOKE ? '-smoke' : ''}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ started: started.toISOString(), smoke: SMOKE, machine: info, results }, null, 2)}\n`,
  );
  process.stderr.write(`results written to ${file}\n`);
  if (failures.length) {
    process.stderr.write(`failed scenarios: ${failures.join(', ')}\n`);
    process.exitCode = 1;
  }
}

const at = process.argv.indexOf('--scenario');
if (at >= 0) await runAsChild(process.argv[at + 1] ?? '');
else await main();
