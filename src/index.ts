export { cacheOf } from './cacheOf.js';
export { cachier } from './cachier.js';
export type {
  Claim,
  Core,
  Entry,
  MaybePromise,
  SetLimits,
  SetOutcome,
  WaitContext,
} from './core.js';
export { FileCore, type FileCoreOptions } from './cores/file.js';
export { MemoryCore } from './cores/memory.js';
export { MongoCore, type MongoCoreOptions } from './cores/mongo.js';
export type { MongoCollectionLike, MongoGetter } from './cores/mongoCollection.js';
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
export type { Backend, CachierOptions, CallOptions, DefaultParams } from './options.js';
export type { WarningCode } from './warnings.js';
export type {
  AnyFunction,
  CacheApi,
  CachedCall,
  CachedFunction,
} from './wrap.js';
