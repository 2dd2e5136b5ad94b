import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Resolved from this module rather than cwd so `vitest` and `npm run services`
// find the same `.services/` whichever directory they are started from.
function findProjectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    }
    dir = parent;
  }
}

export const projectRoot = findProjectRoot();
export const servicesDir = join(projectRoot, '.services');
