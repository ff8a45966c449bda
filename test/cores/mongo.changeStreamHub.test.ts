import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChangeStreamHub } from '../../src/cores/mongoChangeStream.js';

/** A driver ChangeStream stand-in: the test emits its events. */
class FakeStream extends EventEmitter {
  readonly cursor = new EventEmitter();
  closed = 0;
  async close() {
    this.closed++;
  }
}

/** A Collection stand-in whose `watch()` hands out FakeStreams. */
class FakeCollection {
  readonly streams: FakeStream[] = [];
  watch() {
    const stream = new FakeStream();
    this.streams.push(stream);
    return stream;
  }
  get last(): FakeStream {
    const stream = this.streams.at(-1);
    if (!stream) throw new Error('no stream was opened');
    return stream;
  }
}

const change = (name: string, key: string) => ({
  _id: { _data: '01' },
  operationType: 'update',
  fullDocument: { _id: 'x', name, key },
});

describe('ChangeStreamHub (the MongoDB core push signal) failure handling', () => {
  let collection: FakeCollection;
  let hub: ChangeStreamHub;
  beforeEach(() => {
    vi.useFakeTimers();
    collection = new FakeCollection();
    hub = new ChangeStreamHub(collection);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a server that refuses change streams is asked again only after 5 minutes', () => {
    const onChange = vi.fn();
    hub.add(collection, 'n', 'k', onChange)();
    collection.last.emit('error', Object.assign(new Error('only replica sets'), { code: 40573 }));
    expect(collection.last.closed).toBe(1);
    for (let wait = 0; wait < 100; wait++) hub.add(collection, 'n', 'k', onChange)();
    vi.advanceTimersByTime(4 * 60_000);
    hub.add(collection, 'n', 'k', onChange)();
    expect(collection.streams).toHaveLength(1);
    vi.advanceTimersByTime(60_001);
    hub.add(collection, 'n', 'k', onChange);
    expect(collection.streams).toHaveLength(2);
  });

  it('a stream that breaks after it started wakes every waiter, and is reopened by a later wait', () => {
    const first = vi.fn();
    const second = vi.fn();
    hub.add(collection, 'n', 'a', first);
    hub.add(collection, 'n', 'b', second);
    const stream = collection.last;
    stream.cursor.emit('init', {});
    expect([first.mock.calls.length, second.mock.calls.length]).toEqual([1, 1]);
    stream.emit('error', Object.assign(new Error('network'), { code: 6 }));
    expect([first.mock.calls.length, second.mock.calls.length]).toEqual([2, 2]);
    expect(stream.closed).toBe(1);
    // Changes of the broken stream arrive no more; a later wait opens a new one after 1 s.
    stream.emit('change', change('n', 'a'));
    expect(first).toHaveBeenCalledTimes(2);
    hub.add(collection, 'n', 'c', vi.fn());
    expect(collection.streams).toHaveLength(1);
    vi.advanceTimersByTime(1_001);
    hub.add(collection, 'n', 'c', vi.fn());
    expect(collection.streams).toHaveLength(2);
    collection.last.emit('change', change('n', 'a'));
    expect(first).toHaveBeenCalledTimes(3);
  });

  it('one waiter that throws does not keep the others from waking', () => {
    const later = vi.fn();
    hub.add(collection, 'n', 'k', () => {
      throw new Error('waiter bug');
    });
    hub.add(collection, 'n', 'k', later);
    collection.last.emit('change', change('n', 'k'));
    expect(later).toHaveBeenCalledTimes(1);
  });

  it('stays open 10 s after the last waiter left, for the next wait, then closes', () => {
    hub.add(collection, 'n', 'k', vi.fn())();
    vi.advanceTimersByTime(9_000);
    hub.add(collection, 'n', 'k', vi.fn())();
    expect(collection.streams).toHaveLength(1);
    vi.advanceTimersByTime(9_000);
    expect(collection.last.closed).toBe(0);
    vi.advanceTimersByTime(1_001);
    expect(collection.last.closed).toBe(1);
    hub.add(collection, 'n', 'k', vi.fn());
    expect(collection.streams).toHaveLength(2);
  });

  it('a stream the driver closes (client.close(), dropped collection) wakes its waiters', () => {
    const onChange = vi.fn();
    hub.add(collection, 'n', 'k', onChange);
    collection.last.emit('close');
    expect(onChange).toHaveBeenCalledTimes(1);
  });
});
