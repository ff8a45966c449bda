/**
 * An in-memory MongoDB wire-protocol server for tests, speaking to the real `mongodb` driver.
 * It answers as a standalone server, enforces unique indexes like MongoDB (E11000 errors),
 * and rejects every command it does not implement with CommandNotFound (code 59). It
 * implements only what MongoCore and its tests make the driver send: the handshake, ping,
 * endSessions, index commands, insert/update/delete/findAndModify, find with cursors,
 * distinct, aggregate (countDocuments) and dropDatabase; with `changeStreams`, `$changeStream`
 * aggregations too.
 * Every command runs synchronously from decode to reply, so no other request can interleave
 * with a read-modify-write (findAndModify is atomic by construction).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Binary, BSON, type Document, Long, ObjectId } from 'bson';
import { Aggregator, Context, find as mingoFind, update as mingoUpdate, Query } from 'mingo';
import { evalExpr } from 'mingo/core';
import type { ExpressionOperator, QueryOperator } from 'mingo/types';
import {
  encodeMsgReply,
  encodeOpReply,
  MSG_MORE_TO_COME,
  OP_QUERY,
  type WireMessage,
} from './mongoWire.js';

class CommandError extends Error {
  constructor(
    readonly code: number,
    readonly codeName: string,
    message: string,
    readonly extra: Document = {},
  ) {
    super(message);
  }
}

const badValue = (message: string) => new CommandError(2, 'BadValue', message);
const failedToParse = (message: string) => new CommandError(9, 'FailedToParse', message);

// ---------------------------------------------------------------------------------------------
// Values and paths

function isPlainObject(value: unknown): value is Document {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const clone = (doc: Document): Document => BSON.deserialize(BSON.serialize(doc));
/** Equality of two values as BSON (type and bytes), the way an index compares keys. */
const bsonKey = (value: unknown): string =>
  Buffer.from(BSON.serialize({ v: value === undefined ? null : value })).toString('base64');
const sameDoc = (a: Document, b: Document) =>
  Buffer.from(BSON.serialize(a)).equals(BSON.serialize(b));

/** Values at a dotted path; arrays along the way fan out (multikey); missing → undefined. */
function pathValues(value: unknown, parts: string[]): unknown[] {
  const [head, ...rest] = parts;
  if (head === undefined) return Array.isArray(value) ? value : [value];
  if (Array.isArray(value)) {
    if (/^\d+$/.test(head)) return pathValues(value[Number(head)], rest);
    return value.flatMap((item) => pathValues(item, parts));
  }
  return isPlainObject(value) ? pathValues(value[head], rest) : [undefined];
}

function setPath(doc: Document, path: string, value: unknown): void {
  const parts = path.split('.');
  let target = doc;
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(target[part])) target[part] = {};
    target = target[part] as Document;
  }
  target[parts[parts.length - 1] as string] = value;
}

/** Renders a value the way MongoDB prints it in E11000 messages. */
function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Date) return `new Date(${value.getTime()})`;
  if (value instanceof ObjectId) return `ObjectId('${value.toHexString()}')`;
  if (value instanceof Binary) {
    return `BinData(${value.sub_type}, ${Buffer.from(value.buffer).toString('hex').toUpperCase()})`;
  }
  if (Array.isArray(value)) return `[ ${value.map(formatValue).join(', ')} ]`;
  if (isPlainObject(value)) {
    const fields = Object.entries(value).map(([k, v]) => `${k}: ${formatValue(v)}`);
    return fields.length === 0 ? '{}' : `{ ${fields.join(', ')} }`;
  }
  return String(value);
}

const withIdFirst = (doc: Document): Document => {
  const { _id, ...rest } = doc;
  return { _id: _id === undefined ? new ObjectId() : _id, ...rest };
};

// ---------------------------------------------------------------------------------------------
// Collections and unique indexes

interface Index {
  name: string;
  key: Document;
  unique: boolean;
  sparse: boolean;
  partial: Query | undefined;
  spec: Document;
  /** Unique indexes only: index key → the document holding it. */
  entries: Map<string, Document>;
}

const INDEX_OPTIONS = new Set([
  'key',
  'name',
  'unique',
  'sparse',
  'partialFilterExpression',
  'expireAfterSeconds',
  'background',
  'v',
]);

function makeIndex(spec: Document): Index {
  for (const field of Object.keys(spec)) {
    if (!INDEX_OPTIONS.has(field)) {
      throw new CommandError(
        197,
        'InvalidIndexSpecificationOption',
        `The field '${field}' is not valid for an index specification (test server)`,
      );
    }
  }
  const { key, name } = spec;
  if (!isPlainObject(key) || Object.keys(key).length === 0 || typeof name !== 'string') {
    throw failedToParse("index specification needs a non-empty 'key' document and a 'name'");
  }
  for (const [field, direction] of Object.entries(key)) {
    if (direction !== 1 && direction !== -1) {
      throw new CommandError(67, 'CannotCreateIndex', `unsupported index type for '${field}'`);
    }
  }
  const { v: _v, background: _b, ...options } = spec;
  return {
    name,
    key,
    unique: spec.unique === true || name === '_id_',
    sparse: spec.sparse === true,
    partial: isPlainObject(spec.partialFilterExpression)
      ? new Query(spec.partialFilterExpression)
      : undefined,
    spec: { v: 2, ...options, key, name },
    entries: new Map(),
  };
}

/** What makes two index specifications the same index (field order and defaults aside). */
const indexOptions = ({ key, unique, sparse, spec }: Index): string =>
  bsonKey([key, unique, sparse, spec.partialFilterExpression, spec.expireAfterSeconds]);

/** The keys a document contributes to an index: index key string → keyValue document. */
function indexKeys(index: Index, doc: Document): Map<string, Document> {
  const keys = new Map<string, Document>();
  const fields = Object.keys(index.key);
  const perField = fields.map((field) => {
    const values = pathValues(doc, field.split('.'));
    return values.length === 0 ? [undefined] : values;
  });
  if (index.sparse && perField.every((values) => values.every((v) => v === undefined))) return keys;
  if (index.partial && !index.partial.test(doc)) return keys;
  let combos: unknown[][] = [[]];
  for (const values of perField) combos = combos.flatMap((c) => values.map((v) => [...c, v]));
  for (const combo of combos) {
    const keyValue: Document = {};
    fields.forEach((field, i) => {
      keyValue[field] = combo[i] === undefined ? null : combo[i];
    });
    keys.set(bsonKey(combo), keyValue);
  }
  return keys;
}

function duplicateKey(ns: string, index: Index, keyValue: Document, prefix = ''): CommandError {
  const errmsg = `${prefix}E11000 duplicate key error collection: ${ns} index: ${index.name} dup key: ${formatValue(keyValue)}`;
  return new CommandError(11000, 'DuplicateKey', errmsg, { keyPattern: index.key, keyValue });
}

const MAX_BSON_SIZE = 16 * 1024 * 1024;

function checkSize(doc: Document): void {
  const size = BSON.calculateObjectSize(doc);
  if (size > MAX_BSON_SIZE) {
    const errmsg = `object to insert too large. size in bytes: ${size}, max size: ${MAX_BSON_SIZE}`;
    throw new CommandError(10334, 'BSONObjectTooLarge', errmsg);
  }
}

class Collection {
  readonly docs: Document[] = [];
  readonly indexes: Index[] = [makeIndex({ key: { _id: 1 }, name: '_id_' })];

  /** Told of every insert, update and delete (for change streams). */
  onChange: ((operationType: ChangeType, doc: Document) => void) | undefined;

  constructor(readonly ns: string) {}

  /** Throws DuplicateKey, changing nothing, if `doc` collides with a document other than `self`. */
  private check(doc: Document, self?: Document): void {
    for (const index of this.indexes) {
      if (!index.unique) continue;
      for (const [key, keyValue] of indexKeys(index, doc)) {
        const holder = index.entries.get(key);
        if (holder !== undefined && holder !== self) throw duplicateKey(this.ns, index, keyValue);
      }
    }
  }

  private link(doc: Document, add: boolean): void {
    for (const index of this.indexes) {
      if (!index.unique) continue;
      for (const key of indexKeys(index, doc).keys()) {
        if (add) index.entries.set(key, doc);
        else if (index.entries.get(key) === doc) index.entries.delete(key);
      }
    }
  }

  insert(doc: Document): void {
    if (Array.isArray(doc._id)) {
      throw new CommandError(53, 'InvalidIdField', "The '_id' value cannot be of type array");
    }
    checkSize(doc);
    this.check(doc);
    this.docs.push(doc);
    this.link(doc, true);
    this.onChange?.('insert', doc);
  }

  replace(old: Document, doc: Document): void {
    checkSize(doc);
    this.check(doc, old);
    this.link(old, false);
    this.docs[this.docs.indexOf(old)] = doc;
    this.link(doc, true);
    this.onChange?.('update', doc);
  }

  remove(doc: Document): void {
    this.link(doc, false);
    this.docs.splice(this.docs.indexOf(doc), 1);
    this.onChange?.('delete', doc);
  }

  /** Adds an index; re-creating an identical one is a no-op, conflicting ones fail like MongoDB. */
  addIndex(index: Index): void {
    const sameName = this.indexes.find((i) => i.name === index.name);
    if (sameName && indexOptions(sameName) === indexOptions(index)) return;
    if (sameName) {
      throw new CommandError(
        86,
        'IndexKeySpecsConflict',
        `An existing index has the same name as the requested index but different options. Requested index: ${formatValue(index.spec)}, existing index: ${formatValue(sameName.spec)}`,
      );
    }
    const sameKey = this.indexes.find((i) => bsonKey(i.key) === bsonKey(index.key));
    if (sameKey) {
      throw new CommandError(
        85,
        'IndexOptionsConflict',
        `Index already exists with a different name: ${sameKey.name}`,
      );
    }
    if (index.unique) {
      for (const doc of this.docs) {
        for (const [key, keyValue] of indexKeys(index, doc)) {
          const holder = index.entries.get(key);
          if (holder !== undefined && holder !== doc) {
            throw duplicateKey(this.ns, index, keyValue, 'Index build failed: ');
          }
          index.entries.set(key, doc);
        }
      }
    }
    this.indexes.push(index);
  }

  /** Matching documents (the stored objects), in sort order or natural order. */
  match(filter: unknown, sort?: unknown): Document[] {
    const condition = isPlainObject(filter) ? (withBinDataType(filter) as Document) : {};
    const cursor = mingoFind(this.docs, condition, undefined, {
      context: EXTRA_EXPRESSIONS,
    });
    if (isPlainObject(sort) && Object.keys(sort).length > 0) cursor.sort(sort);
    return cursor.all() as Document[];
  }
}

// ---------------------------------------------------------------------------------------------
// Updates

const UPDATE_OPERATORS = new Set([
  '$set',
  '$unset',
  '$inc',
  '$mul',
  '$min',
  '$max',
  '$rename',
  '$currentDate',
  '$setOnInsert',
  '$push',
  '$pull',
  '$pullAll',
  '$addToSet',
  '$pop',
  '$bit',
]);

/** True for `{$set: ...}`-style updates; validates operators and conflicting paths like MongoDB. */
function isOperatorUpdate(update: Document): boolean {
  const keys = Object.keys(update);
  if (!keys.some((k) => k.startsWith('$'))) return false;
  const paths: string[] = [];
  for (const key of keys) {
    if (!UPDATE_OPERATORS.has(key)) {
      throw failedToParse(
        `Unknown modifier: ${key}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
    }
    const args = update[key];
    if (!isPlainObject(args)) throw failedToParse(`Modifiers operate on fields but ${key} is not`);
    for (const [path, value] of Object.entries(args)) {
      const touched = key === '$rename' && typeof value === 'string' ? [path, value] : [path];
      for (const p of touched) {
        const clash = paths.find((q) => q === p || q.startsWith(`${p}.`) || p.startsWith(`${q}.`));
        if (clash !== undefined) {
          throw new CommandError(
            40,
            'ConflictingUpdateOperators',
            `Updating the path '${p}' would create a conflict at '${clash}'`,
          );
        }
        paths.push(p);
      }
    }
  }
  return true;
}

const immutableId = () =>
  new CommandError(
    66,
    'ImmutableField',
    "Performing an update on the path '_id' would modify the immutable field '_id'",
  );

/** Applies an update (operators, replacement or pipeline) to a copy of `base`. */
function applyUpdate(base: Document, update: unknown, arrayFilters: unknown, inserting: boolean) {
  let doc: Document;
  if (Array.isArray(update)) {
    doc = new Aggregator(update as Document[]).run([clone(base)])[0] as Document;
  } else if (!isPlainObject(update)) {
    throw failedToParse('Update argument must be either an object or an array');
  } else if (isOperatorUpdate(update)) {
    doc = clone(base);
    const { $setOnInsert, ...operators } = update;
    const steps = inserting && $setOnInsert ? [operators, { $set: $setOnInsert }] : [operators];
    const filters = Array.isArray(arrayFilters) ? (arrayFilters as Document[]) : undefined;
    for (const step of steps) {
      // mingo refuses every _id path; MongoDB lets $set write _id (checked below), nothing else.
      if (step.$set && '_id' in step.$set) {
        const { _id, ...rest } = step.$set;
        doc._id = _id;
        step.$set = rest;
      }
      for (const args of Object.values(step) as Document[]) {
        if (Object.keys(args).some((path) => path === '_id' || path.startsWith('_id.'))) {
          throw immutableId();
        }
      }
      if (Object.keys(step).length > 0) mingoUpdate(doc, step, filters);
    }
  } else {
    doc = { ...clone(update), _id: update._id ?? base._id };
  }
  if (base._id !== undefined && bsonKey(doc._id) !== bsonKey(base._id)) throw immutableId();
  return withIdFirst(doc);
}

/** The new document of an upsert: equality fields of the filter (also under $and), then update. */
function upsertDocument(filter: unknown, update: unknown, arrayFilters: unknown): Document {
  const seed: Document = {};
  const visit = (criteria: unknown) => {
    if (!isPlainObject(criteria)) return;
    for (const [field, value] of Object.entries(criteria)) {
      if (field === '$and' && Array.isArray(value)) value.forEach(visit);
      if (field.startsWith('$')) continue;
      if (!isPlainObject(value) || !Object.keys(value)[0]?.startsWith('$')) {
        if (!(value instanceof RegExp)) setPath(seed, field, value);
      } else if ('$eq' in value) {
        setPath(seed, field, value.$eq);
      } else if (Array.isArray(value.$in) && value.$in.length === 1) {
        setPath(seed, field, value.$in[0]);
      }
    }
  };
  visit(filter);
  const replacement = isPlainObject(update) && !Object.keys(update).some((k) => k.startsWith('$'));
  const base = replacement ? (seed._id === undefined ? {} : { _id: seed._id }) : seed;
  return applyUpdate(base, update, arrayFilters, true);
}

// ---------------------------------------------------------------------------------------------
// The command engine

type Handler = (cmd: Document, db: string, connectionId: number) => Document;

type ChangeType = 'insert' | 'update' | 'delete';

/** One recorded write, for change streams. */
interface ChangeRecord {
  seq: number;
  ns: string;
  operationType: ChangeType;
  _id: unknown;
}

interface ServerCursor {
  ns: string;
  docs: Document[];
  /** Set on a change stream's tailable cursor. */
  changes?: { after: number; pipeline: Document[]; updateLookup: boolean };
}

/** Options of the test server. */
export interface MongoTestServerOptions {
  /**
   * Serve `$changeStream` aggregations (tailable cursors fed by every insert, update and
   * delete), as a replica set does. Off by default: the server answers as a standalone,
   * with error 40573.
   */
  changeStreams?: boolean;
}

const resumeToken = (seq: number) => ({ _data: seq.toString(16).padStart(16, '0') });

const asNumber = (value: unknown, fallback: number): number =>
  typeof value === 'number' ? value : value instanceof Long ? value.toNumber() : fallback;

/**
 * Expressions MongoDB has and mingo lacks: `$binarySize` (MongoDB 4.4+), which fails the
 * whole command on a value that is neither a string, BinData, null nor missing.
 */
function binarySize(...args: Parameters<typeof evalExpr>): number | null {
  const value: unknown = evalExpr(...args);
  if (value instanceof Binary) return value.length();
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (value === null || value === undefined) return null;
  throw new CommandError(
    51276,
    'Location51276',
    `$binarySize requires a string or BinData argument, found: ${typeof value}`,
  );
}
/**
 * mingo's `$type` query operator lacks MongoDB's `'binData'` (5), and a context cannot
 * replace a built-in operator: filters name this server's own operator instead, which
 * matches when the field (or, in an array, one of its elements) is a BSON Binary.
 */
function withBinDataType(filter: unknown): unknown {
  if (Array.isArray(filter)) return filter.map(withBinDataType);
  if (!isPlainObject(filter)) return filter;
  const rewritten: Document = {};
  for (const [field, value] of Object.entries(filter)) {
    if (field === '$type' && (value === 'binData' || value === 5)) rewritten.$isBinData = true;
    else rewritten[field] = withBinDataType(value);
  }
  return rewritten;
}
const isBinData = (selector: string) => (doc: Document) =>
  pathValues(doc, selector.split('.')).some((v) => v instanceof Binary || v instanceof Uint8Array);
const EXTRA_EXPRESSIONS = Context.init({
  // The casts only spare tsc mingo's deep `Any` union (TS2590); the signatures match.
  expression: { $binarySize: binarySize as unknown as ExpressionOperator },
  query: { $isBinData: isBinData as unknown as QueryOperator },
});

function projectOne(doc: Document, projection: unknown): Document {
  if (!isPlainObject(projection) || Object.keys(projection).length === 0) return doc;
  const [projected] = mingoFind([doc], {}, projection, {
    context: EXTRA_EXPRESSIONS,
  }).all() as Document[];
  return projected && '_id' in projected ? withIdFirst(projected) : (projected ?? {});
}

/** The command engine: one in-memory deployment. Served by mongoTestServerMain.ts. */
export class Engine {
  private readonly dbs = new Map<string, Map<string, Collection>>();
  private readonly cursors = new Map<string, ServerCursor>();
  private nextCursorId = 1;
  private readonly changes: ChangeRecord[] = [];
  private changeSeq = 0;
  private readonly changeWaiters = new Set<() => void>();

  constructor(private readonly options: MongoTestServerOptions = {}) {}

  private recordChange(ns: string, operationType: ChangeType, doc: Document): void {
    if (!this.options.changeStreams) return;
    this.changes.push({
      seq: ++this.changeSeq,
      ns,
      operationType,
      _id: clone({ _id: doc._id })._id,
    });
    for (const wake of [...this.changeWaiters]) wake();
  }

  /** The change events after the cursor's position, as the change stream's pipeline makes them. */
  private drainChanges(cursor: ServerCursor): Document[] {
    const state = cursor.changes;
    if (!state) return [];
    const [db = '', ...rest] = cursor.ns.split('.');
    const collName = rest.join('.');
    const events: Document[] = [];
    for (const record of this.changes) {
      if (record.seq <= state.after || record.ns !== cursor.ns) continue;
      const event: Document = {
        _id: resumeToken(record.seq),
        operationType: record.operationType,
        ns: { db, coll: collName },
        documentKey: { _id: record._id },
      };
      if (record.operationType === 'insert' || state.updateLookup) {
        if (record.operationType !== 'delete') {
          const current = this.collection(db, collName)?.docs.find((doc) =>
            sameDoc({ _id: doc._id }, { _id: record._id }),
          );
          event.fullDocument = current ? clone(current) : null;
        }
      }
      events.push(event);
    }
    state.after = this.changeSeq;
    return state.pipeline.length > 0
      ? (new Aggregator(state.pipeline).run(events) as Document[])
      : events;
  }

  /** Resolves when a write happens or after `ms`. */
  private nextChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.changeWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.changeWaiters.add(done);
    });
  }

  private collection(db: string, name: unknown, create: true): Collection;
  private collection(db: string, name: unknown, create?: boolean): Collection | undefined;
  private collection(db: string, name: unknown, create = false): Collection | undefined {
    if (typeof name !== 'string' || name === '') {
      throw new CommandError(73, 'InvalidNamespace', `Invalid namespace specified '${db}.${name}'`);
    }
    let collections = this.dbs.get(db);
    if (!collections && create) {
      collections = new Map();
      this.dbs.set(db, collections);
    }
    let coll = collections?.get(name);
    if (!coll && create && collections) {
      coll = new Collection(`${db}.${name}`);
      const ns = coll.ns;
      coll.onChange = (operationType, doc) => this.recordChange(ns, operationType, doc);
      collections.set(name, coll);
    }
    return coll;
  }

  private cursorReply(ns: string, docs: Document[], batchSize: unknown, single = false): Document {
    const size = asNumber(batchSize, 101);
    const firstBatch = docs.slice(0, size);
    let id = Long.ZERO;
    if (!single && docs.length > size) {
      id = Long.fromNumber(this.nextCursorId++);
      this.cursors.set(id.toString(), { ns, docs: docs.slice(size) });
    }
    return { cursor: { firstBatch, id, ns }, ok: 1 };
  }

  private hello(connectionId: number, legacy: boolean): Document {
    return {
      [legacy ? 'ismaster' : 'isWritablePrimary']: true,
      helloOk: true,
      maxBsonObjectSize: MAX_BSON_SIZE,
      maxMessageSizeBytes: 48000000,
      maxWriteBatchSize: 100000,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId,
      minWireVersion: 0,
      maxWireVersion: 21,
      readOnly: false,
      ok: 1,
    };
  }

  private readonly commands: Record<string, Handler> = {
    hello: (_cmd, _db, id) => this.hello(id, false),
    isMaster: (_cmd, _db, id) => this.hello(id, true),
    ismaster: (_cmd, _db, id) => this.hello(id, true),
    ping: () => ({ ok: 1 }),
    endSessions: () => ({ ok: 1 }),

    dropDatabase: (_cmd, db) => {
      this.dbs.delete(db);
      for (const [id, cursor] of this.cursors) {
        if (cursor.ns.startsWith(`${db}.`)) this.cursors.delete(id);
      }
      return { dropped: db, ok: 1 };
    },

    createIndexes: (cmd, db) => {
      if (!Array.isArray(cmd.indexes) || cmd.indexes.length === 0) {
        throw badValue("Must specify at least one index to create in 'indexes'");
      }
      const existed = this.collection(db, cmd.createIndexes) !== undefined;
      const requested = (cmd.indexes as Document[]).map(makeIndex);
      const coll = this.collection(db, cmd.createIndexes, true);
      const before = coll.indexes.length;
      try {
        for (const index of requested) coll.addIndex(index);
      } catch (error) {
        coll.indexes.splice(before); // all or nothing, like MongoDB
        throw error;
      }
      const after = coll.indexes.length;
      return {
        numIndexesBefore: before,
        numIndexesAfter: after,
        ...(before === after ? { note: 'all indexes already exist' } : {}),
        createdCollectionAutomatically: !existed,
        ok: 1,
      };
    },

    listIndexes: (cmd, db) => {
      const coll = this.collection(db, cmd.listIndexes);
      if (!coll) {
        throw new CommandError(
          26,
          'NamespaceNotFound',
          `ns does not exist: ${db}.${cmd.listIndexes}`,
        );
      }
      const specs = coll.indexes.map((i) => i.spec);
      return this.cursorReply(coll.ns, specs, cmd.cursor?.batchSize);
    },

    dropIndexes: (cmd, db) => {
      const coll = this.collection(db, cmd.dropIndexes);
      if (!coll) {
        throw new CommandError(26, 'NamespaceNotFound', `ns not found ${db}.${cmd.dropIndexes}`);
      }
      const was = coll.indexes.length;
      const wanted: unknown[] = Array.isArray(cmd.index) ? cmd.index : [cmd.index];
      const doomed =
        cmd.index === '*'
          ? coll.indexes.filter((i) => i.name !== '_id_')
          : wanted.map((w) => {
              const found = coll.indexes.find((i) =>
                typeof w === 'string' ? i.name === w : bsonKey(i.key) === bsonKey(w),
              );
              if (!found) {
                throw new CommandError(
                  27,
                  'IndexNotFound',
                  `index not found with name [${formatValue(w)}]`,
                );
              }
              if (found.name === '_id_') {
                throw new CommandError(72, 'InvalidOptions', 'cannot drop _id index');
              }
              return found;
            });
      for (const index of doomed) coll.indexes.splice(coll.indexes.indexOf(index), 1);
      return { nIndexesWas: was, ok: 1 };
    },

    insert: (cmd, db) => {
      const coll = this.collection(db, cmd.insert, true);
      const documents: Document[] = Array.isArray(cmd.documents) ? cmd.documents : [];
      return this.writeBatch(documents, cmd.ordered !== false, (doc) => {
        coll.insert(withIdFirst(doc));
        return { n: 1 };
      });
    },

    update: (cmd, db) => {
      const updates: Document[] = Array.isArray(cmd.updates) ? cmd.updates : [];
      let nModified = 0;
      const upserted: Document[] = [];
      const reply = this.writeBatch(updates, cmd.ordered !== false, (stmt, index) => {
        const { q, u, upsert, multi, arrayFilters, sort } = stmt;
        const replacement = isPlainObject(u) && !Object.keys(u).some((k) => k.startsWith('$'));
        if (multi && replacement) {
          throw failedToParse('multi update is not supported for replacement-style update');
        }
        const coll = this.collection(db, cmd.update, upsert === true);
        const targets = coll?.match(q, sort) ?? [];
        for (const target of multi ? targets : targets.slice(0, 1)) {
          const next = applyUpdate(target, u, arrayFilters, false);
          if (sameDoc(target, next)) continue;
          coll?.replace(target, next);
          nModified += 1;
        }
        if (targets.length > 0 || !upsert || !coll) {
          return { n: multi ? targets.length : Math.min(targets.length, 1) };
        }
        const doc = upsertDocument(q, u, arrayFilters);
        coll.insert(doc);
        upserted.push({ index, _id: doc._id });
        return { n: 1 };
      });
      return { ...reply, nModified, ...(upserted.length > 0 ? { upserted } : {}) };
    },

    delete: (cmd, db) => {
      const deletes: Document[] = Array.isArray(cmd.deletes) ? cmd.deletes : [];
      const coll = this.collection(db, cmd.delete);
      return this.writeBatch(deletes, cmd.ordered !== false, ({ q, limit }) => {
        if (limit !== 0 && limit !== 1) {
          throw failedToParse(`The limit field in delete objects must be 0 or 1. Got ${limit}`);
        }
        const targets = coll?.match(q) ?? [];
        const doomed = limit === 1 ? targets.slice(0, 1) : targets;
        for (const doc of doomed) coll?.remove(doc);
        return { n: doomed.length };
      });
    },

    findAndModify: (cmd, db) => {
      const { query, sort, update, upsert, remove, fields, arrayFilters } = cmd;
      if (remove && update !== undefined) {
        throw failedToParse('Cannot specify both an update and remove=true');
      }
      if (!remove && update === undefined) {
        throw failedToParse('Either an update or remove=true must be specified');
      }
      if (remove && upsert) throw failedToParse('Cannot specify both upsert=true and remove=true');
      if (remove && cmd.new) {
        throw failedToParse(
          "Cannot specify both new=true and remove=true; 'remove' always returns the deleted document",
        );
      }
      const coll = this.collection(db, cmd.findAndModify, upsert === true);
      const [target] = coll?.match(query, sort) ?? [];
      if (coll && target && remove) {
        coll.remove(target);
        return { lastErrorObject: { n: 1 }, value: projectOne(target, fields), ok: 1 };
      }
      if (coll && target) {
        const next = applyUpdate(target, update, arrayFilters, false);
        if (!sameDoc(target, next)) coll.replace(target, next);
        const value = projectOne(cmd.new ? next : target, fields);
        return { lastErrorObject: { n: 1, updatedExisting: true }, value, ok: 1 };
      }
      if (coll && upsert) {
        const doc = upsertDocument(query, update, arrayFilters);
        coll.insert(doc);
        const value = cmd.new ? projectOne(doc, fields) : null;
        const lastErrorObject = { n: 1, updatedExisting: false, upserted: doc._id };
        return { lastErrorObject, value, ok: 1 };
      }
      const lastErrorObject = remove ? { n: 0 } : { n: 0, updatedExisting: false };
      return { lastErrorObject, value: null, ok: 1 };
    },

    find: (cmd, db) => {
      const coll = this.collection(db, cmd.find);
      const limit = asNumber(cmd.limit, 0);
      let docs = coll?.match(cmd.filter, cmd.sort) ?? [];
      docs = docs.slice(asNumber(cmd.skip, 0));
      if (limit !== 0) docs = docs.slice(0, Math.abs(limit));
      docs = docs.map((doc) => projectOne(doc, cmd.projection));
      const single = cmd.singleBatch === true || limit < 0;
      return this.cursorReply(`${db}.${cmd.find}`, docs, cmd.batchSize, single);
    },

    getMore: (cmd, db) => {
      const id = String(cmd.getMore);
      const cursor = this.cursors.get(id);
      if (!cursor) throw new CommandError(43, 'CursorNotFound', `cursor id ${id} not found`);
      const ns = `${db}.${cmd.collection}`;
      if (cursor.ns !== ns) {
        throw new CommandError(
          13,
          'Unauthorized',
          `Requested getMore on namespace '${ns}', but cursor belongs to a different namespace ${cursor.ns}`,
        );
      }
      if (cursor.changes) {
        const nextBatch = this.drainChanges(cursor);
        const postBatchResumeToken = resumeToken(cursor.changes.after);
        return { cursor: { nextBatch, postBatchResumeToken, id: Long.fromString(id), ns }, ok: 1 };
      }
      const size = asNumber(cmd.batchSize, 0);
      const nextBatch = cursor.docs.splice(0, size > 0 ? size : cursor.docs.length);
      const done = cursor.docs.length === 0;
      if (done) this.cursors.delete(id);
      return { cursor: { nextBatch, id: done ? Long.ZERO : Long.fromString(id), ns }, ok: 1 };
    },

    killCursors: (cmd) => {
      const ids: unknown[] = Array.isArray(cmd.cursors) ? cmd.cursors : [];
      const killed = ids.filter((id) => this.cursors.delete(String(id)));
      const notFound = ids.filter((id) => !killed.includes(id));
      const toLong = (id: unknown) => Long.fromString(String(id));
      return {
        cursorsKilled: killed.map(toLong),
        cursorsNotFound: notFound.map(toLong),
        cursorsAlive: [],
        cursorsUnknown: [],
        ok: 1,
      };
    },

    distinct: (cmd, db) => {
      if (typeof cmd.key !== 'string') throw failedToParse("'key' must be a string");
      const seen = new Map<string, unknown>();
      for (const doc of this.collection(db, cmd.distinct)?.match(cmd.query) ?? []) {
        for (const value of pathValues(doc, cmd.key.split('.'))) {
          if (value !== undefined && !seen.has(bsonKey(value))) seen.set(bsonKey(value), value);
        }
      }
      return { values: [...seen.values()], ok: 1 };
    },

    aggregate: (cmd, db) => {
      if (typeof cmd.aggregate !== 'string') {
        throw badValue('the test server supports only collection aggregations');
      }
      if (!Array.isArray(cmd.pipeline)) throw failedToParse("'pipeline' must be an array");
      if (!isPlainObject(cmd.cursor)) {
        throw failedToParse(
          "The 'cursor' option is required, except for aggregate with the explain argument",
        );
      }
      const pipeline = cmd.pipeline as Document[];
      const [first, ...rest] = pipeline;
      if (first && '$changeStream' in first) {
        if (!this.options.changeStreams) {
          throw new CommandError(
            40573,
            'Location40573',
            'The $changeStream stage is only supported on replica sets',
          );
        }
        const ns = `${db}.${cmd.aggregate}`;
        const id = Long.fromNumber(this.nextCursorId++);
        const stage = isPlainObject(first.$changeStream) ? first.$changeStream : {};
        this.cursors.set(id.toString(), {
          ns,
          docs: [],
          changes: {
            after: this.changeSeq,
            pipeline: rest,
            updateLookup: stage.fullDocument === 'updateLookup',
          },
        });
        const postBatchResumeToken = resumeToken(this.changeSeq);
        return { cursor: { firstBatch: [], postBatchResumeToken, id, ns }, ok: 1 };
      }
      const writing = pipeline.find((stage) => '$out' in stage || '$merge' in stage);
      if (writing) throw badValue('the test server does not support $out or $merge');
      const coll = this.collection(db, cmd.aggregate);
      const aggregator = new Aggregator(pipeline, {
        collectionResolver: (name: string) => this.collection(db, name)?.docs.map(clone) ?? [],
      });
      const docs = aggregator.run((coll?.docs ?? []).map(clone)) as Document[];
      return this.cursorReply(`${db}.${cmd.aggregate}`, docs, cmd.cursor.batchSize);
    },
  };

  /** Runs write statements; collects writeErrors and stops at the first one when ordered. */
  private writeBatch(
    statements: Document[],
    ordered: boolean,
    run: (statement: Document, index: number) => { n: number },
  ): Document {
    let n = 0;
    const writeErrors: Document[] = [];
    for (const [index, statement] of statements.entries()) {
      try {
        n += run(statement, index).n;
      } catch (error) {
        if (!(error instanceof CommandError)) throw error;
        writeErrors.push({ index, code: error.code, errmsg: error.message, ...error.extra });
        if (ordered) break;
      }
    }
    return { n, ...(writeErrors.length > 0 ? { writeErrors } : {}), ok: 1 };
  }

  run(cmd: Document, connectionId: number): Document {
    const name = Object.keys(cmd)[0] ?? '';
    try {
      const handler = Object.hasOwn(this.commands, name) ? this.commands[name] : undefined;
      if (!handler) throw new CommandError(59, 'CommandNotFound', `no such command: '${name}'`);
      if (typeof cmd.$db !== 'string') {
        throw new CommandError(40571, 'Location40571', 'OP_MSG requests require a $db argument');
      }
      if (cmd.txnNumber !== undefined) {
        throw new CommandError(
          20,
          'IllegalOperation',
          'Transaction numbers are only allowed on a replica set member or mongos',
        );
      }
      return handler(cmd, cmd.$db, connectionId);
    } catch (error) {
      if (error instanceof CommandError) {
        return {
          ok: 0,
          errmsg: error.message,
          code: error.code,
          codeName: error.codeName,
          ...error.extra,
        };
      }
      return {
        ok: 0,
        errmsg: String((error as Error)?.message ?? error),
        code: 2,
        codeName: 'BadValue',
      };
    }
  }

  /**
   * A change stream's `getMore` with nothing to return yet: waits (up to its `maxTimeMS`,
   * 1 s by default, as awaitData does) for a write before answering.
   */
  private awaitsData(command: Document): boolean {
    if (!('getMore' in command)) return false;
    const cursor = this.cursors.get(String(command.getMore));
    if (!cursor?.changes) return false;
    const after = cursor.changes.after;
    return !this.changes.some((record) => record.seq > after && record.ns === cursor.ns);
  }

  /** Answers one decoded message, maybe later (awaitData); undefined means "send nothing". */
  reply(
    message: WireMessage,
    connectionId: number,
  ): Buffer | undefined | Promise<Buffer | undefined> {
    if (message.opCode !== OP_QUERY && this.awaitsData(message.command)) {
      const ms = asNumber(message.command.maxTimeMS, 1000);
      return this.nextChange(ms).then(() => this.replyNow(message, connectionId));
    }
    return this.replyNow(message, connectionId);
  }

  private replyNow(message: WireMessage, connectionId: number): Buffer | undefined {
    const { command } = message;
    if (message.opCode === OP_QUERY) {
      const name = Object.keys(command)[0] ?? '';
      const isHello = ['hello', 'isMaster', 'ismaster'].includes(name);
      const answer = isHello
        ? this.hello(connectionId, name !== 'hello')
        : {
            ok: 0,
            errmsg: `Unsupported OP_QUERY command: ${name}. The client driver may require an upgrade.`,
            code: 352,
            codeName: 'UnsupportedOpQueryCommand',
          };
      return encodeOpReply(message.requestId, answer);
    }
    const answer = this.run(command, connectionId);
    if (message.flags & MSG_MORE_TO_COME) return undefined;
    try {
      return encodeMsgReply(message.requestId, answer);
    } catch (error) {
      const errmsg = `reply could not be encoded: ${(error as Error).message}`;
      return encodeMsgReply(message.requestId, {
        ok: 0,
        errmsg,
        code: 10334,
        codeName: 'BSONObjectTooLarge',
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Starting it

/** A running test server (in a child process) and its control hook. */
export interface MongoTestServer {
  /** `mongodb://127.0.0.1:PORT`. */
  uri: string;
  port: number;
  /**
   * A slow or stalled database: holds every command reply (handshakes and heartbeats aside)
   * for `ms` milliseconds, or with `'never'` drops every reply, handshakes included, as a
   * hung server would. `0` restores prompt replies for later commands. The command itself
   * still runs at once, as on a server whose replies are late.
   */
  delayReplies(ms: number | 'never'): Promise<void>;
  /** Stops the server process; its connections drop. */
  close(): Promise<void>;
}

/** What the server process and its parent say to each other over IPC. */
export type ServerMessage = { uri: string } | { delayed: number | 'never' };
export type ParentMessage = { delayReplies: number | 'never' };

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Starts the MongoDB wire-protocol test server, the one way every test, example and
 * benchmark starts it: in its own process (mongoTestServerMain.ts), so that a test that
 * fakes its clock or blocks its event loop never moves the server's `$$NOW` or stalls its
 * replies. The process exits when its parent does; it does not keep the parent alive.
 */
export async function startMongoTestServer(
  options: MongoTestServerOptions = {},
): Promise<MongoTestServer> {
  const args = options.changeStreams ? ['--change-streams'] : [];
  const child: ChildProcess = fork(join(root, 'test/support/mongoTestServerMain.ts'), args, {
    cwd: root,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  const first = await Promise.race([
    once(child, 'message').then(([message]) => message as ServerMessage),
    exited.then(() => {
      throw new Error('the MongoDB test server exited before it listened');
    }),
  ]);
  if (!('uri' in first)) throw new Error('the MongoDB test server did not say its URI');
  child.unref();
  child.channel?.unref();
  const { uri } = first;
  let closing: Promise<void> | undefined;
  return {
    uri,
    port: Number(new URL(uri).port),
    async delayReplies(ms) {
      child.channel?.ref();
      try {
        const acknowledged = once(child, 'message');
        child.send({ delayReplies: ms } satisfies ParentMessage);
        await acknowledged;
      } finally {
        child.channel?.unref();
      }
    },
    close() {
      closing ??= (async () => {
        // Ref'd while closing: a script awaiting close() must not find its event loop
        // empty (Node then exits with code 13 before the server is gone).
        child.ref();
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      })();
      return closing;
    },
  };
}

/** A MongoDB server a test runs against, and how to stop it (a real one is left running). */
export interface MongoServerTarget {
  label: string;
  start(): Promise<{ uri: string; close(): Promise<void> }>;
}

/**
 * The servers a MongoDB test runs on: the wire test server (in its own process, so a test
 * that fakes this process's clock does not fake the server's `$$NOW`), and a real server
 * too when CACHIER_TEST_MONGODB_URI is set.
 *
 * @example describe.each(mongoServerTargets())('MongoCore on $label', ({ start }) => { ... });
 */
export function mongoServerTargets(): MongoServerTarget[] {
  const targets: MongoServerTarget[] = [
    { label: 'the wire test server', start: () => startMongoTestServer() },
  ];
  const realUri = process.env.CACHIER_TEST_MONGODB_URI;
  if (realUri) {
    targets.push({
      label: 'a real server (CACHIER_TEST_MONGODB_URI)',
      start: async () => ({ uri: realUri, close: async () => undefined }),
    });
  }
  return targets;
}
