/**
 * A caller's AbortSignal listened to once, however many calls share it: one signal often
 * serves a program's every call (a shutdown signal, a request's signal), and each call
 * needs up to three listeners on it. Node warns of a "possible memory leak" from a
 * signal's 11th listener (MaxListenersExceededWarning), so this keeps one listener per
 * signal, there only while some call listens, and runs the calls' own listeners from it.
 */

interface Listening {
  /** One object per added listener: the same function added twice is two listeners. */
  readonly listeners: Set<{ run: () => void }>;
  readonly dispatch: () => void;
}

const bySignal = new WeakMap<AbortSignal, Listening>();

/**
 * Calls `listener` once when `signal` aborts; returns its removal (safe to call twice).
 *
 * @example
 * const stop = onAbort(signal, () => reject(signal.reason));
 * work.finally(stop);
 */
export function onAbort(signal: AbortSignal, listener: () => void): () => void {
  const listening = bySignal.get(signal) ?? listenTo(signal);
  const entry = { run: listener };
  const { listeners, dispatch } = listening;
  listeners.add(entry);
  return () => {
    if (!listeners.delete(entry) || listeners.size > 0) return;
    signal.removeEventListener('abort', dispatch);
    if (bySignal.get(signal) === listening) bySignal.delete(signal);
  };
}

function listenTo(signal: AbortSignal): Listening {
  const listeners = new Set<{ run: () => void }>();
  const dispatch = () => {
    bySignal.delete(signal);
    for (const entry of [...listeners]) entry.run();
    listeners.clear();
  };
  const listening = { listeners, dispatch };
  bySignal.set(signal, listening);
  signal.addEventListener('abort', dispatch, { once: true });
  return listening;
}
