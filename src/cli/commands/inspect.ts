import { inspect as inspectValue } from 'node:util';
import type { EntryInfo } from '../../cores/contract.js';
import { CorruptEntryError } from '../../errors.js';
import { makeValueCodec } from '../../valueCodec.js';
import { type CommandContext, describeStore, storeOf } from '../context.js';
import { CliError, EXIT, usageError } from '../exitCodes.js';
import { formatAge, formatBytes, pairs, table } from '../format.js';
import { resolveName } from '../resolveName.js';
import { namesOf, walk } from '../scan.js';
import type { StoreDescription } from '../store.js';

/** `cachier inspect NAME --json`: entries newest first. */
export interface InspectJson {
  store: StoreDescription;
  name: string;
  /** Entries in the cache (also when `--limit` shows fewer). */
  total: number;
  entries: { key: string; calculatedAt: string; size: number }[];
}

/** `cachier inspect NAME --value KEY --json`. */
export interface InspectValueJson {
  store: StoreDescription;
  name: string;
  key: string;
  calculatedAt: string;
  size: number;
  /** The decoded value as `util.inspect` prints it (values need not be JSON). */
  value: string;
}

/** Shortest key prefix `--value` accepts. */
const MIN_KEY_PREFIX = 4;
/** Key characters shown in the human listing (`--value` takes any unique prefix). */
const SHOWN_KEY_CHARS = 16;
/** Entries the human listing shows unless `--limit` says otherwise. */
const DEFAULT_HUMAN_LIMIT = 100;

/** `cachier inspect NAME [--value KEY] [--limit N]`. */
export async function inspect(
  context: CommandContext,
  requested: string,
  flags: { value?: string; limit?: number },
): Promise<void> {
  const { core } = context.store;
  const name = resolveName(requested, await namesOf(core), describeStore(storeOf(context)));
  const progress = context.progress(1);
  const entries: EntryInfo[] = [];
  try {
    for await (const info of walk(core, name, progress)) entries.push(info);
    progress.cacheDone();
  } finally {
    progress.done();
  }
  if (flags.value !== undefined) {
    await printValue(context, name, findKey(entries, flags.value));
    return;
  }
  entries.sort((a, b) => b.calculatedAt - a.calculatedAt || (a.key < b.key ? -1 : 1));
  const limit = flags.limit ?? (context.json ? Number.POSITIVE_INFINITY : DEFAULT_HUMAN_LIMIT);
  const shown = limit === 0 ? entries : entries.slice(0, limit);
  if (context.json) {
    context.printJson({
      store: storeOf(context),
      name,
      total: entries.length,
      entries: shown.map((info) => ({
        key: info.key,
        calculatedAt: new Date(info.calculatedAt).toISOString(),
        size: info.size,
      })),
    } satisfies InspectJson);
    return;
  }
  context.print(
    `${name}: ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}, newest first`,
  );
  if (entries.length === 0) return;
  context.print(
    table(
      ['KEY', 'CALCULATED', 'SIZE'],
      shown.map((info) => [
        `${info.key.slice(0, SHOWN_KEY_CHARS)}…`,
        formatAge(info.calculatedAt, context.now),
        formatBytes(info.size),
      ]),
    ),
  );
  if (shown.length < entries.length) {
    context.print(`… and ${entries.length - shown.length} more (--limit 0 shows all)`);
  }
  context.print(
    'print a value with: cachier inspect NAME --value KEY (a unique key prefix will do)',
  );
}

/** The one entry whose key is `wanted` or starts with it. */
function findKey(entries: readonly EntryInfo[], wanted: string): EntryInfo {
  const prefix = wanted.trim().toLowerCase().replace(/…$/, '');
  if (!/^[0-9a-f]+$/.test(prefix) || prefix.length < MIN_KEY_PREFIX || prefix.length > 64) {
    throw usageError(
      `--value takes a key (64 hex characters) or a unique prefix of at least ${MIN_KEY_PREFIX} of them`,
    );
  }
  const matches = entries.filter((info) => info.key.startsWith(prefix));
  if (matches.length === 1) return matches[0] as EntryInfo;
  if (matches.length === 0) {
    throw new CliError('no entry with that key in the cache', EXIT.notFound, 'UNKNOWN_KEY');
  }
  throw new CliError(
    `the key prefix matches ${matches.length} entries; give more characters`,
    EXIT.notFound,
    'AMBIGUOUS_KEY',
    { candidates: matches.map((info) => info.key) },
  );
}

/** Reads, decodes and prints one value: to stdout only, never into an error message. */
async function printValue(context: CommandContext, name: string, info: EntryInfo): Promise<void> {
  const entry = await context.store.core.get(name, info.key);
  if (entry === undefined) {
    throw new CliError('the entry was deleted while being read', EXIT.notFound, 'UNKNOWN_KEY');
  }
  let value: unknown;
  try {
    value = makeValueCodec().decode(entry.bytes);
  } catch (error) {
    if (!(error instanceof CorruptEntryError)) throw error;
    // The codec's messages describe the format, never the value.
    throw new CliError(
      `cannot decode the value: ${error.message.replace(/^cachier /, '')}. The CLI reads values stored with node:v8 (the default), not with a custom serializer.`,
      EXIT.failure,
      'UNDECODABLE_VALUE',
    );
  }
  const printed = inspectValue(value, {
    depth: null,
    maxArrayLength: 1000,
    maxStringLength: 100_000,
    colors: !context.json && process.stdout.isTTY === true,
  });
  if (context.json) {
    context.printJson({
      store: storeOf(context),
      name,
      key: info.key,
      calculatedAt: new Date(entry.calculatedAt).toISOString(),
      size: info.size,
      value: printed,
    } satisfies InspectValueJson);
    return;
  }
  context.print(
    pairs([
      ['key', info.key],
      [
        'calculated',
        `${formatAge(entry.calculatedAt, context.now)} (${new Date(entry.calculatedAt).toISOString()})`,
      ],
      ['size', formatBytes(info.size)],
    ]),
  );
  context.print(printed);
}
