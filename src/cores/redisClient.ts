/**
 * The part of a node-redis 5 client that cachier's Redis core uses. Kept structural so that
 * cachier's types compile without the optional `redis` package, and so that any client
 * from `createClient()` fits whatever its modules, scripts, RESP version or type mapping.
 *
 * @example
 * import { createClient } from 'redis';
 * const client: RedisClientLike = await createClient({ url: 'redis://127.0.0.1:6379' }).connect();
 */
export interface RedisClientLike {
  /** `false` once the client was closed (`quit`, `close`, `destroy`) or before `connect`. */
  readonly isOpen: boolean;
  /** `false` while an open client has lost its connection and is reconnecting. */
  readonly isReady?: boolean;
  /** The options the client was made with; the core copies its socket options for its subscriber. */
  readonly options?: { readonly socket?: object } | undefined;
  /** Sends one raw command (node-redis `sendCommand`). */
  sendCommand(
    args: ReadonlyArray<string | Buffer>,
    options?: RedisCommandOptionsLike,
  ): Promise<unknown>;
  /** A new, unconnected client with the same options: the core's pub/sub connection. */
  duplicate(overrides?: { socket?: object }): RedisSubscriberLike;
  /** node-redis emits `end` when the client is closed. */
  on(event: 'end', listener: () => void): unknown;
}

/** Per-command options of node-redis 5 that the core sets. */
export interface RedisCommandOptionsLike {
  /** RESP type → JavaScript type; the core maps blob strings to `Buffer` to read bytes exactly. */
  typeMapping?: { [respType: number]: unknown };
  /** Drops the command if it was not sent within this many ms (e.g. queued while offline). */
  timeout?: number;
}

/** The pub/sub side of a node-redis 5 client (the core's own duplicate of the user's client). */
export interface RedisSubscriberLike {
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
  unsubscribe(
    channel: string,
    listener?: (message: string, channel: string) => void,
  ): Promise<void>;
  /** Closes at once, failing anything pending. Throws if already closed. */
  destroy(): void;
  /** Lets the program exit while this connection is open. */
  unref(): void;
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

/**
 * The Redis client a {@link RedisCore} uses: a connected client from node-redis's
 * `createClient()`, or a function returning one (or a promise of one). A function is
 * called before the first operation and again after the server proved unreachable.
 *
 * @example
 * const client = await createClient({ url: process.env.REDIS_URL }).connect();
 * new RedisCore({ client });
 * new RedisCore({ client: () => client });
 */
export type RedisClientSource =
  | RedisClientLike
  | (() => RedisClientLike | Promise<RedisClientLike>);
