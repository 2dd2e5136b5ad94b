import { open, readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FileLockOptions {
  /** How long to wait for another holder before giving up. */
  timeoutMs: number;
  /** Called once when the lock is found held, so a long wait is explained. */
  onWait?: (holderPid: number | undefined) => void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM means the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(path, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `fn` while holding an O_EXCL lock file. A lock left behind by a dead
 * process (e.g. a killed build) is taken over instead of blocking forever.
 */
export async function withFileLock<T>(
  path: string,
  options: FileLockOptions,
  fn: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let announced = false;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readHolder(path);
    // A just-created lock may not have its pid written yet; only a readable,
    // dead pid proves staleness.
    if (holder !== undefined && !isAlive(holder)) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for lock ${path} (held by pid ${holder ?? '?'})`);
    }
    if (!announced) {
      options.onWait?.(holder);
      announced = true;
    }
    await sleep(500);
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}
