/**
 * The part of a `mongodb` driver `Collection` that cachier's public types mention.
 * Kept structural so that users of the file and memory cores compile without the
 * optional `mongodb` package installed; any driver `Collection` fits it.
 *
 * @example
 * const collection: MongoCollectionLike = client.db('app').collection('cachier');
 */
export interface MongoCollectionLike {
  /** The collection's name (as on a driver `Collection`). */
  readonly collectionName: string;
  /** The database's name (as on a driver `Collection`). */
  readonly dbName: string;
}

/**
 * Returns the `mongodb` driver Collection that holds the cache (as in Python cachier).
 * Called lazily, before the first cache operation, and again after a failure.
 *
 * @example
 * const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2000 });
 * const mongetter = () => client.db('app').collection('cachier');
 */
export type MongoGetter = () => MongoCollectionLike | Promise<MongoCollectionLike>;
