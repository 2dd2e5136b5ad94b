import type { IncomingMessage, ServerResponse } from 'node:http';
import { coerceError } from '../core/errors.js';
import type { NodeMetrics } from './node-metrics.js';

/** `GET /metrics`: the node's metrics in the Prometheus text format. */
export function metricsRoute(metrics: NodeMetrics, log?: { error(obj: object, msg: string): void }): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: `no route ${path}` }));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' }).end(JSON.stringify({ error: 'use GET' }));
      return;
    }
    metrics.render().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        log?.error({ err: coerceError(error) }, 'rendering /metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be rendered; the node logged why\n');
      },
    );
  };
}
