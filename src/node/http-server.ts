import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The node's HTTP server: `/graphql` (the api role's yoga instance), `/healthz` (the process
 * answers), `/readyz` (its roles can work: shards and coordinator reachable, or embedded). Kept
 * apart from the yoga instance so tests can call `yoga.fetch` without a socket.
 */
export interface HttpRoutes {
  readonly graphql: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  readonly ready: () => Promise<{ ok: boolean; details: object }>;
  /** Other routes (UI, metrics) by path prefix; the first match wins. */
  readonly extra?: ReadonlyArray<{ prefix: string; handle: (req: IncomingMessage, res: ServerResponse) => void }>;
}

export async function startHttpServer(host: string, port: number, routes: HttpRoutes): Promise<{ server: Server; address: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/healthz') return json(res, 200, { ok: true });
    if (path === '/readyz') {
      routes.ready().then(
        (state) => json(res, state.ok ? 200 : 503, { ok: state.ok, ...state.details }),
        (error: unknown) => json(res, 503, { ok: false, error: String((error as Error)?.message ?? error) }),
      );
      return;
    }
    if (routes.graphql && (path === '/graphql' || path.startsWith('/graphql/'))) return routes.graphql(req, res);
    const extra = routes.extra?.find((route) => path.startsWith(route.prefix));
    if (extra) return extra.handle(req, res);
    json(res, 404, { error: `no route ${path}` });
  });
  // Slow-loris bounds: a request must arrive whole within these.
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port: bound } = server.address() as AddressInfo;
  return {
    server,
    address: `${address.includes(':') ? `[${address}]` : address}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function json(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
