import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { lstat, open, rm, unlink } from 'node:fs/promises';

/**
 * Creating and removing the file core's files without ever following a symlink.
 */

const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
/** How new files are created: new (never an existing file or a planted symlink), private. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW;

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Writes a new file that must not exist yet (O_EXCL, no symlink followed), mode 0600. */
export function writeNewFileSync(path: string, content: Uint8Array): void {
  const fd = openSync(path, CREATE_FLAGS, 0o600);
  try {
    let written = 0;
    while (written < content.byteLength) {
      written += writeSync(fd, content, written, content.byteLength - written);
    }
  } finally {
    closeSync(fd);
  }
}

/** {@link writeNewFileSync} through the thread pool. */
export async function writeNewFile(path: string, content: Uint8Array): Promise<void> {
  const handle = await open(path, CREATE_FLAGS, 0o600);
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
}

/**
 * Removes whatever is at a name cachier owns (absent is fine), never following a symlink:
 * a link is removed itself, a directory at an entry name (which can only block entries)
 * with its content.
 */
export async function removeName(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT') return;
    if (code !== 'EISDIR' && code !== 'EPERM') throw error;
    const info = await lstat(path).catch(() => undefined);
    if (!info?.isDirectory()) throw error;
    await rm(path, { recursive: true, force: true });
  }
}
