/**
 * Runs the fidelity table (test/fidelity/table.ts) against one store and reports what a user
 * would observe, as plain JSON: which calls calculated, what they returned, which were refused
 * and how, which warnings and `not-stored` events each wrapper gave.
 *
 * A run has two phases over the same rows: `store` (first calls) and `reload` (the same calls
 * again). The memory core runs both phases with the same wrappers in one process; every other
 * core runs each phase in a fresh child process (test/fidelity/child.ts) with new wrappers, as
 * a restarted program would.
 */
import { inspect, isDeepStrictEqual } from 'node:util';
import { type CachierOptions, cachier } from '../../src/index.js';
import { ARGUMENT_ROWS, type ArgumentRow, SECRET, VALUE_ROWS, type ValueRow } from './table.js';

export type Phase = 'store' | 'reload';

/** How a call that rejected went, reduced to what the rule says about it. */
export interface Refusal {
  name: string;
  namesPath: boolean;
  namesHashArgs: boolean;
  quotesData: boolean;
}

/** One call of an argument row's wrapper. */
export interface ArgumentCall {
  calculated: boolean;
  /** The label of the call that calculated the returned value (`<phase> v<variant>`). */
  result?: string;
  refusal?: Refusal;
}

/** One call of a value row's wrapper. */
export interface ValueCall {
  calculated: boolean;
  /** `same`, or what differs from a freshly made value of the row. */
  fidelity: string;
}

export interface ArgumentReport {
  calls: ArgumentCall[];
  /** Raw error messages, for failure messages only. */
  messages: string[];
}

export interface ValueReport {
  calls: ValueCall[];
  /** CachierWarnings of this wrapper since it was made, by code. */
  warnings: Record<string, number>;
  /** Whether a warning message of this wrapper contains the row's data. */
  warningQuotesData: boolean;
  /** Reasons of this phase's `not-stored` events. */
  notStored: string[];
  /** `store-error` events of this phase: a store failing would hide the rule. */
  storeErrors: number;
}

export interface PhaseReport {
  arguments: Record<string, ArgumentReport>;
  values: Record<string, ValueReport>;
}

interface ArgumentWrapper {
  row: ArgumentRow;
  call: (n: number, arg: unknown) => Promise<string>;
  clear: () => Promise<void>;
  label: string;
  calculations: number;
}

interface ValueWrapper {
  row: ValueRow;
  name: string;
  call: () => Promise<unknown>;
  clear: () => Promise<void>;
  calculations: number;
  notStored: string[];
  storeErrors: number;
}

/** The wrappers of every row for one store; reused across phases only by the memory core. */
export interface Wrappers {
  arguments: ArgumentWrapper[];
  values: ValueWrapper[];
}

/** CachierWarnings seen in this process: wrapper name → code → count, and their messages. */
const warningsByName = new Map<string, Map<string, number>>();
const warningTexts = new Map<string, string[]>();
let listening = false;

function listenToWarnings(): void {
  if (listening) return;
  listening = true;
  process.on('warning', (warning) => {
    if (warning.name !== 'CachierWarning') return;
    const name = /^cachier\((.*?)\): /.exec(warning.message)?.[1];
    if (name === undefined) return;
    const code = (warning as Error & { code?: string }).code ?? 'no code';
    const counts = warningsByName.get(name) ?? new Map<string, number>();
    counts.set(code, (counts.get(code) ?? 0) + 1);
    warningsByName.set(name, counts);
    warningTexts.set(name, [...(warningTexts.get(name) ?? []), warning.message]);
  });
}

const slug = (id: string) => id.replace(/[^A-Za-z0-9]+/g, '-');

/**
 * Makes one wrapper per row on `store`; each wrapper's name holds `runId`, so runs never see
 * each other's entries (or warnings).
 */
export function makeWrappers(store: CachierOptions, runId: string): Wrappers {
  listenToWarnings();
  const argumentWrappers = ARGUMENT_ROWS.map((row): ArgumentWrapper => {
    const wrapper: ArgumentWrapper = {
      row,
      label: '',
      calculations: 0,
      call: async () => '',
      clear: async () => undefined,
    };
    const cached = cachier(
      async (_n: number, _arg: unknown) => {
        wrapper.calculations++;
        return wrapper.label;
      },
      { name: `fidelity-${runId}-arg-${slug(row.id)}`, ...store },
    );
    wrapper.call = cached;
    wrapper.clear = () => cached.clearCache();
    return wrapper;
  });
  const valueWrappers = VALUE_ROWS.map((row): ValueWrapper => {
    const name = `fidelity-${runId}-value-${slug(row.id)}`;
    const wrapper: ValueWrapper = {
      row,
      name,
      calculations: 0,
      notStored: [],
      storeErrors: 0,
      call: async () => undefined,
      clear: async () => undefined,
    };
    const cached = cachier(
      async () => {
        wrapper.calculations++;
        return row.make();
      },
      {
        name,
        ...store,
        ...row.options,
        onEvent: (event) => {
          if (event.type === 'not-stored') wrapper.notStored.push(event.reason);
          if (event.type === 'store-error') wrapper.storeErrors++;
        },
      },
    );
    wrapper.call = cached;
    wrapper.clear = () => cached.clearCache();
    return wrapper;
  });
  return { arguments: argumentWrappers, values: valueWrappers };
}

/** `process.emitWarning` delivers on a later tick; let it arrive before counting. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

async function observeArgumentCall(
  wrapper: ArgumentWrapper,
  label: string,
  arg: unknown,
  messages: string[],
): Promise<ArgumentCall> {
  wrapper.label = label;
  const before = wrapper.calculations;
  try {
    const result = await wrapper.call(1, arg);
    return { calculated: wrapper.calculations > before, result };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    messages.push(message);
    return {
      calculated: wrapper.calculations > before,
      refusal: {
        name: error instanceof Error ? error.constructor.name : typeof error,
        namesPath: message.includes('args[1]'),
        namesHashArgs: message.includes('hashArgs'),
        quotesData: message.includes(SECRET),
      },
    };
  }
}

async function runArgumentRow(wrapper: ArgumentWrapper, phase: Phase): Promise<ArgumentReport> {
  const calls: ArgumentCall[] = [];
  const messages: string[] = [];
  const { row } = wrapper;
  for (const [index, make] of row.variants.entries()) {
    calls.push(await observeArgumentCall(wrapper, `${phase} v${index}`, make(), messages));
  }
  if (row.outcome === 'keyed') {
    calls.push(await observeArgumentCall(wrapper, `${phase} same`, row.same(), messages));
  }
  return { calls, messages };
}

/**
 * How `util.inspect` shows a value, without the frames of stack traces: they differ between
 * processes and call sites; the rest must not (inspect sees what deep equality does not, such
 * as a URL's href or a DataView's offset and buffer).
 */
const STACK_LINE = /^\s+(at |\.\.\. \d+ lines? matching cause stack trace)/;
const shape = (value: unknown) =>
  inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: false, getters: false })
    .split('\n')
    .map((line) => (STACK_LINE.test(line) ? (line.endsWith(' {') ? '{' : '') : line))
    .filter((line) => line !== '')
    .join('\n');

/** `same` when `got` is what the row makes, with the same prototypes; else what differs. */
function fidelity(row: ValueRow, got: unknown): string {
  const expected = row.make();
  if (!Object.is(got, expected) || typeof got === 'object') {
    if (!isDeepStrictEqual(got, expected)) return 'not deep-equal to a fresh value';
    if (typeof got === 'object' && got !== null) {
      if (Object.getPrototypeOf(got) !== Object.getPrototypeOf(expected)) {
        return 'another prototype';
      }
      if (got.constructor?.name !== (expected as object).constructor?.name) {
        return 'another constructor';
      }
    }
    if (shape(got) !== shape(expected)) return `looks different: ${shape(got)}`;
  }
  return row.check?.(got) ?? 'same';
}

async function runValueRow(wrapper: ValueWrapper): Promise<ValueReport> {
  wrapper.notStored = [];
  wrapper.storeErrors = 0;
  const calls: ValueCall[] = [];
  for (let i = 0; i < 2; i++) {
    const before = wrapper.calculations;
    const got = await wrapper.call();
    calls.push({ calculated: wrapper.calculations > before, fidelity: fidelity(wrapper.row, got) });
    await settle();
  }
  return {
    calls,
    warnings: Object.fromEntries(warningsByName.get(wrapper.name) ?? []),
    warningQuotesData: (warningTexts.get(wrapper.name) ?? []).some((text) => text.includes(SECRET)),
    notStored: wrapper.notStored,
    storeErrors: wrapper.storeErrors,
  };
}

/**
 * Calls every row's wrapper as the phase says and reports what was observed. After `reload`
 * every wrapper's entries are cleared: a shared test server keeps nothing of the run.
 */
export async function runPhase(wrappers: Wrappers, phase: Phase): Promise<PhaseReport> {
  const report: PhaseReport = { arguments: {}, values: {} };
  for (const wrapper of wrappers.arguments) {
    report.arguments[wrapper.row.id] = await runArgumentRow(wrapper, phase);
  }
  for (const wrapper of wrappers.values) {
    report.values[wrapper.row.id] = await runValueRow(wrapper);
  }
  if (phase === 'reload') {
    for (const wrapper of [...wrappers.arguments, ...wrappers.values]) await wrapper.clear();
  }
  return report;
}
