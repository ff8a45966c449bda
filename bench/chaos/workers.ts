/**
 * Worker processes as the driver sees them: start one, send it work, hear its messages,
 * SIGKILL it, and know when it is gone.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DriverMessage, WorkerConfig, WorkerMessage } from './protocol.js';

const WORKER_PROGRAM = fileURLToPath(new URL('./worker.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** How a worker ended. */
export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Worker {
  readonly pid: number;
  readonly ready: Promise<boolean>;
  readonly exited: Promise<WorkerExit>;
  isReady = false;
  alive = true;
  /** Set once the driver SIGKILLed it. */
  killed = false;
  private stderrText = '';
  private readonly process: ChildProcess;
  private readonly listeners = new Set<(message: WorkerMessage) => void>();

  constructor(config: WorkerConfig) {
    this.process = fork(WORKER_PROGRAM, [JSON.stringify(config)], {
      cwd: REPO_ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.pid = this.process.pid ?? -1;
    this.process.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      // Keep the tail only: a long run's warnings must not grow without bound.
      this.stderrText = (this.stderrText + chunk).slice(-4000);
    });
    this.process.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') this.isReady = true;
      for (const listener of [...this.listeners]) listener(message);
    });
    this.exited = new Promise((resolve) => {
      this.process.on('exit', (code, signal) => {
        this.alive = false;
        resolve({ code, signal });
      });
    });
    this.ready = Promise.race([
      new Promise<boolean>((resolve) => {
        const onReady = (message: WorkerMessage) => {
          if (message.type !== 'ready') return;
          this.listeners.delete(onReady);
          resolve(true);
        };
        this.listeners.add(onReady);
      }),
      this.exited.then(() => false),
    ]);
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Calls `listener` with every message until the returned function is called. */
  listen(listener: (message: WorkerMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(message: DriverMessage): void {
    if (!this.alive || !this.process.connected) return;
    // A worker killed a moment ago: the message has nowhere to go, which is fine.
    this.process.send(message, () => undefined);
  }

  kill(): void {
    if (!this.alive) return;
    this.killed = true;
    this.process.kill('SIGKILL');
  }
}

/** Resolves with `value` after `ms`, unless `promise` settles first. */
export function within<T>(promise: Promise<T>, ms: number, value: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(value), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
