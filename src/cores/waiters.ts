/** What a waiter is called with when its entry may have changed: it re-reads. */
export type Wake = () => void;

/** Options of {@link Waiters}. */
export interface WaitersOptions {
  /** Called when a group's last waiter leaves (a channel to unsubscribe, a folder to stop watching). */
  onGroupEmpty?: (group: string) => void;
  /**
   * With it, {@link onGroupEmpty} comes this long (ms) after the group's last waiter left,
   * and not at all if one came back meanwhile: a wait subscribes anew on every poll, and
   * a hub whose new subscription wakes its waiters would otherwise wake each poll itself.
   * The timer never keeps a program alive.
   */
  groupLingerMs?: number;
  /**
   * Called {@link idleMs} after the last waiter of every group left, unless one came back
   * meanwhile: each wait subscribes anew on every poll, so a subscription closed at once
   * would be reopened on the next one. The timer never keeps a program alive.
   */
  onIdle?: () => void;
  /** How long {@link onIdle} waits (ms). */
  idleMs?: number;
}

function callSafely(wake: Wake): void {
  try {
    wake();
  } catch {
    // A waiter's own failure must not stop the other waiters' wake-ups.
  }
}

/**
 * The waiting calls of one push signal (a folder watch, Redis pub/sub, PostgreSQL
 * `LISTEN`, a MongoDB change stream): who waits on which entry (a route), grouped by what
 * the signal subscribes to (a folder, a channel), and woken so that one waiter's failure
 * never stops the others. Each hub keeps only its own connection logic on top of it.
 *
 * @example
 * const waiters = new Waiters({ onGroupEmpty: (channel) => unsubscribe(channel) });
 * const leave = waiters.add('cachier:reports', key, () => reRead());
 * waiters.wake('cachier:reports', key); // on a message for that key
 * leave();
 */
export class Waiters {
  private readonly groups = new Map<string, Map<string, Set<Wake>>>();
  private count = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Groups whose last waiter left, until their {@link WaitersOptions.groupLingerMs} ends. */
  private readonly lingering = new Map<string, NodeJS.Timeout>();

  constructor(private readonly options: WaitersOptions = {}) {}

  /** How many waiters there are, in all groups. */
  get size(): number {
    return this.count;
  }

  /** Whether anyone waits in `group` (on `route`, when given). */
  has(group: string, route?: string): boolean {
    const routes = this.groups.get(group);
    return route === undefined ? routes !== undefined : routes?.has(route) === true;
  }

  /**
   * Adds a waiter for `route` in `group`; returns its removal, which may be called more
   * than once. The same callback added twice is two waiters.
   */
  add(group: string, route: string, onChange: Wake): () => void {
    let routes = this.groups.get(group);
    if (!routes) {
      routes = new Map();
      this.groups.set(group, routes);
      clearTimeout(this.lingering.get(group));
      this.lingering.delete(group);
    }
    let wakes = routes.get(route);
    if (!wakes) {
      wakes = new Set();
      routes.set(route, wakes);
    }
    const waiter: Wake = () => onChange();
    wakes.add(waiter);
    this.count++;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      // A set is dropped only once empty, so the ones captured here are still the current ones.
      wakes.delete(waiter);
      this.count--;
      if (wakes.size === 0) routes.delete(route);
      if (routes.size === 0) {
        this.groups.delete(group);
        this.groupEmptied(group);
      }
      if (this.count === 0) this.startIdle();
    };
  }

  /** Wakes the waiters of `route` in `group`. */
  wake(group: string, route: string): void {
    const wakes = this.groups.get(group)?.get(route);
    if (wakes) for (const wake of [...wakes]) callSafely(wake);
  }

  /** Wakes the waiters of `group`, or only those whose route `matches`. */
  wakeGroup(group: string, matches?: (route: string) => boolean): void {
    const routes = this.groups.get(group);
    if (!routes) return;
    const woken: Wake[] = [];
    for (const [route, wakes] of routes) if (!matches || matches(route)) woken.push(...wakes);
    for (const wake of woken) callSafely(wake);
  }

  /** Wakes every waiter (a signal was lost, or has just started: changes may have been missed). */
  wakeAll(): void {
    const woken: Wake[] = [];
    for (const routes of this.groups.values())
      for (const wakes of routes.values()) woken.push(...wakes);
    for (const wake of woken) callSafely(wake);
  }

  private groupEmptied(group: string): void {
    const { onGroupEmpty, groupLingerMs } = this.options;
    if (!onGroupEmpty) return;
    if (groupLingerMs === undefined) {
      onGroupEmpty(group);
      return;
    }
    const timer = setTimeout(() => {
      this.lingering.delete(group);
      onGroupEmpty(group);
    }, groupLingerMs);
    timer.unref();
    this.lingering.set(group, timer);
  }

  private startIdle(): void {
    const { onIdle, idleMs = 0 } = this.options;
    if (!onIdle) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.count === 0) onIdle();
    }, idleMs);
    this.idleTimer.unref();
  }
}
