import {
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { CachierError } from '../errors.js';
import { folderNameFor, MARKER_NAME } from './fileNames.js';

/**
 * The folders of the file core, checked before use so that a cache folder cannot be
 * turned against its user: a function folder must be a real directory (never a symlink)
 * owned by the current user and writable by nobody else, and the cacheDir above it must
 * not let anybody else swap that folder. Windows has no POSIX owners or modes: there
 * only the directory and symlink checks apply.
 */

const IS_WINDOWS = process.platform === 'win32';
/** 0 on Windows, where the flag does not exist. */
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
const MAX_MARKER_BYTES = 64 * 1024;

/** The code of the error a refused folder raises (also the warning's code). */
export const UNSAFE_FOLDER = 'CACHIER_UNSAFE_FOLDER';

function currentUid(): number | undefined {
  return IS_WINDOWS ? undefined : process.getuid?.();
}

function refuse(folder: string, problem: string): CachierError {
  return new CachierError(
    UNSAFE_FOLDER,
    `cachier: refusing to use the cache folder ${folder}: it ${problem}. Nothing is read from ` +
      'or stored there. Use a cacheDir that only you can write to (the default ~/.cachier is), ' +
      'or remove that folder so that cachier creates it.',
  );
}

/** Why the cacheDir itself cannot be trusted, if it cannot. Follows a symlink: users point cacheDir at a link. */
function rootProblem(info: Stats): string | undefined {
  if (!info.isDirectory()) return 'is not a folder';
  const uid = currentUid();
  if (uid === undefined) return undefined;
  if (info.uid !== uid && info.uid !== 0) {
    return `belongs to another user (uid ${info.uid}), who could replace the cache folders in it`;
  }
  const sticky = (info.mode & 0o1000) !== 0;
  if ((info.mode & 0o022) !== 0 && !sticky) {
    return 'can be written by other users and has no sticky bit, so they could replace the cache folders in it';
  }
  return undefined;
}

/** Why a function folder cannot be trusted, if it cannot. `info` is from lstat. */
function folderProblem(info: Stats): string | undefined {
  if (info.isSymbolicLink()) return 'is a symbolic link';
  if (!info.isDirectory()) return 'is not a folder';
  const uid = currentUid();
  if (uid === undefined) return undefined;
  if (info.uid !== uid) return `belongs to another user (uid ${info.uid})`;
  if ((info.mode & 0o022) !== 0) return 'can be written by other users';
  return undefined;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Checks an existing function folder for reading: `false` when it does not exist (a miss),
 * `true` when it is safe. Throws the refusal otherwise.
 */
export function checkExistingFolder(cacheDir: string, folder: string): boolean {
  let info: Stats;
  try {
    info = lstatSync(folder);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return false;
    throw error;
  }
  const problem = folderProblem(info);
  if (problem) throw refuse(folder, problem);
  const rootIssue = rootProblem(statSync(cacheDir));
  if (rootIssue) throw refuse(cacheDir, rootIssue);
  return true;
}

/**
 * Makes sure the function folder of `name` exists, is safe, and carries the marker that
 * records its cache name. Creates cacheDir (0700) and the folder (0700, whatever the
 * umask) when missing.
 */
export function prepareFolder(cacheDir: string, folder: string, name: string): void {
  try {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
  }
  const rootIssue = rootProblem(statSync(cacheDir));
  if (rootIssue) throw refuse(cacheDir, rootIssue);
  let created = false;
  try {
    mkdirSync(folder, { mode: 0o700 });
    created = true;
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
  }
  const problem = folderProblem(lstatSync(folder));
  if (problem) throw refuse(folder, problem);
  if (created || readMarker(folder) === undefined) writeMarker(folder, name);
}

/**
 * Whether users other than the owner can make folders in `cacheDir` (a sticky shared
 * folder such as /tmp, which {@link checkExistingFolder} accepts): there a checked
 * function folder can be deleted by a cleaner and made again by someone else while the
 * program runs, so it must be checked again before each use. Never on Windows.
 */
export function othersCanMakeFolders(cacheDir: string): boolean {
  if (IS_WINDOWS) return false;
  return (statSync(cacheDir).mode & 0o022) !== 0;
}

/** Writes the marker file: the cache name, so tools can list real names. */
function writeMarker(folder: string, name: string): void {
  let fd: number;
  try {
    fd = openSync(
      join(folder, MARKER_NAME),
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW,
      0o600,
    );
  } catch (error) {
    // Another process wrote it first: the same name leads to the same folder.
    if (errorCode(error) === 'EEXIST') return;
    throw error;
  }
  try {
    writeSync(fd, JSON.stringify({ cachier: 1, name }));
  } catch (error) {
    // A full disk: an empty marker would stay (it is never rewritten once there) and hide
    // the folder from names(); remove it, so the next prepare writes it again.
    closeSync(fd);
    try {
      unlinkSync(join(folder, MARKER_NAME));
    } catch {
      // Gone already: nothing of ours is left.
    }
    throw error;
  }
  closeSync(fd);
}

/** The cache name a function folder's marker records; `undefined` without a valid marker. */
export function readMarker(folder: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(join(folder, MARKER_NAME), constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(MAX_MARKER_BYTES);
    const length = readSync(fd, buffer, 0, MAX_MARKER_BYTES, 0);
    const parsed: unknown = JSON.parse(buffer.subarray(0, length).toString('utf8'));
    const name = (parsed as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || folderNameFor(name) !== folderBase(folder)) return undefined;
    return name;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function folderBase(folder: string): string {
  return folder.slice(Math.max(folder.lastIndexOf('/'), folder.lastIndexOf('\\')) + 1);
}
