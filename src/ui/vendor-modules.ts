import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The browser modules the UI imports from node_modules, by the URL name it imports them under
 * (`/ui/vendor/<name>`, mapped to bare specifiers by the import map in index.html).
 *
 * Each is the package's own ESM build, found through its package.json `exports` (the `import`
 * condition), so an upgrade of preact or htm is served as is: no copy in the repo, no build step.
 * `require.resolve` alone would give the CommonJS build, which a browser cannot import.
 */

const require = createRequire(import.meta.url);

/** URL name → [package, export subpath]. */
const VENDOR: Readonly<Record<string, readonly [string, string]>> = {
  'preact.mjs': ['preact', '.'],
  'preact-hooks.mjs': ['preact', './hooks'],
  'htm.mjs': ['htm', '.'],
};

type ExportTarget = string | { readonly [condition: string]: ExportTarget } | null;

function importTarget(target: ExportTarget | undefined): string | null {
  if (typeof target === 'string') return target;
  if (target === null || target === undefined) return null;
  // `browser` first: it is the build meant for browsers; `import` is the ESM build for Node.
  for (const condition of ['browser', 'import', 'default']) {
    const found = importTarget(target[condition]);
    if (found?.endsWith('js')) return found;
  }
  return null;
}

interface Manifest {
  readonly name?: string;
  readonly exports?: Record<string, ExportTarget>;
  readonly module?: string;
}

/**
 * The package.json of `pkg`: found above its main file, because not every package exports
 * `./package.json` (htm maps `./` instead, which Node no longer honours).
 */
function manifestOf(pkg: string): { path: string; manifest: Manifest } {
  let dir = dirname(require.resolve(pkg));
  for (;;) {
    const path = join(dir, 'package.json');
    try {
      const manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
      if (manifest.name === pkg) return { path, manifest };
    } catch {
      // no package.json at this level: keep going up
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json of ${pkg} above ${require.resolve(pkg)}`);
    dir = parent;
  }
}

/** Absolute path of the ESM file `pkg` exports at `subpath`. */
export function resolveEsmExport(pkg: string, subpath: string): string {
  const { path: manifestPath, manifest } = manifestOf(pkg);
  const target = importTarget(manifest.exports?.[subpath]) ?? (subpath === '.' ? (manifest.module ?? null) : null);
  if (target === null) throw new Error(`${pkg} exports no ES module at '${subpath}' (looked in ${manifestPath})`);
  return join(dirname(manifestPath), target);
}

/** URL name → absolute file path, resolved once at startup so a missing package fails early. */
export function vendorModules(): Record<string, string> {
  return Object.fromEntries(Object.entries(VENDOR).map(([name, [pkg, subpath]]) => [name, resolveEsmExport(pkg, subpath)]));
}
