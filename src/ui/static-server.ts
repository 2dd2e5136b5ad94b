import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { vendorModules } from './vendor-modules.js';

/**
 * Serves the web UI from the node's own HTTP server: `/` is the page, `/ui/…` its stylesheet and
 * ES modules (from `static/` next to this file), `/ui/vendor/…` preact and htm straight from
 * node_modules. No bundler and no build step: the browser loads the modules as they are.
 *
 * What a request can reach is closed: a path is decoded once, refused if any segment is `.`/`..`,
 * empty, hidden or holds a backslash or NUL, then resolved under the static folder and checked
 * again after symlinks are followed; only known file types are served. Vendor files are looked up
 * by name in a fixed map, never by path.
 *
 * Caching: app files are `no-cache` with a strong ETag (a reload revalidates and gets 304s, so an
 * upgraded node is seen at once); vendor files change only with a dependency upgrade and may be
 * kept for an hour. Text is gzipped once per file version when the client accepts it.
 */

export interface UiServerOptions {
  /** Folder holding index.html and the UI's files. @defaultValue `src/ui/static` of this package */
  readonly root?: string;
  /** URL name under `/ui/vendor/` → file. @defaultValue preact, preact/hooks and htm from node_modules */
  readonly vendor?: Readonly<Record<string, string>>;
}

export type UiHandler = (req: IncomingMessage, res: ServerResponse) => void;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};
const COMPRESSIBLE = new Set(['.html', '.css', '.js', '.mjs', '.svg']);
const VENDOR_MAX_AGE_S = 3600;

interface CachedFile {
  readonly mtimeMs: number;
  readonly size: number;
  readonly body: Buffer;
  readonly gzipped: Buffer | null;
  readonly etag: string;
}

/**
 * The static folder: beside this module when run from source; when compiled to `dist/src/ui/`
 * the sources' folder two levels up (tsc does not copy non-TypeScript files).
 */
export function defaultStaticRoot(): string {
  const candidates = ['./static', '../../../src/ui/static'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  return candidates.find((dir) => existsSync(join(dir, 'index.html'))) ?? candidates[0]!;
}

export function createUiHandler(options: UiServerOptions = {}): UiHandler {
  const root = realpathSync(options.root ?? defaultStaticRoot());
  const vendor = options.vendor ?? vendorModules();
  const cache = new Map<string, CachedFile>();

  async function load(file: string): Promise<CachedFile | null> {
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return null;
    const known = cache.get(file);
    if (known && known.mtimeMs === info.mtimeMs && known.size === info.size) return known;
    const body = await readFile(file);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    const gzipped = COMPRESSIBLE.has(extname(file)) && body.length > 1024 ? gzipSync(body) : null;
    const entry = { mtimeMs: info.mtimeMs, size: info.size, body, gzipped, etag };
    cache.set(file, entry);
    return entry;
  }

  /** The file a `/ui/…` path names inside the static folder, or null when it may not be served. */
  function appFile(rest: string): string | null {
    const segments = rest.split('/');
    const unsafe = (s: string) => s === '' || s.startsWith('.') || s.includes('\\') || s.includes('\0');
    if (segments.some(unsafe)) return null;
    const file = join(root, ...segments);
    if (!file.startsWith(root + sep) || !(extname(file) in CONTENT_TYPES)) return null;
    try {
      // A symlink inside the folder must not lead out of it.
      const real = realpathSync(file);
      return real.startsWith(root + sep) ? real : null;
    } catch {
      return null;
    }
  }

  function target(path: string): { file: string; maxAge: number | null } | null {
    if (path === '/' || path === '/index.html') return { file: join(root, 'index.html'), maxAge: null };
    if (path.startsWith('/ui/vendor/')) {
      const name = path.slice('/ui/vendor/'.length);
      const file = Object.hasOwn(vendor, name) ? vendor[name] : undefined;
      return file ? { file, maxAge: VENDOR_MAX_AGE_S } : null;
    }
    if (path.startsWith('/ui/')) {
      const file = appFile(path.slice('/ui/'.length));
      return file ? { file, maxAge: null } : null;
    }
    return null;
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://ui').pathname);
    } catch {
      return plain(res, 400, 'malformed path');
    }
    // `new URL` already folded literal `..`; encoded ones (`%2e%2e`) survive to here and are refused by appFile.
    const found = target(path);
    const file = found ? await load(found.file) : null;
    if (!found || !file) return plain(res, 404, `no such UI file: ${path}`);

    const gzip = file.gzipped !== null && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const etag = gzip ? `${file.etag.slice(0, -1)}-gz"` : file.etag;
    const headers: Record<string, string> = {
      'content-type': CONTENT_TYPES[extname(found.file)] ?? 'application/octet-stream',
      'cache-control': found.maxAge === null ? 'no-cache' : `public, max-age=${found.maxAge}`,
      etag,
      vary: 'Accept-Encoding',
      'x-content-type-options': 'nosniff',
    };
    const match = String(req.headers['if-none-match'] ?? '');
    if (match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const body = gzip ? file.gzipped! : file.body;
    res.writeHead(200, { ...headers, 'content-length': String(body.length), ...(gzip ? { 'content-encoding': 'gzip' } : {}) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  return (req, res) => {
    serve(req, res).catch((error: unknown) => {
      if (!res.headersSent) plain(res, 500, `UI file could not be read: ${(error as Error)?.message ?? error}`);
      else res.destroy();
    });
  };
}

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...extra });
  res.end(`${text}\n`);
}
