import type { RedisClientLike, RedisSubscriberLike } from './redisClient.js';
import { Waiters, type Wake } from './waiters.js';

/** What a publisher sends on a name's channel when every key of the name may have changed. */
export const ALL_KEYS = '*';
/** Pause before a dead subscriber connection is opened again while waiters remain. */
const RETRY_MS = 1000;
/**
 * How long a channel stays subscribed after its last waiter left. A wait subscribes anew
 * on every poll, and a new subscription wakes its waiters (a change published before it
 * was confirmed would be missed): unsubscribing at once would make each poll's own
 * subscription wake it, a busy loop of reads for as long as the other calculation runs.
 */
const LINGER_MS = 2000;

interface ChannelState {
  /** The server confirmed the subscription on the current subscriber connection. */
  active: boolean;
  /** A SUBSCRIBE is on its way on the current subscriber connection. */
  subscribing: boolean;
}

/**
 * One pub/sub connection per user client, shared by every waiter of every RedisCore on
 * that client. Channels are subscribed while they have waiters. The connection is a
 * duplicate of the user's client that never reconnects by itself (its reconnection timer
 * would keep the program alive), is unref'd, and is closed when the user's client ends;
 * a channel stays subscribed for {@link LINGER_MS} after its last waiter left;
 * after a loss it is opened again on an unref'd timer while waiters remain. Waiters get a
 * spurious `onChange` whenever a message may have been missed (the subscription has just
 * become active, or the connection was lost), so that they re-read at once.
 */
export class SubscriptionHub {
  /** The channels with waiters, and where their subscription stands. */
  private readonly channels = new Map<string, ChannelState>();
  private readonly waiters = new Waiters({
    onGroupEmpty: (channel) => this.forget(channel),
    groupLingerMs: LINGER_MS,
  });
  private subscriber: RedisSubscriberLike | undefined;
  private connecting: Promise<RedisSubscriberLike> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly dispatch = (message: string, channel: string): void => {
    if (message === ALL_KEYS) this.waiters.wakeGroup(channel);
    else this.waiters.wake(channel, message);
  };

  constructor(private readonly client: RedisClientLike) {
    client.on('end', () => this.dropSubscriber());
  }

  /** Calls `onChange` when a message for `key` (or for every key) arrives on `channel`. */
  add(channel: string, key: string, onChange: Wake): () => void {
    if (!this.channels.has(channel)) {
      this.channels.set(channel, { active: false, subscribing: false });
    }
    const leave = this.waiters.add(channel, key, onChange);
    this.subscribePending();
    return leave;
  }

  /** Ends a channel's subscription once it has lingered without waiters. */
  private forget(channel: string): void {
    const state = this.channels.get(channel);
    if (!state) return;
    this.channels.delete(channel);
    if (state.active && this.subscriber) {
      this.subscriber.unsubscribe(channel, this.dispatch).catch(() => undefined);
    }
  }

  /** Subscribes every channel that has waiters and no subscription on the live connection. */
  private subscribePending(): void {
    if (!this.client.isOpen) return; // the user closed the client: open nothing new
    for (const [channel, state] of this.channels) {
      // A lingering channel without waiters is not subscribed again.
      if (state.active || state.subscribing || !this.waiters.has(channel)) continue;
      state.subscribing = true;
      this.connect()
        .then(async (subscriber) => {
          await subscriber.subscribe(channel, this.dispatch);
          if (this.subscriber !== subscriber) return; // lost meanwhile; dropSubscriber reset it
          state.subscribing = false;
          if (this.channels.get(channel) !== state) {
            // Every waiter left while the SUBSCRIBE was on its way.
            subscriber.unsubscribe(channel, this.dispatch).catch(() => undefined);
            return;
          }
          state.active = true;
          // A change published before the server confirmed was not delivered: re-check.
          this.waiters.wakeGroup(channel);
        })
        .catch(() => {
          // Waiters keep polling; the connection is retried while they remain.
          state.subscribing = false;
          this.scheduleRetry();
        });
    }
  }

  private connect(): Promise<RedisSubscriberLike> {
    if (this.subscriber) return Promise.resolve(this.subscriber);
    if (!this.connecting) {
      const subscriber = this.client.duplicate({
        // Our own retry is unref'd; node-redis's reconnection timer would hold the program.
        socket: { ...(this.client.options?.socket ?? {}), reconnectStrategy: false },
      });
      subscriber.on('error', () => this.dropSubscriber(subscriber));
      subscriber.unref();
      const attempt = subscriber.connect().then(() => {
        if (this.connecting !== attempt) {
          // The user's client ended while this connection was being opened.
          destroyQuietly(subscriber);
          throw new Error('the Redis client was closed');
        }
        this.connecting = undefined;
        this.subscriber = subscriber;
        return subscriber;
      });
      this.connecting = attempt;
      attempt.catch(() => {
        if (this.connecting === attempt) this.connecting = undefined;
        destroyQuietly(subscriber);
      });
    }
    return this.connecting;
  }

  /** Closes the subscriber connection (lost, or the user's client ended); waiters re-check. */
  private dropSubscriber(which?: RedisSubscriberLike): void {
    if (which && which !== this.subscriber) return;
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.connecting = undefined;
    if (subscriber) destroyQuietly(subscriber);
    for (const [channel, state] of this.channels) {
      if (!this.waiters.has(channel)) {
        // Lingering without waiters: nothing to subscribe again (its linger ends in forget).
        this.channels.delete(channel);
        continue;
      }
      const wasActive = state.active;
      state.active = false;
      state.subscribing = false;
      if (wasActive) this.waiters.wakeGroup(channel);
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.channels.size === 0 || !this.client.isOpen) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.subscribePending();
    }, RETRY_MS);
    this.retryTimer.unref();
  }
}

function destroyQuietly(subscriber: RedisSubscriberLike): void {
  try {
    subscriber.destroy();
  } catch {
    // Already closed.
  }
}

const hubs = new WeakMap<RedisClientLike, SubscriptionHub>();

/** The one hub (and so the one subscriber connection) of a user's client. */
export function hubOf(client: RedisClientLike): SubscriptionHub {
  let hub = hubs.get(client);
  if (!hub) {
    hub = new SubscriptionHub(client);
    hubs.set(client, hub);
  }
  return hub;
}
