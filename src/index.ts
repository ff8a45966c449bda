export type { Clock } from './algorithm/clock.js';
export { cacheOf } from './cacheOf.js';
export { cachier } from './cachier.js';
export type {
  AnyCore,
  Claim,
  Core,
  CoreBase,
  EntryInfo,
  MaybePromise,
  StoredEntry,
  ValueCore,
  ValueEntry,
} from './cores/contract.js';
export { FileCore, type FileCoreOptions } from './cores/file.js';
export { MemoryCore, type MemoryCoreOptions } from './cores/memory.js';
export { MongoCore, type MongoCoreOptions } from './cores/mongo.js';
export type { MongoCollectionLike, MongoGetter } from './cores/mongoCollection.js';
export {
  type PgPoolLike,
  type PgPoolSource,
  PostgresCore,
  type PostgresCoreOptions,
} from './cores/postgres.js';
export { RedisCore, type RedisCoreOptions } from './cores/redis.js';
export type {
  RedisClientLike,
  RedisClientSource,
  RedisCommandOptionsLike,
  RedisSubscriberLike,
} from './cores/redisClient.js';
export type { BackendName } from './cores/registry.js';
export type { CachierMethodDecorator, DecoratorMisuse, MethodCheck } from './decorator.js';
export {
  disableCaching,
  enableCaching,
  getDefaultParams,
  resetDefaultParams,
  setDefaultParams,
} from './defaults.js';
export type { DurationInput } from './durations.js';
export { CachierError, CorruptEntryError, SerializationError } from './errors.js';
export type {
  CachierEvent,
  CachierEventListener,
  MissReason,
  NotStoredReason,
  StoreOperation,
} from './events.js';
export type { CachierMetrics, LatencySummary } from './ops/metrics.js';
export type { Backend, CachierOptions, CallOptions, DefaultParams } from './options.js';
export type { Serializer, ValueCodec } from './valueCodec.js';
export type { WarningCode } from './warnings.js';
export type {
  AnyFunction,
  CacheApi,
  CachedCall,
  CachedFunction,
  MetricsReader,
} from './wrap.js';
