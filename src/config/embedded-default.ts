import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import type { fileConfigSchema } from './config-schema.js';

/**
 * The config a node uses when no file is named: a whole single-node Taskplane (all roles,
 * embedded storage, in-process coordination) with one example task of each kind, so
 * `npm start` on a fresh machine shows something running. It is written in the file format and
 * goes through the same checks as a file, so it cannot drift from what a file may say.
 */

/**
 * The example handlers' file. From `src/config/` (tsx, vitest) it is `handlers.ts`; compiled to
 * `dist/src/config/` it is `handlers.js`. Prefer the one matching this file's own extension, so a
 * stray build output next to the sources is not picked up by a source run.
 */
export function examplesModulePath(): string {
  const candidates = ['../examples/handlers.ts', '../examples/handlers.js'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  if (import.meta.url.endsWith('.js')) candidates.reverse();
  return candidates.find((path) => existsSync(path)) ?? candidates[0]!;
}

export function embeddedDefaultConfig(): z.input<typeof fileConfigSchema> {
  return {
    tasks: {
      heartbeat: { kind: 'periodical', func_name: 'examples.heartbeat', schedule: '*/5 * * * * *' },
      poll_queue: { kind: 'continuous', func_name: 'examples.poll_queue', pause_sec: 3, args: { queue: 'inbox', batch: 10 } },
      say_hello: { kind: 'single_shot', func_name: 'examples.say_hello', args: ['world'] },
    },
    node: { roles: ['api', 'scheduler', 'storage', 'runner'], listen: '127.0.0.1:4000' },
    // Absolute, so it resolves the same whatever the working directory.
    modules: { examples: examplesModulePath() },
  };
}
