import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { clear } from './commands/clear.js';
import { inspect } from './commands/inspect.js';
import { ls } from './commands/ls.js';
import { prune } from './commands/prune.js';
import { stats } from './commands/stats.js';
import { type CommandContext, processContext } from './context.js';
import { parseDuration } from './duration.js';
import { CliError, EXIT, type ExitCode } from './exitCodes.js';
import { messageOf, openStore, type StoreFlags } from './store.js';

const STORE_GROUP = 'Store (default: the file core in ~/.cachier):';
const OUTPUT_GROUP = 'Output:';

const EXIT_HELP = `
Exit codes: 0 ok, 1 the store failed (or a driver is missing, or a value could not be
decoded), 2 usage error, 3 NAME (or KEY) not found or ambiguous.`;

/** Adds the options every command takes: the store to open and `--json`. */
function withCommonOptions(command: Command): Command {
  const options = [
    new Option('--dir <folder>', 'file core: the cache folder (a leading ~ is the home folder)'),
    new Option('--mongo <uri>', 'MongoDB: connection string (needs the mongodb package)'),
    new Option('--db <database>', 'MongoDB: database'),
    new Option('--collection <collection>', 'MongoDB: collection'),
    new Option('--redis <url>', 'Redis: server URL (needs the redis package)'),
    new Option('--prefix <prefix>', "Redis: key prefix (default 'cachier:')"),
    new Option('--postgres <url>', 'PostgreSQL: connection string (needs the pg package)'),
    new Option('--table <table>', "PostgreSQL: table (default 'cachier')"),
  ];
  for (const option of options) command.addOption(option.helpGroup(STORE_GROUP));
  command.addOption(
    new Option(
      '--json',
      'print one JSON document (shapes in the README); no progress bar',
    ).helpGroup(OUTPUT_GROUP),
  );
  return command;
}

function duration(text: string): number {
  return parseDuration(text);
}

function count(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError('expected a whole number.');
  return Number(text);
}

type Flags = StoreFlags & { json?: boolean };

/** Opens the store the flags name, runs `body`, and closes the store whatever happens. */
async function withStore(flags: Flags, body: (context: CommandContext) => Promise<void>) {
  const store = await openStore(flags);
  try {
    await body(processContext(store, flags.json === true));
  } finally {
    await store.close().catch(() => undefined);
  }
}

/**
 * The `cachier` command line. Commands throw {@link CliError}s and commander errors; the
 * caller turns them into exit codes ({@link runCli}).
 */
export function buildProgram(): Command {
  const program = new Command('cachier')
    .description(
      'Look into and manage the caches made by cachier (file, MongoDB, Redis, PostgreSQL).',
    )
    .addHelpText('after', EXIT_HELP)
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');

  withCommonOptions(
    program
      .command('ls')
      .description('every cache in the store: entries, size, oldest and newest entry')
      .addHelpText('after', EXIT_HELP),
  ).action((flags: Flags) => withStore(flags, (context) => ls(context)));

  withCommonOptions(
    program
      .command('stats')
      .argument('<name>', 'the cache name, or a unique ending of it (e.g. fetchReport)')
      .description("one cache's entries, size, oldest and newest entry")
      .option('--stale-after <duration>', 'also count entries older than this (e.g. 3d)', duration)
      .addHelpText('after', EXIT_HELP),
  ).action((name: string, flags: Flags & { staleAfter?: number }) =>
    withStore(flags, (context) => stats(context, name, flags)),
  );

  withCommonOptions(
    program
      .command('clear')
      .argument('<name>', 'the cache name, or a unique ending of it')
      .description("delete a cache's entries: all of them, or only the old ones")
      .option('--stale-only', 'delete only stale entries (give the staleAfter with --stale-after)')
      .option(
        '--stale-after <duration>',
        "the wrapper's staleAfter, for --stale-only (e.g. 3d)",
        duration,
      )
      .option(
        '--older-than <duration>',
        'delete only entries calculated longer ago than this',
        duration,
      )
      .option('--dry-run', 'count what would be deleted; delete nothing')
      .addHelpText('after', EXIT_HELP),
  ).action((name: string, flags: Flags & Parameters<typeof clear>[2]) =>
    withStore(flags, (context) => clear(context, name, flags)),
  );

  withCommonOptions(
    program
      .command('inspect')
      .argument('<name>', 'the cache name, or a unique ending of it')
      .description("list a cache's entries (key, age, size), or print one value with --value")
      .option('--value <key>', "print this entry's value (a unique key prefix will do)")
      .option('--limit <n>', 'list at most n entries (0: all; default 100, all with --json)', count)
      .addHelpText('after', EXIT_HELP),
  ).action((name: string, flags: Flags & { value?: string; limit?: number }) =>
    withStore(flags, (context) => inspect(context, name, flags)),
  );

  withCommonOptions(
    program
      .command('prune')
      .description('delete the old entries of every cache in the store')
      .addOption(
        new Option('--older-than <duration>', 'delete entries calculated longer ago than this')
          .argParser(duration)
          .default(30 * 86_400_000, '30d'),
      )
      .option('--dry-run', 'count what would be deleted; delete nothing')
      .addHelpText('after', EXIT_HELP),
  ).action((flags: Flags & { olderThan: number; dryRun?: boolean }) =>
    withStore(flags, (context) => prune(context, flags)),
  );

  return program;
}

/**
 * Runs the CLI on `argv` (as `process.argv`) and returns the exit code. Errors go to
 * stderr: plain text, or `{ "error": { code, message, ... } }` with `--json`.
 */
export async function runCli(argv: readonly string[]): Promise<ExitCode> {
  const json = argv.includes('--json');
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander printed its message (or the help) already.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')
        return EXIT.ok;
      return EXIT.usage;
    }
    const failure =
      error instanceof CliError
        ? error
        : new CliError(messageOf(error), EXIT.failure, codeOf(error) ?? 'FAILURE');
    if (json) {
      process.stderr.write(
        `${JSON.stringify({ error: { code: failure.code, message: failure.message, ...failure.details } })}\n`,
      );
    } else {
      process.stderr.write(`cachier: ${failure.message.replace(/^cachier: /, '')}\n`);
    }
    return failure.exitCode;
  }
}

/** A store error's stable code (e.g. `CACHIER_REDIS_TIMEOUT`), if it has one. */
function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
