import { pathToFileURL } from 'node:url';
import { TaskplaneError } from '../core/errors.js';
import type { Handler } from '../core/handler.js';

/**
 * Builds the runner's handler table from the modules its config lists — and nothing else: a
 * `func_name` never causes an import of its own. Module `m`'s exported function `f` becomes
 * handler `m.f` (CommonJS modules: the functions on `module.exports` too). Handlers given
 * directly (the programmatic `createNode({ handlers })`) are added under their own names.
 */
export async function loadHandlers(
  modules: Readonly<Record<string, string>>,
  direct: Readonly<Record<string, Handler>> = {},
): Promise<Map<string, Handler>> {
  const handlers = new Map<string, Handler>();
  for (const [moduleName, path] of Object.entries(modules)) {
    let namespace: Record<string, unknown>;
    try {
      namespace = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    } catch (error) {
      throw new TaskplaneError('CONFIG_INVALID', `modules.${moduleName}: cannot load ${path}: ${(error as Error).message}`, { cause: error });
    }
    const exported = { ...(isPlainObject(namespace.default) ? namespace.default : {}), ...namespace };
    let count = 0;
    for (const [exportName, value] of Object.entries(exported)) {
      if (typeof value !== 'function' || exportName === 'default') continue;
      handlers.set(`${moduleName}.${exportName}`, value as Handler);
      count++;
    }
    if (count === 0) throw new TaskplaneError('CONFIG_INVALID', `modules.${moduleName}: ${path} exports no functions`);
  }
  for (const [name, handler] of Object.entries(direct)) {
    if (typeof handler !== 'function') throw new TaskplaneError('CONFIG_INVALID', `handlers.${name}: is not a function`);
    handlers.set(name, handler);
  }
  return handlers;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}
