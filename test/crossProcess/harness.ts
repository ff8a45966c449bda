import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, ChildRequest } from '../support/child.js';

const CHILD_PROGRAM = fileURLToPath(new URL('../support/child.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A message from a child with the parent's clock when it arrived. */
export type Received = ChildMessage & { at: number };

/** A `result` or `error` message. */
export type Outcome = Extract<Received, { event: 'result' | 'error' }>;

/** How a child ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The harness killed it because it outlived its `lifetimeMs`. */
  killedByHarness: boolean;
  /** The parent's clock when it exited. */
  at: number;
}

/**
 * A running `node --import tsx test/support/child.ts` process: its parsed stdout
 * messages, its stderr, and promises for "a message like this arrived" and "it exited".
 */
export class Child {
  readonly messages: Received[] = [];
  readonly exited: Promise<ChildExit>;
  private stderrText = '';
  private readonly process: ChildProcess;
  private readonly listeners = new Set<() => void>();
  private exit: ChildExit | undefined;

  constructor(
    readonly label: string,
    readonly request: ChildRequest,
    lifetimeMs: number,
  ) {
    this.process = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD_PROGRAM, JSON.stringify(request)],
      { cwd: REPO_ROOT, stdio: [request.barrier ? 'pipe' : 'ignore', 'pipe', 'pipe'] },
    );
    let pending = '';
    this.process.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        if (line.trim() !== '') this.receive(line);
      }
    });
    this.process.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderrText += chunk;
    });
    let killedByHarness = false;
    const guard = setTimeout(() => {
      killedByHarness = true;
      this.process.kill('SIGKILL');
    }, lifetimeMs);
    this.exited = new Promise((resolve) => {
      this.process.on('close', (code, signal) => {
        clearTimeout(guard);
        this.exit = { code, signal, killedByHarness, at: Date.now() };
        this.notify();
        resolve(this.exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get stderr(): string {
    return this.stderrText;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** The `by` of this process's main thread (`<pid>:0`). */
  get by(): string {
    return `${this.process.pid}:0`;
  }

  /** Resolves with the first message (already received or future) that `matches`. */
  waitFor(
    matches: (message: Received) => boolean,
    what: string,
    timeoutMs = 20_000,
  ): Promise<Received> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.messages.find(matches);
        if (found) {
          finish();
          resolve(found);
        } else if (this.exit) {
          finish();
          reject(new Error(`${this.label} exited before ${what}\n${this.describe()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.label}: no ${what} within ${timeoutMs} ms\n${this.describe()}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Releases a child started with `barrier: true`. */
  go(): void {
    this.process.stdin?.end('go\n');
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.process.kill(signal);
  }

  /** The `result` and `error` messages, in order. */
  outcomes(): Outcome[] {
    return this.messages.filter((m): m is Outcome => m.event === 'result' || m.event === 'error');
  }

  /** What each call gave, in order: its value, or `error: <message>`. */
  outcomeValues(): unknown[] {
    return this.outcomes().map((m) => (m.event === 'result' ? m.value : `error: ${m.message}`));
  }

  /** Everything known about the child, for assertion messages. */
  describe(): string {
    const lines = this.messages.map((m) => JSON.stringify(m)).join('\n');
    return `--- ${this.label} (pid ${this.pid}) stdout:\n${lines}\n--- stderr:\n${this.stderrText}`;
  }

  private receive(line: string): void {
    let message: ChildMessage;
    try {
      message = JSON.parse(line) as ChildMessage;
    } catch {
      this.stderrText += `[unparsed stdout] ${line}\n`;
      return;
    }
    this.messages.push({ ...message, at: Date.now() });
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** Starts children and makes sure none outlives its test. */
export class ChildPool {
  private readonly children: Child[] = [];

  /** Starts a child; it is SIGKILLed if still running after `lifetimeMs`. */
  start(label: string, request: ChildRequest, lifetimeMs = 45_000): Child {
    const child = new Child(label, request, lifetimeMs);
    this.children.push(child);
    return child;
  }

  /** Kills the children that are still running (after a failed test) and waits for them. */
  async stopAll(): Promise<void> {
    const running = this.children.filter((c) => c.running);
    for (const child of running) child.kill();
    await Promise.all(running.map((c) => c.exited));
    this.children.length = 0;
  }
}

/** Waits for a child to end on its own and checks that it ended well. */
export async function finished(child: Child): Promise<ChildExit> {
  const exit = await child.exited;
  if (exit.killedByHarness || exit.code !== 0) {
    throw new Error(
      `${child.label} did not end well (code ${exit.code}, signal ${exit.signal}, ` +
        `killed by the harness: ${exit.killedByHarness})\n${child.describe()}`,
    );
  }
  return exit;
}

/** One line of the calculation log: who calculated which key. */
export interface Calculated {
  by: string;
  key: string;
}

/** Every calculation logged so far, in order. */
export function readLog(path: string): Calculated[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [by = '', key = ''] = line.split(' ');
      return { by, key };
    });
}

/** How many times each key was calculated. */
export function countByKey(log: Calculated[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { key } of log) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

/** A reproducible shuffle (mulberry32), so a failing order can be replayed from its seed. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/** Result value of the first `result` message for `key`, or undefined. */
export function resultOf(child: Child, key: string): unknown {
  const found = child.messages.find((m) => m.event === 'result' && m.key === key);
  return found?.event === 'result' ? found.value : undefined;
}
