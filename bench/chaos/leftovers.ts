/**
 * Crash leftovers in a file-core cache folder: temp files (`<key>.<pid>.….tmp`) and claim
 * folders (`<key>.lock`, holding `owner.<token>` files that record the holder's pid).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Leftover {
  /** Path relative to the cache folder. */
  path: string;
  /** The writer's or holder's pid, when the name or owner file records one. */
  pid: number | undefined;
}

function ownerPid(lockFolder: string): number | undefined {
  let files: string[];
  try {
    files = readdirSync(lockFolder);
  } catch {
    return undefined; // removed meanwhile
  }
  for (const file of files) {
    if (!file.startsWith('owner.')) continue;
    try {
      const record = JSON.parse(readFileSync(join(lockFolder, file), 'utf8')) as { pid?: unknown };
      if (typeof record.pid === 'number') return record.pid;
    } catch {
      // half-written or removed meanwhile
    }
  }
  return undefined;
}

/** Every `.tmp` and `.lock` in the function folders of `cacheDir`. */
export function findLeftovers(cacheDir: string): Leftover[] {
  const found: Leftover[] = [];
  let folders: string[];
  try {
    folders = readdirSync(cacheDir);
  } catch {
    return found;
  }
  for (const folder of folders) {
    let files: string[];
    try {
      files = readdirSync(join(cacheDir, folder));
    } catch {
      continue; // not a folder
    }
    for (const file of files) {
      const path = join(folder, file);
      if (file.endsWith('.tmp')) {
        const pid = Number(file.split('.')[1]);
        found.push({ path, pid: Number.isInteger(pid) ? pid : undefined });
      } else if (file.endsWith('.lock')) {
        found.push({ path, pid: ownerPid(join(cacheDir, folder, file)) });
      }
    }
  }
  return found;
}
