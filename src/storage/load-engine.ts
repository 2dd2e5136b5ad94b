import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TaskplaneError } from '../core/errors.js';
import type { TaskStore } from './contract.js';
import type { StorageOptions } from './create-store.js';

/** Every method a custom engine must provide: the storage contract. */
export const STORE_METHODS = [
  'start', 'close', 'create', 'createMany', 'get', 'getMany', 'select', 'take', 'renew', 'settle',
  'complete', 'fail', 'stop', 'retry', 'forget', 'wait', 'statistics', 'trim', 'sweep', 'health',
] as const satisfies ReadonlyArray<keyof TaskStore>;

/**
 * Loads a custom storage engine, as the Tarantool task manager allows: node config names a
 * module (a path from the config file, never client input) that exports
 * `createTaskStore(options: StorageOptions): TaskStore`. The result is checked against the
 * contract before use, so a half-written engine is refused at start, not at the first call.
 */
export async function loadStorageEngine(modulePath: string, options: StorageOptions, baseDir = process.cwd()): Promise<TaskStore> {
  const file = isAbsolute(modulePath) ? modulePath : resolve(baseDir, modulePath);
  let loaded: { createTaskStore?: unknown };
  try {
    loaded = (await import(pathToFileURL(file).href)) as { createTaskStore?: unknown };
  } catch (error) {
    throw new TaskplaneError('CONFIG_INVALID', `storage engine ${file} could not be loaded: ${(error as Error).message}`, { cause: error });
  }
  if (typeof loaded.createTaskStore !== 'function') {
    throw new TaskplaneError('CONFIG_INVALID', `storage engine ${file} does not export a createTaskStore(options) function`);
  }
  const store = (await loaded.createTaskStore(options)) as Partial<TaskStore> | null;
  const missing = STORE_METHODS.filter((method) => typeof store?.[method] !== 'function');
  if (!store || missing.length > 0 || typeof store.engine !== 'string' || !Array.isArray(store.shards)) {
    const what = missing.length > 0 ? `methods ${missing.join(', ')}` : 'the engine and shards properties';
    throw new TaskplaneError('CONFIG_INVALID', `storage engine ${file} does not implement the storage contract: missing ${what}`);
  }
  return store as TaskStore;
}
