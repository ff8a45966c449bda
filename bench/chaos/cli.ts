/**
 * `npm run chaos -- [--rounds 1000] [--core file|mongo|redis|postgres|all] [--workers 4]
 * [--seed S] [--fail-fast]`: crash chaos against cachier's persistent cores. Worker
 * processes call deterministic cached functions while the driver SIGKILLs some of them;
 * after every round the checks of checks.ts run. Prints a summary table; exits 1 naming
 * the first failing round and check on any violation. `--break wrong-value|grant-all`
 * injects a fault on purpose, to prove the checks catch it (test/chaos.test.ts).
 */
import { randomInt } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import { CHECKS } from './checks.js';
import { type CoreResult, runChaos } from './driver.js';
import { BREAK_MODES, type BreakMode, CORE_NAMES, type CoreName } from './protocol.js';

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError('expected a whole number of at least 1');
  }
  return value;
}

function seedNumber(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError('expected a whole number of at least 0');
  }
  return value;
}

const program = new Command('chaos')
  .description('SIGKILL cachier workers at random and check every value, store and claim')
  .option('--rounds <n>', 'rounds per core', positiveInteger, 100)
  .addOption(
    new Option('--core <core>', 'which core').choices([...CORE_NAMES, 'all']).default('file'),
  )
  .option('--workers <n>', 'worker processes', positiveInteger, 4)
  .option('--seed <s>', 'seed of the plan (which keys, which kills, when)', seedNumber)
  .option(
    '--lease-ms <ms>',
    'claim lease of the core (default: file 2000, others 500)',
    positiveInteger,
  )
  .option('--fail-fast', 'stop a core at its first round with a violation', false)
  .addOption(
    new Option('--break <mode>', 'inject a fault on purpose (self-test of the checks)').choices(
      BREAK_MODES,
    ),
  );
program.parse();
const options = program.opts<{
  rounds: number;
  core: CoreName | 'all';
  workers: number;
  seed?: number;
  failFast: boolean;
  leaseMs?: number;
  break?: BreakMode;
}>();
const seed = options.seed ?? randomInt(2 ** 31);
const cores = options.core === 'all' ? CORE_NAMES : [options.core];

const tty = process.stderr.isTTY === true;
function progress(core: CoreName, round: number, violations: number): void {
  const total = options.rounds;
  if (tty) {
    const width = 30;
    const filled = Math.round((round / total) * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    process.stderr.write(
      `\r${core.padEnd(8)} [${bar}] ${round}/${total}  violations ${violations}`,
    );
    if (round === total) process.stderr.write('\n');
  } else if (round === total || round % Math.max(1, Math.ceil(total / 10)) === 0) {
    process.stderr.write(`${core}: round ${round}/${total}, violations ${violations}\n`);
  }
}

function table(results: CoreResult[]): string {
  const head = [
    'core',
    'rounds',
    'calls',
    'calculations',
    'kills',
    'takeovers',
    ...CHECKS.map((c) => c.name),
    'seconds',
  ];
  const rows = results.map((r) =>
    'skipped' in r
      ? [r.core, `skipped: ${r.skipped}`]
      : [
          r.core,
          r.rounds,
          r.calls,
          r.calculations,
          r.kills,
          r.takeovers,
          ...CHECKS.map((c) => r.violations[c.name]),
          Math.round(r.seconds),
        ].map(String),
  );
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

process.stdout.write(
  `chaos: seed ${seed}, ${options.rounds} rounds, ${options.workers} workers, core ${options.core}` +
    `${options.leaseMs ? `, lease ${options.leaseMs} ms` : ''}` +
    `${options.break ? `, fault injected: ${options.break}` : ''}\n`,
);
const results: CoreResult[] = [];
for (const core of cores) {
  const result = await runChaos(core, {
    rounds: options.rounds,
    workers: options.workers,
    seed,
    failFast: options.failFast,
    leaseMs: options.leaseMs,
    break: options.break,
    onRound: progress,
  });
  if ('skipped' in result) process.stderr.write(`chaos: ${core} skipped: ${result.skipped}\n`);
  results.push(result);
}

process.stdout.write(
  `\n${table(results)}\n\nviolations per check (columns ${CHECKS.map((c) => c.name).join(', ')}):\n`,
);
for (const check of CHECKS) process.stdout.write(`  ${check.name}: ${check.meaning}\n`);

const failed = results.filter((r) => !('skipped' in r) && r.examples.length > 0);
for (const result of failed) {
  if ('skipped' in result) continue;
  process.stdout.write(`\n${result.core}: violations (first ${result.examples.length}):\n`);
  for (const v of result.examples) {
    const where = v.round === 0 ? 'end of run' : `round ${v.round}`;
    process.stdout.write(`  ${where} [${v.check}] ${v.detail}\n`);
  }
}
const first = failed[0];
if (first && !('skipped' in first)) {
  const v = first.examples[0];
  const where = v?.round === 0 ? 'at the end of the run' : `in round ${v?.round}`;
  process.stdout.write(
    `\nchaos: FAILED: ${first.core} core, check "${v?.check}" ${where}; ` +
      `reproduce the plan with --seed ${seed} --core ${first.core}\n`,
  );
  process.exitCode = 1;
} else {
  process.stdout.write('\nchaos: no violations\n');
}
