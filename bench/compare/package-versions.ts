import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../../test/services/project-root.js';

const PACKAGES = ['bullmq', 'agenda', '@agendajs/mongo-backend', 'mongodb', 'ioredis', 'tsx'] as const;

/** Installed versions of the libraries compared (from node_modules, not from package.json ranges). */
export async function packageVersions(): Promise<Record<string, string>> {
  const entries = await Promise.all(
    PACKAGES.map(async (name) => {
      try {
        const pkg = JSON.parse(await readFile(join(projectRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version?: unknown };
        return [name, typeof pkg.version === 'string' ? pkg.version : 'unknown'] as const;
      } catch {
        return [name, 'not installed'] as const;
      }
    }),
  );
  return Object.fromEntries(entries);
}
