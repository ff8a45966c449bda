import { Progress } from './progress.js';
import type { OpenStore, StoreDescription } from './store.js';

/** What every command runs with: the open store, the output mode, and one "now". */
export interface CommandContext {
  readonly store: OpenStore;
  /** `--json`: one JSON document on stdout, no progress bar, no colours. */
  readonly json: boolean;
  /** The time the command started (epoch ms): ages and cutoffs are measured from it. */
  readonly now: number;
  /** Writes a line to stdout. */
  print(text: string): void;
  /** Writes a note to stderr (`cachier: ...`): something skipped, the command went on. */
  note(text: string): void;
  /** Writes `value` as the command's JSON document on stdout. */
  printJson(value: unknown): void;
  /** A progress bar on stderr over `caches` caches (drawn only on a terminal, never with --json). */
  progress(caches: number): Progress;
}

/** The store as commands report it, under `store` in every JSON document. */
export function storeOf(context: CommandContext): StoreDescription {
  return context.store.description;
}

/** The context for a command writing to this process's stdout and stderr. */
export function processContext(store: OpenStore, json: boolean): CommandContext {
  return {
    store,
    json,
    now: Date.now(),
    print: (text) => process.stdout.write(`${text}\n`),
    note: (text) => process.stderr.write(`cachier: ${text.replace(/^cachier: /, '')}\n`),
    printJson: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    progress: (caches) => new Progress(process.stderr, { enabled: !json, caches }),
  };
}

/** `store` as a human reads it: `~/.cachier (file)`. */
export function describeStore(description: StoreDescription): string {
  return `${description.location} (${description.kind})`;
}
