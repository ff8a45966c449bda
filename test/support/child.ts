/**
 * A child-process program for the cross-process tests, run as
 * `node --import tsx test/support/child.ts '<ChildRequest as JSON>'`.
 *
 * It wraps a slow function with cachier on the store the request describes, runs one
 * scenario, prints one JSON line per {@link ChildMessage} on stdout and then simply ends:
 * it never calls `process.exit`, so every run also checks that nothing cachier started
 * keeps the process alive. Every actual calculation appends `<pid>:<threadId> <key>` to
 * the shared log file (`appendFileSync` opens it with O_APPEND, so lines from several
 * processes never interleave); the parent counts calculations across processes there.
 *
 * The same file is the worker-thread program (`scenario.kind === 'threads'` starts
 * workers of this file; `isMainThread` tells the two apart).
 */
import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, threadId, Worker, workerData } from 'node:worker_threads';
import { type CachierEvent, type CachierOptions, cachier } from '../../src/index.js';
import { type CoreSpec, makeOptions, type StoreOptions } from './coreSpec.js';
import { sleep } from './time.js';

/** How the cached test function behaves when it is actually called. */
export interface Calculation {
  /** How long it runs before it settles (ignored by `hang`). */
  ms: number;
  /**
   * `value` resolves to a {@link CalcValue}; `throw` rejects; `hang` never settles and
   * keeps its process alive, for a parent that kills the owner mid-calculation.
   * @default 'value'
   */
  outcome?: 'value' | 'throw' | 'hang';
}

/** What the cached test function returns: which key, and which process/thread calculated it. */
export interface CalcValue {
  key: string;
  by: string;
}

/** JSON data that a test can store with `precacheValue`. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };

/** What the child does. */
export type Scenario =
  /** Calls each key once, one after the other, in the given order. */
  | {
      kind: 'calls';
      keys: string[];
      calc: Calculation;
      staleAfterMs?: number;
      nextTime?: boolean;
      /** The wrapper's `waitForCalcTimeout`, in ms. */
      waitForCalcTimeoutMs?: number;
      /** Call with `overwriteCache: true`. */
      overwriteCache?: boolean;
      /** Stay alive this long after the calls (as a busy process would) before ending. */
      lingerMs?: number;
    }
  /** Calls `clearBeingCalculated()` on the cache name, then reports a `result` for `clear`. */
  | { kind: 'clear-claims' }
  | { kind: 'clear' }
  /** Stores `value` for `key` with `precacheValue`, without calculating. */
  | { kind: 'precache'; key: string; value: JsonValue }
  /** Calls `key` once; the function returns a Date, Map, Set, BigInt and Buffer. */
  | { kind: 'rich'; key: string }
  /**
   * A miss then a hit on `key`, a call of `waitKey` (which another process is
   * calculating), two concurrent calls of `sharedKey` (one waits in this process),
   * then nothing: the parent checks that the process exits on its own.
   */
  | { kind: 'exit-check'; key: string; waitKey: string; sharedKey: string; calc: Calculation }
  /**
   * Starts `count` worker threads that each call `key` once: all at once (`concurrent`,
   * behind a barrier) or one after another. `backend: 'memory'` uses the memory core
   * instead of the request's store.
   */
  | {
      kind: 'threads';
      count: number;
      backend: 'spec' | 'memory';
      concurrent: boolean;
      key: string;
      calc: Calculation;
    };

/** The one command-line argument of the child, as JSON. */
export interface ChildRequest {
  spec: CoreSpec;
  /** The cache name (the `name` option). */
  name: string;
  /** Path of the shared calculation log. */
  log: string;
  /**
   * Print `ready`, then wait for a line on stdin before calling: lets the parent start
   * several processes first and release them at the same moment.
   */
  barrier?: boolean;
  scenario: Scenario;
}

/** Cachier events the child reports (the others would only add noise). */
const REPORTED_EVENTS = new Set<CachierEvent['type']>([
  'wait',
  'wait-end',
  'stale',
  'refresh-skipped',
  'refresh-failed',
  'claim-lost',
  'store-error',
]);

/** One line of the child's stdout. `by` is `<pid>:<threadId>` of the process/thread. */
export type ChildMessage =
  | { event: 'ready'; by: string }
  | { event: 'started'; key: string; by: string }
  | { event: 'cachier'; type: CachierEvent['type']; detail: string; by: string }
  | { event: 'result'; key: string; value: unknown; by: string }
  | { event: 'error'; key: string; message: string; by: string }
  | { event: 'done'; by: string };

type Emit = (message: ChildMessage) => void;

const who = `${process.pid}:${threadId}`;

function describeEvent(event: CachierEvent): string {
  switch (event.type) {
    case 'wait':
      return event.on;
    case 'wait-end':
      return event.reason;
    case 'stale':
      return event.action;
    case 'refresh-skipped':
      return event.reason;
    case 'refresh-failed':
    case 'store-error':
      return String(event.error);
    default:
      return '';
  }
}

/**
 * Counts background refreshes this process started and saw end, so that a database
 * client is closed only after them. The file core needs none of this: its children end
 * when their pending work does.
 */
class RefreshTracker {
  private started = 0;
  private ended = 0;

  observe(event: CachierEvent): void {
    if (event.type === 'stale' && event.action === 'serve-stale-and-refresh') this.started++;
    if (
      event.type === 'refresh-skipped' ||
      event.type === 'refresh-failed' ||
      (this.started > this.ended && (event.type === 'stored' || event.type === 'not-stored'))
    ) {
      this.ended++;
    }
  }

  /**
   * Resolves once every refresh ended, or after `limitMs`: a refresh that finds a fresh
   * value stored by another process ends without an event.
   */
  async settled(limitMs: number): Promise<void> {
    const end = Date.now() + limitMs;
    while (this.ended < this.started && Date.now() < end) await sleep(50);
  }
}

function slowFunction(log: string, calc: Calculation, emit: Emit) {
  return async function slow(key: string): Promise<CalcValue> {
    appendFileSync(log, `${who} ${key}\n`);
    emit({ event: 'started', key, by: who });
    if (calc.outcome === 'hang') {
      // A live timer, not just a pending promise: the owner must stay alive until killed.
      setInterval(() => undefined, 60_000);
      await new Promise(() => undefined);
    }
    await sleep(calc.ms);
    if (calc.outcome === 'throw') throw new Error(`calculation of ${key} failed on purpose`);
    return { key, by: who };
  };
}

/** The value the `rich` scenario stores; its parts must survive the round trip with their types. */
function richValue() {
  return {
    by: who,
    date: new Date(Date.UTC(2024, 1, 29, 12, 30)),
    map: new Map<string, number>([
      ['a', 1],
      ['b', 2],
    ]),
    set: new Set(['x', 'y']),
    big: 2n ** 70n + 1n,
    buffer: Buffer.from('cachier bytes'),
  };
}

/** What a value read back looks like, in JSON: each part checked for its exact type. */
function describeRich(value: ReturnType<typeof richValue>) {
  return {
    by: value.by,
    date:
      value.date instanceof Date ? value.date.toISOString() : `not a Date: ${typeof value.date}`,
    map: value.map instanceof Map ? [...value.map] : `not a Map: ${typeof value.map}`,
    set: value.set instanceof Set ? [...value.set] : `not a Set: ${typeof value.set}`,
    big: typeof value.big === 'bigint' ? value.big.toString() : `not a bigint: ${typeof value.big}`,
    buffer: Buffer.isBuffer(value.buffer)
      ? value.buffer.toString('utf8')
      : `not a Buffer: ${Object.prototype.toString.call(value.buffer)}`,
  };
}

async function callAndReport(
  fn: (key: string) => Promise<unknown>,
  key: string,
  emit: Emit,
): Promise<void> {
  try {
    emit({ event: 'result', key, value: await fn(key), by: who });
  } catch (error) {
    emit({ event: 'error', key, message: (error as Error).message, by: who });
  }
}

/** Runs a single-process scenario (every kind but `threads`). */
async function runScenario(
  request: ChildRequest,
  store: StoreOptions,
  emit: Emit,
  waitForGo: () => Promise<void>,
): Promise<void> {
  const { scenario } = request;
  const tracker = new RefreshTracker();
  const options = (extra: CachierOptions): CachierOptions => ({
    name: request.name,
    ...store.options,
    ...extra,
    onEvent: (event) => {
      tracker.observe(event);
      if (REPORTED_EVENTS.has(event.type)) {
        emit({ event: 'cachier', type: event.type, detail: describeEvent(event), by: who });
      }
    },
  });
  switch (scenario.kind) {
    case 'calls': {
      const fn = cachier(
        slowFunction(request.log, scenario.calc, emit),
        options({
          staleAfter: scenario.staleAfterMs,
          nextTime: scenario.nextTime,
          waitForCalcTimeout: scenario.waitForCalcTimeoutMs,
        }),
      );
      const call = scenario.overwriteCache ? fn.withOptions({ overwriteCache: true }) : fn;
      await waitForGo();
      for (const key of scenario.keys) await callAndReport(call, key, emit);
      if (scenario.lingerMs) await sleep(scenario.lingerMs);
      if (request.spec.backend !== 'file') await tracker.settled(15_000);
      return;
    }
    case 'clear-claims': {
      const fn = cachier(slowFunction(request.log, { ms: 0 }, emit), options({}));
      await waitForGo();
      await callAndReport(async () => fn.clearBeingCalculated(), 'clear', emit);
      return;
    }
    case 'clear': {
      const fn = cachier(slowFunction(request.log, { ms: 0 }, emit), options({}));
      await waitForGo();
      await callAndReport(async () => fn.clearCache(), 'clear', emit);
      return;
    }
    case 'precache': {
      const fn = cachier(slowFunction(request.log, { ms: 0 }, emit), options({}));
      await waitForGo();
      const stored = await fn.precacheValue([scenario.key], scenario.value as never);
      emit({ event: 'result', key: scenario.key, value: stored, by: who });
      return;
    }
    case 'rich': {
      const rich = cachier(async (key: string) => {
        appendFileSync(request.log, `${who} ${key}\n`);
        emit({ event: 'started', key, by: who });
        return richValue();
      }, options({}));
      await waitForGo();
      const value = await rich(scenario.key);
      emit({ event: 'result', key: scenario.key, value: describeRich(value), by: who });
      return;
    }
    case 'exit-check': {
      const fn = cachier(slowFunction(request.log, scenario.calc, emit), options({}));
      await waitForGo();
      await callAndReport(fn, scenario.key, emit); // miss: calculates
      await callAndReport(fn, scenario.key, emit); // hit
      await callAndReport(fn, scenario.waitKey, emit); // waits for another process
      await Promise.all([
        callAndReport(fn, scenario.sharedKey, emit),
        callAndReport(fn, scenario.sharedKey, emit), // waits for the call beside it
      ]);
      return;
    }
    case 'threads':
      throw new Error('threads is run by runThreads');
  }
}

/** Prints `ready`, then resolves on the first line from stdin and lets go of stdin. */
function stdinBarrier(emit: Emit): () => Promise<void> {
  return async () => {
    emit({ event: 'ready', by: who });
    await new Promise<void>((done) => process.stdin.once('data', () => done()));
    process.stdin.destroy();
  };
}

async function runProcess(request: ChildRequest): Promise<void> {
  const emit: Emit = (message) => {
    process.stdout.write(`${JSON.stringify(message)}\n`);
  };
  const { scenario } = request;
  if (scenario.kind === 'threads') {
    await runThreads(request, scenario, emit);
  } else {
    const store = await makeOptions(request.spec);
    try {
      const waitForGo = request.barrier ? stdinBarrier(emit) : async () => undefined;
      await runScenario(request, store, emit, waitForGo);
    } finally {
      await store.close();
    }
  }
  emit({ event: 'done', by: who });
}

type ThreadsScenario = Extract<Scenario, { kind: 'threads' }>;

/** What a worker thread receives as `workerData`. */
interface WorkerTask {
  cachierChildWorker: true;
  request: ChildRequest;
  scenario: ThreadsScenario;
}

/** Main thread of `threads`: starts the workers and forwards their messages to stdout. */
async function runThreads(request: ChildRequest, scenario: ThreadsScenario, emit: Emit) {
  const task: WorkerTask = { cachierChildWorker: true, request, scenario };
  // `--import tsx` does not reach worker threads on Node 20, so each worker registers tsx's
  // loader itself before it imports this file.
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
    .then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const start = () => {
    const worker = new Worker(bootstrap, { eval: true, workerData: task });
    const exited = new Promise<void>((done, fail) => {
      worker.on('error', fail);
      worker.on('exit', (code) =>
        code === 0 ? done() : fail(new Error(`worker exited with code ${code}`)),
      );
    });
    const ready = new Promise<void>((done, fail) => {
      worker.on('message', (message: ChildMessage) => {
        if (message.event === 'ready') done();
        else emit(message);
      });
      exited.then(() => fail(new Error('worker ended before it was ready')), fail);
    });
    return { worker, ready, exited };
  };
  if (scenario.concurrent) {
    const workers = Array.from({ length: scenario.count }, start);
    await Promise.all(workers.map((w) => w.ready));
    for (const { worker } of workers) worker.postMessage('go');
    await Promise.all(workers.map((w) => w.exited));
  } else {
    for (let i = 0; i < scenario.count; i++) {
      const { worker, ready, exited } = start();
      await ready;
      worker.postMessage('go');
      await exited;
    }
  }
}

/** A worker thread of `threads`: one call of the key, then it ends on its own. */
async function runWorker(task: WorkerTask): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('runWorker needs a parent port');
  const emit: Emit = (message) => port.postMessage(message);
  const { request, scenario } = task;
  const store: StoreOptions =
    scenario.backend === 'memory'
      ? { options: { backend: 'memory' }, close: async () => undefined }
      : await makeOptions(request.spec);
  try {
    const fn = cachier(slowFunction(request.log, scenario.calc, emit), {
      name: request.name,
      ...store.options,
    });
    emit({ event: 'ready', by: who });
    await new Promise<void>((done) => port.once('message', () => done()));
    await callAndReport(fn, scenario.key, emit);
  } finally {
    await store.close();
  }
}

function fail(error: unknown): void {
  process.stderr.write(`child failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
}

const task = workerData as WorkerTask | undefined;
if (!isMainThread && task?.cachierChildWorker) {
  runWorker(task).catch(fail);
} else if (
  isMainThread &&
  process.argv[1] !== undefined &&
  pathToFileURL(resolve(process.argv[1])).href === import.meta.url
) {
  const argument = process.argv[2];
  if (argument === undefined) fail(new Error('usage: child.ts <ChildRequest as JSON>'));
  else runProcess(JSON.parse(argument) as ChildRequest).catch(fail);
}
