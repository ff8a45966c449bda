import { randomBytes } from 'node:crypto';
import type { AnyCore } from '../cores/contract.js';
import type { CoreConformanceOptions, MakeCoreOptions } from './conformanceOptions.js';

/**
 * What one kit test works with: the cores it made, random names and keys, and what to
 * undo at its end. Every test gets its own, so tests never share state but the store.
 */
export class Scene<C extends AnyCore> {
  private readonly cores: C[] = [];
  private readonly names: string[] = [];
  private readonly undo: Array<() => void> = [];

  constructor(private readonly options: CoreConformanceOptions<C>) {}

  /** A fresh core from the factory, closed at the end of the test. */
  async core(make: MakeCoreOptions = {}): Promise<C> {
    const core = await this.options.makeCore(make);
    this.cores.push(core);
    return core;
  }

  /** A cache name no other test or run uses; its entries and claims are cleared at the end. */
  name(): string {
    const name = `kit-${randomBytes(8).toString('hex')}`;
    this.names.push(name);
    return name;
  }

  /** A random key in cachier's shape: 64 lowercase hex characters. */
  key(): string {
    return randomBytes(32).toString('hex');
  }

  /** Runs `step` at the end of the test, before the cores are cleared and closed. */
  atEnd(step: () => void): void {
    this.undo.push(step);
  }

  /** Undoes what the test did: unsubscribes, clears its names, closes its cores. */
  async end(): Promise<void> {
    for (const step of this.undo.splice(0).reverse()) step();
    const [first] = this.cores;
    if (first !== undefined) {
      for (const name of this.names) {
        await first.clear(name);
        await first.clearClaims(name);
      }
    }
    for (const core of this.cores.splice(0)) await this.options.close?.(core);
  }
}

/**
 * Registers one kit test: `body` runs with a fresh scene, which is then undone even when
 * the body fails. The body's failure wins over a failure to clean up.
 */
export function sceneTest<C extends AnyCore>(
  options: CoreConformanceOptions<C>,
  title: string,
  body: (scene: Scene<C>) => Promise<void>,
): void {
  options.test(title, async () => {
    const scene = new Scene(options);
    try {
      await body(scene);
    } catch (error) {
      await scene.end().catch(() => undefined);
      throw error;
    }
    await scene.end();
  });
}
