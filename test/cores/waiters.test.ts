/**
 * The waiter registry every push signal shares (folder watch, Redis pub/sub, PostgreSQL
 * LISTEN, MongoDB change streams). Each hub's own tests run it against the real signal.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Waiters } from '../../src/cores/waiters.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('Waiters', () => {
  it('wakes the waiters of one route, of a group (all or matching), or of everyone', () => {
    const waiters = new Waiters();
    const woken: string[] = [];
    waiters.add('a', 'x:1', () => woken.push('a x:1'));
    waiters.add('a', 'x:2', () => woken.push('a x:2'));
    waiters.add('a', 'y:1', () => woken.push('a y:1'));
    waiters.add('b', 'x:1', () => woken.push('b x:1'));
    waiters.wake('a', 'x:1');
    expect(woken.splice(0)).toEqual(['a x:1']);
    waiters.wake('a', 'nobody');
    waiters.wake('c', 'x:1');
    expect(woken).toEqual([]);
    waiters.wakeGroup('a', (route) => route.startsWith('x:'));
    expect(woken.splice(0).sort()).toEqual(['a x:1', 'a x:2']);
    waiters.wakeGroup('a');
    expect(woken.splice(0).sort()).toEqual(['a x:1', 'a x:2', 'a y:1']);
    waiters.wakeAll();
    expect(woken.splice(0).sort()).toEqual(['a x:1', 'a x:2', 'a y:1', 'b x:1']);
    expect(waiters.size).toBe(4);
  });

  it("one waiter's failure does not stop the others' wake-ups", () => {
    const waiters = new Waiters();
    let woken = 0;
    waiters.add('a', 'k', () => {
      throw new Error('a waiter that fails');
    });
    waiters.add('a', 'k', () => woken++);
    waiters.add('a', 'other', () => woken++);
    waiters.wake('a', 'k');
    waiters.wakeGroup('a');
    waiters.wakeAll();
    expect(woken).toBe(5);
  });

  it('the same callback added twice is two waiters; a removal counts once however often called', () => {
    const waiters = new Waiters();
    let woken = 0;
    const onChange = () => woken++;
    const first = waiters.add('a', 'k', onChange);
    const second = waiters.add('a', 'k', onChange);
    waiters.wake('a', 'k');
    expect(woken).toBe(2);
    first();
    first();
    expect(waiters.size).toBe(1);
    waiters.wake('a', 'k');
    expect(woken).toBe(3);
    second();
    expect(waiters.size).toBe(0);
    expect(waiters.has('a')).toBe(false);
  });

  it('says when a group is left empty, once, and only then', () => {
    const emptied: string[] = [];
    const waiters = new Waiters({ onGroupEmpty: (group) => emptied.push(group) });
    const one = waiters.add('a', 'k1', () => undefined);
    const two = waiters.add('a', 'k2', () => undefined);
    const other = waiters.add('b', 'k1', () => undefined);
    expect(waiters.has('a', 'k1')).toBe(true);
    one();
    expect(waiters.has('a', 'k1')).toBe(false);
    expect(waiters.has('a')).toBe(true);
    expect(emptied).toEqual([]);
    two();
    two();
    expect(emptied).toEqual(['a']);
    other();
    expect(emptied).toEqual(['a', 'b']);
    // A group used again after it emptied is reported again when it empties again.
    waiters.add('a', 'k1', () => undefined)();
    expect(emptied).toEqual(['a', 'b', 'a']);
  });

  it('goes idle a while after the last waiter left, unless one came back, without holding the process', () => {
    vi.useFakeTimers();
    let idle = 0;
    const waiters = new Waiters({ idleMs: 1000, onIdle: () => idle++ });
    const leave = waiters.add('a', 'k', () => undefined);
    vi.advanceTimersByTime(5000);
    expect(idle).toBe(0);
    leave();
    vi.advanceTimersByTime(999);
    const back = waiters.add('a', 'k', () => undefined);
    vi.advanceTimersByTime(5000);
    expect(idle).toBe(0);
    back();
    vi.advanceTimersByTime(999);
    expect(idle).toBe(0);
    vi.advanceTimersByTime(1);
    expect(idle).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(idle).toBe(1);
  });

  it('with groupLingerMs, says a group is empty only once it stayed empty that long; other groups apart', () => {
    vi.useFakeTimers();
    const emptied: string[] = [];
    const waiters = new Waiters({
      onGroupEmpty: (group) => emptied.push(group),
      groupLingerMs: 1000,
    });
    waiters.add('a', 'k', () => undefined)();
    vi.advanceTimersByTime(999);
    const back = waiters.add('a', 'k', () => undefined);
    waiters.add('b', 'k', () => undefined)();
    vi.advanceTimersByTime(5000);
    expect(emptied).toEqual(['b']);
    back();
    expect(waiters.has('a')).toBe(false);
    vi.advanceTimersByTime(1000);
    expect(emptied).toEqual(['b', 'a']);
  });

  it("the idle timer is unref'd", () => {
    const waiters = new Waiters({ idleMs: 60_000, onIdle: () => undefined });
    const spy = vi.spyOn(globalThis, 'setTimeout');
    waiters.add('a', 'k', () => undefined)();
    const timer = spy.mock.results[0]?.value as NodeJS.Timeout;
    spy.mockRestore();
    expect(timer.hasRef()).toBe(false);
    clearTimeout(timer);
  });
});
