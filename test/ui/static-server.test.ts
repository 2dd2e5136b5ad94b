import { mkdtempSync, readFileSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUiHandler, defaultStaticRoot, type UiServerOptions } from '../../src/ui/static-server.js';
import { vendorModules } from '../../src/ui/vendor-modules.js';

/**
 * The UI's static file server over a real socket: content types, caching headers, gzip, the
 * vendor modules from node_modules, and paths that must not leave the static folder. Requests
 * are sent raw (node:http), because fetch would normalise `..` away before sending.
 */

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error(`no answer to ${method} ${path} within 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

async function serve(options?: UiServerOptions): Promise<{ server: Server; port: number }> {
  const server = createServer(createUiHandler(options));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('the UI static server', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    ({ server, port } = await serve());
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('serves the page at / with the import map, no-cache and an ETag that answers 304', async () => {
    const page = await get(port, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const html = page.body.toString('utf8');
    expect(html).toContain('<script type="importmap">');
    expect(html).toContain('"preact": "/ui/vendor/preact.mjs"');
    const etag = String(page.headers.etag);
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await get(port, '/', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect((await get(port, '/index.html')).body.equals(page.body)).toBe(true);
  });

  it('serves stylesheets, modules and icons with their content types', async () => {
    const cases: Array<[string, string]> = [
      ['/ui/app.css', 'text/css; charset=utf-8'],
      ['/ui/js/main.js', 'text/javascript; charset=utf-8'],
      ['/ui/js/pages/runs.js', 'text/javascript; charset=utf-8'],
      ['/ui/favicon.svg', 'image/svg+xml'],
    ];
    for (const [path, type] of cases) {
      const answer = await get(port, path);
      expect(answer.status, path).toBe(200);
      expect(answer.headers['content-type'], path).toBe(type);
      expect(Number(answer.headers['content-length']), path).toBe(answer.body.length);
    }
    const head = await get(port, '/ui/app.css', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it('serves preact, its hooks and htm from node_modules as ES modules, cacheable for an hour', async () => {
    const files = vendorModules();
    for (const name of ['preact.mjs', 'preact-hooks.mjs', 'htm.mjs']) {
      const answer = await get(port, `/ui/vendor/${name}`);
      expect(answer.status, name).toBe(200);
      expect(answer.headers['content-type'], name).toBe('text/javascript; charset=utf-8');
      expect(answer.headers['cache-control'], name).toBe('public, max-age=3600');
      expect(answer.body.equals(readFileSync(files[name]!)), name).toBe(true);
      expect(answer.body.toString('utf8'), name).toMatch(/\bexport\b/);
    }
    // The hooks import the bare specifier the page's import map resolves.
    expect((await get(port, '/ui/vendor/preact-hooks.mjs')).body.toString('utf8')).toMatch(/from\s*"preact"/);
  });

  it('gzips text for clients that accept it, under its own ETag', async () => {
    const plain = await get(port, '/ui/vendor/preact.mjs');
    const zipped = await get(port, '/ui/vendor/preact.mjs', { 'accept-encoding': 'gzip, deflate, br' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toBe('Accept-Encoding');
    expect(zipped.body.length).toBeLessThan(plain.body.length / 2);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    expect(zipped.headers.etag).not.toBe(plain.headers.etag);
    expect((await get(port, '/ui/vendor/preact.mjs', { 'accept-encoding': 'gzip', 'if-none-match': String(zipped.headers.etag) })).status).toBe(304);
  });

  it('answers 404 for what it does not hold, 405 for other methods, 400 for a malformed path', async () => {
    for (const path of ['/nope', '/ui/', '/ui/missing.js', '/ui/js', '/ui/js/', '/ui/vendor/nope.mjs', '/ui/vendor/__proto__', '/ui/vendor/constructor', '/ui/vendor/']) {
      const answer = await get(port, path);
      expect(answer.status, path).toBe(404);
      expect(answer.headers['content-type'], path).toBe('text/plain; charset=utf-8');
    }
    const post = await get(port, '/', {}, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await get(port, '/ui/%E0%A4%A')).status).toBe(400);
  });

  it('refuses every path that would leave the static folder', async () => {
    const secret = readFileSync(join(process.cwd(), 'package.json'), 'utf8');
    const attempts = [
      '/ui/../package.json',
      '/ui/../../../package.json',
      '/ui/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/ui/..%2f..%2f..%2fpackage.json',
      '/ui/js/..%2f..%2f..%2f..%2fpackage.json',
      '/ui/.%2e/static-server.ts',
      '/ui/%2e%2e%5c%2e%2e%5c%2e%2e%5cpackage.json',
      '/ui/..\\..\\..\\package.json',
      '/ui/%252e%252e/%252e%252e/package.json',
      '/ui/vendor/..%2f..%2f..%2fpackage.json',
      '/ui/vendor/../../package.json',
      '/ui/%2fetc%2fpasswd',
      '/ui//etc/passwd',
      '/ui/app.css%00.js',
      '/ui/.hidden.js',
      '/..%2f..%2fpackage.json',
    ];
    for (const path of attempts) {
      const answer = await get(port, path);
      expect([400, 404], path).toContain(answer.status);
      expect(answer.body.toString('utf8'), path).not.toContain(secret.slice(0, 40));
      expect(answer.body.toString('utf8'), path).not.toContain('root:');
    }
  });

  it('does not follow a symlink out of the static folder, nor serve unknown file types', async () => {
    const base = mkdtempSync(join(tmpdir(), 'tp-ui-static-'));
    const root = join(base, 'static');
    mkdirSync(root);
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(root, 'notes.txt'), 'not a UI file');
    writeFileSync(join(base, 'secret.js'), 'export const secret = 42;');
    symlinkSync(join(base, 'secret.js'), join(root, 'leak.js'));
    const own = await serve({ root, vendor: {} });
    try {
      expect((await get(own.port, '/')).status).toBe(200);
      expect((await get(own.port, '/ui/leak.js')).status).toBe(404);
      expect((await get(own.port, '/ui/notes.txt')).status).toBe(404);
      expect((await get(own.port, '/ui/vendor/preact.mjs')).status).toBe(404);
    } finally {
      own.server.closeAllConnections();
      await new Promise((resolve) => own.server.close(resolve));
    }
  });

  it('finds its folder from source', () => {
    expect(readFileSync(join(defaultStaticRoot(), 'index.html'), 'utf8')).toContain('/ui/js/main.js');
  });
});
