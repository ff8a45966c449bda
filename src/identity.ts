/**
 * How a wrapper's identity is formed when no `name` option is given:
 * `<package>:<module>:<function>`, e.g. `my-app:src/reports:fetchReport`, where
 * - `<package>` is the `name` in the nearest `package.json` (that has a name) above the
 *   file that calls `cachier(fn)` or defines the decorated class,
 * - `<module>` is that file's path relative to the package's folder, without its
 *   extension, with `/` separators,
 * - `<function>` is the function's name (`ClassName.methodName` for decorated methods).
 * Nothing in it depends on where the code lives on disk or on the process, so restarts
 * and the replicas of one service agree, and two packages never meet.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processState } from './processState.js';

/** Where a wrapper is made: the user's code that calls cachier, as V8 reports it. */
export interface WrapSite {
  /** Absolute path of the file; undefined for code without one (eval, REPL, `node -e`). */
  readonly file: string | undefined;
}

/**
 * Function and class names this short are what minifiers produce (`t`, `Nr`). Where the
 * call sits on its line tells nothing: tsx and other loaders run whitespace-minified
 * code, so every module is one long line.
 */
const MANGLED_NAME = /^[\w$]{1,2}$/;
/**
 * Three-letter names are what minifiers give once a bundle has more names than one and
 * two letters make (esbuild: about 3,500), and the next build can give one to another
 * function. Real three-letter names (`get`, `sum`) are common, so these are refused only
 * in a file that looks minified.
 */
const SHORT_NAME = /^[\w$]{3}$/;
/** How much of a file is read to tell whether it is minified. */
const MINIFIED_SAMPLE_BYTES = 64 * 1024;
/**
 * A sample at least this long whose lines average more characters than
 * {@link MINIFIED_LINE_LENGTH} is minified: hand-written and transpiled code never is.
 */
const MINIFIED_MIN_SAMPLE = 8 * 1024;
const MINIFIED_LINE_LENGTH = 500;

/**
 * Frames that run a decorator for the class's code, skipped to reach the class: helper
 * packages, and the helpers that compilers inline into the class's own file.
 */
const HELPER_PACKAGE =
  /[\\/]node_modules[\\/](?:tslib|@swc[\\/]helpers|@babel[\\/]runtime|reflect-metadata)[\\/]/;
const HELPER_FUNCTION =
  /^_*(?:ts_)?(?:decorate|esDecorate|decorateElement|applyDecs\w*|runInitializers)$/i;

type Frame = NodeJS.CallSite;

/** The structured stack above `entry` (exclusive), without disturbing other stack users. */
function framesAbove(entry: (...args: never[]) => unknown): Frame[] {
  const holder: { stack?: unknown } = {};
  const previousPrepare = Error.prepareStackTrace;
  const previousLimit = Error.stackTraceLimit;
  try {
    Error.prepareStackTrace = (_error, frames) => frames;
    Error.stackTraceLimit = 20;
    Error.captureStackTrace(holder, entry);
    return Array.isArray(holder.stack) ? (holder.stack as Frame[]) : [];
  } finally {
    Error.prepareStackTrace = previousPrepare;
    Error.stackTraceLimit = previousLimit;
  }
}

/** The frame's file as an absolute path, or undefined when it has none (eval, native, node:). */
function fileOf(frame: Frame): string | undefined {
  if (frame.isEval() || frame.isNative()) return undefined;
  const name = frame.getFileName();
  if (!name) return undefined;
  if (name.startsWith('file:')) {
    try {
      return fileURLToPath(name);
    } catch {
      return undefined;
    }
  }
  // node:internal/..., data:, http: and the like have no package.json to scope by.
  if (/^[a-z][a-z0-9+.-]+:/i.test(name) && !/^[a-z]:[\\/]/i.test(name)) return undefined;
  return name;
}

/**
 * Finds the user's code that made a wrapper (internal). `entry` is cachier's public entry
 * point that the user's code called: V8 drops it and every frame above it (cachier's own,
 * whether it runs from src/ or from a built or bundled file), so the first frame left is
 * the caller. For a decorator, `entry` is the decorator function; the compiler's or a
 * helper package's decorator helpers between it and the class are skipped.
 *
 * @example
 * const site = captureWrapSite(cachier, false); // inside cachier()
 */
export function captureWrapSite(
  entry: (...args: never[]) => unknown,
  forDecorator: boolean,
): WrapSite {
  const frames = framesAbove(entry);
  let index = 0;
  if (forDecorator) {
    while (
      index < frames.length - 1 &&
      (HELPER_FUNCTION.test((frames[index] as Frame).getFunctionName() ?? '') ||
        HELPER_PACKAGE.test((frames[index] as Frame).getFileName() ?? '') ||
        (frames[index] as Frame).isNative() ||
        ((frames[index] as Frame).getFileName() ?? '').startsWith('node:'))
    ) {
      index++;
    }
  }
  const frame = frames[index];
  return { file: frame ? fileOf(frame) : undefined };
}

interface PackageRoot {
  readonly name: string;
  readonly dir: string;
}

/** Memo of the package each folder belongs to (null: none), so a folder is read once. */
const packageOfDir = new Map<string, PackageRoot | null>();

function readPackageName(dir: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, 'package.json'), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as { name?: unknown };
    return typeof parsed.name === 'string' && parsed.name !== '' ? parsed.name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The nearest folder at or above `dir` whose package.json has a `name`. Nameless ones
 * (`{ "type": "commonjs" }` in a build folder) are passed over: they mark a module format,
 * not a package.
 */
function packageOf(dir: string): PackageRoot | null {
  const seen: string[] = [];
  let found: PackageRoot | null = null;
  for (let current = dir; ; ) {
    const memo = packageOfDir.get(current);
    if (memo !== undefined) {
      found = memo;
      break;
    }
    seen.push(current);
    const name = readPackageName(current);
    if (name !== undefined) {
      found = { name, dir: current };
      break;
    }
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const folder of seen) packageOfDir.set(folder, found);
  return found;
}

/** Memo of whether each wrapping file looks minified, so a file is read at most once. */
const minifiedFiles = new Map<string, boolean>();

/**
 * Whether the file on disk looks minified (long lines). Loaders such as tsx run
 * transformed code, but the frame names the source file, which is what is read here.
 */
function looksMinified(file: string): boolean {
  const memo = minifiedFiles.get(file);
  if (memo !== undefined) return memo;
  let sample = '';
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buffer = Buffer.alloc(MINIFIED_SAMPLE_BYTES);
    sample = buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, 0));
  } catch {
    // Unreadable: no evidence either way; the short-name rule alone applies.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  let lines = 1;
  for (let at = sample.indexOf('\n'); at !== -1; at = sample.indexOf('\n', at + 1)) lines++;
  const minified =
    sample.length >= MINIFIED_MIN_SAMPLE && sample.length / lines > MINIFIED_LINE_LENGTH;
  minifiedFiles.set(file, minified);
  return minified;
}

/** `src/reports` for `<package>/src/reports.ts`. */
function modulePath(root: string, file: string): string {
  const rel = relative(root, file);
  const withoutExtension = rel.slice(0, rel.length - extname(rel).length);
  return withoutExtension.split(sep).join('/');
}

function passName(example: string): string {
  return `pass a name option: cachier(fn, { name: '${example}' }) or @cachier({ name: '${example}' })`;
}

/**
 * The scope of the default identities made at `site` (internal): `<package>:<module>`.
 *
 * @throws TypeError when the site has no file (eval, REPL) or no named package.json
 * above it, naming `what` and asking for a `name` option.
 * @example scopeOf(site, 'fetchReport') // 'my-app:src/reports'
 */
export function scopeOf(site: WrapSite, what: string): string {
  if (site.file === undefined) {
    throw new TypeError(
      `cachier: cannot form a default identity for '${what}': it is wrapped by code that has no file (eval, a REPL or node -e), so there is no package to scope it by; ${passName(what)}`,
    );
  }
  const root = packageOf(dirname(site.file));
  if (root === null) {
    throw new TypeError(
      `cachier: cannot form a default identity for '${what}': no package.json with a "name" above the module that wraps it, so two projects could share its entries; add a name to your package.json, or ${passName(what)}`,
    );
  }
  return `${root.name}:${modulePath(root.dir, site.file)}`;
}

/**
 * The default identity of `fn` wrapped at `site` under `fnName` (the function's name, or
 * `ClassName.methodName`; `shortName` is the part a minifier renames). Refuses, with a
 * TypeError that asks for a `name` option, what could mix two functions: a name that
 * looks minified, and a second, different function of one file taking an identity that a live
 * wrapper of this process already has.
 *
 * @example defaultIdentity(site, 'fetchReport', ['fetchReport'], fetchReport) // 'my-app:src/reports:fetchReport'
 */
export function defaultIdentity(
  site: WrapSite,
  fnName: string,
  renamable: readonly string[],
  fn: object,
): string {
  const scope = scopeOf(site, fnName);
  const identity = `${scope}:${fnName}`;
  const parts = renamable.map((part) => part.replace(/^(?:bound )+/, ''));
  if (parts.some((part) => MANGLED_NAME.test(part))) {
    throw new TypeError(
      `cachier: '${fnName}' has a one- or two-letter name, as minifiers make them: such names are not stable and two functions can share one; ${passName(`${scope}:<what it does>`)}`,
    );
  }
  if (parts.some((part) => SHORT_NAME.test(part)) && looksMinified(site.file as string)) {
    throw new TypeError(
      `cachier: '${fnName}' is a short name in a minified file, as minifiers make them: the next build can give this name to another function, which would then get this one's entries; ${passName(`${scope}:<what it does>`)}`,
    );
  }
  claimIdentity(identity, site, fn);
  return identity;
}

/**
 * Registers `fn` as the holder of a default identity in this process (shared by every
 * copy of cachier). Another function of the same file with other source text under a
 * live wrapper is refused: two functions would share entries. Allowed: the same function
 * wrapped twice, closures one factory makes (same source text), and the same module
 * loaded from two builds (`.js` and `.cjs` are different files).
 */
function claimIdentity(identity: string, site: WrapSite, fn: object): void {
  const { identities } = processState();
  const text = Function.prototype.toString.call(fn);
  // Bound and native functions all read '[native code]': their text tells nothing.
  const source = text.includes('[native code]')
    ? undefined
    : createHash('sha256').update(text).digest('hex');
  const file = site.file as string;
  const held = identities.get(identity);
  if (held !== undefined && held.file === file) {
    const holder = held.fn.deref();
    const sameCode = source !== undefined && held.source === source;
    if (holder === fn || holder === undefined || sameCode) {
      identities.set(identity, { fn: new WeakRef(fn), source, file });
      return;
    }
    throw new TypeError(
      `cachier: two different functions of one module would share the default identity '${identity}' and so each other's entries (minified or same-named inner functions); ${passName(`${identity}.<what it does>`)}`,
    );
  }
  identities.set(identity, { fn: new WeakRef(fn), source, file });
}
