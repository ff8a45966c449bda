import type { CachierOptions } from './options.js';
import { wrapFunction } from './wrap.js';

/**
 * A method decorator usable in both TypeScript decorator modes (replaced by the
 * decorators work: see issue 4). Minimal version: wraps per class, names ClassName.method.
 */
// biome-ignore lint/suspicious/noExplicitAny: decorator signatures differ between modes.
export type CachierMethodDecorator = (...args: any[]) => any;

export function methodDecorator(options: CachierOptions | undefined): CachierMethodDecorator {
  return (target: unknown, context: unknown, descriptor?: PropertyDescriptor) => {
    if (context && typeof context === 'object' && 'kind' in context) {
      const ctx = context as ClassMethodDecoratorContext;
      const method = target as (...args: never[]) => unknown;
      let wrapped: ReturnType<typeof wrapFunction> | undefined;
      ctx.addInitializer(function (this: unknown) {
        const owner = (ctx.static ? this : (this as object).constructor) as { name: string };
        wrapped ??= wrapFunction(method, options as never, `${owner.name}.${String(ctx.name)}`);
      });
      return function (this: unknown, ...args: never[]) {
        return (wrapped as unknown as (...a: never[]) => unknown).apply(this, args);
      };
    }
    const owner = typeof target === 'function' ? target : (target as object).constructor;
    if (!descriptor || typeof descriptor.value !== 'function') {
      throw new TypeError('cachier: the decorator applies to methods only');
    }
    descriptor.value = wrapFunction(
      descriptor.value,
      options as never,
      `${(owner as { name: string }).name}.${String(context)}`,
    );
    return descriptor;
  };
}
