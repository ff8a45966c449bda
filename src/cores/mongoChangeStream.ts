import { shared } from '../processState.js';
import { Waiters, type Wake } from './waiters.js';

/** How long the change stream stays open after its last waiter left (waits come and go). */
const LINGER_MS = 10_000;
/** After a change stream broke or closed, waits rely on polling this long before a retry. */
const RETRY_AFTER_MS = 1_000;
/**
 * After the server refused to open a change stream (a standalone mongod answers code 40573,
 * "only supported on replica sets"; a user may lack the privilege), waits rely on polling
 * this long before the next attempt.
 */
const REFUSED_RETRY_AFTER_MS = 5 * 60_000;

/**
 * Only what a waiter needs to tell which entry changed: the `_id` (the resume token, which
 * the driver requires) stays, and `fullDocument` keeps only `name` and `key`, so an update
 * never ships the stored value back.
 */
const PIPELINE = [
  { $match: { operationType: { $in: ['insert', 'update', 'replace', 'delete'] } } },
  { $project: { operationType: 1, 'fullDocument.name': 1, 'fullDocument.key': 1 } },
];

/** The part of a driver ChangeStream this hub uses. */
interface ChangeStreamLike {
  on(event: string, listener: (payload: unknown) => void): unknown;
  close(): Promise<unknown>;
  /** The driver's cursor; its 'init' event says the server accepted the stream. */
  readonly cursor?: { once?(event: string, listener: () => void): unknown };
}

/** The part of a driver Collection this hub uses. */
interface WatchableCollection {
  watch(pipeline: object[], options: object): ChangeStreamLike;
}

function isWatchable(collection: object): collection is WatchableCollection {
  return typeof (collection as { watch?: unknown }).watch === 'function';
}

const entryId = (name: string, key: string) => `${name.length}:${name}${key}`;
/** One change stream serves the whole collection: its waiters are one group. */
const COLLECTION = '';

/**
 * One change stream per collection, shared by every waiter of every MongoCore on that
 * collection (same client, same namespace) in the process, routing each insert, update,
 * replace or delete of a cache document to the waiters of its `(name, key)`. A delete
 * carries only the document's `_id` (an ObjectId that says nothing of the entry), so it
 * wakes every waiter of the collection: spurious wake-ups only cost a read.
 *
 * The stream is opened on the first subscription and closed {@link LINGER_MS} after the
 * last waiter left (each wait subscribes anew, so closing at once would reopen the stream
 * on every poll). It adds no timer or socket of its own that holds the process: its
 * linger timer is unref'd, and its cursor lives on the user's MongoClient, which closes it
 * on `client.close()`. Failures only leave polling: a server that refuses change streams
 * is asked again after {@link REFUSED_RETRY_AFTER_MS}; a stream that breaks later (network,
 * lost resume token, collection dropped) is closed, every waiter is woken once to re-read,
 * and a later subscription opens a new one after {@link RETRY_AFTER_MS}.
 */
export class ChangeStreamHub {
  private readonly waiters = new Waiters({
    idleMs: LINGER_MS,
    onIdle: () => this.closeStream(),
  });
  private stream: ChangeStreamLike | undefined;
  private retryAt = 0;
  /** How many change streams this hub asked the server for (tests check "once, not per wait"). */
  opened = 0;

  constructor(private collection: object) {}

  /** Calls `onChange` whenever the entry `(name, key)` may have changed; returns the unsubscribe. */
  add(collection: object, name: string, key: string, onChange: Wake): () => void {
    // The latest Collection object: an earlier one may belong to a mongetter result given up on.
    this.collection = collection;
    const leave = this.waiters.add(COLLECTION, entryId(name, key), onChange);
    this.open();
    return leave;
  }

  private open(): void {
    if (this.stream || Date.now() < this.retryAt || !isWatchable(this.collection)) return;
    let stream: ChangeStreamLike;
    try {
      stream = this.collection.watch(PIPELINE, { fullDocument: 'updateLookup' });
    } catch {
      this.retryAt = Date.now() + RETRY_AFTER_MS;
      return;
    }
    this.stream = stream;
    this.opened++;
    let accepted = false;
    const accept = () => {
      if (accepted) return;
      accepted = true;
      // Changes made before the server accepted the stream were not seen: re-read now.
      if (this.stream === stream) this.waiters.wakeAll();
    };
    try {
      stream.cursor?.once?.('init', accept);
    } catch {
      // Without the cursor's event, the first change says the stream was accepted.
    }
    stream.on('change', (event) => {
      accepted = true;
      if (this.stream === stream) this.route(event);
    });
    stream.on('error', (error) => {
      // The server answered but refused: a standalone, or no privilege to watch.
      const refused = !accepted && typeof (error as { code?: unknown })?.code === 'number';
      this.lost(stream, refused ? REFUSED_RETRY_AFTER_MS : RETRY_AFTER_MS);
    });
    // Closed by the driver: after an error, on client.close(), or when the collection is dropped.
    stream.on('close', () => this.lost(stream, RETRY_AFTER_MS));
  }

  private route(event: unknown): void {
    const doc = (event as { fullDocument?: { name?: unknown; key?: unknown } | null } | null)
      ?.fullDocument;
    if (typeof doc?.name === 'string' && typeof doc.key === 'string') {
      this.waiters.wake(COLLECTION, entryId(doc.name, doc.key));
      return;
    }
    // A delete (only the ObjectId `_id` is known), or an update whose document is already gone.
    this.waiters.wakeAll();
  }

  /** The stream failed or closed: drop it, re-check every waiter, retry no sooner than `retryMs`. */
  private lost(stream: ChangeStreamLike, retryMs: number): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.retryAt = Math.max(this.retryAt, Date.now() + retryMs);
    stream.close().catch(() => undefined);
    this.waiters.wakeAll();
  }

  private closeStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    stream?.close().catch(() => undefined);
  }
}

/**
 * The one hub (and so the one change stream) of a collection: Collection objects of the
 * same client and namespace share it (`client.db(d).collection(c)` makes a new object on
 * every call); an object without a `client` gets its own.
 */
export function changeStreamHubOf(collection: object): ChangeStreamHub {
  const { client, dbName, collectionName } = collection as {
    client?: unknown;
    dbName?: unknown;
    collectionName?: unknown;
  };
  const owner = typeof client === 'object' && client !== null ? client : collection;
  const namespace = `${String(dbName)}.${String(collectionName)}`;
  // By the user's MongoClient, then by namespace ("db.collection").
  const hubsByClient = shared(
    'mongoChangeStreamHubs',
    () => new WeakMap<object, Map<string, ChangeStreamHub>>(),
  );
  let byNamespace = hubsByClient.get(owner);
  if (!byNamespace) {
    byNamespace = new Map();
    hubsByClient.set(owner, byNamespace);
  }
  let hub = byNamespace.get(namespace);
  if (!hub) {
    hub = new ChangeStreamHub(collection);
    byNamespace.set(namespace, hub);
  }
  return hub;
}
