import type { Logger } from 'pino';
import type { z } from 'zod';
import type { fileConfigSchema } from '../config/config-schema.js';
import { compileConfig } from '../config/load-config.js';
import type { Handler } from '../core/handler.js';
import { TaskplaneNode } from './taskplane-node.js';

/**
 * The programmatic way in, for services that embed Taskplane:
 *
 * ```ts
 * const node = createNode({
 *   node: { roles: ['scheduler', 'runner'], redis: 'redis://127.0.0.1:6379' },
 *   tasks: { nightly: { kind: 'periodical', func_name: 'reports.nightly', schedule: '0 0 3 * * *' } },
 *   handlers: { 'reports.nightly': async (args, ctx) => buildReport(ctx.signal) },
 * });
 * await node.start();
 * // …
 * await node.close();
 * ```
 *
 * The config is the YAML file's format as an object (same keys, same checks, same messages), plus
 * `handlers` by name. Environment variables are not read: the code says what it means.
 */
export type NodeInput = z.input<typeof fileConfigSchema> & {
  /** Handlers by the name tasks and runs use as `func_name`. */
  readonly handlers?: Readonly<Record<string, Handler>>;
  /** A pino logger to log through. @defaultValue a new one at `node.log_level` */
  readonly logger?: Logger;
  /** Relative `modules:` paths resolve here. @defaultValue `process.cwd()` */
  readonly baseDir?: string;
};

export function createNode(input: NodeInput): TaskplaneNode {
  const { handlers = {}, logger, baseDir, ...config } = input;
  const compiled = compileConfig(config, { baseDir: baseDir ?? process.cwd(), handlerNames: Object.keys(handlers) });
  return new TaskplaneNode(compiled, { handlers, ...(logger ? { logger } : {}) });
}
