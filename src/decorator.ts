import { describe } from './durations.js';
import { captureWrapSite, defaultIdentity, scopeOf, type WrapSite } from './identity.js';
import { type CachierOptions, validateOptions } from './options.js';
import {
  type AnyFunction,
  type CachedFunction,
  makeCachedView,
  planWrapper,
  type WrapperCore,
  wrapFunction,
} from './wrap.js';

/**
 * What `cachier(options?)` returns: a method decorator that also wraps plain functions.
 *
 * - `cachier(options)(fn)` is `cachier(fn, options)` (the decorator-factory form of
 *   Python's `@cachier(stale_after=...)`): the same {@link CachedFunction} type, and the
 *   same default identity, scoped by the module where the returned function is applied
 *   to `fn` (so one shared `const hourly = cachier({ staleAfter: { hours: 1 } })` scopes
 *   each function by the module that wraps it).
 * - `@cachier(options)` decorates methods, in both TypeScript decorator modes:
 *   TypeScript 5 standard decorators (the default) and `experimentalDecorators: true`
 *   (legacy; NestJS, TypeORM, Angular). It tells them apart by the arguments it receives.
 *
 * Only methods declared to return a Promise (e.g. `async` methods) can be decorated:
 * TypeScript cannot change a decorated method's type, and a cached method always
 * returns a Promise. `Args` and `This` come from the options' `hashArgs` and restrict
 * which methods and functions the decorator fits.
 *
 * @example
 * const fetchReport = cachier({ staleAfter: { days: 3 } })(async function fetchReport(id: string) {
 *   return (await fetch(`https://example.com/r/${id}`)).json();
 * });
 * class Reports {
 *   @cachier({ staleAfter: { hours: 1 } })
 *   async byId(id: string): Promise<Report> { return load(id); }
 * }
 */
export interface CachierMethodDecorator<Args extends unknown[] = unknown[], This = unknown> {
  /**
   * TypeScript 5 standard decorators: returns the method's replacement.
   * @typeParam T - the class instance (or, for a static method, the class)
   * @typeParam M - the decorated method's type
   * @example
   * class Reports { @cachier() async byId(id: string) { return load(id); } }
   */
  <T extends This, M extends (this: T, ...args: never[]) => unknown>(
    method: M,
    context: ClassMethodDecoratorContext<T>,
  ): MethodCheck<M, Args, M>;
  /**
   * `experimentalDecorators: true`: returns the property's new descriptor.
   * @typeParam T - the class prototype (or, for a static method, the class)
   * @typeParam M - the decorated method's type
   * @example
   * class Reports { @cachier() async byId(id: string) { return load(id); } }
   */
  <T extends This, M extends (this: T, ...args: never[]) => unknown>(
    target: T,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): MethodCheck<M, Args, TypedPropertyDescriptor<M>>;
  /**
   * A plain function: `cachier(options)(fn)` wraps `fn` exactly as `cachier(fn, options)`
   * does, with the same type.
   * @typeParam F - the wrapped function's type
   * @example
   * const add = cachier({ backend: 'memory' })(async function add(a: number, b: number) { return a + b; });
   */
  // No `this` in F's constraint: AnyFunction's `this: never` would become the `this`
  // of a function expression passed inline.
  <F extends (...args: never) => unknown>(
    fn: F & FunctionCheck<F, Args, This>,
    // A second parameter makes TypeScript check a decorator's context argument against
    // it (it lets a standard decorator with one parameter ignore the context), so that a
    // getter or a field is not mistaken for a plain function.
    notADecoratorContext?: undefined,
  ): CachedFunction<F>;
}

/**
 * `unknown` when `cachier(options)(fn)` fits `fn`; otherwise a {@link DecoratorMisuse}
 * whose message TypeScript shows in its error: `fn`'s parameters and `this` must fit
 * the `hashArgs` option.
 *
 * @example
 * type Fits = FunctionCheck<(id: string) => Promise<number>, [string], unknown>; // unknown
 */
export type FunctionCheck<F extends AnyFunction, Args extends unknown[], This> =
  Parameters<F> extends Args
    ? ThisParameterType<F> extends This
      ? unknown
      : DecoratorMisuse<"the function's this does not fit the self type of the hashArgs option">
    : DecoratorMisuse<"the function's parameters do not fit the args type of the hashArgs option">;

/**
 * `Ok` when `@cachier()` fits method type `M`; otherwise a {@link DecoratorMisuse} whose
 * message TypeScript shows in its error ("Decorator function return type
 * 'DecoratorMisuse<...>' is not assignable ..."): the method must return a Promise, and
 * its parameters must fit the `hashArgs` option.
 *
 * @example
 * type Fits = MethodCheck<(id: string) => Promise<number>, unknown[], 'ok'>; // 'ok'
 */
export type MethodCheck<M extends AnyFunction, Args extends unknown[], Ok> =
  ReturnType<M> extends PromiseLike<unknown>
    ? Parameters<M> extends Args
      ? Ok
      : DecoratorMisuse<"the method's parameters do not fit the args type of the hashArgs option">
    : DecoratorMisuse<"@cachier() decorates methods that return a Promise (async methods): TypeScript cannot change a decorated method's type">;

/**
 * What `@cachier()` returns, for TypeScript only, when it is placed where it does not fit:
 * the type's name and message show up in the compiler's error.
 *
 * @example
 * // error: Decorator function return type 'DecoratorMisuse<"@cachier() decorates methods that return a Promise ...">' ...
 * class Calc { @cachier() twice(x: number) { return 2 * x; } }
 */
export interface DecoratorMisuse<Message extends string> {
  /** The explanation of the error. */
  readonly cachierTypeError: Message;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;
type Constructor = abstract new (...args: never[]) => unknown;

/** The state behind every function and accessor a decorated method installs. */
const methods = new WeakMap<object, DecoratedMethod>();

function isObjectLike(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/** `Cls.prototype` itself (not an instance): reaching a method there gives the unbound one. */
function isPrototypeObject(value: object): boolean {
  const ctor = Object.getOwnPropertyDescriptor(value, 'constructor')?.value as unknown;
  return typeof ctor === 'function' && ctor.prototype === value;
}

function memberName(key: string | symbol): string {
  return typeof key === 'symbol' ? `[${key.description ?? ''}]` : key;
}

/**
 * One decorated method of one class. The store, `hashArgs` and the options are fixed at
 * decoration time, when the class is defined. The identity (and so the wrapper) is made
 * at first use, from the declaring class: with `experimentalDecorators` and for static
 * methods the class is known when it is defined; a standard decorator on an instance
 * method cannot see its class, so it learns it from the first instance constructed (or
 * the first `this` it is called with). Waiting for first use also lets bundlers that
 * rename classes (esbuild's `keepNames`) restore the class's name first.
 */
class DecoratedMethod {
  private wrapper: WrapperCore | undefined;
  private owner: Constructor | undefined;
  private readonly build: (name: string) => WrapperCore;
  private readonly explicitName: string | undefined;
  /** Where the class is defined, for the default identity (none with a `name` option). */
  private readonly site: WrapSite | undefined;
  private readonly method: Method;
  private readonly views = new WeakMap<object, CachedFunction<AnyFunction>>();
  private readonly shape: { name: string; length: number };
  /** Installed where the method was: calls use their own `this`, `precacheValue` none. */
  readonly unbound: CachedFunction<AnyFunction>;
  /** The accessor's functions, shared by every instance. */
  readonly accessor: { get(this: unknown): unknown; set(this: unknown, value: unknown): void };

  constructor(
    method: Method,
    valid: CachierOptions,
    readonly key: string | symbol,
    readonly isStatic: boolean,
    site: WrapSite,
  ) {
    this.build = planWrapper(method, valid);
    this.explicitName = valid.name;
    this.method = method;
    if (valid.name === undefined) {
      // Checked now, so that a class without a package to scope it by fails where it is
      // defined rather than at its first call.
      scopeOf(site, memberName(key));
      this.site = site;
    }
    this.shape = { name: method.name, length: method.length };
    this.unbound = makeCachedView((self) => this.wrapperFor(self), this.shape);
    const state = this;
    this.accessor = {
      get() {
        return state.viewFor(this);
      },
      set(value) {
        // Assigning (e.g. a test double) replaces the method on that object only, as it
        // would for a plain method.
        Object.defineProperty(this as object, key, {
          value,
          writable: true,
          enumerable: true,
          configurable: true,
        });
      },
    };
    methods.set(this.unbound, this);
    methods.set(this.accessor.get, this);
  }

  /**
   * The cache identity this method has in `cls`: the `name` option, else
   * `<package>:<module>:ClassName.methodName` scoped where the class is defined.
   */
  private identityIn(cls: Constructor): string {
    if (this.explicitName !== undefined) return this.explicitName;
    if (!cls.name) {
      throw new TypeError(
        `cachier: the class of method '${memberName(this.key)}' has no name; give the decorator a name option: @cachier({ name: 'MyClass.${memberName(this.key)}' })`,
      );
    }
    return defaultIdentity(
      this.site as WrapSite,
      `${cls.name}.${memberName(this.key)}`,
      [cls.name],
      this.method,
    );
  }

  /**
   * Records the declaring class, and checks that a static and an instance method of
   * one name in it do not end up with one identity (they would share entries).
   */
  setOwner(cls: Constructor): void {
    if (this.owner) return;
    this.owner = cls;
    const other = decoratedMember(this.isStatic ? cls.prototype : cls, this.key);
    if (!other || other === this) return;
    const member = memberName(this.key);
    // Compared before bundlers that rename classes (esbuild's keepNames) restore the
    // class's name, so the message does not show it.
    const byDefault = `${cls.name}.${member}`;
    const mine = this.explicitName ?? byDefault;
    if (mine !== (other.explicitName ?? byDefault)) return;
    throw new TypeError(
      mine === byDefault
        ? `cachier: the static and the instance method '${member}' of one class would both be cached under the default name '<class name>.${member}'; give one of them a name option, e.g. @cachier({ name: '<class name>.${member}.static' })`
        : `cachier: the static and the instance method '${member}' of one class would both be cached under the name '${mine}'; give them different names`,
    );
  }

  /** Learns the class from a new instance (standard mode), so the prototype's API works too. */
  learnFrom(instance: unknown): void {
    if (!this.owner) {
      const cls = this.declaringClass(instance);
      if (cls) this.setOwner(cls);
    }
  }

  private wrapperFor(self: unknown): WrapperCore {
    if (this.wrapper) return this.wrapper;
    if (this.explicitName === undefined) this.learnFrom(self);
    if (this.explicitName === undefined && !this.owner) {
      throw new TypeError(
        `cachier: method '${memberName(this.key)}' does not know its class yet: a standard decorator learns it when the first instance is constructed or the method is called on one. Construct an instance first, give the decorator a name option, or, if another decorator wraps this method, put @cachier() above it`,
      );
    }
    this.wrapper = this.build(this.explicitName ?? this.identityIn(this.owner as Constructor));
    return this.wrapper;
  }

  /** The class whose prototype holds this method, found from an instance (standard mode). */
  private declaringClass(self: unknown): Constructor | undefined {
    for (let o = self; isObjectLike(o); o = Object.getPrototypeOf(o)) {
      if (Object.getOwnPropertyDescriptor(o, this.key)?.value === this.unbound) {
        const ctor = Object.getOwnPropertyDescriptor(o, 'constructor')?.value as unknown;
        return typeof ctor === 'function' ? (ctor as Constructor) : undefined;
      }
    }
    return undefined;
  }

  /** The method bound to `receiver` (an instance, or the class for a static method). */
  viewFor(receiver: unknown): CachedFunction<AnyFunction> {
    if (!isObjectLike(receiver) || (!this.isStatic && isPrototypeObject(receiver))) {
      return this.unbound;
    }
    let view = this.views.get(receiver);
    if (!view) {
      view = makeCachedView((self) => this.wrapperFor(self), this.shape, { self: receiver });
      this.views.set(receiver, view);
    }
    return view;
  }

  /** The accessor that replaces the method: `obj.byId` is the method bound to `obj`. */
  descriptor(enumerable: boolean): PropertyDescriptor {
    return { get: this.accessor.get, set: this.accessor.set, enumerable, configurable: true };
  }
}

/** The decorated method behind `holder[key]`, if cachier installed it there. */
function decoratedMember(holder: unknown, key: string | symbol): DecoratedMethod | undefined {
  if (!isObjectLike(holder)) return undefined;
  const found = Object.getOwnPropertyDescriptor(holder, key);
  const fn = (found?.value ?? found?.get) as unknown;
  return isObjectLike(fn) ? methods.get(fn) : undefined;
}

function notAMethod(what: string): TypeError {
  return new TypeError(
    `cachier: @cachier() decorates methods only, not ${what}; put it on a method that returns a Promise`,
  );
}

const KIND_NAMES: Record<string, string> = {
  class: 'a class',
  field: 'a field',
  accessor: 'an auto-accessor',
  getter: 'a getter',
  setter: 'a setter',
};

function isStandardContext(value: unknown): value is DecoratorContext {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { kind?: unknown }).kind === 'string' &&
    typeof (value as { addInitializer?: unknown }).addInitializer === 'function'
  );
}

function decorateStandard(
  valid: CachierOptions,
  method: unknown,
  context: DecoratorContext,
  site: WrapSite,
): CachedFunction<AnyFunction> {
  if (context.kind !== 'method') {
    const name = context.name === undefined ? '' : ` '${memberName(context.name)}'`;
    throw notAMethod(`${KIND_NAMES[context.kind] ?? context.kind}${name}`);
  }
  const key = context.name;
  if (typeof method !== 'function') throw notAMethod(describe(method));
  if (context.private && valid.name === undefined) {
    throw new TypeError(
      `cachier: private method ${String(key)} needs a name option: a decorator cannot tell the class of a private method. Write @cachier({ name: 'MyClass.${String(key).slice(1)}' })`,
    );
  }
  const state = new DecoratedMethod(method as Method, valid, key, context.static, site);
  // A private method is reached as `this.#name` only: it stays the unbound function,
  // which is called with its instance as `this` anyway.
  if (context.private) return state.unbound;
  context.addInitializer(function (this: unknown) {
    // Static: `this` is the class, now defined. Instance: `this` is the new instance.
    if (context.static) state.setOwner(this as Constructor);
    else state.learnFrom(this);
    const own = Object.getOwnPropertyDescriptor(this, key);
    const reached = context.static ? own?.value : (this as Record<string | symbol, unknown>)[key];
    // Left alone when a subclass overrides the method or another decorator replaced it.
    if (reached === state.unbound) {
      Object.defineProperty(this, key, state.descriptor(own?.enumerable ?? false));
    }
  });
  return state.unbound;
}

function decorateLegacy(
  valid: CachierOptions,
  args: unknown[],
  site: WrapSite,
): PropertyDescriptor {
  const [target, key, descriptor] = args;
  if (args.length < 2 || (typeof target === 'function' && key === undefined)) {
    throw notAMethod(
      `a class${typeof target === 'function' && target.name ? ` '${target.name}'` : ''}`,
    );
  }
  if (typeof key !== 'string' && typeof key !== 'symbol') throw notAMethod(describe(key));
  if (typeof descriptor === 'number') throw notAMethod(`a parameter of '${memberName(key)}'`);
  const d = descriptor as PropertyDescriptor | undefined;
  if (d === undefined || (!('value' in d) && !d.get && !d.set)) {
    throw notAMethod(`a field '${memberName(key)}'`);
  }
  if (d.get || d.set) {
    const what = d.get && d.set ? 'an accessor' : d.get ? 'a getter' : 'a setter';
    throw notAMethod(`${what} '${memberName(key)}'`);
  }
  if (typeof d.value !== 'function') throw notAMethod(`a field '${memberName(key)}'`);
  const isStatic = typeof target === 'function';
  const cls = (isStatic ? target : (target as { constructor: unknown }).constructor) as Constructor;
  const state = new DecoratedMethod(d.value as Method, valid, key, isStatic, site);
  state.setOwner(cls);
  return state.descriptor(d.enumerable ?? false);
}

/** Makes the decorator `cachier(options?)` returns (internal; see {@link CachierMethodDecorator}). */
export function methodDecorator(options: CachierOptions | undefined): CachierMethodDecorator {
  // Validated now, so that a bad option fails where the decorator is written.
  const valid = validateOptions(options);
  function decorate(...args: unknown[]): unknown {
    const [fn, second] = args;
    if (typeof fn === 'function' && second === undefined && args.length <= 2) {
      // Legacy decorators call a class decorator with the class alone.
      if (isClass(fn as AnyFunction)) throw notAMethod(`a class${fn.name ? ` '${fn.name}'` : ''}`);
      // cachier(options)(fn): the code that applies the returned function to `fn` is the
      // wrap site, as for cachier(fn, options); a shared factory scopes each function by
      // the module that wraps it.
      return wrapFunction(fn as AnyFunction, valid, captureWrapSite(decorate, false));
    }
    // The code that runs the decorator is the class's definition: its package and module
    // scope the default identity.
    const site: WrapSite =
      valid.name === undefined ? captureWrapSite(decorate, true) : { file: undefined };
    if (isStandardContext(args[1])) return decorateStandard(valid, args[0], args[1], site);
    return decorateLegacy(valid, args, site);
  }
  return decorate as CachierMethodDecorator;
}

/** Whether `fn` is a class constructor (`class X {}`), which cannot be called without `new`. */
function isClass(fn: (...args: never) => unknown): boolean {
  return /^class\b/.test(Function.prototype.toString.call(fn));
}

/** Whether `cachier(a, b)` looks like a decorator call made without parentheses (`@cachier`). */
export function looksLikeDecoratorCall(args: unknown[]): boolean {
  return (
    isStandardContext(args[1]) ||
    (args.length === 3 && (typeof args[1] === 'string' || typeof args[1] === 'symbol'))
  );
}
