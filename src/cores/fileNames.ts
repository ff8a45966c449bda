import { randomFillSync } from 'node:crypto';
import { sha256Hex } from '../keys.js';

/**
 * The names the file core writes, and only these: `clear`, `deleteStale` and the sweep of
 * crash leftovers delete nothing else, so a cacheDir shared with other files (or a
 * function folder that happens to be someone's real folder) never loses them.
 */

/** An entry file: the key, 64 lowercase hex characters. */
const ENTRY_NAME = /^[0-9a-f]{64}$/;
/** A claim folder (a lock directory holding its owner file). */
const LOCK_NAME = /^([0-9a-f]{64})\.lock$/;
/**
 * A temp file: `<key>.<pid>.<host tag>.<32 random hex>.tmp`, or 0.1.0's
 * `<key>.<pid>.<threadId>.<counter>.tmp` (left behind by crashed writers of that release).
 */
const TEMP_NAME = /^[0-9a-f]{64}\.(\d+)\.(?:([0-9a-f]{8})\.[0-9a-f]{32}|\d+\.\d+)\.tmp$/;
/** The marker file in every function folder cachier made: it records the cache name. */
export const MARKER_NAME = '.cachier-folder';

/** What kind of file a folder entry's name says it is. */
export type CachierFileKind = 'entry' | 'lock' | 'temp' | 'marker' | 'foreign';

/** Classifies a name found in a function folder. */
export function kindOfName(file: string): CachierFileKind {
  if (ENTRY_NAME.test(file)) return 'entry';
  if (LOCK_NAME.test(file)) return 'lock';
  if (TEMP_NAME.test(file)) return 'temp';
  if (file === MARKER_NAME) return 'marker';
  return 'foreign';
}

/** Whether `key` is a key the file core accepts (it becomes a file name). */
export function isKey(key: string): boolean {
  return ENTRY_NAME.test(key);
}

/** The writer of a temp file, when its name records one (this release's names do). */
export function tempWriter(file: string): { pid: number; hostTag: string } | undefined {
  const match = TEMP_NAME.exec(file);
  if (!match?.[2]) return undefined;
  return { pid: Number(match[1]), hostTag: match[2] };
}

/** Random bytes for names, drawn from the OS 256 names at a time (as `randomUUID` pools its own). */
const TOKEN_BYTES = 16;
const tokenPool = Buffer.alloc(TOKEN_BYTES * 256);
let tokenOffset = tokenPool.length;

/**
 * 32 hex characters, all 128 bits random: a miss makes two such names (owner and temp
 * file), and drawing them from a pooled buffer costs a third of slicing a `randomUUID`.
 */
export function randomToken(): string {
  if (tokenOffset === tokenPool.length) {
    randomFillSync(tokenPool);
    tokenOffset = 0;
  }
  const token = tokenPool.toString('hex', tokenOffset, tokenOffset + TOKEN_BYTES);
  tokenOffset += TOKEN_BYTES;
  return token;
}

/**
 * A fresh temp-file name for `key`: unpredictable (128 random bits), so nobody can plant
 * a symlink at it in advance, and it records the writer's pid and host, so a crashed
 * writer's leftover can be recognised as dead and removed.
 */
export function tempNameFor(key: string, hostTag: string): string {
  return `${key}.${process.pid}.${hostTag}.${randomToken()}.tmp`;
}

/** Windows device names: a folder called `CON` (or `con.txt`) cannot be created there. */
const DEVICE_NAME = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\.|$)/i;
/** Names used as they are: lowercase, short, not starting or ending with a dot. */
const PLAIN_NAME = /^[a-z0-9_-](?:[a-z0-9._-]{0,62}[a-z0-9_-])?$/;

/**
 * The folder name for a cache name. Plain names (lowercase letters, digits, `.`, `_`,
 * `-`, up to 64 characters, no Windows device name) are used as they are, so folders stay
 * readable. Every other name becomes a lowercase, shortened readable part, `~`, and 16 hex
 * characters of the name's SHA-256. The mapping is injective: plain names never contain
 * `~`, and other names differ in their hash. It is also safe on case-insensitive file
 * systems (macOS, Windows): a plain name is lowercase, so `Report` and `report` get
 * different folders, and no folder name ever breaks Windows (device names, trailing dots).
 */
export function folderNameFor(name: string): string {
  if (PLAIN_NAME.test(name) && !DEVICE_NAME.test(name)) return name;
  let readable = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '_')
    .replace(/^[._]+|[.]+$/g, '')
    .slice(0, 40);
  // Windows reads `nul.anything` as the device too.
  if (DEVICE_NAME.test(readable)) readable = `_${readable}`;
  return `${readable}~${sha256Hex(name).slice(0, 16)}`;
}
